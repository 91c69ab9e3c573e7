#!/usr/bin/env bash
# Renders a trainlog report in headless Chromium: a screenshot, and a check that the page loads
# without console errors (and without fetching anything from the network).
#   bash scripts/screenshot-report.sh REPORT.html OUT.png [WIDTH,HEIGHT]
# Needs chromium (Debian: apt-get install -y chromium). Exits 1 when the page wrote anything to
# the console (the report has no script, so any console message, an uncaught exception above
# all, is a fault) or refers to any http(s) URL other than the SVG namespace
# http://www.w3.org/2000/svg; Chromium's log is kept beside the screenshot as OUT.png.log.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
    exit 2
fi
report="$(realpath "$1")"
out="$(realpath -m "$2")"
size="${3:-1400,3000}"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [ -z "$browser" ]; then
    echo "no chromium found: apt-get install -y chromium" >&2
    exit 2
fi
log="$out.log"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
common=(--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile"
        --no-first-run --disable-extensions --enable-logging=stderr --v=0)
# The screenshot, with console messages logged to stderr.
"$browser" "${common[@]}" --window-size="$size" --screenshot="$out" "file://$report" \
    >"$log" 2>&1 || true
# The DOM after loading: proves the page parsed; console errors land in the same log.
"$browser" "${common[@]}" --dump-dom "file://$report" >"$profile/dom.html" 2>>"$log" || true
status=0
if [ ! -s "$out" ]; then
    echo "no screenshot written: see $log" >&2
    status=1
fi
if ! grep -q "id=\"summary\"" "$profile/dom.html"; then
    echo "the dumped DOM has no summary section: see $log" >&2
    status=1
fi
# Chromium logs every console message as "INFO:CONSOLE" (console.error included).
if grep -E "Uncaught|:CONSOLE|net::ERR_" "$log" >/dev/null; then
    echo "console messages:" >&2
    grep -E "Uncaught|:CONSOLE|net::ERR_" "$log" >&2
    status=1
fi
if grep -oE "https?://[^\"' <>)]*" "$report" | grep -vxF "http://www.w3.org/2000/svg" >/dev/null; then
    echo "external URLs in the report:" >&2
    grep -oE "https?://[^\"' <>)]*" "$report" | grep -vxF "http://www.w3.org/2000/svg" | sort -u >&2
    status=1
fi
if [ $status -eq 0 ]; then
    echo "screenshot $out ($size); no console errors"
fi
exit $status
