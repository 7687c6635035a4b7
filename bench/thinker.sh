#!/usr/bin/env bash
# The thinker's benchmark (issue 18) on Django 5.1.4 and tokio 1.47.1, in
# one run: hook → ScanDiff latency, MapRepo + Summarize cost, the CPU
# budget under a steady stream of triggers, an idle worker, and 1,000
# thoughts drained through 5 kill -9. Prints a table; JSON in
# bench/out/thinker.json.
#   bench/thinker.sh                         # everything (the budget part takes 30 min)
#   BUDGET_SECONDS=600 bench/thinker.sh      # a shorter budget window
#   bench/thinker.sh --only hook drain       # some parts
set -euo pipefail
cd "$(dirname "$0")/.."
bench/fetch.sh django tokio
cargo build -q --release -p lore
python3 bench/thinker.py --lore "$PWD/target/release/lore" --corpus "$PWD/bench/corpus" \
    --budget-seconds "${BUDGET_SECONDS:-1800}" "$@"
