#!/usr/bin/env python3
"""SmellHunt on the Django and tokio corpora (issue 19): findings per rule
and the time of `lore findings` cold (no cached hunt) and warm, and the
latency of `lore risks` (the corpora come from the package registries,
without history: risk uses the prior weights there). JSON in
bench/out/smells.json."""

import argparse
import collections
import json
import os
import shutil
import subprocess
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--names", nargs="*", default=["django", "tokio"])
    args = ap.parse_args()
    out = {}
    for name in args.names:
        root = os.path.join(args.corpus, name)
        home = tempfile.mkdtemp(prefix="lore-smells-")
        env = dict(os.environ, LORE_HOME=home)
        # --repo: the corpora sit inside this checkout's git work tree,
        # which Lore would otherwise take for the repository.
        run = lambda *a: subprocess.run([args.lore, "--repo", root, *a], cwd=root, env=env,
                                        check=True, capture_output=True, text=True).stdout
        run("index", "-q", root)
        times = []
        for _ in range(3):
            for cache in subprocess.run(["find", home, "-name", "smells.json"], capture_output=True,
                                        text=True).stdout.split():
                os.remove(cache)
            t = time.monotonic()
            findings = json.loads(run("findings", "--json"))
            times.append(time.monotonic() - t)
        t = time.monotonic()
        run("findings", "--json")
        warm = time.monotonic() - t
        run("risks", "--json")
        lat = []
        for _ in range(5):
            t = time.monotonic()
            run("risks", "--json")
            lat.append((time.monotonic() - t) * 1000)
        by_rule = collections.Counter(f["rule"] for f in findings)
        by_sev = collections.Counter(f["severity"] for f in findings)
        files = len(json.loads(run("risks", "--json")))
        out[name] = {"findings": len(findings), "by_rule": dict(by_rule.most_common()),
                     "by_severity": dict(by_sev), "source_files": files,
                     "cold_s": round(sorted(times)[1], 2), "warm_s": round(warm, 2),
                     "risks_ms_p50": round(sorted(lat)[2])}
        shutil.rmtree(home, ignore_errors=True)
        print(f"{name}: {len(findings)} findings in {files} source files; cold {sorted(times)[1]:.2f} s "
              f"(median of 3), warm {warm:.2f} s; lore risks p50 {sorted(lat)[2]:.0f} ms")
        for rule, n in by_rule.most_common():
            print(f"  {rule}: {n}")
    os.makedirs("bench/out", exist_ok=True)
    with open("bench/out/smells.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
