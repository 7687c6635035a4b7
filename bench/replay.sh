#!/usr/bin/env bash
# Simulated-user replay benchmark (see bench/replay.py): a user asks
# questions mined from a repository's history, votes up answers whose
# first three citations hold the expected place and re-asks the others;
# Lore retrains its retrieval policy after each batch; the held-out
# first-3 hit rate is printed before learning and after every batch.
#   bench/replay.sh [NAME...]    # default: tokio
# Repositories (cloned from GitHub at these commits, or from $MIRROR/<owner>+<name>
# when a local bare copy exists). `lore eval --from-history` needs commits
# whose changes are still at HEAD: tokio gives 338 questions; click,
# werkzeug and httpx only 63–72.
#   tokio  tokio-rs/tokio     ea91b33ca5 (Rust)
#   click  pallets/click      2c8cd3ac (Python)
set -euo pipefail
cd "$(dirname "$0")/.."
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(tokio)
python3 -c "import blake3" 2>/dev/null || python3 -m pip install -q blake3==1.0.11
cargo build -q --release -p lore
mkdir -p bench/out bench/replay
declare -A slug=([tokio]=tokio-rs/tokio [click]=pallets/click [mio]=tokio-rs/mio [werkzeug]=pallets/werkzeug [httpx]=encode/httpx)
declare -A commit=([tokio]=ea91b33ca5 [click]=2c8cd3ac)
for n in "${names[@]}"; do
    dir=bench/replay/$n
    if [ ! -d "$dir" ]; then
        local_copy=${MIRROR:-/work/.mirror}/${slug[$n]/\//+}/repo
        if [ -d "$local_copy" ]; then
            git clone -q "$local_copy" "$dir"
        else
            git clone -q "https://github.com/${slug[$n]}" "$dir"
        fi
        [ -z "${commit[$n]:-}" ] || git -C "$dir" checkout -q "${commit[$n]}"
    fi
    echo "== $n at $(git -C "$dir" rev-parse --short HEAD)"
    python3 bench/replay.py --lore "$PWD/target/release/lore" --root "$dir" --out "bench/out/replay-$n.json"
done
