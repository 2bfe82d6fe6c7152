#!/usr/bin/env python3
"""Sync benchmarks (issue 16): cairn sync / clone side by side with the git CLI, same data, one run.

    python3 bench/sync_bench.py --cairn .build/release/cairn [--vault /work/data/vault-100k-notes] [--runs 5]
        [--transport file|daemon]

Data: the shared 100k-note vault is copied (cp -a) into bench/out/sync/, adopted with `cairn init .`, and made into
a bare remote (`git clone --bare`). Two identical bare copies are made: RA for cairn, RB for git, so neither tool
ever fetches what the other pushed. Machine A is `cairn clone RA`, machine B is `git clone RB`.

Rows:
  push one new commit   one note edited (untimed), then `cairn sync` in A
                        vs `git add -A && git commit -q -m x && git pull -q --rebase && git push -q` in B
                        (cairn sync commits the edit itself, so git's side commits too)
  nothing to do         `cairn sync` in A (clean, in step) vs `git fetch -q` in B
  (both sync rows run three times: without a watcher (`cairn.autoWatch false`, as in every bench), with
  `cairn watch start` in A, and with the default settings, where the first sync of the 100k files starts the
  watcher by itself; cairn sync always checks the working tree for edits first, which the watcher makes cheap;
  git fetch never looks at the working tree)
  clone                 `cairn clone URL DIR` vs `git clone -q URL DIR` (DIR removed between runs, untimed)

Transport: `file` uses file:// URLs (both sides then run git's upload-pack/receive-pack: cairn over a socket pair,
with libgit2's smart-protocol client; git over a pipe);
`daemon` serves both remotes with `git daemon --enable=receive-pack` on 127.0.0.1 (git:// smart protocol on both
sides). Medians of --runs timed runs after one warm-up, the order of cairn and git alternating each run; wall time
and CPU time (user + system of the command and its children, from wait4() on that one process) are both reported,
with the load average.
Python 3 standard library only.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out", "sync")
sys.path.insert(0, HERE)
import bench as B  # noqa: E402



def hermetic_env(home):
    """bench.py's environment, with no pager."""
    return dict(B.hermetic_env(home), **{"GIT_PAGER": "cat"})


def run(argv, cwd, env, check=True):
    p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(argv)}\n{p.stderr.decode(errors='replace')[-2000:]}")
    return p


