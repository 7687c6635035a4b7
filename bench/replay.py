"""Simulated-user replay: does Lore get better the longer it is used? See replay.sh.

Questions are commit subjects of the repository's history (`lore eval
--from-history`: each expects the lines its commit changed that are still
at HEAD). A fixed hash splits them as `lore policy train` splits its mined
history queries (policy.rs: 30% held out), so no held-out question is ever
a training query. The simulated user asks the training questions in
batches (`lore ask`, extractive, a new conversation each): an answer whose
first three citations hold an expected place gets a thumbs up, any other
is asked again at once (a re-ask: Lore records it against the answer).
After each batch the repository's retrieval policy is retrained (`lore
policy train`: mined queries plus the judged questions, gated). Before
the first batch and after each, the held-out questions are asked of a
copy of LORE_HOME (so evaluating leaves no trace), and the share whose
first three citations hold an expected place is the first-3 hit rate.
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import blake3


def run(cmd, env, cwd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=cwd)
    return out.stdout


def subject_query(subject):
    """policy.rs `subject_query`: the text `lore policy train` hashes."""
    lower = subject.lower()
    for skip in ("merge", "revert", "release", "bump", "version", "changelog", "update changelog"):
        if lower.startswith(skip):
            return None
    words = []
    for w in subject.split():
        t = w.strip("()[],.:;")
        if t.startswith("#") or t == "--" or t == "" or t.startswith("gh-"):
            continue
        words.append(w)
    plain = sum(1 for w in words if any(c.isalpha() for c in w))
    return " ".join(words) if plain >= 4 else None


def held_out(subject):
    text = subject_query(subject)
    key = text if text is not None else subject
    return blake3.blake3(b"history\x00" + key.encode()).digest()[0] % 10 >= 7


def overlaps(c, e):
    return c["path"] == e["path"] and c["start_line"] <= e["end_line"] and e["start_line"] <= c["end_line"]


def first3_hit(answer, expected):
    cites = answer.get("citations") or []
    return any(overlaps(c, e) for c in cites[:3] for e in expected)


def ask(lore, env, root, question, cache=True):
    cmd = [lore, "ask", "--repo", ".", "--json"] + ([] if cache else ["--no-cache"]) + [question]
    return json.loads(run(cmd, env, root))


def evaluate(lore, home, root, questions):
    with tempfile.TemporaryDirectory() as copy:
        shutil.copytree(home, copy, dirs_exist_ok=True)
        env = dict(os.environ, LORE_HOME=copy)
        hits = sum(first3_hit(ask(lore, env, root, q["query"], cache=False), q["expected"]) for q in questions)
    return hits / max(len(questions), 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--root", required=True, help="a checkout with its git history")
    ap.add_argument("--n", type=int, default=450, help="questions mined")
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    root = Path(args.root)
    rows, log = [], []
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, LORE_HOME=home)
        run([args.lore, "index", "-q", "--repo", ".", "."], env, root)
        # The bandit's other context arms and the cache would blur what the
        # retrieval policy does: the context stays as configured.
        run([args.lore, "config", "set", "context.learn", "false"], env, root)
        mined = json.loads(run([args.lore, "eval", "--repo", ".", "--from-history", "--n", str(args.n),
                                "--mode", "hybrid", "--json"], env, root))
        if isinstance(mined, list):
            mined = mined[0]
        questions = [{"query": r["query"], "expected": r["expected"]} for r in mined["results"]]
        held = [q for q in questions if held_out(q["query"])]
        train = [q for q in questions if not held_out(q["query"])]
        print(f"{len(questions)} questions: {len(train)} asked by the simulated user, {len(held)} held out",
              flush=True)
        baseline = evaluate(args.lore, home, root, held)
        rows.append(("no learning", 0, "global", baseline, None))
        print(f"before learning: held-out first-3 hit rate {baseline:.3f}", flush=True)
        size = (len(train) + args.batches - 1) // args.batches
        asked = ups = reasks = 0
        for b in range(args.batches):
            batch = train[b * size:(b + 1) * size]
            for q in batch:
                answer = ask(args.lore, env, root, q["query"])
                asked += 1
                if first3_hit(answer, q["expected"]):
                    run([args.lore, "feedback", "--repo", ".", str(answer["answer_id"]), "up"], env, root)
                    ups += 1
                else:
                    ask(args.lore, env, root, q["query"])
                    reasks += 1
            start = time.perf_counter()
            trained = json.loads(run([args.lore, "policy", "train", "--repo", ".", "--wait", "--json"], env, root))
            train_s = time.perf_counter() - start
            policies = json.loads(run([args.lore, "policy", "list", "--repo", ".", "--json"], env, root))
            in_force = policies["current"]
            rate = evaluate(args.lore, home, root, held)
            rows.append((f"after batch {b + 1}", asked, f"v{in_force}" if in_force else "global", rate,
                         trained["promoted"]))
            log.append({"batch": b + 1, "asked": asked, "ups": ups, "reasks": reasks, "train_s": train_s,
                        "trained": trained, "in_force": in_force, "held_out_first3": rate})
            print(f"batch {b + 1}: {asked} asked ({ups} up, {reasks} re-asked); v{trained['version']} "
                  f"{'promoted' if trained['promoted'] else 'refused'} ({trained['record']['verdict']['reason']}; "
                  f"mined {trained['record']['sources']}; {train_s:.1f} s); held-out first-3 {rate:.3f}", flush=True)
    print()
    print("| step | questions asked | retrieval policy in force | held-out first-3 hit rate | vs no learning |")
    print("|---|---|---|---|---|")
    for name, n, policy, rate, _ in rows:
        print(f"| {name} | {n} | {policy} | {rate:.3f} | {rate - baseline:+.3f} |")
    Path(args.out).write_text(json.dumps({"baseline": baseline, "held_out": len(held), "train": len(train),
                                          "steps": log}, indent=1))


if __name__ == "__main__":
    main()
