#!/usr/bin/env python3
"""History and heavy-command benchmarks: cairn side by side with the git CLI, in one run.

    python3 bench/history_bench.py --cairn .build/release/cairn [--runs 5]
        [--deep /work/data/vault-5k-notes-100k-commits] [--wide /work/data/vault-100k-notes-1-commit]
        [--only deep|wide]

Deep history (5k notes, 100k commits: gen_vault.py OUT --notes 5000 --commits 100000), adopted with `cairn init .`:
  log -n 20            `cairn log -n 20` vs `git log -n 20 --shortstat`
  log -n 20 PATH       `cairn log -n 20 PATH` vs `git log -n 20 --shortstat -- PATH`
  why PATH:3           `cairn why PATH:3` vs `git blame -L 3,3 PATH`
each at the full depth and with main moved back to the commit 10,000 deep (same notes, a tenth of the history), to
show whether the time grows with the depth of history.

Adopted 100k-note vault (gen_vault.py OUT --notes 100000 --commits 1, then `cairn init .`):
  log -n 20            `cairn log -n 20` vs `git log -n 20 --shortstat` (history reaches the 100k-file commit)
  doctor               `cairn doctor` (no baseline; target 10 s)
  index rebuild        `cairn index --rebuild` (no baseline; target 30 s)

The shared vaults are never modified: each is copied (cp -a) into bench/out/history/ once and adopted there.
Medians of --runs runs after one warm-up run. Python 3 standard library only.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out", "history")
sys.path.insert(0, HERE)
import bench as B  # noqa: E402



def hermetic_env(home):
    """bench.py's environment, with no pager."""
    return dict(B.hermetic_env(home), **{"GIT_PAGER": "cat", "CAIRN_PAGER": ""})


def run(argv, cwd, env, check=True):
    p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(argv)}\n{p.stderr.decode(errors='replace')[-2000:]}")
    return p


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv, cwd, env, runs, ok=(0,)):
    """Median wall seconds of `runs` runs after one warm-up, with the samples and the median CPU seconds (user +
    system: on a shared, loaded machine the fairer comparison); exits when the command fails."""
    samples, cpu = [], []
    for i in range(runs + 1):
        start, cpu_start = time.perf_counter(), cpu_of_children()
        p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed, used = time.perf_counter() - start, cpu_of_children() - cpu_start
        if p.returncode not in ok:
            sys.exit(f"failed ({p.returncode}): {' '.join(argv)}\n{p.stderr.decode(errors='replace')[-2000:]}")
        if i > 0:
            samples.append(elapsed)
            cpu.append(used)
    return statistics.median(samples), samples, statistics.median(cpu)


def adopt(shared, name, cairn, env):
    """A private copy of `shared` under bench/out/history/NAME, adopted by cairn once."""
    copy = os.path.join(OUT, name)
    if not os.path.exists(os.path.join(copy, ".cairn", "config.json")):
        if os.path.exists(copy):
            shutil.rmtree(copy)
        os.makedirs(OUT, exist_ok=True)
        run(["cp", "-a", shared, copy], None, env)
        run([cairn, "init", "."], copy, env)
    return copy


def shallow_copy(deep, depth_back, env):
    """A copy of the adopted deep vault whose main is moved back `depth_back` commits (same notes, less history)."""
    copy = deep + "-shallow"
    if not os.path.exists(os.path.join(copy, ".cairn", "config.json")):
        if os.path.exists(copy):
            shutil.rmtree(copy)
        run(["cp", "-a", deep, copy], None, env)
        target = run(["git", "rev-parse", f"main~{depth_back}"], copy, env).stdout.decode().strip()
        run(["git", "update-ref", "refs/heads/main", target], copy, env)
        run(["git", "reset", "-q", "--hard", "main"], copy, env)
    return copy


