#!/usr/bin/env bash
# Risk self-check (issue 19): `lore eval --risk` at two cuts on five public
# repositories (Python, Go, JavaScript, Rust) pinned by commit, beside LOC
# and churn baselines; `lore risks` latency. Table on stdout, JSON in
# bench/out/risk.json.
#   bench/risk.sh                          # clones from GitHub
#   MIRRORS=/path/to/mirrors bench/risk.sh # or from local clones (owner+name/repo)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p lore
cp target/release/lore "${TMPDIR:-/tmp}/lore-risk-bench-bin"
python3 bench/risk.py --lore "${TMPDIR:-/tmp}/lore-risk-bench-bin" "$@"
