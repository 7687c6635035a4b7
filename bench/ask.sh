#!/usr/bin/env bash
# Ask benchmark on Django 5.1.4: the golden set (bench/golden/django.jsonl,
# 35 questions with acceptable locations) through `lore eval --ask`, the
# tokio 1.47.1 golden set (bench/golden/tokio.jsonl, 38 questions on Rust;
# built from tokio.src.jsonl by bench/golden/resolve.py), and
# the end-to-end latency of `lore ask --no-llm` as a user runs it (one
# process per question, release build, warm index).
#   bench/ask.sh
# With a provider configured (`lore config set provider.kind ...` or
# LORE_PROVIDER/LORE_BASE_URL/LORE_MODEL), the golden set is also answered
# by the model and its citation precision is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
"$root/bench/fetch.sh" django tokio
cargo build -q --release -p lore
lore=$root/target/release/lore
export LORE_HOME=${LORE_HOME_BENCH:-$root/target/bench-home}
corpus=$root/bench/corpus/django
"$lore" index -q "$corpus"
mkdir -p "$root/bench/out"
"$lore" index -q "$root/bench/corpus/tokio"
"$lore" --repo "$root/bench/corpus/tokio" eval "$root/bench/golden/tokio.jsonl" --ask --no-llm --json > "$root/bench/out/ask-tokio.json"
python3 - "$lore" "$corpus" "$root/bench/golden/django.jsonl" "$root/bench/out/ask.json" <<'PY'
import json, statistics, subprocess, sys, time
lore, corpus, golden, out = sys.argv[1:5]
questions = [json.loads(l)["query"] for l in open(golden) if l.strip()]

def run(*args):
    return subprocess.run([lore, "--repo", corpus, *args], check=True, capture_output=True, text=True).stdout

extractive = json.loads(run("eval", golden, "--ask", "--no-llm", "--json"))
# End-to-end: one `lore ask` process per question, three rounds.
times = []
for _ in range(3):
    for q in questions:
        t = time.perf_counter()
        run("ask", "--no-llm", "--json", q)
        times.append((time.perf_counter() - t) * 1000)
times.sort()
p50 = statistics.median(times)
p95 = times[int(round((len(times) - 1) * 0.95))]
report = {"questions": len(questions),
          "extractive": {k: extractive[k] for k in ("hit_at_3", "citation_precision", "p50_ms", "p95_ms")},
          "cli_p50_ms": p50, "cli_p95_ms": p95}
try:
    llm = json.loads(run("eval", golden, "--ask", "--json"))
    if llm["llm_answers"]:
        report["llm"] = {k: llm[k] for k in ("hit_at_3", "citation_precision", "p50_ms", "p95_ms", "llm_answers")}
except subprocess.CalledProcessError as e:
    report["llm_error"] = e.stderr.strip()
json.dump(report, open(out, "w"), indent=2)
e = report["extractive"]
print(f"Django golden set, {len(questions)} questions")
print(f"  extractive: acceptable location in first 3 citations {e['hit_at_3']*100:.1f}% (target >= 90%), "
      f"citation precision {e['citation_precision']*100:.1f}%")
print(f"  extractive latency in-process p50 {e['p50_ms']:.1f} ms, p95 {e['p95_ms']:.1f} ms")
print(f"  `lore ask --no-llm` end to end (process start to exit, {len(times)} runs): "
      f"p50 {p50:.1f} ms (target <= 150 ms), p95 {p95:.1f} ms")
tokio = json.load(open(out.replace("ask.json", "ask-tokio.json")))
print(f"Tokio golden set, {tokio['questions']} questions")
print(f"  extractive: acceptable location in first 3 citations {tokio['hit_at_3']*100:.1f}% (target >= 90%), "
      f"p50 {tokio['p50_ms']:.1f} ms")
if "llm" in report:
    l = report["llm"]
    print(f"  with the configured model: first-3 {l['hit_at_3']*100:.1f}%, citation precision "
          f"{l['citation_precision']*100:.1f}%, p50 {l['p50_ms']:.0f} ms")
else:
    print("  no model configured (or reachable): citation precision of model answers not measured")
PY
