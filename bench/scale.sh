#!/usr/bin/env bash
# Scale benchmark: Lore on the sources of its own dependency tree
# (`cargo vendor` of this workspace; the crate and line counts grow as the
# workspace does) and on its alphabetically first half (the 0.5x tree),
# beside `ctags -R` and `rg -l` on the same trees. Per tree: cold index time
# and peak RSS, index size, a one-file re-index (time, peak RSS), one-shot
# `lore search` p50/p95 and peak RSS. One run each; the machine is noisy:
# compare ratios taken in the same run.
#   bench/scale.sh          (SEARCHES=20 to change the number of searches)
# Needs universal-ctags, ripgrep and GNU time (Debian: universal-ctags
# ripgrep time).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
searches=${SEARCHES:-20}
for tool in ctags rg /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench/scale.sh needs $tool" >&2; exit 1; }
done
cargo build -q --release -p lore
lore=$root/target/release/lore
corpus=$root/bench/corpus
full=$corpus/vendor
half=$corpus/vendor-half
if [ ! -d "$full" ]; then
    cargo vendor --locked -q "$full" >/dev/null
fi
if [ ! -d "$half" ]; then
    mkdir -p "$half"
    crates=$(ls "$full" | sort)
    n=$(echo "$crates" | wc -l)
    echo "$crates" | head -n $((n / 2)) | while read -r c; do cp -r "$full/$c" "$half/"; done
fi
out=$root/bench/out/scale
mkdir -p "$out"

# peak RSS (KiB) and wall seconds of a command, from GNU time.
measure() {
    local log=$1; shift
    /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null 2>>"$out/stderr.log"
    cat "$log"
}

for tree in "$half" "$full"; do
    name=$(basename "$tree")
    export LORE_HOME=$out/home-$name
    rm -rf "$LORE_HOME"
    files=$(find "$tree" -type f | wc -l)
    lines=$(find "$tree" -type f -name '*.rs' -print0 | xargs -0 cat | wc -l)
    all_lines=$(find "$tree" -type f \( -name '*.rs' -o -name '*.c' -o -name '*.h' -o -name '*.py' -o -name '*.md' -o -name '*.toml' \) -print0 | xargs -0 cat | wc -l)
    src_bytes=$(du -sb "$tree" | cut -f1)
    read -r ctags_s ctags_kb < <(measure "$out/t" ctags -R -f "$out/tags-$name" "$tree")
    read -r lore_s lore_kb < <(measure "$out/t" "$lore" index -q --no-vectors "$tree")
    read -r lore_v_s lore_v_kb < <(measure "$out/t" "$lore" index -q "$tree")
    index_bytes=$(du -sb "$LORE_HOME" | cut -f1)
    # One-file change: append a function to a file in the middle of the tree.
    victim=$(find "$tree" -type f -name '*.rs' | sort | sed -n "$((files / 3))p")
    [ -n "$victim" ] || victim=$(find "$tree" -type f -name '*.rs' | head -1)
    cp "$victim" "$out/victim.bak"
    printf '\npub fn scale_bench_marker_fn() -> u32 { 42 }\n' >> "$victim"
    read -r one_s one_kb < <(measure "$out/t" "$lore" index -q "$tree")
    cp "$out/victim.bak" "$victim"
    "$lore" index -q "$tree" >/dev/null
    # One-shot searches: a process per query.
    queries=("hash map insert" "parse error" "tokio runtime spawn" "serialize json" "sqlite transaction"
             "utf8 decode" "thread pool" "read file" "regex match" "http request")
    : > "$out/search-$name.txt"
    for i in $(seq "$searches"); do
        q=${queries[$(( (i - 1) % ${#queries[@]} ))]}
        ( cd "$tree" && measure "$out/t" "$lore" search -k 10 "$q" ) >> "$out/search-$name.txt"
    done
    read -r rg_s rg_kb < <(measure "$out/t" rg -l "parse error" "$tree")
    python3 - "$name" "$files" "$lines" "$all_lines" "$src_bytes" "$ctags_s" "$ctags_kb" \
        "$lore_s" "$lore_kb" "$lore_v_s" "$lore_v_kb" "$index_bytes" "$one_s" "$one_kb" \
        "$rg_s" "$out/search-$name.txt" <<'PY'
import statistics, sys
(name, files, lines, all_lines, src, ctags_s, ctags_kb, lore_s, lore_kb, lore_v_s, lore_v_kb,
 index_b, one_s, one_kb, rg_s, searches) = sys.argv[1:17]
rows = [l.split() for l in open(searches) if l.strip()]
secs = sorted(float(r[0]) * 1000 for r in rows)
rss = sorted(int(r[1]) for r in rows)
p = lambda xs, q: xs[min(len(xs) - 1, int(round((len(xs) - 1) * q)))]
mb = lambda kb: int(kb) / 1024
print(f"\n{name}: {int(files):,} files, {int(lines):,} lines of Rust ({int(all_lines):,} of source and docs), {int(src) / 2**20:.0f} MiB")
print("| | result | reference |")
print("|---|---|---|")
print(f"| cold index, no vectors | {float(lore_s):.1f} s, peak RSS {mb(lore_kb):.0f} MiB | ctags -R {float(ctags_s):.1f} s ({float(lore_s) / float(ctags_s):.1f}x) |")
print(f"| vectors on top (second run) | {float(lore_v_s):.1f} s, peak RSS {mb(lore_v_kb):.0f} MiB | |")
print(f"| index size | {int(index_b) / 2**20:.0f} MiB ({int(index_b) / int(src):.2f}x source) | |")
print(f"| one-file re-index | {float(one_s) * 1000:.0f} ms, peak RSS {mb(one_kb):.0f} MiB | |")
print(f"| one-shot search ({len(secs)}) | p50 {p(secs, .5):.0f} ms, p95 {p(secs, .95):.0f} ms, RSS p50 {mb(p(rss, .5)):.0f} MiB | rg -l {float(rg_s) * 1000:.0f} ms |")
PY
done
