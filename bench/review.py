#!/usr/bin/env python3
"""Review benchmark (issue 21), first part: real commits that fixed
nothing should get no finding of medium or higher severity.

Uses the clones `bench/change.py` leaves in its work directory (run it
first; each `owner+name@cut` clone holds the whole history and an index at
its cut). For each repository, the first-parent commits after the cut
whose subject does not read as a fix (bench/change.py's FIX rule), at most
`--per-repo`, are reviewed with `lore review SHA~1..SHA --format json`
(the index at the cut serves impact; the review reads each commit's own
text). Prints the share with no medium+ finding, per repository and
pooled, and the review time.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from change import FIX, REPOS, TRAIN, commits_after, git


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--set", choices=["bench", "train"], default="bench")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "lore-change-bench"))
    ap.add_argument("--per-repo", type=int, default=15)
    args = ap.parse_args()
    lore = os.path.abspath(args.lore)
    env = dict(os.environ, LORE_HOME=os.path.join(args.work, "home"))
    rows = []
    for name, lang, sha in (TRAIN if args.set == "train" else REPOS):
        at_cut = os.path.join(args.work, name.replace("/", "+") + "@cut")
        if not os.path.isdir(at_cut):
            print(f"{name}: no {at_cut} (run bench/change.py first)", file=sys.stderr)
            continue
        cut = git(at_cut, "rev-parse", "HEAD").strip()
        picked = 0
        for commit, subject, files in commits_after(at_cut, cut, sha):
            if picked >= args.per_repo:
                break
            if FIX.search(subject) or not files or len(files) > 20:
                continue
            parents = git(at_cut, "rev-list", "--parents", "-n", "1", commit).split()
            if len(parents) < 2:
                continue
            t = time.monotonic()
            p = subprocess.run([lore, "review", f"{parents[1]}..{commit}", "--format", "json"],
                               cwd=at_cut, env=env, capture_output=True, text=True)
            ms = (time.monotonic() - t) * 1000
            if p.returncode != 0:
                print(f"  {commit[:10]}: {p.stderr.strip()[:200]}", file=sys.stderr)
                continue
            r = json.loads(p.stdout)
            serious = [f for f in r["findings"] if f["severity"] in ("medium", "high")]
            rows.append({"repo": name, "lang": lang, "commit": commit, "subject": subject,
                         "findings": len(r["findings"]), "medium_plus": len(serious),
                         "rules": sorted({f["rule"] for f in serious}), "ms": ms})
            picked += 1
    os.makedirs("bench/out", exist_ok=True)
    with open(f"bench/out/review-clean-{args.set}.json", "w") as f:
        json.dump(rows, f, indent=1)
    print("| repository | commits | no medium+ finding | median ms |")
    print("|---|---|---|---|")
    for repo in sorted({r["repo"] for r in rows}) + ["pooled"]:
        sel = [r for r in rows if repo == "pooled" or r["repo"] == repo]
        clean = sum(1 for r in sel if r["medium_plus"] == 0) / len(sel)
        ms = sorted(r["ms"] for r in sel)[len(sel) // 2]
        print(f"| {repo} | {len(sel)} | {clean:.2f} | {ms:.0f} |")
    rules = {}
    for r in rows:
        for rule in r["rules"]:
            rules[rule] = rules.get(rule, 0) + 1
    print("medium+ rules on clean commits:", dict(sorted(rules.items(), key=lambda x: -x[1])))


if __name__ == "__main__":
    main()
