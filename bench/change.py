#!/usr/bin/env python3
"""Change-intelligence benchmark (issue 21) on real history.

Each repository is cloned from GitHub (or MIRRORS/owner+name/repo when that
directory exists) at the pinned commit below; none is in the reserved
evaluation set. The *cut* is the first-parent commit `--after` commits
before the pinned head: Lore indexes the tree and history at the cut, and
the commits after it are the questions, so nothing it is asked about is
in its index.

impact   For each commit after the cut touching 2..20 files, each changed
         file that existed at the cut is the target; the expected answer is
         the commit's other changed files that existed at the cut (a file
         the commit created cannot be named in advance; `recall_all` counts
         them as misses too). Recall@10 of `lore impact FILE --json -k 10`,
         a commit's targets averaged, then pooled over commits. In the same
         run: co-change alone (files ranked by how many commits before the
         cut touched both) and same directory (the target's directory, then
         its parent's, alphabetically).

diagnose For each bug-fix commit after the cut (subject says fix, bug,
         crash, error, regression...; not docs, CI, deps, typos), its
         subject is the symptom; a hit is a file the fix changed among the
         first 1 / 5 places `lore diagnose --json -k 10` names. In the same
         run: `lore search --mode lexical` (BM25) and `lore search`
         (hybrid), their hits reduced to files.

Two sets: `train` (on which weights and rules were chosen) and `bench`
(the numbers the closing note reports). JSON in bench/out/change-*.json.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import risk
from risk import checkout  # same clone-or-mirror checkout as the risk benchmark

# The risk benchmark's repositories and pinned commits, one list for both;
# the change benchmark was measured on these subsets (kept as measured so
# the published numbers reproduce).
TRAIN = [r for r in risk.TRAIN
         if r[0] not in {"chalk/chalk", "serde-rs/json", "sirupsen/logrus"}]
REPOS = [r for r in risk.REPOS if r[0] not in {"psf/black", "tj/commander.js"}]

FIX = re.compile(r"\b(fix(e[sd])?|bug|crash(es|ed)?|regression|error|panic|wrong|incorrect|broken|issue)\b", re.I)
NOT_FIX = re.compile(r"\b(docs?|readme|changelog|typo|ci|lint|deps|dependenc|bump|release|version|test(s|ing)?|clippy|format(ting)?|ruff|eslint)\b", re.I)


def git(root, *args):
    return subprocess.run(["git", "-C", root, *args], check=True, capture_output=True,
                          text=True).stdout


def commits_after(root, cut, head):
    """(sha, subject, [files]) of the first-parent commits in cut..head,
    oldest first; a merge is its diff against its first parent, and the
    subject of a merged pull request is its title (the body's first line)."""
    out = git(root, "log", "--first-parent", "--diff-merges=first-parent", "--reverse",
              "--name-only", "--format=%x00%H%x01%s%x01%b%x02", f"{cut}..{head}")
    result = []
    for block in out.split("\0")[1:]:
        meta, _, rest = block.partition("\x02")
        sha, subject, body = (meta.split("\x01") + ["", ""])[:3]
        if subject.startswith("Merge pull request") or subject.startswith("Merge branch"):
            lines = [l.strip() for l in body.split("\n") if l.strip()]
            if not lines:
                continue
            subject = lines[0]
        files = [f for f in rest.split("\n") if f.strip()]
        result.append((sha, subject, files))
    return result


def history_before(root, cut):
    out = git(root, "log", "--no-merges", "--name-only", "--format=%x00", cut)
    return [[f for f in b.split("\n") if f.strip()] for b in out.split("\0")[1:]]


def lore_json(lore, root, env, *args):
    p = subprocess.run([lore, *args, "--json"], cwd=root, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"  lore {' '.join(args)}: {p.stderr.strip()[:200]}", file=sys.stderr)
        return None
    return json.loads(p.stdout)


def impact_task(name, lore, root, env, cut_files, commits, history, k=10, dump=None):
    cochange = collections.defaultdict(collections.Counter)
    for files in history:
        if len(files) > 50:
            continue
        for a in files:
            for b in files:
                if a != b:
                    cochange[a][b] += 1
    by_dir = collections.defaultdict(list)
    for f in sorted(cut_files):
        by_dir[os.path.dirname(f)].append(f)

    def same_dir(target):
        d = os.path.dirname(target)
        ranked = [f for f in by_dir[d] if f != target]
        while d and len(ranked) < k:
            d = os.path.dirname(d)
            ranked += [f for f in sorted(cut_files) if f.startswith(d + "/" if d else "") and f not in ranked and f != target]
        return ranked[:k]

    rows = []
    for sha, subject, files in commits:
        if not 2 <= len(files) <= 20:
            continue
        existing = [f for f in files if f in cut_files]
        per = {"lore": [], "lore_all": [], "cochange": [], "same_dir": []}
        for target in existing:
            expected = set(existing) - {target}
            expected_all = set(files) - {target}
            if not expected:
                continue
            result = lore_json(lore, root, env, "impact", target, "-k", str(400 if dump is not None else k))
            got = [f["path"] for f in result["files"]] if result else []
            if dump is not None and result:
                dump.append({"repo": name, "commit": sha, "target": target,
                             "expected": sorted(expected),
                             "candidates": [{"path": f["path"], "test": f["test"], **f["features"]}
                                            for f in result["files"]]})
            co = [f for f, _ in cochange[target].most_common(k)]
            sd = same_dir(target)
            per["lore"].append(len(expected & set(got[:k])) / len(expected))
            per["lore_all"].append(len(expected_all & set(got[:k])) / len(expected_all))
            per["cochange"].append(len(expected & set(co)) / len(expected))
            per["same_dir"].append(len(expected & set(sd)) / len(expected))
        if per["lore"]:
            rows.append({"repo": name, "commit": sha, "subject": subject,
                         **{m: sum(v) / len(v) for m, v in per.items()}})
    return rows


def files_of(hits):
    seen = []
    for h in hits:
        if h["path"] not in seen:
            seen.append(h["path"])
    return seen


def diagnose_task(name, lore, root, env, cut_files, commits, dump=None):
    rows = []
    for sha, subject, files in commits:
        if not FIX.search(subject) or NOT_FIX.search(subject) or len(files) > 20:
            continue
        expected = {f for f in files if f in cut_files}
        if not expected:
            continue
        result = {}
        diag = lore_json(lore, root, env, "diagnose", subject, "-k", "60" if dump is not None else "10")
        result["lore"] = files_of(diag) if diag is not None else []
        if dump is not None and diag is not None:
            dump.append({"repo": name, "commit": sha, "subject": subject,
                         "expected": sorted(expected),
                         "candidates": [{"path": p["path"], **p["features"]} for p in diag]})
        bm25 = lore_json(lore, root, env, "search", subject, "--mode", "lexical", "-k", "30")
        result["bm25"] = files_of(bm25 or [])
        hybrid = lore_json(lore, root, env, "search", subject, "-k", "30")
        result["search"] = files_of(hybrid or [])
        row = {"repo": name, "commit": sha, "subject": subject}
        for m, got in result.items():
            row[f"{m}_top1"] = float(bool(expected & set(got[:1])))
            row[f"{m}_top5"] = float(bool(expected & set(got[:5])))
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--task", choices=["impact", "diagnose"], required=True)
    ap.add_argument("--set", choices=["bench", "train"], default="bench")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "lore-change-bench"))
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS"))
    ap.add_argument("--after", type=int, default=150,
                    help="first-parent commits after the cut that are asked about")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--dump", help="impact: write every candidate's features here (for fitting)")
    args = ap.parse_args()
    dump = [] if args.dump else None
    lore = os.path.abspath(args.lore)
    os.makedirs(args.work, exist_ok=True)
    home = os.path.join(args.work, "home")
    env = dict(os.environ, LORE_HOME=home)
    rows = []
    for name, lang, sha in (TRAIN if args.set == "train" else REPOS):
        if args.only and name not in args.only:
            continue
        clone = checkout(name, sha, args.work, args.mirrors)
        first_parent = git(clone, "rev-list", "--first-parent", sha).split()
        after = min(args.after, len(first_parent) - 1)
        while True:
            cut = first_parent[after]
            try:
                commits = commits_after(clone, cut, sha)
                break
            except subprocess.CalledProcessError:
                # A stored snapshot may lack old objects: a nearer cut.
                after = after * 2 // 3
                if after < 20:
                    raise
        at_cut = os.path.join(args.work, name.replace("/", "+") + "@cut")
        if not os.path.isdir(at_cut):
            subprocess.run(["git", "clone", "-q", clone, at_cut], check=True)
        git(at_cut, "checkout", "-q", "--detach", cut)
        t = time.monotonic()
        subprocess.run([lore, "index", "-q", "--embed", "off"], cwd=at_cut, env=env, check=True)
        index_s = time.monotonic() - t
        cut_files = set(git(at_cut, "ls-files").split("\n")) - {""}
        t = time.monotonic()
        if args.task == "impact":
            got = impact_task(name, lore, at_cut, env, cut_files, commits,
                              history_before(clone, cut), dump=dump)
        else:
            got = diagnose_task(name, lore, at_cut, env, cut_files, commits, dump=dump)
        for r in got:
            r["lang"] = lang
        rows += got
        print(f"{name} ({lang}): cut {cut[:10]}, {len(commits)} commits after, "
              f"{len(got)} questions, index {index_s:.0f} s, asked in {time.monotonic() - t:.0f} s",
              file=sys.stderr)
    os.makedirs("bench/out", exist_ok=True)
    if dump is not None:
        with open(args.dump, "w") as f:
            json.dump(dump, f)
    with open(f"bench/out/change-{args.task}-{args.set}.json", "w") as f:
        json.dump(rows, f, indent=1)
    metrics = ([("lore", "lore impact"), ("lore_all", "lore impact, new files counted"),
                ("cochange", "co-change alone"), ("same_dir", "same directory")]
               if args.task == "impact" else
               [(f"{m}_{t}", f"{label} first {t[3:]}") for m, label in
                [("lore", "lore diagnose"), ("bm25", "BM25"), ("search", "lore search")]
                for t in ["top1", "top5"]])
    repos = sorted({r["repo"] for r in rows})
    print("| repository | questions | " + " | ".join(label for _, label in metrics) + " |")
    print("|---|---|" + "---|" * len(metrics))
    for repo in repos + ["pooled"]:
        sel = [r for r in rows if repo == "pooled" or r["repo"] == repo]
        if not sel:
            continue
        cells = [f"{sum(r[m] for r in sel) / len(sel):.3f}" for m, _ in metrics]
        print(f"| {repo} | {len(sel)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
