#!/usr/bin/env bash
# The main job on a fresh machine: installs libtorch (cached), builds trainlog, records three
# seeds of the default LSTM on the built-in MNIST-1D into SQLite, and asks the log which
# classes the network learns first.
#   bash scripts/demo.sh [trainlog record arguments, e.g. --epochs 60]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build --release --quiet
db=${TRAINLOG_DB:-demo.db}
./target/release/trainlog record --dataset mnist1d --seeds 0..3 --epochs 15 --db "$db" "$@"
echo
echo "== which classes are learned first, and is the order the same across seeds? =="
./target/release/trainlog query classes-learned-first --db "$db"
