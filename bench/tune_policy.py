#!/usr/bin/env python3
"""Fit the weights of the ranking policy on candidate features.

Input: files written by `lore eval --from-docs --features FILE` (one JSON
line per query: every hybrid candidate with its feature values and whether
it is an expected span). Fits on the --train files by coordinate ascent on
span Recall@10 (+ half MRR@10), with the per-file cap the policy applies,
and reports the same metrics on the --check files, which the fit never sees.

    python3 bench/tune_policy.py --train a.jsonl b.jsonl --check c.jsonl d.jsonl \
        [--start rrf=10,lexical=0.5,...] [--fixed kind]
"""

import argparse
import json

GRID = [0, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]
MAX_PER_FILE = 3


def load(path):
    queries = []
    with open(path) as f:
        for line in f:
            q = json.loads(line)
            queries.append([(c["features"], c["path"], c["expected"]) for c in q["candidates"]])
    return queries


def evaluate(queries, weights, k=10):
    recall = mrr = 0.0
    for cands in queries:
        scored = sorted(
            cands,
            key=lambda c: -sum(w * c[0].get(f, 0.0) for f, w in weights.items()),
        )
        per_file = {}
        rank = 0
        for feats, path, expected in scored:
            if per_file.get(path, 0) >= MAX_PER_FILE:
                continue
            per_file[path] = per_file.get(path, 0) + 1
            rank += 1
            if expected:
                recall += 1
                mrr += 1 / rank
                break
            if rank >= k:
                break
    n = max(len(queries), 1)
    return round(recall / n, 3), round(mrr / n, 3)


def objective(corpora, weights):
    results = [evaluate(q, weights) for q in corpora]
    return sum(r + 0.5 * m for r, m in results) / len(results), results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--check", nargs="*", default=[])
    ap.add_argument("--start", default="rrf=10,lexical=1,vector=2,name=1.5,name_recall=1.5,"
                    "path=2,graph=0.15,name_vector=3,kind=3")
    ap.add_argument("--fixed", default="kind", help="comma-separated features not to fit")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    train = [load(p) for p in args.train]
    check = [load(p) for p in args.check]
    weights = {k: float(v) for k, v in (kv.split("=") for kv in args.start.split(","))}
    fixed = set(filter(None, args.fixed.split(",")))
    features = sorted({f for q in train for cands in q for c in cands for f in c[0]})

    def show(label, w):
        print(label, {k: v for k, v in w.items() if v},
              "train", objective(train, w)[1],
              "check", [evaluate(q, w) for q in check], flush=True)

    show("lexical only", {"lexical": 1.0})
    show("start", weights)
    best = objective(train, weights)[0]
    for rnd in range(args.rounds):
        for f in features:
            if f in fixed:
                continue
            for v in ([x * 10 for x in GRID] if f == "rrf" else GRID):
                trial = dict(weights, **{f: v})
                score = objective(train, trial)[0]
                if score > best + 1e-9:
                    best, weights = score, trial
        show(f"round {rnd + 1}", weights)


if __name__ == "__main__":
    main()