def once(argv, cwd, env):
    """Runs `argv`; returns its wall time and its CPU time (user + system of it and the children it waited for).

    The CPU time comes from wait4() on this one process. RUSAGE_CHILDREN deltas (what this script used before) also
    count any earlier child the interpreter happens to reap meanwhile; a background `rm -rf` of a 100k-file clone
    reaped during a timed run added seconds to that run's row."""
    with open(os.path.join(OUT_STDERR[0], "stderr.txt"), "w+b") as err:
        start = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            sys.exit(f"failed ({p.returncode}): {' '.join(argv)}\n{err.read().decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


OUT_STDERR = [OUT]


def discard(path):
    """Removes `path` before a timed run, untimed and not in the background (a background removal of a 100k-file
    clone competes with the timed run for the disk and the two cores)."""
    if os.path.exists(path):
        subprocess.run(["rm", "-rf", path], check=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--vault", default="/work/data/vault-100k-notes")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clone-runs", type=int, default=3)
    ap.add_argument("--transport", choices=["file", "daemon"], default="file")
    ap.add_argument("--skip-clone", action="store_true")
    ap.add_argument("--skip-watcher", action="store_true")
    ap.add_argument("--skip-sync", action="store_true", help="the clone row only")
    ap.add_argument("--out", default=OUT, help="working folder (default bench/out/sync)")
    ap.add_argument("--seed", help="an adopted copy of the vault to reuse (default: OUT/seed, made on first use)")
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    out = os.path.abspath(a.out)
    env = hermetic_env(os.path.join(out, "home"))
    os.makedirs(out, exist_ok=True)
    OUT_STDERR[0] = out

    seed = a.seed or os.path.join(out, "seed")
    if not os.path.exists(os.path.join(seed, ".cairn", "config.json")):
        shutil.rmtree(seed, ignore_errors=True)
        print(f"-- copying and adopting {a.vault}", flush=True)
        run(["cp", "-a", a.vault, seed], None, env)
        run([cairn, "init", "."], seed, env)
    remotes = os.path.join(out, "remotes")
    shutil.rmtree(remotes, ignore_errors=True)
    os.makedirs(remotes)
    for name in ("RA.git", "RB.git"):
        run(["git", "clone", "-q", "--bare", seed, os.path.join(remotes, name)], None, env)

    daemon = None
    if a.transport == "daemon":
        port = free_port()
        exec_path = run(["git", "--exec-path"], None, env).stdout.decode().strip()
        daemon = subprocess.Popen([exec_path + "/git-daemon", "--reuseaddr", "--listen=127.0.0.1", f"--port={port}",
                                   "--export-all", "--enable=receive-pack", f"--base-path={remotes}", remotes],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(port):
            sys.exit("git daemon did not start")
        url = {"A": f"git://127.0.0.1:{port}/RA.git", "B": f"git://127.0.0.1:{port}/RB.git"}
    else:
        url = {"A": "file://" + os.path.join(remotes, "RA.git"), "B": "file://" + os.path.join(remotes, "RB.git")}

    rows = []
    try:
        machines = os.path.join(out, "machines")
        shutil.rmtree(machines, ignore_errors=True)
        os.makedirs(machines)

        def clone_pair(runs):
            cs, cc, gs, gc = [], [], [], []
            for i in range(runs + 1):
                order = ["cairn", "git"] if i % 2 == 0 else ["git", "cairn"]
                for who in order:
                    target = os.path.join(machines, f"clone-{who}")
                    discard(target)
                    argv = [cairn, "clone", url["A"], target] if who == "cairn" else ["git", "clone", "-q", url["B"], target]
                    w, c = once(argv, machines, env)
                    if i > 0:
                        (cs if who == "cairn" else gs).append(w)
                        (cc if who == "cairn" else gc).append(c)
            return cs, cc, gs, gc

        def record(label, cairn_cmd, git_cmd, cs, cc, gs, gc):
            load = os.getloadavg()[0]
            row = {"row": label, "cairn": statistics.median(cs), "git": statistics.median(gs),
                   "cairn_cpu": statistics.median(cc), "git_cpu": statistics.median(gc),
                   "cairn_samples": cs, "git_samples": gs, "cairn_cpu_samples": cc, "git_cpu_samples": gc, "load": load, "cairn_cmd": cairn_cmd, "git_cmd": git_cmd,
                   "transport": a.transport}
            row["ratio"] = row["cairn"] / row["git"]
            row["cpu_ratio"] = row["cairn_cpu"] / row["git_cpu"] if row["git_cpu"] else float("nan")
            rows.append(row)
            print(f"{label:34s} cairn {row['cairn'] * 1000:9.1f} ms   git {row['git'] * 1000:9.1f} ms   {row['ratio']:5.2f}x"
                  f"   (CPU {row['cairn_cpu'] * 1000:8.1f} / {row['git_cpu'] * 1000:8.1f} ms, {row['cpu_ratio']:5.2f}x; load {load:.1f})",
                  flush=True)

        if not a.skip_clone:
            print(f"-- clone ({a.transport})", flush=True)
            cs, cc, gs, gc = clone_pair(a.clone_runs)
            record("clone, 100k notes", "cairn clone URL DIR", "git clone -q URL DIR", cs, cc, gs, gc)

        if a.skip_sync:
            return finish(rows, out, a)
        A, B = os.path.join(machines, "A"), os.path.join(machines, "B")
        run([cairn, "clone", url["A"], A], machines, env)
        run(["git", "config", "cairn.machine", "bench-a"], A, env)
        run(["git", "clone", "-q", url["B"], B], machines, env)
        for m in (A, B):
            run(["git", "status", "--porcelain"], m, env)  # a fresh stat cache on both
        files = run(["git", "ls-files", "memory/knowledge"], A, env).stdout.decode().split()
        note = sorted(f for f in files if f.endswith(".md"))[len(files) // 2]
        git_push = ["sh", "-c", "git add -A && git commit -q -m x && git pull -q --rebase && git push -q"]

        def push_rows(mode):
            print(f"-- push one new commit ({a.transport}, {mode}); the edited note is {note}", flush=True)
            cs, cc, gs, gc = [], [], [], []
            for i in range(a.runs + 1):
                for who in (["cairn", "git"] if i % 2 == 0 else ["git", "cairn"]):
                    m = A if who == "cairn" else B
                    with open(os.path.join(m, note), "a") as f:
                        f.write(f"\nBench edit {mode} {i}.\n")
                    w, c = once([cairn, "sync"] if who == "cairn" else git_push, m, env)
                    if i > 0:
                        (cs if who == "cairn" else gs).append(w)
                        (cc if who == "cairn" else gc).append(c)
            record(f"push one new commit, {mode}", "cairn sync", "git add -A && git commit && git pull --rebase && git push",
                   cs, cc, gs, gc)
            ra = run(["git", "rev-list", "--count", "main"], os.path.join(remotes, "RA.git"), env).stdout.decode().strip()
            rb = run(["git", "rev-list", "--count", "main"], os.path.join(remotes, "RB.git"), env).stdout.decode().strip()
            if ra != rb:
                sys.exit(f"the remotes differ in commits on main: RA {ra}, RB {rb}")

            print(f"-- nothing to do ({a.transport}, {mode})", flush=True)
            cs, cc, gs, gc = [], [], [], []
            for i in range(a.runs + 1):
                for who in (["cairn", "git"] if i % 2 == 0 else ["git", "cairn"]):
                    w, c = once([cairn, "sync"] if who == "cairn" else ["git", "fetch", "-q"], A if who == "cairn" else B, env)
                    if i > 0:
                        (cs if who == "cairn" else gs).append(w)
                        (cc if who == "cairn" else gc).append(c)
            record(f"nothing to do, {mode}", "cairn sync", "git fetch -q", cs, cc, gs, gc)

        push_rows("no watcher")
        if not a.skip_watcher:
            run([cairn, "watch", "start"], A, env)
            try:
                time.sleep(1)
                push_rows("watcher")
            finally:
                run([cairn, "watch", "stop"], A, env, check=False)
            # Default settings: this vault's own config overrides the bench's `cairn.autoWatch = false`, so the first
            # sync (a full check of 100k files) starts the watcher by itself and the second takes its first token.
            run(["git", "config", "cairn.autoWatch", "true"], A, env)
            try:
                run([cairn, "sync"], A, env)
                deadline = time.time() + 60
                while time.time() < deadline:
                    status = json.loads(run([cairn, "watch", "status", "--json"], A, env).stdout)
                    if status.get("running"):
                        break
                    time.sleep(0.2)
                else:
                    sys.exit("the watcher did not start by itself after a sync of 100k files")
                run([cairn, "sync"], A, env)
                push_rows("default settings (the watcher started itself)")
            finally:
                run([cairn, "watch", "stop"], A, env, check=False)
                run(["git", "config", "--unset", "cairn.autoWatch"], A, env, check=False)
    finally:
        if daemon:
            daemon.kill()
            daemon.wait()

    finish(rows, out, a)


def finish(rows, out, a):
    with open(os.path.join(out, f"results-{a.transport}.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("\n| row | transport | cairn | git | ratio | CPU cairn / git | CPU ratio | load |\n|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['row']} | {r['transport']} | {r['cairn'] * 1000:,.0f} ms | {r['git'] * 1000:,.0f} ms | {r['ratio']:.2f}× "
              f"| {r['cairn_cpu'] * 1000:,.0f} / {r['git_cpu'] * 1000:,.0f} ms | {r['cpu_ratio']:.2f}× | {r['load']:.1f} |")


if __name__ == "__main__":
    main()
