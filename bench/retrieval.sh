#!/usr/bin/env bash
# Retrieval benchmark: `lore eval --from-docs` for BM25 only, the learned
# vectors only and hybrid, on Django (Python), tokio (Rust) and eslint
# (JavaScript), in one run. Prints a table; writes JSON to bench/out/.
#   bench/retrieval.sh [NAME...]     # default: django tokio eslint
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(django tokio eslint)
bench/fetch.sh "${names[@]}"
cargo build -q --release -p lore
mkdir -p bench/out
python3 bench/retrieval.py --lore "$PWD/target/release/lore" --corpus "$PWD/bench/corpus" "${names[@]}"
