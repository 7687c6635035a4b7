"""Runs the retrieval benchmark; see retrieval.sh."""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path


def run(cmd, env, cwd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=cwd)
    return out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--local", nargs="*", default=[],
                    help="corpora also run with the local transformer model")
    ap.add_argument("--model", help="sentence-transformers model directory")
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()
    rows = []
    results = {}
    for name in args.names:
        root = Path(args.corpus) / name
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, LORE_HOME=home)
            start = time.perf_counter()
            report = json.loads(run([args.lore, "index", "--json", "-q", "--repo", ".", "."], env, root))
            index_s = time.perf_counter() - start
            evals = json.loads(run([args.lore, "eval", "--repo", ".", "--from-docs", "--n", str(args.n),
                                    "--mode", "lexical,vector,hybrid", "--json"], env, root))
            status = json.loads(run([args.lore, "status", "--json", "--repo", "."], env, root))
        embed = report.get("embed") or {}
        by_mode = {e["mode"]: e for e in evals}
        results[name] = {"index_s": index_s, "chunks": status["chunks"], "embed": embed, "eval": evals}
        for mode, label in (("lexical", "BM25"), ("vector", "learned"), ("hybrid", "hybrid (learned)")):
            e = by_mode[mode]
            rows.append((name, label, e["queries"], e["file"]["recall_at_10"], e["span"]["recall_at_10"],
                         e["span"]["mrr_at_10"], e["latency"]["p50_ms"], e["latency"]["p95_ms"]))
        gain = by_mode["hybrid"]["span"]["recall_at_10"] - by_mode["lexical"]["span"]["recall_at_10"]
        results[name]["hybrid_minus_lexical_span_r10"] = gain
        print(f"{name}: {status['chunks']} chunks, index with learned vectors {index_s:.2f} s "
              f"(embedding step {embed.get('ms', 0)} ms, {embed.get('embedded', 0)} chunks"
              f" = {embed.get('embedded', 0) / max(embed.get('ms', 1), 1) * 1000:.0f} chunks/s)", flush=True)

    for name in args.local:
        root = Path(args.corpus) / name
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, LORE_HOME=home)
            start = time.perf_counter()
            report = json.loads(run([args.lore, "index", "--json", "-q", "--repo", ".", "--embedder",
                                     f"local:{args.model}", "--embed", "wait", "."], env, root))
            index_s = time.perf_counter() - start
            evals = json.loads(run([args.lore, "eval", "--repo", ".", "--from-docs", "--n", str(args.n),
                                    "--mode", "dense,hybrid", "--json"], env, root))
        dense = report.get("dense") or {}
        by_mode = {e["mode"]: e for e in evals}
        results[name]["local"] = {"index_s": index_s, "dense": dense, "eval": evals}
        for mode, label in (("dense", "local model"), ("hybrid", "hybrid (learned + local)")):
            e = by_mode[mode]
            rows.append((name, label, e["queries"], e["file"]["recall_at_10"], e["span"]["recall_at_10"],
                         e["span"]["mrr_at_10"], e["latency"]["p50_ms"], e["latency"]["p95_ms"]))
        results[name]["hybrid_local_minus_local_span_r10"] = (
            by_mode["hybrid"]["span"]["recall_at_10"] - by_mode["dense"]["span"]["recall_at_10"])
        results[name]["hybrid_local_minus_lexical_span_r10"] = (
            by_mode["hybrid"]["span"]["recall_at_10"]
            - {e["mode"]: e for e in results[name]["eval"]}["lexical"]["span"]["recall_at_10"])
        print(f"{name}: index with the local model {index_s:.1f} s "
              f"({dense.get('embedded', 0)} chunks embedded at {dense.get('chunks_per_sec', 0):.1f} chunks/s, "
              f"{dense.get('ms', 0) / 1000:.1f} s)", flush=True)

    print()
    print("| corpus | mode | queries | file R@10 | span R@10 | span MRR@10 | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]:.1f} | {r[7]:.1f} |")
    print()
    for name in args.names:
        g = results[name]["hybrid_minus_lexical_span_r10"]
        print(f"{name}: hybrid (learned) − BM25 span R@10 = {g:+.3f} (targets: ≥ +0.08 learned, ≥ +0.15 overall)")
        if "local" in results[name]:
            a = results[name]["hybrid_local_minus_lexical_span_r10"]
            b = results[name]["hybrid_local_minus_local_span_r10"]
            print(f"{name}: hybrid (learned + local) − BM25 = {a:+.3f}; − local model alone = {b:+.3f} (target ≥ 0)")
    out = Path(__file__).parent / "out" / "retrieval.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
