#!/usr/bin/env python3
"""Adopting a folder of notes: `cairn init .` against `git init && git add -A && git commit`, then the first
`cairn status` against the first `git status` (side by side, same data, one run).

    python3 bench/init_bench.py --cairn .build/release/cairn [--vault /work/data/vault-100k-notes] [--runs 3]
        [--work DIR]

Each run copies the notes of --vault (its working tree, without `.git`) into two fresh folders under --work (untimed),
then times, in alternating order, `cairn init .` in one and `git init -q && git add -A && git commit -q -m x` in the
other, then `cairn status` and `git status` in each (the first status after adopting: cairn has no stat cache yet and
takes what git's index recorded). The folders are removed after the run (untimed). Wall and CPU time (user + system
of the command and its children, from wait4()) are reported as medians. Python 3 standard library only.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402


def once(argv, cwd, env):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def copy_notes(src, dst):
    shutil.copytree(src, dst, symlinks=True, ignore=lambda d, names: [".git"] if d == src else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--vault", default="/work/data/vault-100k-notes")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(HERE, "out", "init"))
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    os.makedirs(a.work, exist_ok=True)
    env = B.hermetic_env(os.path.join(a.work, "home"))
    rows = {k: ([], []) for k in ("cairn init", "git init+add+commit", "first cairn status", "first git status")}
    files = None
    for i in range(a.runs):
        c, g = os.path.join(a.work, "c"), os.path.join(a.work, "g")
        for d in (c, g):
            shutil.rmtree(d, ignore_errors=True)
            copy_notes(a.vault, d)
        subprocess.run(["sync"])
        order = ["cairn", "git"] if i % 2 == 0 else ["git", "cairn"]
        for who in order:
            if who == "cairn":
                w, cpu = once([cairn, "init", "."], c, env)
                rows["cairn init"][0].append(w); rows["cairn init"][1].append(cpu)
            else:
                w, cpu = once(["sh", "-c", "git init -q && git add -A && git commit -q -m x"], g, env)
                rows["git init+add+commit"][0].append(w); rows["git init+add+commit"][1].append(cpu)
        for who in order:
            w, cpu = once([cairn, "status"] if who == "cairn" else ["git", "status"], c if who == "cairn" else g, env)
            key = "first cairn status" if who == "cairn" else "first git status"
            rows[key][0].append(w); rows[key][1].append(cpu)
        if files is None:
            files = int(subprocess.run(["git", "ls-files"], cwd=g, env=env, stdout=subprocess.PIPE).stdout.count(b"\n"))
        print(f"run {i + 1}: " + ", ".join(f"{k} {v[0][-1]:.2f} s" for k, v in rows.items()), flush=True)
    for d in ("c", "g"):
        shutil.rmtree(os.path.join(a.work, d), ignore_errors=True)
    print(f"\n{files:,} files; medians of {a.runs} runs; load average {os.getloadavg()[0]:.1f}\n")
    print("| command | wall s | CPU s |\n|---|---:|---:|")
    for k, (w, cpu) in rows.items():
        print(f"| {k} | {statistics.median(w):.2f} | {statistics.median(cpu):.2f} |")
    ci, gi = statistics.median(rows["cairn init"][0]), statistics.median(rows["git init+add+commit"][0])
    cs, gs = statistics.median(rows["first cairn status"][0]), statistics.median(rows["first git status"][0])
    print(f"\nratios (wall): init {ci / gi:.2f}×, first status {cs / gs:.2f}×")


if __name__ == "__main__":
    main()
