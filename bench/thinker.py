#!/usr/bin/env python3
"""The thinker's benchmark (issue 18), in one run:

  hook     one-file commit -> index fresh and ScanDiff done, after the
           post-commit hook fires (p50/p95 over N commits), per corpus
  think    full MapRepo + Summarize + Prioritize of a corpus: CPU, facts
  budget   --budget cpu=6m/h, a steady stream of triggers (a cadence every
           minute, a commit every 30 s) for DURATION s: CPU of the
           background worker as a share of one core
  idle     an idle `lore worker`: CPU share and RSS over 60 s
  drain    1,000 queued thoughts, two workers, 5 random kill -9: lost and
           duplicated runs

Each corpus is copied into a scratch git repository (one commit). Prints a
table; writes JSON to bench/out/thinker.json.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def git(repo, *args):
    return run(["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", *args], cwd=repo).stdout.strip()


def scratch_repo(corpus, parent):
    repo = os.path.join(parent, os.path.basename(corpus))
    shutil.copytree(corpus, repo, symlinks=True)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "import")
    return repo


def lore(bin_, home, repo, *args, check=True):
    env = dict(os.environ, LORE_HOME=home)
    env.pop("RUST_LOG", None)
    return subprocess.run([bin_, "--quiet", *args], cwd=repo, env=env, check=check, capture_output=True, text=True)


def db(home):
    conn = sqlite3.connect(os.path.join(home, "thinker.db"), timeout=30)
    return conn


def proc_cpu(pid):
    """utime + stime of a process (seconds), children reaped included."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICK


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def touch_one_file(repo, i):
    """Appends a function to one source file (the language of the corpus)."""
    for root, _, files in os.walk(repo):
        if ".git" in root:
            continue
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                with open(path, "a") as f:
                    f.write(f"\n\ndef bench_added_{i}():\n    return {i}\n")
                return path
            if name.endswith(".rs") and "src" in root:
                path = os.path.join(root, name)
                with open(path, "a") as f:
                    f.write(f"\n\npub fn bench_added_{i}() -> u32 {{\n    {i}\n}}\n")
                return path
    raise SystemExit(f"{repo}: no source file to change")


def bench_hook(bin_, corpus, parent, commits):
    home = os.path.join(parent, "home-hook-" + os.path.basename(corpus))
    repo = scratch_repo(corpus, parent)
    lore(bin_, home, repo, "index")
    lore(bin_, home, repo, "learn", "on", "--allow", "scan-diff")
    lore(bin_, home, repo, "hooks", "install")
    latencies = []
    for i in range(commits):
        touch_one_file(repo, i)
        git(repo, "commit", "-q", "-am", f"change {i}")
        fired = time.monotonic()  # post-commit has run (it detaches Lore)
        head = git(repo, "rev-parse", "HEAD")
        conn = db(home)
        while True:
            row = conn.execute(
                "SELECT state FROM jobs WHERE kind = 'scan-diff' AND input LIKE ? AND state = 'succeeded'",
                (f'%"to":"{head}"%',),
            ).fetchone()
            if row:
                break
            if time.monotonic() - fired > 120:
                raise SystemExit(f"no ScanDiff of {head} after 120 s")
            time.sleep(0.01)
        conn.close()
        latencies.append(time.monotonic() - fired)
        time.sleep(0.5)
    lore(bin_, home, repo, "hooks", "uninstall")
    return {
        "commits": commits,
        "p50_s": round(statistics.median(latencies), 3),
        "p95_s": round(pct(latencies, 95), 3),
        "max_s": round(max(latencies), 3),
    }


