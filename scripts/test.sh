#!/usr/bin/env bash
# Runs trainlog's tests on a fresh machine: installs libtorch (cached), builds, tests.
#   bash scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo test --release "$@"
