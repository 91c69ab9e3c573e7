#!/usr/bin/env bash
# Installs a CPU libtorch 2.13.0 (the version tch 0.26 needs) from PyPI wheels into a cache
# folder outside the checkout, idempotently, and prints the folder to use as LIBTORCH.
#
#   LIBTORCH=$(bash scripts/setup-libtorch.sh)
#
# Cache: ${TRAINLOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainlog}. Every wheel's sha256 is
# pinned and checked. A user who already has libtorch 2.13.0 (a full PyTorch, a CUDA build) can
# skip this script and point LIBTORCH at it.
set -euo pipefail

CACHE="${TRAINLOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trainlog}"
DEST="$CACHE/libtorch-2.13.0-cpu"
WHEELS="$CACHE/wheels"

log() { echo "setup-libtorch: $*" >&2; }

if [ -f "$DEST/.complete" ]; then
  echo "$DEST"
  exit 0
fi

# name, pip requirement, sha256 of the wheel
TORCH_SHA=60fcdcb2f3876e21146cb4524ef06397d727ca9ad5f020818547e25075fe3cb7
RUNTIME_SHA=7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548
CUPTI_SHA=4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8

PY=$(command -v python3 || command -v python || true)
[ -n "$PY" ] || { log "python3 with pip is needed to fetch the libtorch wheels"; exit 1; }

mkdir -p "$WHEELS"

fetch() { # requirement sha256 glob [extra pip args...]
  local req=$1 sha=$2 glob=$3; shift 3
  local f
  f=$(ls "$WHEELS"/$glob 2>/dev/null | head -n1 || true)
  if [ -n "$f" ] && [ "$(sha256sum "$f" | cut -d' ' -f1)" = "$sha" ]; then
    echo "$f"; return 0
  fi
  rm -f "$WHEELS"/$glob
  log "downloading $req"
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: "$@" -d "$WHEELS" "$req" >&2
  f=$(ls "$WHEELS"/$glob 2>/dev/null | head -n1 || true)
  [ -n "$f" ] || { log "pip did not produce $glob"; exit 1; }
  local got
  got=$(sha256sum "$f" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    rm -f "$f"
    log "sha256 mismatch for $req: expected $sha, got $got"
    exit 1
  fi
  echo "$f"
}

torch=$(fetch torch==2.13.0 "$TORCH_SHA" 'torch-2.13.0-*.whl' \
  --python-version 3.11 --platform manylinux_2_28_x86_64)
runtime=$(fetch nvidia-cuda-runtime==13.0.96 "$RUNTIME_SHA" 'nvidia_cuda_runtime-13.0.96-*.whl')
cupti=$(fetch nvidia-cuda-cupti==13.0.85 "$CUPTI_SHA" 'nvidia_cuda_cupti-13.0.85-*.whl')

TMP=$(mktemp -d "$CACHE/.build.XXXXXX")
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
log "unpacking into $DEST"
"$PY" - "$torch" "$runtime" "$cupti" "$TMP" <<'PYEOF'
import sys, zipfile, os, shutil
torch, runtime, cupti, out = sys.argv[1:5]
lib = os.path.join(out, "lib"); os.makedirs(lib)
with zipfile.ZipFile(torch) as z:
    for name in z.namelist():
        if name.startswith("torch/include/"):
            z.extract(name, out)
        elif name in ("torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "torch/lib/libgomp.so.1"):
            with z.open(name) as src, open(os.path.join(lib, os.path.basename(name)), "wb") as dst:
                shutil.copyfileobj(src, dst)
os.rename(os.path.join(out, "torch", "include"), os.path.join(out, "include"))
os.rmdir(os.path.join(out, "torch"))
for whl, want in ((runtime, "libcudart.so.13"), (cupti, "libcupti.so.13")):
    with zipfile.ZipFile(whl) as z:
        names = [n for n in z.namelist() if n.endswith("/" + want)]
        if not names:
            sys.exit(f"{want} not found in {whl}")
        with z.open(names[0]) as src, open(os.path.join(lib, want), "wb") as dst:
            shutil.copyfileobj(src, dst)
for f in ("libtorch_cpu.so", "libc10.so", "libgomp.so.1"):
    if not os.path.exists(os.path.join(lib, f)):
        sys.exit(f"{f} not found in the torch wheel")
os.symlink("libtorch_cpu.so", os.path.join(lib, "libtorch.so"))
PYEOF
echo "2.13.0" > "$TMP/build-version"
touch "$TMP/.complete"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
log "done"
echo "$DEST"
