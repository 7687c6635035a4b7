#!/usr/bin/env python3
"""Verify and lint on public repositories pinned by commit (issue 19).

Each repository is cloned from GitHub (or from MIRRORS/owner+name/repo when
that directory exists), checked out at the commit below, indexed, and then
`lore verify --json` and `lore lint --json` run on it: wall time, tests
passed/failed, coverage read (files, lines, ratio), linter findings. None
of the repositories is in the reserved evaluation set.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import risk  # checkout(): clone from GitHub or a mirror, at a commit

REPOS = [
    # Python: no runtime dependencies, a pytest suite.
    ("pallets/click", "Python", "2c8cd3ac958a7eb316d67f2d316c27086c4c0369"),
    # Go: no module dependencies, a `go test` suite.
    ("gorilla/mux", "Go", "db9d1d0073d27a0a2d9a8c1bc52aa0af4374d265"),
    # Go with module dependencies not on this machine: the sandbox has no
    # network, so the result is "dependencies unavailable offline".
    ("spf13/cobra", "Go", "adbc8813901bba65827259daa8e22ff94ec1f30e"),
]


def checkout(name, sha, work, mirrors):
    dest = risk.checkout(name, sha, work, mirrors)
    return dest, risk.sh("git", "-C", dest, "rev-parse", "HEAD").strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "lore-verify-bench"))
    ap.add_argument("--mirrors", default=os.environ.get("MIRRORS"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rows = []
    for name, lang, sha in REPOS:
        root, head = checkout(name, sha, args.work, args.mirrors)
        home = tempfile.mkdtemp(prefix="lore-verify-home-")
        env = dict(os.environ, LORE_HOME=home)
        run = lambda *a: json.loads(subprocess.run([args.lore, *a], cwd=root, env=env, check=True,
                                                   capture_output=True, text=True).stdout)
        subprocess.run([args.lore, "index", "-q"], cwd=root, env=env, check=True)
        t = time.monotonic()
        v = run("verify", "--json")["output"]
        verify_s = time.monotonic() - t
        t = time.monotonic()
        lint = run("lint", "--json")["output"]
        lint_s = time.monotonic() - t
        cov = v.get("coverage") or {}
        row = {
            "repo": name, "language": lang, "commit": head,
            "verify": {"status": v.get("status"), "tool": v.get("tool"), "seconds": round(verify_s, 1),
                       "tests": v.get("tests"), "message": v.get("message"),
                       "coverage": {k: cov.get(k) for k in ("files", "lines", "covered", "ratio")} if cov else None},
            "lint": {"seconds": round(lint_s, 1), "linters": lint.get("linters"),
                     "missing": lint.get("missing"), "findings": lint.get("findings")},
        }
        rows.append(row)
        t = v.get("tests") or {}
        cov_text = (f"coverage {100 * cov['ratio']:.1f}% of {cov['lines']} lines in {cov['files']} files"
                    if cov else "no coverage")
        print(f"{name} @ {head[:12]} ({lang}): verify {v.get('status')} in {verify_s:.1f} s, "
              f"{t.get('passed', 0)} passed / {t.get('failed', 0)} failed, {cov_text}"
              + (f" — {v.get('message')}" if v.get("message") else ""))
        print(f"  lint in {lint_s:.1f} s: " + ", ".join(
            f"{l['tool']} {l.get('findings', l.get('status'))}" for l in lint.get("linters") or [])
              + (f"; missing: {', '.join(lint.get('missing') or [])}" if lint.get("missing") else ""))
    os.makedirs("bench/out", exist_ok=True)
    with open("bench/out/verify.json", "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
