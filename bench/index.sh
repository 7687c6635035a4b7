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

if [ ! -d "$corpus/django" ]; then
    tmp=$(mktemp -d)
    pip download -q --no-deps --no-binary :all: django==5.1.4 -d "$tmp"
    tar -xzf "$tmp"/[Dd]jango-5.1.4.tar.gz -C "$tmp"
    mv "$tmp"/[Dd]jango-5.1.4 "$corpus/django"
    rm -rf "$tmp"
fi
if [ ! -d "$corpus/tokio" ]; then
    tmp=$(mktemp -d)
    mkdir -p "$tmp/p/src" && echo 'fn main() {}' > "$tmp/p/src/main.rs"
    printf '[package]\nname = "p"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ntokio = "=1.47.1"\n[workspace]\n' > "$tmp/p/Cargo.toml"
    cargo fetch -q --manifest-path "$tmp/p/Cargo.toml"
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/tokio-1.47.1 | head -1)
    cp -r "$src" "$corpus/tokio"
    rm -rf "$tmp"
fi

cargo build -q --release -p lore
python3 "$root/bench/index.py" --lore "$root/target/release/lore" --corpus "$corpus" "$@"