def bench_think(bin_, corpus, parent):
    home = os.path.join(parent, "home-think")
    repo = scratch_repo(corpus, os.path.join(parent, "think"))
    lore(bin_, home, repo, "index")
    lore(bin_, home, repo, "learn", "on")  # queues MapRepo, Summarize, Prioritize
    start = time.monotonic()
    lore(bin_, home, repo, "worker", "--once")
    wall = time.monotonic() - start
    conn = db(home)
    runs = {k: (s, c) for k, s, c in conn.execute("SELECT kind, state, cpu_ms FROM jobs")}
    facts = conn.execute("SELECT count(*), sum(length(value)) FROM facts").fetchone()
    cards = conn.execute("SELECT count(*) FROM facts WHERE key = 'card'").fetchone()[0]
    dossiers = conn.execute("SELECT count(*) FROM facts WHERE key = 'dossier'").fetchone()[0]
    insights = conn.execute("SELECT count(*) FROM insights").fetchone()[0]
    conn.close()
    return {
        "wall_s": round(wall, 1),
        "cpu_s": {k: round(c / 1000, 2) for k, (s, c) in runs.items()},
        "states": {k: s for k, (s, c) in runs.items()},
        "facts": facts[0],
        "fact_mib": round((facts[1] or 0) / 2**20, 1),
        "cards": cards,
        "dossiers": dossiers,
        "insights": insights,
    }


