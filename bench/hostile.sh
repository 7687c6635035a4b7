#!/usr/bin/env bash
# The hostile set: every attack on Lore's inputs, stores and server that
# the tests reproduce (secrets through symlinks and URLs, leaks into logs,
# DNS rebinding, cross-site requests, slow clients, FIFOs, damaged store
# files, full disks, runaway nesting, purge), run and tabulated: case,
# expected, result. Each case builds its own hostile fixture.
#   bench/hostile.sh
# The cases are the tests of crates/lore/tests/{security,integrity,robustness}.rs,
# crates/lore-server/tests/api.rs and the unit tests named below; a case
# "held" when its test passed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# run CARGO_ARGS... [-- FILTERS...]: the matching tests, their result lines kept.
run() {
    cargo test "$@" --test-threads 2 2>&1 | grep -E '^test .* \.\.\. ' >>"$out"
}
run -p lore --test security --test integrity --test robustness --
run -p lore-server --test api --
run -p lore-core --lib -- endpoint
run -p lore-ask --lib -- redact provider::tests::nothing config::tests::a_provider
run -p lore-embed --lib -- spec
run -p lore-vector --lib -- damaged
run -p lore-syntax --lib -- nested
run -p lore-server --lib -- gate
run -p lore-store --lib -- cache::tests::a_damaged
python3 - "$out" <<'PY'
import re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"test (\S+) \.\.\. (\w+)", line.strip())
    if m:
        name, result = m.groups()
        case = name.split("::")[-1].replace("_", " ")
        rows.append((case, "held", "held" if result == "ok" else "BROKEN"))
width = max(len(r[0]) for r in rows)
print(f"{'case':<{width}}  expected  result")
for case, expected, result in rows:
    print(f"{case:<{width}}  {expected:<8}  {result}")
broken = sum(r[2] != "held" for r in rows)
print(f"\n{len(rows)} cases, {len(rows) - broken} held, {broken} broken")
sys.exit(1 if broken else 0)
PY
