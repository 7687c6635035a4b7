#!/usr/bin/env bash
# Answer cache benchmark: hit and miss latency, reworded hits, and no stale
# answer served after an edit, on click 8.1.8 (see bench/cache.py).
#   bench/cache.sh [CORPUS]      # default: click
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-click}
bench/fetch.sh "$name"
cargo build -q --release -p lore
mkdir -p bench/out
python3 bench/cache.py --lore "$PWD/target/release/lore" --corpus "$PWD/bench/corpus/$name"