def bench_budget(bin_, corpus, parent, duration):
    home = os.path.join(parent, "home-budget")
    repo = scratch_repo(corpus, os.path.join(parent, "budget"))
    lore(bin_, home, repo, "index")
    lore(bin_, home, repo, "learn", "on", "--budget", "cpu=6m/h", "--cadence", "* * * * *")
    env = dict(os.environ, LORE_HOME=home)
    worker = subprocess.Popen([bin_, "--quiet", "worker"], cwd=repo, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu0, start = proc_cpu(worker.pid), time.monotonic()
    i = 0
    while time.monotonic() - start < duration:
        time.sleep(30)
        touch_one_file(repo, 1000 + i)
        git(repo, "commit", "-q", "-am", f"stream {i}")
        lore(bin_, home, repo, "index")  # the user's run; it queues the ScanDiff
        i += 1
    elapsed = time.monotonic() - start
    cpu = proc_cpu(worker.pid) - cpu0
    worker.terminate()
    worker.wait()
    conn = db(home)
    by_state = dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    charged = conn.execute("SELECT sum(cpu_ms) FROM jobs").fetchone()[0] or 0
    reasons = [r for (r,) in conn.execute("SELECT DISTINCT reason FROM jobs WHERE state = 'waiting'")]
    conn.close()
    return {
        "duration_s": round(elapsed),
        "budget": "cpu=6m/h (10% of a core), burst 30 s",
        "worker_cpu_s": round(cpu, 1),
        "share_of_core": round(cpu / elapsed, 4),
        "charged_cpu_s": round(charged / 1000, 1),
        "commits": i,
        "runs": by_state,
        "waiting_reasons": reasons[:3],
    }


def bench_idle(bin_, parent, seconds=60):
    home = os.path.join(parent, "home-idle")
    os.makedirs(home, exist_ok=True)
    env = dict(os.environ, LORE_HOME=home)
    worker = subprocess.Popen([bin_, "--quiet", "worker"], cwd=parent, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)
    cpu0, start = proc_cpu(worker.pid), time.monotonic()
    rss = 0
    while time.monotonic() - start < seconds:
        rss = max(rss, proc_rss_kib(worker.pid))
        time.sleep(1)
    cpu = proc_cpu(worker.pid) - cpu0
    elapsed = time.monotonic() - start
    worker.terminate()
    worker.wait()
    return {"seconds": round(elapsed), "share_of_core": round(cpu / elapsed, 5), "rss_mib": round(rss / 1024, 1)}


def bench_drain(bin_, parent, jobs=1000, kills=5):
    repo = os.path.join(parent, "drain")
    os.makedirs(repo)
    for i in range(20):
        with open(os.path.join(repo, f"m{i}.py"), "w") as f:
            f.write(f"def f{i}(x):\n    return x + {i}\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    with open(os.path.join(repo, "m0.py"), "a") as f:
        f.write("\n\ndef extra():\n    return 0\n")
    git(repo, "commit", "-q", "-am", "two")
    home = os.path.join(parent, "home-drain")
    lore(bin_, home, repo, "index")
    lore(bin_, home, repo, "learn", "on", "--allow", "scan-diff")
    repo_id = json.loads(lore(bin_, home, repo, "learn", "status", "--json").stdout)["repo_id"]
    frm, to = git(repo, "rev-parse", "HEAD~1"), git(repo, "rev-parse", "HEAD")
    conn = db(home)
    now = int(time.time() * 1000)
    conn.executemany(
        "INSERT INTO jobs(kind, repo, input, input_hash, priority, state, max_attempts, run_after, created_at)"
        " VALUES ('scan-diff', ?, ?, ?, 0, 'queued', 10, 0, ?)",
        [(repo_id, json.dumps({"from": frm, "to": to, "n": n}), n, now) for n in range(jobs)],
    )
    conn.commit()
    env = dict(os.environ, LORE_HOME=home, LORE_LEASE_MS="3000")
    logs = []

    def start_worker(k):
        log = open(os.path.join(parent, f"drain-worker-{k}.log"), "w")
        logs.append(log.name)
        return subprocess.Popen([bin_, "worker", "--poll-ms", "50"], cwd=repo, env=env,
                                stdout=subprocess.DEVNULL, stderr=log)

    workers = [start_worker(0), start_worker(1)]
    started, killed, k = time.monotonic(), 0, 2
    rng = random.Random(18)
    # Kills spread over the drain: when these many runs have succeeded.
    kill_at = sorted(rng.sample(range(50, jobs - 100), kills))
    while True:
        left = conn.execute("SELECT count(*) FROM jobs WHERE state != 'succeeded'").fetchone()[0]
        if left == 0:
            break
        if killed < kills and jobs - left >= kill_at[killed]:
            victim = rng.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            workers[victim] = start_worker(k)
            k += 1
            killed += 1
        if time.monotonic() - started > 900:
            break
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    for w in workers:
        w.terminate()
        w.wait()
    states = dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
    retried = conn.execute("SELECT count(*) FROM jobs WHERE attempts > 1").fetchone()[0]
    done = {}
    for name in logs:
        with open(name) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[0] == "run" and parts[2] == "done":
                    done[int(parts[1])] = done.get(int(parts[1]), 0) + 1
    conn.close()
    return {
        "jobs": jobs,
        "kills": killed,
        "seconds": round(elapsed, 1),
        "succeeded": states.get("succeeded", 0),
        "lost": jobs - states.get("succeeded", 0),
        "committed_twice": sum(1 for c in done.values() if c > 1),
        "retried_after_a_kill": retried,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lore", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--commits", type=int, default=10)
    ap.add_argument("--budget-seconds", type=int, default=1800)
    ap.add_argument("--only", nargs="*", default=["hook", "think", "budget", "idle", "drain"])
    args = ap.parse_args()
    out = {}
    with tempfile.TemporaryDirectory(prefix="lore-thinker-") as parent:
        if "hook" in args.only:
            out["hook"] = {c: bench_hook(args.lore, os.path.join(args.corpus, c), parent, args.commits)
                           for c in ("django", "tokio")}
            print("hook", json.dumps(out["hook"]), flush=True)
        if "think" in args.only:
            out["think"] = bench_think(args.lore, os.path.join(args.corpus, "django"), parent)
            print("think", json.dumps(out["think"]), flush=True)
        if "idle" in args.only:
            out["idle"] = bench_idle(args.lore, parent)
            print("idle", json.dumps(out["idle"]), flush=True)
        if "drain" in args.only:
            out["drain"] = bench_drain(args.lore, parent)
            print("drain", json.dumps(out["drain"]), flush=True)
        if "budget" in args.only:
            out["budget"] = bench_budget(args.lore, os.path.join(args.corpus, "django"), parent, args.budget_seconds)
            print("budget", json.dumps(out["budget"]), flush=True)
    os.makedirs("bench/out", exist_ok=True)
    with open("bench/out/thinker.json", "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    sys.exit(main())
