#!/usr/bin/env bash
# SmellHunt on Django 5.1.4 and tokio 1.47.1 (issue 19): findings per rule,
# `lore findings` cold and warm, `lore risks` latency. JSON in
# bench/out/smells.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/fetch.sh django tokio
cargo build -q --release -p lore
cp target/release/lore "${TMPDIR:-/tmp}/lore-smells-bin"
python3 bench/smells.py --lore "${TMPDIR:-/tmp}/lore-smells-bin" --corpus "$PWD/bench/corpus" "$@"