def ratio(a, b):
    return a / b if b else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--deep", default="/work/data/vault-5k-notes-100k-commits")
    ap.add_argument("--wide", default="/work/data/vault-100k-notes-1-commit")
    ap.add_argument("--only", choices=["deep", "wide"])
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    env = hermetic_env(os.path.join(OUT, "home"))
    rows = []

    def pair(label, cwd, cairn_args, git_args, runs=a.runs):
        c, cs, ccpu = timed([cairn] + cairn_args, cwd, env, runs)
        g, gs, gcpu = timed(["git"] + git_args, cwd, env, runs)
        rows.append({"row": label, "cairn": c, "git": g, "ratio": ratio(c, g), "cairn_samples": cs, "git_samples": gs,
                     "cairn_cpu": ccpu, "git_cpu": gcpu, "cpu_ratio": ratio(ccpu, gcpu),
                     "cairn_cmd": "cairn " + " ".join(cairn_args), "git_cmd": "git " + " ".join(git_args)})
        print(f"{label:44s} cairn {c * 1000:9.1f} ms   git {g * 1000:9.1f} ms   {ratio(c, g):5.2f}x"
              f"   (CPU {ccpu * 1000:8.1f} / {gcpu * 1000:8.1f} ms, {ratio(ccpu, gcpu):5.2f}x)", flush=True)

    def alone(label, cwd, cairn_args, runs, ok=(0,)):
        c, cs, ccpu = timed([cairn] + cairn_args, cwd, env, runs, ok=ok)
        rows.append({"row": label, "cairn": c, "cairn_samples": cs, "cairn_cpu": ccpu, "cairn_cmd": "cairn " + " ".join(cairn_args)})
        print(f"{label:44s} cairn {c * 1000:9.1f} ms   (CPU {ccpu * 1000:8.1f} ms)", flush=True)

    if a.only in (None, "deep"):
        deep = adopt(a.deep, "deep", cairn, env)
        shallow = shallow_copy(deep, 90000, env)
        # A note the newest generated commit changed: present at both depths, with history at both.
        path = run(["git", "show", "--name-only", "--format=", "main~1"], shallow, env).stdout.decode().split()[0]
        for name, vault in [("100k commits", deep), ("10k commits", shallow)]:
            depth = run(["git", "rev-list", "--count", "main"], vault, env).stdout.decode().strip()
            print(f"-- {name}: {vault} ({depth} commits on main), PATH = {path}", flush=True)
            pair(f"log -n 20 ({name})", vault, ["log", "-n", "20"], ["log", "-n", "20", "--shortstat"])
            pair(f"log -n 20 PATH ({name})", vault, ["log", "-n", "20", path], ["log", "-n", "20", "--shortstat", "--", path])
            pair(f"why PATH:3 ({name})", vault, ["why", f"{path}:3"], ["blame", "-L", "3,3", "--", path],
                 runs=max(1, min(a.runs, 3)))

    if a.only in (None, "wide"):
        wide = adopt(a.wide, "wide", cairn, env)
        files = run(["git", "ls-files"], wide, env).stdout.count(b"\n")
        print(f"-- adopted vault: {wide} ({files} files)", flush=True)
        pair("log -n 20 (adopted 100k notes)", wide, ["log", "-n", "20"], ["log", "-n", "20", "--shortstat"],
             runs=max(1, min(a.runs, 3)))
        alone("doctor (100k notes)", wide, ["doctor"], runs=max(1, min(a.runs, 3)), ok=(0, 1))
        alone("index --rebuild (100k notes)", wide, ["index", "--rebuild"], runs=max(1, min(a.runs, 3)))

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("\n| row | cairn | git | ratio | CPU cairn / git | CPU ratio |\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "git" in r:
            print(f"| {r['row']} | {r['cairn'] * 1000:,.0f} ms | {r['git'] * 1000:,.0f} ms | {r['ratio']:.2f}× "
                  f"| {r['cairn_cpu'] * 1000:,.0f} / {r['git_cpu'] * 1000:,.0f} ms | {r['cpu_ratio']:.2f}× |")
        else:
            print(f"| {r['row']} | {r['cairn'] * 1000:,.0f} ms | — | | {r['cairn_cpu'] * 1000:,.0f} ms | |")


if __name__ == "__main__":
    main()
