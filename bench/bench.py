#!/usr/bin/env python3
"""Cairn benchmarks, side by side with the git CLI on the same generated vault.

    python3 bench/bench.py --cairn .build/release/cairn [--sizes 10000,100000] [--runs 7]
    python3 bench/bench.py --cairn .build/release/cairn --quick      # 1k-note smoke run

Rows (see bench/README.md):
  snapshot, 10 edited notes   `cairn snapshot` (copy A) vs `git add -A && git commit` (copy B)
  status                      `cairn status` vs `git status --porcelain` / `git status`, same copy, warm
  start-up                    `cairn --version` vs `git --version`
  fsync cost                  `cairn snapshot` vs `CAIRN_NO_FSYNC=1 cairn snapshot`
                              (and, for reference, git with `core.fsync=all`)

Vaults come from /work/shared/corpus/gen_vault.py (deterministic) and are cached under bench/data/.
Working copies go to bench/out/ (both folders are git-ignored). Medians of --runs runs; every
measured command is run once before timing (warm cache). Writes the generated section of
bench/RESULTS.md (the hand-written sections are kept) and the raw samples to bench/out/*.json.

Python 3 standard library only.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_GEN = "/work/shared/corpus/gen_vault.py"
BEGIN = "<!-- BEGIN GENERATED (bench/bench.py overwrites this section) -->"
END = "<!-- END GENERATED -->"
FIXED_DATE = "2026-06-01T00:00:00Z"
EDITS = 10  # notes edited before each snapshot / for the "with edits" status row


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Environment and process helpers


def hermetic_env(home):
    """A minimal, reproducible environment: no user or system git config, fixed dates."""
    os.makedirs(home, exist_ok=True)
    gitconfig = os.path.join(home, "gitconfig")
    with open(gitconfig, "w") as f:
        f.write("[user]\n\tname = Bench Operator\n\temail = bench@example.com\n"
                "[init]\n\tdefaultBranch = main\n"
                # Rows say whether a watcher runs: none starts by itself (`cairn watch start` where a row wants one).
                "[cairn]\n\tautoWatch = false\n")
    # libgit2 does not read GIT_CONFIG_GLOBAL (cairn passes it in itself); give it the same file via $HOME.
    shutil.copy(gitconfig, os.path.join(home, ".gitconfig"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "GIT_CONFIG_GLOBAL": gitconfig,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_DATE": FIXED_DATE,
        "GIT_COMMITTER_DATE": FIXED_DATE,
        "CAIRN_NOW": FIXED_DATE,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "NO_COLOR": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    # Where agent work folders go (a tmpfs or a disk changes the agent rows): passed through when set.
    if os.environ.get("TMPDIR"):
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def run(argv, cwd=None, env=None, check=True):
    p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise BenchError(f"command failed (exit {p.returncode}): {shlex.join(argv)}\n  in {cwd}\n"
                         f"  stdout: {p.stdout.strip()[-2000:]}\n  stderr: {p.stderr.strip()[-4000:]}")
    return p


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(argv, cwd, env):
    """(wall ms, CPU ms) of one run, output discarded (stderr kept for errors).

    CPU = user + system time of the process and its waited-for children (getrusage RUSAGE_CHILDREN
    delta): less sensitive than wall time to other load on the machine, blind to I/O waits (fsync).
    """
    c0 = cpu_children()
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ms = (time.perf_counter() - t0) * 1000.0
    cpu = (cpu_children() - c0) * 1000.0
    if p.returncode != 0:
        raise BenchError(f"command failed (exit {p.returncode}): {shlex.join(argv)}\n  in {cwd}\n"
                         f"  stderr: {p.stderr.decode(errors='replace').strip()[-4000:]}")
    return ms, cpu


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Vaults


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:8]


def cached_vault(gen, notes, commits, env):
    """The generated vault for these arguments, from bench/data/ (generated on first use)."""
    key = f"vault-n{notes}-c{commits}-g{file_digest(gen)}"
    path = os.path.join(HERE, "data", key)
    marker = path + ".complete"  # written last: a half-generated vault is regenerated
    if os.path.exists(marker) and os.path.isdir(path):
        return path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log(f"generating {notes} notes, {commits} history commits -> {path} (cached for next time)")
    t0 = time.perf_counter()
    run([sys.executable, gen, path, "--notes", str(notes), "--commits", str(commits)], env=env)
    with open(marker, "w") as f:
        f.write(f"{notes} notes, {commits} commits, generated in {time.perf_counter() - t0:.1f}s\n")
    log(f"  generated in {time.perf_counter() - t0:.1f}s")
    return path


def discard(path):
    """Removes `path` in the background: on a disk mounted with online discard, deleting 100k-file
    copies takes minutes, which the benchmark need not wait for."""
    if not os.path.exists(path):
        return
    trash = f"{path}.trash-{os.getpid()}-{time.monotonic_ns()}"
    os.rename(path, trash)
    subprocess.Popen(["rm", "-rf", trash], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def prepare_copies(base, workdir, cairn, env):
    """seed = base + `cairn init`; A and B = two `cp -a` copies of seed, each with a refreshed index."""
    if os.path.exists(workdir):
        # Synchronously, so that no deletion runs while timing; slow on a disk with online discard.
        log(f"removing the previous working copies in {workdir}")
        shutil.rmtree(workdir)
    for stale in os.listdir(os.path.dirname(workdir)):
        if ".trash-" in stale:
            shutil.rmtree(os.path.join(os.path.dirname(workdir), stale), ignore_errors=True)
    os.makedirs(workdir)
    seed = os.path.join(workdir, "seed")
    run(["cp", "-a", base, seed])
    t0 = time.perf_counter()
    run([cairn, "init", seed], env=env)
    init_ms = (time.perf_counter() - t0) * 1000
    copies = {}
    for name in ("A", "B"):
        dst = os.path.join(workdir, name)
        run(["cp", "-a", seed, dst])
        # cp -a keeps mtimes but not inodes/ctimes: refresh the stat cache in the index once, so
        # both tools start from an up-to-date index (libgit2 and git both trust the stat cache).
        run(["git", "status", "--porcelain"], cwd=dst, env=env)
        copies[name] = dst
    return copies, init_ms


def pick_notes(copy, env, count=EDITS):
    """`count` tracked notes spread evenly over the vault (same paths in every copy)."""
    files = run(["git", "ls-files", "-z", "--", "memory", "inbox"], cwd=copy, env=env).stdout.split("\0")
    # gen_vault.py writes `tier: project` in memory/projects/, which cairn's validation refuses
    # (it wants `projects`), so a snapshot of an edited project note would stop; edit the other tiers.
    files = sorted(f for f in files if f.endswith(".md") and not f.endswith("README.md")
                   and not f.startswith("memory/projects/"))
    if len(files) < count:
        raise BenchError(f"only {len(files)} notes in {copy}")
    step = len(files) // count
    return [files[i * step + step // 2] for i in range(count)]


def edit(copy, notes, tag):
    for n in notes:
        with open(os.path.join(copy, n), "a") as f:
            f.write(f"\nBench edit {tag}.\n")


# ---------------------------------------------------------------------------------------------
# Measurements


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def bench_size(args, notes, env, cairn):
    base = cached_vault(args.gen, notes, args.commits, env)
    work = os.path.join(HERE, "out", f"work-n{notes}")
    log(f"[{notes} notes] copying vault and running `cairn init` in {work}")
    copies, init_ms = prepare_copies(base, work, cairn, env)
    A, B = copies["A"], copies["B"]
    targets = pick_notes(A, env)
    env_nofsync = dict(env, CAIRN_NO_FSYNC="1")
    git_commit = ["sh", "-c", "git add -A && git commit -q -m x"]
    git_commit_fsync = ["sh", "-c", "git -c core.fsync=all add -A && git -c core.fsync=all commit -q -m x"]

    # --- snapshot and fsync rows: each measurement gets its own fresh edit of the same 10 notes.
    series = {
        "cairn snapshot": (A, [cairn, "snapshot"], env),
        "git add -A && git commit": (B, git_commit, env),
        "cairn snapshot (CAIRN_NO_FSYNC=1)": (A, [cairn, "snapshot"], env_nofsync),
        "git add+commit, core.fsync=all": (B, git_commit_fsync, env),
    }
    samples = {k: {"wall": [], "cpu": []} for k in series}
    names = list(series)
    log(f"[{notes} notes] snapshot: {args.runs} runs + 1 warm-up of {len(names)} commands")
    for r in range(args.runs + 1):  # run 0 is the warm-up, not recorded
        order = names[r % len(names):] + names[:r % len(names)]  # rotate to spread drift evenly
        for name in order:
            copy, argv, e = series[name]
            edit(copy, targets, f"run {r} {name}")
            wall, cpu = timed(argv, copy, e)
            if r > 0:
                samples[name]["wall"].append(wall)
                samples[name]["cpu"].append(cpu)
    for copy in (A, B):
        dirty = run(["git", "status", "--porcelain"], cwd=copy, env=env).stdout.strip()
        if dirty:
            raise BenchError(f"{copy} is not clean after the snapshot runs:\n{dirty[:2000]}")
    commits_a = int(run(["git", "rev-list", "--count", "HEAD"], cwd=A, env=env).stdout)
    commits_b = int(run(["git", "rev-list", "--count", "HEAD"], cwd=B, env=env).stdout)
    if commits_a != commits_b:
        raise BenchError(f"copy A has {commits_a} commits, copy B {commits_b}: a snapshot did not commit")

    # --- status rows: same copy (A), warm, clean and then with 10 edited notes.
    status_cmds = {
        "cairn status": [cairn, "status"],
        "git status --porcelain": ["git", "status", "--porcelain"],
        "git status": ["git", "status"],
    }
    status = {}
    for state in ("clean", "10 edits"):
        if state == "10 edits":
            edit(A, targets, "status")
        # One git status first: git writes back a refreshed index (libgit2's status does not write it).
        run(["git", "status", "--porcelain"], cwd=A, env=env)
        got = {k: {"wall": [], "cpu": []} for k in status_cmds}
        cnames = list(status_cmds)
        for r in range(args.runs + 1):
            order = cnames[r % len(cnames):] + cnames[:r % len(cnames)]
            for name in order:
                wall, cpu = timed(status_cmds[name], A, env)
                if r > 0:
                    got[name]["wall"].append(wall)
                    got[name]["cpu"].append(cpu)
        status[state] = got
        log(f"[{notes} notes] status ({state}): " + ", ".join(f"{k} {med(v['wall']):.1f} ms" for k, v in got.items()))

    return {"work": work, "notes": notes, "init_ms": init_ms, "edited": targets, "snapshot": samples, "status": status}


def bench_startup(args, env, cairn):
    n = max(args.runs * 3, 21)
    got = {"cairn --version": {"wall": [], "cpu": []}, "git --version": {"wall": [], "cpu": []}}
    cmds = {"cairn --version": [cairn, "--version"], "git --version": ["git", "--version"]}
    for r in range(n + 1):
        for name in (list(cmds) if r % 2 == 0 else list(reversed(list(cmds)))):
            wall, cpu = timed(cmds[name], REPO, env)
            if r > 0:
                got[name]["wall"].append(wall)
                got[name]["cpu"].append(cpu)
    return got


# ---------------------------------------------------------------------------------------------
# Report


def versions(cairn, env):
    def first_line(argv):
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            return p.stdout.strip().splitlines()[0] if p.stdout.strip() else "?"
        except OSError:
            return "not found"
    swift = shutil.which("swift", path=env["PATH"] + ":/opt/swift/usr/bin") or "swift"
    lib = "?"
    try:
        ldd = subprocess.run(["ldd", cairn], stdout=subprocess.PIPE, text=True).stdout
        m = re.search(r"libgit2\.so\.\S+ => (\S+)", ldd)
        if m:
            lib = os.path.basename(os.path.realpath(m.group(1)))
    except OSError:
        pass
    pc = first_line(["pkg-config", "--modversion", "libgit2"])
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    fs = first_line(["stat", "-f", "-c", "%T", HERE])
    st = os.stat(cairn)
    built = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {
        "binary": f"{cairn} ({st.st_size / 1e6:.1f} MB, built {built})",
        "cairn": first_line([cairn, "--version"]),
        "swift": first_line([swift, "--version"]),
        "git": first_line(["git", "--version"]),
        "libgit2": f"{pc} (linked: {lib})",
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "fs": fs,
    }


def verdict(value, target):
    return "PASS" if value <= target else "FAIL"


class Row:
    def __init__(self, what, cairn, base_name, base, target_text, target=None, on="ratio", enforced=True):
        self.what, self.cairn, self.base_name, self.base = what, cairn, base_name, base
        self.target_text = target_text
        c, b = med(cairn["wall"]), med(base["wall"])
        self.c_wall, self.b_wall, self.ratio = c, b, c / b
        self.c_cpu, self.b_cpu = med(cairn["cpu"]), med(base["cpu"])
        self.cpu_ratio = self.c_cpu / self.b_cpu if self.b_cpu > 0 else float("nan")
        if target is None or not enforced:
            self.result = "info"
        else:
            self.result = verdict(self.ratio if on == "ratio" else c, target)


def build_rows(results, startup, enforce_snapshot_from):
    rows = []
    for res in results:
        n = res["notes"]
        s = res["snapshot"]
        enforced = n >= enforce_snapshot_from
        rows.append(Row(f"snapshot, {EDITS} edited notes @ {n:,}", s["cairn snapshot"],
                        "git add -A && git commit -q -m x", s["git add -A && git commit"],
                        "≤ 1.0×" if enforced else "(≤ 1.0× at 100k)", 1.0, enforced=enforced))
        rows.append(Row(f"snapshot vs git with core.fsync=all @ {n:,}", s["cairn snapshot"],
                        "git -c core.fsync=all add+commit", s["git add+commit, core.fsync=all"], "—"))
        for state, got in res["status"].items():
            for gname in ("git status --porcelain", "git status"):
                rows.append(Row(f"status, {state} @ {n:,}", got["cairn status"], gname, got[gname], "≤ 1.0×", 1.0))
        r = Row(f"fsync cost per snapshot @ {n:,}", s["cairn snapshot"], "CAIRN_NO_FSYNC=1 cairn snapshot",
                s["cairn snapshot (CAIRN_NO_FSYNC=1)"], "")
        r.target_text = f"Δ {r.c_wall - r.b_wall:+.1f} ms"
        rows.append(r)
    rows.append(Row("cairn --version start-up", startup["cairn --version"], "git --version", startup["git --version"],
                    "≤ 20 ms", 20.0, on="cairn"))
    return rows


def render_table(rows):
    head = ["Row", "cairn ms", "Baseline", "baseline ms", "Ratio", "Target", "Result", "CPU ms cairn / base (ratio)"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---", "---:", "---", "---:", "---:", "---", "---", "---:"]) + "|"]
    for r in rows:
        lines.append(f"| {r.what} | {r.c_wall:.1f} | `{r.base_name}` | {r.b_wall:.1f} | {r.ratio:.2f}× | "
                     f"{r.target_text} | {r.result} | {r.c_cpu:.1f} / {r.b_cpu:.1f} ({r.cpu_ratio:.2f}×) |")
    return "\n".join(lines)


def render_samples(results, startup):
    out = []

    def table(items):
        out.append("| Command | wall median | min | max | CPU median | runs |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, xs in items:
            w = xs["wall"]
            out.append(f"| {name} | {med(w):.1f} | {min(w):.1f} | {max(w):.1f} | {med(xs['cpu']):.1f} | {len(w)} |")

    for res in results:
        out.append(f"@ {res['notes']:,} notes (`cairn init` adopting the vault took {res['init_ms']:.0f} ms):\n")
        items = [(f"`{k}`", v) for k, v in res["snapshot"].items()]
        for state, got in res["status"].items():
            items += [(f"`{k}` ({state})", v) for k, v in got.items()]
        table(items)
        out.append("")
    table([(f"`{k}`", v) for k, v in startup.items()])
    return "\n".join(out)


def write_results(path, section):
    hand = ("## Where the time goes\n\n(Hand-written: profiling notes. bench/bench.py keeps this section.)\n")
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    block = f"{BEGIN}\n{section.rstrip()}\n{END}"
    if BEGIN in old and END in old:
        pre, rest = old.split(BEGIN, 1)
        post = rest.split(END, 1)[1]
        new = pre + block + post
    elif old:
        new = block + "\n\n" + old
    else:
        new = "# Cairn benchmark results\n\n" + block + "\n\n" + hand
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True, help="the cairn binary to measure (e.g. .build/release/cairn)")
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated note counts (default 10000,100000)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per command (default 7; 3 with --quick)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1000 notes, 3 runs, RESULTS.md untouched")
    ap.add_argument("--commits", type=int, default=1000, help="history commits in the generated vaults (default 1000)")
    ap.add_argument("--gen", default=DEFAULT_GEN, help=f"the vault generator (default {DEFAULT_GEN})")
    ap.add_argument("--results", default=None, help="markdown file to update (default bench/RESULTS.md; none with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the working copies in bench/out/work-n*/")
    ap.add_argument("--note", default="", help="free text recorded with the results (e.g. which commit was built)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a row misses its target")
    args = ap.parse_args()

    argv_for_report = "python3 bench/bench.py " + shlex.join(sys.argv[1:])
    if args.quick:
        sizes = [1000]
        args.runs = args.runs or 3
    else:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        args.runs = args.runs or 7
    results_path = args.results or (None if args.quick else os.path.join(HERE, "RESULTS.md"))
    cairn = os.path.abspath(args.cairn)
    if not os.access(cairn, os.X_OK):
        sys.exit(f"error: {args.cairn} is not an executable (build it: swift build -c release)")
    if not os.path.exists(args.gen):
        sys.exit(f"error: vault generator {args.gen} not found (--gen)")

    home = tempfile.mkdtemp(prefix="cairn-bench-home-")
    results = []
    env = hermetic_env(home)
    started = dt.datetime.now(dt.timezone.utc)
    load_start = os.getloadavg()
    try:
        startup = bench_startup(args, env, cairn)
        log(f"start-up: cairn {med(startup['cairn --version']['wall']):.1f} ms, git {med(startup['git --version']['wall']):.1f} ms")
        for n in sizes:
            results.append(bench_size(args, n, env, cairn))
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if not args.keep:  # only now, so that no deletion overlaps the timed runs
        for res in results:
            discard(res["work"])

    info = versions(cairn, env)
    rows = build_rows(results, startup, enforce_snapshot_from=100000)
    table = render_table(rows)
    print(table)
    finished = dt.datetime.now(dt.timezone.utc)
    load_end = os.getloadavg()
    load = f"load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end"

    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    raw_path = os.path.join(HERE, "out", f"results-{started.strftime('%Y%m%dT%H%M%SZ')}.json")
    with open(raw_path, "w") as f:
        json.dump({"command": argv_for_report, "started": started.isoformat(), "info": info, "load": load,
                   "runs": args.runs, "commits": args.commits, "startup": startup, "sizes": results}, f, indent=1)
    log(f"raw samples: {os.path.relpath(raw_path, REPO)}")

    if results_path:
        section = "\n".join([
            "## Latest run",
            "",
            f"- Date: {started.strftime('%Y-%m-%d %H:%M')} UTC (took {(finished - started).total_seconds() / 60:.1f} min)",
            f"- Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, bench/ on {info['fs']}; {load}",
            f"- Versions: cairn {info['cairn']}; {info['swift']}; {info['git']}; libgit2 {info['libgit2']}",
            f"- Command (from the repository root): `{argv_for_report}`",
            f"- Binary: {info['binary']}" + (f"; {args.note}" if args.note else ""),
            f"- Data: gen_vault.py vaults with --commits {args.commits}, adopted with `cairn init`; {args.runs} timed "
            f"runs per command after one warm-up, medians in ms; ratio = cairn / baseline (below 1 means cairn is faster).",
            "- CPU ms = user + system time of the command and its children (from getrusage); it is less "
            "disturbed than wall time by other load on the machine but does not see I/O waits such as fsync. "
            "Targets are judged on wall time.",
            f"- Each snapshot run first appends a line to the same {EDITS} notes in both copies; "
            "git's default `core.fsync` flushes no loose objects, refs or index, libgit2 (cairn's default) flushes them all.",
            "",
            table,
            "",
            "<details><summary>Spread of the samples</summary>",
            "",
            render_samples(results, startup),
            "",
            "</details>",
        ])
        write_results(results_path, section)
        log(f"updated {os.path.relpath(results_path, REPO)}")

    failed = [r for r in rows if r.result == "FAIL"]
    if failed:
        log("missed targets: " + "; ".join(r.what for r in failed))
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
