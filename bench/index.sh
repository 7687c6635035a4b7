#!/usr/bin/env bash
# Index benchmark: Lore vs universal-ctags and ripgrep on Django 5.1.4 and
# tokio, in one run. Prints a table; writes JSON to bench/out/.
#   bench/index.sh            # both corpora
#   bench/index.sh django     # one corpus
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
corpus=$root/bench/corpus
mkdir -p "$corpus" "$root/bench/out"

need=()
command -v ctags >/dev/null || need+=(universal-ctags)
command -v rg >/dev/null || need+=(ripgrep)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

"$root/bench/fetch.sh" django tokio

cargo build -q --release -p lore
python3 "$root/bench/index.py" --lore "$root/target/release/lore" --corpus "$corpus" "$@"
