"""Runs the retrieval policy benchmark; see policy.sh."""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import blake3


def run(cmd, env, cwd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=cwd)
    return out.stdout


def held_out(query):
    """The doc queries `lore policy train` holds out (policy.rs: 30% by hash)."""
    return blake3.blake3(b"doc\x00" + query.encode()).digest()[0] % 10 >= 7


def metrics(results):
    n = max(len(results), 1)
    r10 = sum(1 for r in results if r["span_rank"] is not None and r["span_rank"] <= 10) / n
    mrr = sum(1 / r["span_rank"] for r in results if r["span_rank"] is not None and r["span_rank"] <= 10) / n
    return r10, mrr


def evaluate(lore, env, root, n):
    report = json.loads(run([lore, "eval", "--repo", ".", "--from-docs", "--n", str(n), "--mode", "hybrid",
                             "--json"], env, root))
    if isinstance(report, list):
        report = report[0]
    held = [r for r in report["results"] if held_out(r["query"])]
    return report, held


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    rows, results = [], {}
    for name in args.names:
        root = Path(args.corpus) / name
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, LORE_HOME=home)
            run([args.lore, "index", "-q", "--repo", ".", "."], env, root)
            _, before = evaluate(args.lore, env, root, args.n)
            start = time.perf_counter()
            trained = json.loads(run([args.lore, "policy", "train", "--repo", ".", "--wait", "--json",
                                      "--queries", str(args.n)], env, root))
            train_s = time.perf_counter() - start
            version = str(trained["version"])
            if not trained["promoted"]:
                run([args.lore, "policy", "promote", "--repo", ".", version], env, root)
            _, after = evaluate(args.lore, env, root, args.n)
            if not trained["promoted"]:
                run([args.lore, "policy", "rollback", "--repo", "."], env, root)
        record = trained["record"]
        b, a = metrics(before), metrics(after)
        results[name] = {"train_s": train_s, "trained": trained, "held_out_doc_queries": len(before),
                         "global": {"span_r10": b[0], "span_mrr10": b[1]},
                         "trained_policy": {"span_r10": a[0], "span_mrr10": a[1]}}
        v = record["verdict"]
        rows.append((name, record["sources"], len(before), b[0], a[0], a[0] - b[0], b[1], a[1],
                     v["current"]["recall10"], v["candidate"]["recall10"], trained["promoted"], train_s))
        print(f"{name}: trained v{version} in {train_s:.1f} s on {trained['queries'][0]} queries "
              f"({trained['queries'][1]} held out), promoted {trained['promoted']}: {v['reason']}", flush=True)
        print(f"  weights {json.dumps(record['weights'])}", flush=True)

    print()
    print("| corpus | mined queries | held-out doc queries | span R@10 global | trained | gain "
          "| span MRR@10 global | trained | pooled held-out R@10 global → trained | promoted | train s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, sources, n, b, a, gain, bm, am, pc, pt, promoted, secs) in rows:
        mined = ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
        print(f"| {name} | {mined} | {n} | {b:.3f} | {a:.3f} | {gain:+.3f} | {bm:.3f} | {am:.3f} "
              f"| {pc:.3f} → {pt:.3f} | {'yes' if promoted else 'no'} | {secs:.1f} |")
    Path("bench/out/policy.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
