#!/usr/bin/env python3
"""Turns a golden-set source (questions with expected symbols) into the
JSONL query set `lore eval --ask` reads (questions with expected spans).

Each expected entry is `path::Qualified.name` (the definition's lines) or
`calls::name` (every call site of the name). Symbols are looked up with
`lore symbols` in the indexed corpus, so the spans follow the corpus
version; a symbol that cannot be found is an error naming it.

    bench/golden/resolve.py LORE CORPUS SRC.jsonl > OUT.jsonl
"""
import json
import subprocess
import sys


def lore(binary, corpus, *args):
    out = subprocess.run([binary, "--repo", corpus, *args, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    binary, corpus, src = sys.argv[1:4]
    for line in open(src):
        if not line.strip():
            continue
        q = json.loads(line)
        spans = []
        for want in q["expect"]:
            where, name = want.split("::", 1)
            bare = name.rsplit(".", 1)[-1]
            if where == "calls":
                refs = lore(binary, corpus, "refs", bare)
                found = [{"path": r["path"], "start_line": r["line"], "end_line": r["line"]}
                         for r in refs if r["kind"] == "call"]
            else:
                hits = lore(binary, corpus, "symbols", bare, "--limit", "200")
                found = [{"path": h["path"], "start_line": h["start_line"], "end_line": h["end_line"]}
                         for h in hits if h["path"] == where and h["qualname"] == name]
            if not found:
                sys.exit(f"{src}: {want} not found in {corpus} (question: {q['query']})")
            spans.extend(found)
        print(json.dumps({"query": q["query"], "expected": spans}))


if __name__ == "__main__":
    main()
