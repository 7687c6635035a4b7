#!/usr/bin/env python3
"""Review benchmark (issue 21), second part: defects planted in real diffs.

For each repository of bench/change.py's set (its `owner+name@cut` clones;
run it first) and each rule family that applies to the language, the first
commit after the cut that changed a source file of that language is taken,
a function holding one defect is appended to that file, and the commit is
amended in a scratch branch: the real diff plus the planted function. A
hit is `lore review PARENT..PLANTED --format json` reporting the family's
rule on the planted lines. Prints recall per family and language.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from change import REPOS, TRAIN, commits_after, git

EXT = {"Python": (".py",), "Go": (".go",), "JavaScript": (".js", ".ts"), "Rust": (".rs",)}

BRANCHES = 18


def branchy(lang):
    if lang == "Python":
        body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(BRANCHES))
        return f"\n\ndef planted_branches(x):\n{body}    return -1\n"
    if lang == "Go":
        body = "".join(f"\tif x == {i} {{\n\t\treturn {i}\n\t}}\n" for i in range(BRANCHES))
        return f"\nfunc plantedBranches(x int) int {{\n{body}\treturn -1\n}}\n"
    if lang == "JavaScript":
        body = "".join(f"  if (x === {i}) {{\n    return {i}\n  }}\n" for i in range(BRANCHES))
        return f"\nfunction plantedBranches(x) {{\n{body}  return -1\n}}\n"
    body = "".join(f"    if x == {i} {{\n        return {i};\n    }}\n" for i in range(BRANCHES))
    return f"\n#[allow(dead_code)]\nfn planted_branches(x: i64) -> i64 {{\n{body}    -1\n}}\n"


# (family rule, language) → the planted function.
PLANTS = {
    ("security/eval", "Python"): "\n\ndef planted_eval(expr):\n    return eval(expr)\n",
    ("security/eval", "JavaScript"): "\nfunction plantedEval(expr) {\n  return eval(expr)\n}\n",
    ("security/sql-format", "Python"): "\n\ndef planted_query(db, name):\n    return db.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n",
    ("security/sql-format", "JavaScript"): "\nfunction plantedQuery(db, name) {\n  return db.query(`SELECT * FROM users WHERE name = '${name}'`)\n}\n",
    ("security/sql-format", "Go"): "\nfunc plantedQuery(db *sql.DB, name string) {\n\tdb.Query(fmt.Sprintf(\"SELECT * FROM users WHERE name = '%s'\", name))\n}\n",
    ("security/sql-format", "Rust"): "\n#[allow(dead_code)]\nfn planted_query(name: &str) -> String {\n    format!(\"SELECT * FROM users WHERE name = '{}'\", name)\n}\n",
    ("security/shell-format", "Python"): "\n\ndef planted_shell(path):\n    import os\n    os.system(f\"rm -rf {path}\")\n",
    ("security/shell-format", "JavaScript"): "\nfunction plantedShell(path) {\n  require('child_process').exec(`rm -rf ${path}`)\n}\n",
    ("security/shell-format", "Go"): "\nfunc plantedShell(path string) {\n\texec.Command(\"sh\", \"-c\", fmt.Sprintf(\"rm -rf %s\", path)).Run()\n}\n",
    ("security/shell-format", "Rust"): "\n#[allow(dead_code)]\nfn planted_shell(path: &str) {\n    let _ = std::process::Command::new(\"sh\").arg(\"-c\").arg(format!(\"rm -rf {}\", path)).status();\n}\n",
    ("errors/swallowed", "Python"): "\n\ndef planted_swallow(f):\n    try:\n        f()\n    except Exception:\n        pass\n",
    ("errors/swallowed", "JavaScript"): "\nfunction plantedSwallow(f) {\n  try {\n    f()\n  } catch (e) {}\n}\n",
    ("errors/ignored", "Go"): "\nfunc plantedIgnore(f func() error) {\n\t_ = f()\n}\n",
    ("errors/ignored", "Rust"): "\n#[allow(dead_code)]\nfn planted_ignore(f: fn() -> Result<(), ()>) {\n    let _ = f();\n}\n",
    ("notes/todo", "Python"): "\n\ndef planted_note():\n    # TODO: handle the empty case\n    return None\n",
    ("notes/todo", "JavaScript"): "\nfunction plantedNote() {\n  // TODO: handle the empty case\n  return null\n}\n",
    ("notes/todo", "Go"): "\nfunc plantedNote() {\n\t// TODO: handle the empty case\n}\n",
    ("notes/todo", "Rust"): "\n#[allow(dead_code)]\nfn planted_note() {\n    // TODO: handle the empty case\n}\n",
    ("security/hardcoded-secret", "Python"): "\n\ndef planted_key():\n    return \"AKIAIOSFODNN7EXAMPLF\"\n",
    ("security/hardcoded-secret", "JavaScript"): "\nfunction plantedKey() {\n  return 'AKIAIOSFODNN7EXAMPLF'\n}\n",
    ("security/hardcoded-secret", "Go"): "\nfunc plantedKey() string {\n\treturn \"AKIAIOSFODNN7EXAMPLF\"\n}\n",
    ("security/hardcoded-secret", "Rust"): "\n#[allow(dead_code)]\nfn planted_key() -> &'static str {\n    \"AKIAIOSFODNN7EXAMPLF\"\n}\n",
    ("size/many-parameters", "Python"): "\n\ndef planted_params(a, b, c, d, e, f, g, h, i):\n    return a\n",
    ("size/many-parameters", "JavaScript"): "\nfunction plantedParams(a, b, c, d, e, f, g, h, i) {\n  return a\n}\n",
    ("size/many-parameters", "Go"): "\nfunc plantedParams(a, b, c, d, e, f, g, h, i int) int {\n\treturn a\n}\n",
    ("size/many-parameters", "Rust"): "\n#[allow(dead_code)]\nfn planted_params(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, g: i64, h: i64, i: i64) -> i64 {\n    a\n}\n",
}
for _lang in EXT:
    PLANTS[("complexity/cyclomatic", _lang)] = branchy(_lang)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--set", choices=["bench", "train"], default="bench")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "lore-change-bench"))
    args = ap.parse_args()
    lore = os.path.abspath(args.lore)
    env = dict(os.environ, LORE_HOME=os.path.join(args.work, "home"))
    env_git = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")
    rows = []
    done_langs = set()
    for name, lang, sha in (TRAIN if args.set == "train" else REPOS):
        if lang in done_langs:
            continue  # one repository per language: one defect per family and language
        at_cut = os.path.join(args.work, name.replace("/", "+") + "@cut")
        if not os.path.isdir(at_cut):
            print(f"{name}: no {at_cut} (run bench/change.py first)", file=sys.stderr)
            continue
        cut = git(at_cut, "rev-parse", "HEAD").strip()
        target = None
        for commit, subject, files in commits_after(at_cut, cut, sha):
            src = [f for f in files if f.endswith(EXT[lang]) and "test" not in f
                   and not f.startswith(("examples/", "docs/", "benches/"))
                   and subprocess.run(["git", "-C", at_cut, "cat-file", "-e", f"{commit}:{f}"],
                                      capture_output=True).returncode == 0]
            if src:
                target = (commit, src[0])
                break
        if target is None:
            continue
        done_langs.add(lang)
        commit, path = target
        parent = git(at_cut, "rev-list", "--parents", "-n", "1", commit).split()[1]
        scratch = os.path.join(args.work, name.replace("/", "+") + "@plant")
        if not os.path.isdir(scratch):
            subprocess.run(["git", "clone", "-q", at_cut, scratch], check=True)
            git(scratch, "checkout", "-q", "--detach", cut)
            subprocess.run([lore, "index", "-q", "--embed", "off"], cwd=scratch, env=env,
                           check=True)
        for (rule, plang), plant in PLANTS.items():
            if plang != lang:
                continue
            git(scratch, "checkout", "-q", "--detach", commit)
            with open(os.path.join(scratch, path), "a") as f:
                f.write(plant)
            before = sum(1 for _ in open(os.path.join(scratch, path))) - plant.count("\n")
            subprocess.run(["git", "-C", scratch, "commit", "-qm", f"plant {rule}", "--", path],
                           check=True, env=env_git)
            planted = git(scratch, "rev-parse", "HEAD").strip()
            p = subprocess.run([lore, "review", f"{parent}..{planted}", "--format", "json"],
                               cwd=scratch, env=env, capture_output=True, text=True)
            hit = False
            if p.returncode == 0:
                r = json.loads(p.stdout)
                hit = any(f["rule"] == rule and f["path"] == path and f["end_line"] > before
                          for f in r["findings"])
            else:
                print(f"  {name} {rule}: {p.stderr.strip()[:200]}", file=sys.stderr)
            rows.append({"repo": name, "lang": lang, "rule": rule, "commit": commit,
                         "path": path, "hit": hit})
            git(scratch, "checkout", "-q", "--detach", commit)
    os.makedirs("bench/out", exist_ok=True)
    with open(f"bench/out/review-planted-{args.set}.json", "w") as f:
        json.dump(rows, f, indent=1)
    langs = sorted({r["lang"] for r in rows})
    rules = sorted({r["rule"] for r in rows})
    print("| rule | " + " | ".join(langs) + " |")
    print("|---|" + "---|" * len(langs))
    for rule in rules:
        cells = []
        for lang in langs:
            sel = [r for r in rows if r["rule"] == rule and r["lang"] == lang]
            cells.append("—" if not sel else ("found" if sel[0]["hit"] else "missed"))
        print(f"| {rule} | " + " | ".join(cells) + " |")
    hits = sum(r["hit"] for r in rows)
    print(f"\nrecall {hits}/{len(rows)} = {hits / len(rows):.2f}")


if __name__ == "__main__":
    main()
