#!/usr/bin/env python3
"""Risk self-check benchmark (issue 19): `lore eval --risk` on public
repositories with their git history, two cut points each, beside LOC-only
and churn-only baselines computed in the same run; plus `lore risks`
latency. Prints a table; JSON in bench/out/risk.json.

Each repository is cloned from GitHub (or from MIRRORS/owner+name/repo when
that directory exists) and checked out at the pinned commit below, so the
numbers can be reproduced. None of them is in the reserved evaluation set.

Two sets: `bench` (the benchmark the closing note reports) and `train`
(other repositories, on which the model's choice rule — the margin a
fitted model or a size adjustment must win by — was decided, so the
benchmark does not tune it). `--set train` reruns that corpus.

"Pooled" numbers weigh each cut by its fix-touched files: recall = all
fix-touched files found in the riskiest 20% of lines over all of them;
AUC = the mean of the cuts' AUCs weighted the same way.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TRAIN = [
    ("pallets/werkzeug", "Python", "1b00618e787f40dfb21eba29caf8f8be7c8e1d93"),
    ("python-attrs/attrs", "Python", "c1dc5dcba16ed827aa6dcad896b41a3afedb4e32"),
    ("urfave/cli", "Go", "1305a08200f7c4d873e28bd2bbad1ff257c6cfc4"),
    ("go-chi/chi", "Go", "735ae2b87f8c733d616e809ae86e0985c1bc3350"),
    ("sirupsen/logrus", "Go", "87434bb3a736e2a27d34df66924471714f408d3d"),
    ("koajs/koa", "JavaScript", "e0ba8ef39d27fe5dae5492f9fe753d155124f994"),
    ("chalk/chalk", "JavaScript", "678e5505458d0cf40134e205aed4454e0eeac45c"),
    ("tokio-rs/mio", "Rust", "7654f571f2474a1774a4f6e1004a4c17c50f64c7"),
    ("hyperium/http", "Rust", "82db5b8af1e3939678fee88f3c57b72fee7e3a7b"),
    ("serde-rs/json", "Rust", "827a315bf2198558f0325b07bcc1e2cd973aba2f"),
]

REPOS = [
    # (owner/name, language, pinned HEAD)
    ("pallets/click", "Python", "2c8cd3ac958a7eb316d67f2d316c27086c4c0369"),
    ("psf/black", "Python", "8947c48ef2077c3a301b03c1e814dc2e3f78436e"),
    ("encode/httpx", "Python", "ae1b9f66238f75ced3ced5e4485408435de10768"),
    ("spf13/cobra", "Go", "adbc8813901bba65827259daa8e22ff94ec1f30e"),
    ("junegunn/fzf", "Go", "956562daaa82ddf55ea8f7aeab56883377b742c6"),
    ("tj/commander.js", "JavaScript", "ba6d13ddb4243e5913367734f8c159089ffe7834"),
    ("yargs/yargs", "JavaScript", "2a4378bdc2eac9cf7d0cdfe0a52b1b25f779806a"),
    ("tokio-rs/axum", "Rust", "3d78036dcac289d6c1d54934708acb6a5bd73686"),
    ("tokio-rs/tokio", "Rust", "ea91b33ca57ff0581b38e735cc108f831bccbdaa"),
]


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def checkout(name, sha, work, mirrors):
    dest = os.path.join(work, name.replace("/", "+"))
    if not os.path.isdir(dest):
        mirror = os.path.join(mirrors or "", name.replace("/", "+"), "repo")
        source = mirror if mirrors and os.path.isdir(mirror) else f"https://github.com/{name}"
        sh("git", "clone", "-q", source, dest)
    sh("git", "-C", dest, "checkout", "-q", "--detach", sha)
    return dest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "lore-risk-bench"))
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS"))
    ap.add_argument("--cuts", default="365d,730d")
    ap.add_argument("--window", default="365d")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--set", choices=["bench", "train"], default="bench")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    home = os.path.join(args.work, "home")
    env = dict(os.environ, LORE_HOME=home)
    rows = []
    for name, lang, sha in (TRAIN if args.set == "train" else REPOS):
        if args.only and name not in args.only:
            continue
        root = checkout(name, sha, args.work, args.mirrors)
        run = lambda *a: subprocess.run([args.lore, *a], cwd=root, env=env, check=True,
                                        capture_output=True, text=True).stdout
        run("index", "-q")
        cut_args = [x for c in args.cuts.split(",") for x in ("--cut", c)]
        t = time.monotonic()
        reports = json.loads(run("eval", "--risk", *cut_args, "--window", args.window, "--json"))
        eval_s = time.monotonic() - t
        # Latency of a risk map once its model is made (second call).
        run("risks", "--json")
        t = time.monotonic()
        run("risks", "--json")
        risks_ms = (time.monotonic() - t) * 1000
        for r in reports:
            rows.append({"repo": name, "lang": lang, "head": sha, **r,
                         "eval_seconds": round(eval_s, 1), "risks_ms": round(risks_ms)})
        print(f"{name}: {len(reports)} cuts in {eval_s:.0f} s", file=sys.stderr)
    os.makedirs("bench/out", exist_ok=True)
    with open(f"bench/out/risk{'-train' if args.set == 'train' else ''}.json", "w") as f:
        json.dump(rows, f, indent=1)
    print("| repository | cut | files | fix-touched | model | risk AUC / recall@20% | LOC | churn (1y commits) |")
    print("|---|---|---|---|---|---|---|---|")
    def cell(m):
        auc = "n/a" if m["auc"] is None else f"{m['auc']:.2f}"
        return f"{auc} / {m['recall_at_20pct_lines']:.2f}"
    for r in rows:
        print(f"| {r['repo']} ({r['lang']}) | {r['cut_time'][:10]} {r['cut'][:10]} | {r['files']} "
              f"| {r['fix_touched']} | {r['model']} | {cell(r['risk'])} | {cell(r['loc'])} "
              f"| {cell(r['churn'])} |")
    # Cuts whose window saw no fix-touched file measure nothing: left out.
    scored = [r for r in rows if r["risk"]["auc"] is not None]
    def mean(key, metric):
        vals = [r[key][metric] for r in scored]
        return sum(vals) / len(vals) if vals else float("nan")
    print()
    positives = sum(r["fix_touched"] for r in scored)
    def pooled(key, metric):
        return sum(r[key][metric] * r["fix_touched"] for r in scored) / positives
    for key in ["risk", "prior", "loc", "churn"]:
        print(f"{key}: mean over {len(scored)} cuts with fixes ({len(rows)} in all) "
              f"ROC AUC {mean(key, 'auc'):.3f}, "
              f"recall within the riskiest 20% of lines {mean(key, 'recall_at_20pct_lines'):.3f}; "
              f"pooled ({positives} fix-touched files) AUC {pooled(key, 'auc'):.3f}, "
              f"recall {pooled(key, 'recall_at_20pct_lines'):.3f}")


if __name__ == "__main__":
    main()
