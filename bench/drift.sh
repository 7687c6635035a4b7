#!/usr/bin/env bash
# Vocabulary drift over real history: index a repository at an old commit
# (the learned model is trained there), then move forward a few commits at
# a time, re-indexing incrementally, and print how far the new code's
# vocabulary has drifted from the model's (`embed.drift` of `lore index
# --json`) and when maintenance (retraining) falls due (drift > 0.02).
#   bench/drift.sh [GIT_DIR] [START_FRACTION] [STEP]
# Defaults: this repository, from the middle of its history, 5 commits a step.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=${1:-$root}
fraction=${2:-0.5}
step=${3:-5}
cargo build -q --release -p lore
lore=$root/target/release/lore
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q --no-checkout "$src" "$work/repo"
cd "$work/repo"
mapfile -t commits < <(git rev-list --reverse --first-parent HEAD)
n=${#commits[@]}
start=$(python3 -c "print(int($n * $fraction))")
export LORE_HOME=$work/home
echo "| commits after training | chunks | embedded since | drift | maintenance due |"
echo "|---|---|---|---|---|"
embedded=0
for ((i = start; i < n; i += step)); do
    git checkout -q --force "${commits[$i]}"
    report=$("$lore" index --json --quiet . 2>/dev/null)
    python3 - "$((i - start))" "$report" "$embedded" <<'PY' > "$work/row"
import json, sys
since, report, before = int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
e = report.get("embed") or {}
total = before + (0 if e.get("trained") else e.get("embedded", 0))
chunks = e.get("reused", 0) + e.get("embedded", 0)
print(f"| {since} | {chunks:,} | {total:,} | {e.get('drift', 0):.4f} | {'yes' if e.get('maintenance_due') else 'no'} |")
PY
    cat "$work/row"
    embedded=$(python3 - "$report" "$embedded" <<'PY'
import json, sys
e = json.loads(sys.argv[1]).get("embed") or {}
print(int(sys.argv[2]) + (0 if e.get("trained") else e.get("embedded", 0)))
PY
)
done
