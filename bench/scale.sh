#!/usr/bin/env bash
# Scale benchmark: Lore on the sources of its own dependency tree
# (`cargo vendor` of this workspace; the crate and line counts grow as the
# workspace does) and on its alphabetically first half (the 0.5x tree),
# beside `ctags -R` and `rg -l` on the same trees. Per tree: cold index time
# and peak RSS (vectors included), index size, a re-index with nothing
# changed, a one-file re-index (time, peak RSS; median of 3), one-shot
# `lore search` p50/p95 and peak RSS, and `lore serve`'s search latency and
# resident memory. One run each; the machine is noisy: compare ratios taken
# in the same run.
#   bench/scale.sh          (SEARCHES=20 to change the number of searches)
# Needs universal-ctags, ripgrep and GNU time (Debian: universal-ctags
# ripgrep time), and curl.
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
    # Cold: everything a first `lore index` does, vectors included.
    read -r lore_s lore_kb < <(measure "$out/t" "$lore" index -q "$tree")
    index_bytes=$(du -sb "$LORE_HOME/repos" | cut -f1)
    # A run with nothing changed: the cost of finding what changed (a stat
    # per file). The first one may still hash files written within 2 s of
    # the cold run ("racily clean"), so take the second.
    "$lore" index -q "$tree" >/dev/null
    read -r same_s same_kb < <(measure "$out/t" "$lore" index -q "$tree")
    # One-file change, three times: append a function to a file a third of
    # the way into the tree, re-index; the median run counts.
    victim=$(find "$tree" -type f -name '*.rs' | sort | sed -n "$((files / 3))p")
    [ -n "$victim" ] || victim=$(find "$tree" -type f -name '*.rs' | head -1)
    cp "$victim" "$out/victim.bak"
    : > "$out/one-$name.txt"
    for i in 1 2 3; do
        printf '\npub fn scale_bench_marker_fn_%s() -> u32 { 42 }\n' "$i" >> "$victim"
        measure "$out/t" "$lore" index -q "$tree" >> "$out/one-$name.txt"
    done
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
    # The server: warm, then the same queries one at a time over HTTP;
    # resident memory after them, and what the server says it holds.
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    ( cd "$tree" && exec "$lore" serve --addr "127.0.0.1:$port" ) 2>"$out/serve-$name.log" &
    server=$!
    for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    id=$(curl -sf "http://127.0.0.1:$port/repos" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    : > "$out/serve-$name.txt"
    for i in $(seq $((searches + 10))); do
        q=${queries[$(( (i - 1) % ${#queries[@]} ))]}
        body=$(python3 -c 'import json,sys; print(json.dumps({"repo_id": sys.argv[1], "query": sys.argv[2], "limit": 10}))' "$id" "$q")
        t=$(curl -sf -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/search")
        # The first 10 warm the server (open the snapshot, load what stays).
        [ "$i" -gt 10 ] && echo "$t" >> "$out/serve-$name.txt"
    done
    serve_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
    resident=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^lore_resident_bytes/ {s += $NF} END {print s + 0}')
    kill $server; wait $server 2>/dev/null || true
    python3 - "$name" "$files" "$lines" "$all_lines" "$src_bytes" "$ctags_s" "$ctags_kb" \
        "$lore_s" "$lore_kb" "$index_bytes" "$same_s" "$same_kb" "$out/one-$name.txt" \
        "$rg_s" "$out/search-$name.txt" "$out/serve-$name.txt" "$serve_kb" "$resident" <<'PY'
import statistics, sys
(name, files, lines, all_lines, src, ctags_s, ctags_kb, lore_s, lore_kb, index_b, same_s, same_kb,
 ones, rg_s, searches, served, serve_kb, resident) = sys.argv[1:19]
rows = [l.split() for l in open(searches) if l.strip()]
secs = sorted(float(r[0]) * 1000 for r in rows)
rss = sorted(int(r[1]) for r in rows)
one = sorted((float(a), int(b)) for a, b in (l.split() for l in open(ones) if l.strip()))
one_s, one_kb = one[len(one) // 2]
srv = sorted(float(l) * 1000 for l in open(served) if l.strip())
p = lambda xs, q: xs[min(len(xs) - 1, int(round((len(xs) - 1) * q)))]
mb = lambda kb: int(kb) / 1024
print(f"\n{name}: {int(files):,} files, {int(lines):,} lines of Rust ({int(all_lines):,} of source and docs), {int(src) / 2**20:.0f} MiB")
print("| | result | reference |")
print("|---|---|---|")
print(f"| cold index | {float(lore_s):.1f} s, peak RSS {mb(lore_kb):.0f} MiB | ctags -R {float(ctags_s):.1f} s ({float(lore_s) / float(ctags_s):.1f}x) |")
print(f"| index size | {int(index_b) / 2**20:.0f} MiB ({int(index_b) / int(src):.2f}x source) | |")
print(f"| re-index, nothing changed | {float(same_s) * 1000:.0f} ms, peak RSS {mb(same_kb):.0f} MiB | |")
print(f"| one-file re-index (median of {len(one)}) | {one_s * 1000:.0f} ms, peak RSS {mb(one_kb):.0f} MiB | |")
print(f"| one-shot search ({len(secs)}) | p50 {p(secs, .5):.0f} ms, p95 {p(secs, .95):.0f} ms, RSS p50 {mb(p(rss, .5)):.0f} MiB | rg -l {float(rg_s) * 1000:.0f} ms |")
print(f"| server search ({len(srv)}, one at a time) | p50 {p(srv, .5):.1f} ms, p95 {p(srv, .95):.1f} ms, RSS {mb(serve_kb):.0f} MiB, resident data {int(float(resident)) / 2**20:.0f} MiB | |")
PY
done
