#!/usr/bin/env bash
# Verify and lint (issue 19) on public repositories pinned by commit: the
# tests in the sandbox (time, tests, coverage read) and the installed
# linters. Needs pytest + coverage (Python) and the go toolchain (Go).
# JSON in bench/out/verify.json.
#   bench/verify.sh                          # clones from GitHub
#   MIRRORS=/path/to/mirrors bench/verify.sh # or from local clones (owner+name/repo)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p lore
cp target/release/lore "${TMPDIR:-/tmp}/lore-verify-bench-bin"
python3 bench/verify.py --lore "${TMPDIR:-/tmp}/lore-verify-bench-bin" "$@"
