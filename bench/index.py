"""Runs the index benchmark; see index.sh. Numbers are printed with ratios
against ctags and ripgrep measured in the same run."""

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def timed(cmd, check=True, **kw):
    start = time.perf_counter()
    subprocess.run(cmd, check=check, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def timed_rss(cmd, env):
    """Wall seconds and peak RSS (KiB) of a command, via GNU time."""
    with tempfile.NamedTemporaryFile("r") as out:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name] + cmd, check=True,
                       stdout=subprocess.DEVNULL, env=env)
        wall = time.perf_counter() - start
        return wall, int(out.read().strip().splitlines()[-1])


def du(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def ctags_defs(tags_file, corpus):
    """(path, name) of ctags' Python classes, functions and methods."""
    defs = []
    for line in open(tags_file, encoding="utf-8", errors="replace"):
        if line.startswith("!_"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 4 or not parts[1].endswith(".py"):
            continue
        fields = dict(p.split(":", 1) for p in parts[3:] if ":" in p)
        kind = fields.get("kind") or parts[3]
        if kind in ("class", "function", "member", "c", "f", "m"):
            path = os.path.relpath(os.path.join(corpus, parts[1]), corpus)
            defs.append((path, parts[0]))
    return defs


def run(lore, corpus, name, seed):
    src = corpus / name
    home = Path(tempfile.mkdtemp(prefix="lore-bench-"))
    env = dict(os.environ, LORE_HOME=str(home))
    env.pop("RUST_LOG", None)
    res = {"corpus": name}

    tags = home / "tags"
    ctags_cmd = ["ctags", "-R", "--fields=+nK", "-f", str(tags), "."]
    res["ctags_s"] = min(timed(ctags_cmd, cwd=src) for _ in range(3))

    # Cold index of symbols + lexical (vectors are timed separately below).
    wall, rss = timed_rss([lore, "index", "--quiet", "--no-vectors", str(src)], env)
    res["cold_index_s"] = wall
    res["peak_rss_mib"] = rss / 1024
    status = json.loads(subprocess.check_output([lore, "status", "--json", "--repo", str(src)], env=env))
    lines = sum(f["lines"] for f in status["files"])
    res["files"] = sum(f["files"] for f in status["files"])
    res["lines"] = lines
    res["lines_per_s"] = lines / wall
    data_dir = Path(status["data_dir"])
    res["index_mib"] = du(data_dir) / 2**20
    res["source_mib"] = du(src) / 2**20
    res["index_over_source"] = res["index_mib"] / res["source_mib"]
    # A second cold run, to see the noise.
    shutil.rmtree(home / "repos")
    wall2, _ = timed_rss([lore, "index", "--quiet", "--no-vectors", str(src)], env)
    res["cold_index_s"] = min(wall, wall2)
    res["cold_over_ctags"] = res["cold_index_s"] / res["ctags_s"]
    # The same cold run with the learned model trained and every chunk embedded.
    shutil.rmtree(home / "repos")
    wall3, rss3 = timed_rss([lore, "index", "--quiet", str(src)], env)
    res["cold_index_with_vectors_s"] = wall3
    res["peak_rss_with_vectors_mib"] = rss3 / 1024

    # Re-index after a one-file change (median of 5).
    victim = next(p for p in sorted(src.rglob("*.py" if name == "django" else "*.rs")) if p.stat().st_size > 2000)
    original = victim.read_bytes()
    reindex = []
    try:
        for i in range(5):
            victim.write_bytes(original + f"\n# bench edit {i}\n".encode())
            reindex.append(timed([lore, "index", "--quiet", str(src)], env=env))
    finally:
        victim.write_bytes(original)
        subprocess.run([lore, "index", "--quiet", str(src)], env=env, check=True)
    res["reindex_one_file_ms"] = statistics.median(reindex) * 1000

    # 200 queries: identifiers from ctags and words from the code.
    rng = random.Random(seed)
    names = sorted({n for _, n in ctags_defs(tags, src)} or {l.split("\t")[0] for l in open(tags) if not l.startswith("!_")})
    words = sorted({w.lower() for w in re.findall(r"[A-Za-z]{5,}", victim.read_text(errors="replace"))})
    queries = rng.sample(names, min(150, len(names))) + rng.sample(words, min(50, len(words)))
    lat, hybrid_lat, rg_lat = [], [], []
    for q in queries:
        lat.append(timed([lore, "search", "--mode", "lexical", "--repo", str(src), "-k", "10", "--json", q], env=env))
    for q in queries:
        hybrid_lat.append(timed([lore, "search", "--repo", str(src), "-k", "10", "--json", q], env=env))
    for q in queries:
        rg_lat.append(timed(["rg", "-i", "-F", "--no-messages", q, str(src)], check=False))
    res["queries"] = len(queries)
    res["search_p50_ms"] = pct(lat, 50) * 1000
    res["search_p95_ms"] = pct(lat, 95) * 1000
    res["hybrid_p50_ms"] = pct(hybrid_lat, 50) * 1000
    res["hybrid_p95_ms"] = pct(hybrid_lat, 95) * 1000
    res["rg_p50_ms"] = pct(rg_lat, 50) * 1000
    res["search_over_rg_p50"] = res["search_p50_ms"] / res["rg_p50_ms"]

    if name == "django":
        expected = ctags_defs(tags, src)
        db = sqlite3.connect(data_dir / "lore.db")
        found = {}
        for path, sym in db.execute(
            "SELECT f.path, s.name FROM symbols s JOIN files f ON f.id = s.file_id "
            "WHERE f.lang = 'python' AND s.kind IN ('function', 'method', 'class')"
        ):
            found[(path, sym)] = found.get((path, sym), 0) + 1
        want = {}
        for key in expected:
            want[key] = want.get(key, 0) + 1
        hit = sum(min(n, found.get(k, 0)) for k, n in want.items())
        res["ctags_python_defs"] = len(expected)
        res["symbol_recall_vs_ctags"] = hit / max(1, len(expected))
        missing = [k for k, n in want.items() if found.get(k, 0) < n]
        res["missing_sample"] = [f"{p}:{n}" for p, n in missing[:10]]
    shutil.rmtree(home)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--corpus", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("names", nargs="*", default=["django", "tokio"])
    args = ap.parse_args()
    results = [run(args.lore, args.corpus, n, args.seed) for n in args.names]
    out = Path(__file__).parent / "out" / "index.json"
    out.write_text(json.dumps(results, indent=2))
    keys = ["files", "lines", "source_mib", "ctags_s", "cold_index_s", "cold_over_ctags", "lines_per_s",
            "peak_rss_mib", "cold_index_with_vectors_s", "peak_rss_with_vectors_mib", "index_mib", "index_over_source", "reindex_one_file_ms", "search_p50_ms",
            "search_p95_ms", "hybrid_p50_ms", "hybrid_p95_ms", "rg_p50_ms", "search_over_rg_p50", "symbol_recall_vs_ctags"]
    print(f"{'metric':<24}" + "".join(f"{r['corpus']:>14}" for r in results))
    for k in keys:
        cells = []
        for r in results:
            v = r.get(k)
            cells.append(f"{'-':>14}" if v is None else f"{v:>14.3f}" if isinstance(v, float) else f"{v:>14}")
        print(f"{k:<24}" + "".join(cells))
    for r in results:
        if r.get("missing_sample"):
            print(f"{r['corpus']}: sample of ctags definitions not found: {', '.join(r['missing_sample'])}")


if __name__ == "__main__":
    main()
