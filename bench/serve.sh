#!/usr/bin/env bash
# Server benchmark on Django 5.1.4: `lore serve` (release build, warm
# index) under wrk on loopback — POST /search at 20 concurrent connections
# for 60 s, the queries rotating over the golden set's 35 questions and 35
# identifier searches — with the server's RSS before and after; then the
# round trip of an MCP `search` call to `lore mcp` over stdio.
#   bench/serve.sh            (DURATION=60 CONNECTIONS=20 to change;
#                              LORE_BIN=path to measure another build)
# Needs wrk (Debian: wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
duration=${DURATION:-60}
connections=${CONNECTIONS:-20}
command -v wrk >/dev/null || { echo "bench/serve.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
"$root/bench/fetch.sh" django
# LORE_BIN: another build to measure (e.g. an older commit's, for a
# before/after comparison in one session).
if [ -z "${LORE_BIN:-}" ]; then cargo build -q --release -p lore; fi
lore=${LORE_BIN:-$root/target/release/lore}
export LORE_HOME=${LORE_HOME_BENCH:-$root/target/bench-home}
corpus=$root/bench/corpus/django
"$lore" index -q "$corpus"
mkdir -p "$root/bench/out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$lore" serve --addr "127.0.0.1:$port" 2>"$root/bench/out/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
id=$(curl -sf "http://127.0.0.1:$port/repos" | python3 -c '
import json, sys
print(next(r["id"] for r in json.load(sys.stdin) if r["root"].endswith("/bench/corpus/django")))')

# Request bodies for wrk: one per line, rotated per request.
python3 - "$root/bench/golden/django.jsonl" "$id" > "$root/bench/out/search-bodies.txt" <<'PY'
import json, sys
golden, repo = sys.argv[1:3]
queries = [json.loads(l)["query"] for l in open(golden) if l.strip()]
names = ["QuerySet.filter", "reverse", "CsrfViewMiddleware", "get_object_or_404", "Paginator",
         "render_to_string", "ModelForm", "login_required", "Signal.send", "cache_page",
         "transaction.atomic", "HttpResponseRedirect", "slugify", "FileSystemStorage", "Q",
         "select_related", "validate_email", "AppConfig.ready", "migrate", "urlpatterns",
         "session_key", "password hashers", "timezone.now", "JsonResponse", "F expression",
         "prefetch_related", "template loader", "middleware order", "ContentType",
         "GenericForeignKey", "bulk_create", "StreamingHttpResponse", "csrf_exempt",
         "autoescape", "DEFAULT_AUTO_FIELD"]
for q in queries + names:
    print(json.dumps({"repo_id": repo, "query": q, "limit": 10}))
PY
cat > "$root/bench/out/search.lua" <<LUA
local bodies = {}
for line in io.lines("$root/bench/out/search-bodies.txt") do bodies[#bodies + 1] = line end
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/search", {["Content-Type"] = "application/json"}, bodies[i])
end
LUA

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
# Warm up: every query once (opens the pooled snapshots, loads vectors).
wrk -t2 -c"$connections" -d5s -s "$root/bench/out/search.lua" "http://127.0.0.1:$port" >/dev/null
rss_start=$(rss)
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$root/bench/out/search.lua" \
    "http://127.0.0.1:$port" | tee "$root/bench/out/wrk.txt"
rss_end=$(rss)
errors=$(curl -sf "http://127.0.0.1:$port/metrics" | awk '/^lore_http_requests_total\{route="\/search"/ && !/status="200"/ {s += $NF} END {print s + 0}')
kill $server; wait $server 2>/dev/null || true
trap - EXIT

# MCP: initialize, then 50 `search` calls over stdio, timing each round trip.
mcp=$(python3 - "$lore" "$corpus" <<'PY'
import json, statistics, subprocess, sys, time
lore, corpus = sys.argv[1:3]
p = subprocess.Popen([lore, "mcp", "--repo", corpus], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
def send(msg):
    p.stdin.write(json.dumps(msg) + "\n"); p.stdin.flush()
def recv(id):
    while True:
        msg = json.loads(p.stdout.readline())
        if msg.get("id") == id:
            return msg
send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
      "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}})
recv(0)
send({"jsonrpc": "2.0", "method": "notifications/initialized"})
queries = ["csrf token check", "QuerySet filter", "reverse url", "template render", "session save",
           "password hasher", "migration autodetector", "paginator page", "cache middleware", "signal send"]
times = []
for i in range(60):
    t = time.perf_counter()
    send({"jsonrpc": "2.0", "id": i + 1, "method": "tools/call",
          "params": {"name": "search", "arguments": {"query": queries[i % len(queries)], "limit": 10}}})
    r = recv(i + 1)
    assert not r["result"].get("isError"), r
    if i >= 10:  # the first calls open the index and load vectors
        times.append((time.perf_counter() - t) * 1000)
p.stdin.close(); p.wait()
times.sort()
print(f"{statistics.median(times):.1f} {times[int(round((len(times)-1)*0.95))]:.1f} {times[0]:.1f}")
PY
)
read -r mcp_p50 mcp_p95 mcp_min <<<"$mcp"

python3 - "$root/bench/out/wrk.txt" "$rss_start" "$rss_end" "$errors" "$mcp_p50" "$mcp_p95" "$duration" "$connections" <<'PY'
import re, sys
wrk, rss0, rss1, errors, mcp50, mcp95, duration, conns = sys.argv[1:9]
text = open(wrk).read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
lat = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M)}
reqs = re.search(r"(\d+) requests in", text).group(1)
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
sock = re.search(r"Socket errors: (.*)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print()
print(f"| `/search` under wrk, {conns} connections, {duration} s | result | target |")
print("|---|---|---|")
print(f"| p50 | {lat['50']:.1f} ms | ≤ 20 ms |")
print(f"| p99 | {lat['99']:.1f} ms | ≤ 100 ms |")
print(f"| requests (per second) | {reqs} ({float(rps):.0f}/s) | |")
print(f"| errors (non-2xx, socket) | {int(non2xx.group(1)) if non2xx else 0} + {int(errors)} counted by the server, sockets: {sock.group(1) if sock else 'none'} | 0 |")
print(f"| server RSS start → end | {int(rss0)/1024:.0f} → {int(rss1)/1024:.0f} MiB | flat |")
print(f"| MCP `search` round trip (50 calls) | p50 {mcp50} ms, p95 {mcp95} ms | ≤ 50 ms |")
PY
