#!/usr/bin/env bash
# Per-repository retrieval policy benchmark: on each corpus, `lore policy
# train` (300 mined queries per source), then `lore eval --from-docs` on
# the doc queries training held out (the same 30% by the same hash), with
# the global policy and with the trained one. Prints a table and the
# training time; writes JSON to bench/out/policy.json.
#   bench/policy.sh [NAME...]     # default: django tokio eslint click commander
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(django tokio eslint click commander)
bench/fetch.sh "${names[@]}"
python3 -c "import blake3" 2>/dev/null || python3 -m pip install -q blake3==1.0.11
cargo build -q --release -p lore
mkdir -p bench/out
python3 bench/policy.py --lore "$PWD/target/release/lore" --corpus "$PWD/bench/corpus" -- "${names[@]}"
