#!/usr/bin/env python3
"""Agent-run benchmarks (issue 3, "Performance"), side by side with the git CLI on the same generated vault.

    python3 bench/agent_bench.py --cairn bench/out/cairn-new [--sizes 10000,100000] [--runs 9]
    python3 bench/agent_bench.py --cairn bench/out/cairn-new --quick     # 1k notes, 3 runs, RESULTS.md untouched

Rows (see bench/README.md):
  proposal commit, 1-file change   `cairn agent run touch --input n=I` (copy A) vs
                                   `git switch -q -c bench-I && <append the same line> && git add && git commit -q -m x
                                    && git switch -q main` (copy B); speed-up = git / cairn, target >= 10x at 100k notes,
                                   and cairn flat as the vault grows (cairn 100k / cairn 10k <= 1.5x)
  same, read scope inbox/**        info: the agent is shown every inbox note (~10% of the vault)
  no-op agent run overhead         `cairn agent run noop --input n=I` minus `/bin/true`, same subprocess path;
                                   target <= 50 ms at 100k notes
  attribution (info)               the no-op run with CAIRN_NO_FSYNC=1; `cairn snapshot` of the clean copy (what every
                                   run does first); `cairn status` and `cairn --version` in the same copy

Realistic scope and built-ins (issue 14), on one given vault (e.g. 100k notes from gen_vault.py, 20k in memory/working):

    python3 bench/agent_bench.py --cairn .build/release/cairn --scope /work/data/vault-100k-notes [--runs 5]
    python3 bench/agent_bench.py --cairn .build/release/cairn --builtins /work/data/vault-100k-notes [--runs 3]

  --scope     `cairn agent run scope` (reads and writes memory/working/**, appends one line to one note there),
              sandboxed and with `sandbox: off`, vs `git switch -c && <the same append> && git add -A && git commit
              && git switch main` on a second copy; target >= 3x faster (no watcher). Section AGENT SCOPE.
  --builtins  `cairn agent run gc` and the first `cairn agent run digest`: wall time and peak RSS (GNU time);
              targets gc <= 20 s and <= 300 MB, digest <= 5 s. Section BUILTINS.

Reuses bench/bench.py (cached vaults, hermetic environment, working copies, timing). Writes the section between
`<!-- BEGIN AGENTS -->` and `<!-- END AGENTS -->` of bench/RESULTS.md; hand-written notes after the
AGENTS NOTES marker inside that section are kept. Python 3 standard library only (strace for --profile).
"""
import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

REPO = B.REPO
BEGIN = "<!-- BEGIN AGENTS -->"
END = "<!-- END AGENTS -->"
NOTES = "<!-- AGENTS NOTES (hand-written; bench/agent_bench.py keeps everything from here to END AGENTS) -->"
BENCH_NOTE = "inbox/bench/bench.md"
FLAT_TARGET = 1.5      # cairn's proposal time at the largest size / at the smallest: "flat as the vault grows"
SPEEDUP_TARGET = 10.0  # git / cairn at 100k notes
OVERHEAD_TARGET = 50.0  # ms, no-op agent run minus /bin/true, at 100k notes
ENFORCE_FROM = 100000

AGENT_FILES = {
    "agents/touch.md": """---
kind: command
command: ["sh", "agents/touch.sh"]
reads: ["inbox/bench/**"]
writes: ["inbox/bench/**"]
timeout: 60s
---
Benchmark agent (bench/agent_bench.py): appends one line to inbox/bench/bench.md.
""",
    "agents/touch-wide.md": """---
kind: command
command: ["sh", "agents/touch.sh"]
reads: ["inbox/**"]
writes: ["inbox/**"]
timeout: 60s
---
Benchmark agent (bench/agent_bench.py): like `touch`, but shown every inbox note.
""",
    "agents/touch.sh": """#!/bin/sh
# Benchmark agent: one line appended to one note (the proposal is a 1-file change).
set -e
printf 'bench run %s\\n' "$CAIRN_RUN_ID" >> inbox/bench/bench.md
""",
    "agents/noop.md": """---
kind: command
command: ["true"]
reads: []
writes: []
timeout: 60s
---
Benchmark agent (bench/agent_bench.py): does nothing; measures what cairn does around an agent.
""",
    BENCH_NOTE: """---
title: Agent benchmark
tier: inbox
tags: [bench]
created: 2026-06-01
---
# Agent benchmark

Lines appended by bench/agent_bench.py (one per timed run).
""",
}

CAIRN_TOUCH = "cairn agent run touch"
GIT_TOUCH = "git switch -c + add + commit + switch back"
CAIRN_WIDE = "cairn agent run touch-wide (reads inbox/**)"
CAIRN_NOOP = "cairn agent run noop"
TRUE = "/bin/true"
CAIRN_NOOP_NOFSYNC = "cairn agent run noop, CAIRN_NO_FSYNC=1"
CAIRN_SNAPSHOT = "cairn snapshot (clean: nothing to commit)"
CAIRN_STATUS = "cairn status"
CAIRN_VERSION = "cairn --version"


def wait_for_done(path, poll, limit):
    """Waits until `path` has a line "done" (another benchmark finished); returns a note for the report."""
    t0 = time.monotonic()
    while True:
        try:
            with open(path, errors="replace") as f:
                if any(line.strip() == "done" for line in f):
                    waited = time.monotonic() - t0
                    return f"waited {waited / 60:.1f} min for {path} to say `done`"
        except OSError:
            pass
        if time.monotonic() - t0 >= limit:
            B.log(f"{path} has no `done` line after {limit / 60:.0f} min; starting anyway")
            return f"gave up waiting for {path} after {limit / 60:.0f} min (another benchmark may have run concurrently)"
        B.log(f"waiting for `done` in {path} ({(time.monotonic() - t0) / 60:.1f} min so far)")
        time.sleep(poll)


def wait_for_background_deletes(parent, limit=600):
    """bench.py deletes its working copies in the background (`rm -rf …trash-…`); let that finish first."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        busy = False
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and os.path.basename(argv[0]) == b"rm" and any(b".trash-" in a and a.startswith(parent.encode())
                                                                   for a in argv[1:]):
                busy = True
                break
        if not busy:
            return
        B.log("waiting for a background deletion of old working copies to finish")
        time.sleep(5)


def setup_copy(copy, cairn, env):
    for rel, text in AGENT_FILES.items():
        path = os.path.join(copy, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        if rel.endswith(".sh"):
            os.chmod(path, 0o755)
    B.run([cairn, "snapshot", "-m", "Benchmark agents"], cwd=copy, env=env)
    # cairn snapshot writes the index; one `git status` so git's own stat cache view matches (as bench.py does).
    B.run(["git", "status", "--porcelain"], cwd=copy, env=env)
    return B.run(["git", "rev-parse", "HEAD"], cwd=copy, env=env).stdout.strip()


def git_lines(copy, env, *argv):
    return [l for l in B.run(["git", *argv], cwd=copy, env=env).stdout.splitlines() if l.strip()]


def verify(A, Bc, env, head_a, head_b, expected):
    """Every cairn run left exactly one commit with the expected change; nothing else moved."""
    problems = []
    for copy, head in ((A, head_a), (Bc, head_b)):
        if B.run(["git", "rev-parse", "refs/heads/main"], cwd=copy, env=env).stdout.strip() != head:
            problems.append(f"{copy}: main moved")
        if B.run(["git", "symbolic-ref", "HEAD"], cwd=copy, env=env).stdout.strip() != "refs/heads/main":
            problems.append(f"{copy}: HEAD is not on main")
        if git_lines(copy, env, "status", "--porcelain"):
            problems.append(f"{copy}: working tree not clean")
    proposals = git_lines(A, env, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/proposals/")
    runs = git_lines(A, env, "for-each-ref", "--format=%(refname)", "refs/cairn/runs/")
    branches = [r for r in git_lines(Bc, env, "for-each-ref", "--format=%(refname)", "refs/heads/")
                if r.startswith("refs/heads/bench-")]
    want_props = expected["touch"] + expected["touch-wide"]
    if len(proposals) != want_props:
        problems.append(f"{len(proposals)} proposal branches, expected {want_props}")
    if len(runs) != expected["noop"]:
        problems.append(f"{len(runs)} refs/cairn/runs/ refs, expected {expected['noop']} (noop runs)")
    if len(branches) != expected["git"]:
        problems.append(f"{len(branches)} bench-* branches in B, expected {expected['git']}")
    for line in proposals:
        ref, oid = line.split()
        parents = B.run(["git", "rev-list", "--parents", "-n", "1", oid], cwd=A, env=env).stdout.split()[1:]
        changed = git_lines(A, env, "diff-tree", "-r", "--name-only", "--no-commit-id", oid)
        notes = [p for p in changed if not p.startswith("runs/")]
        if parents != [head_a] or notes != [BENCH_NOTE] or len(changed) != 2:
            problems.append(f"{ref}: parents {parents}, changes {changed}")
    if problems:
        raise B.BenchError("verification failed:\n  " + "\n  ".join(problems))
    return {"proposals": len(proposals), "runs": len(runs), "git_branches": len(branches)}


def bench_size(args, notes, env, cairn):
    base = B.cached_vault(args.gen, notes, args.commits, env)
    work = os.path.join(HERE, "out", f"agents-n{notes}")
    B.log(f"[{notes} notes] copying vault and running `cairn init` in {work}")
    copies, init_ms = B.prepare_copies(base, work, cairn, env)
    A, Bc = copies["A"], copies["B"]
    head_a = setup_copy(A, cairn, env)
    head_b = setup_copy(Bc, cairn, env)
    inbox_files = len(git_lines(A, env, "ls-files", "--", "inbox"))

    counter = {"i": 0}

    def nxt():
        counter["i"] += 1
        return counter["i"]

    def git_touch():
        i = nxt()
        line = f"bench run git-{i}"
        return ["sh", "-c", f"git switch -q -c bench-{i} && printf '%s\\n' '{line}' >> {BENCH_NOTE} && "
                            f"git add {BENCH_NOTE} && git commit -q -m x && git switch -q main"]

    env_nofsync = dict(env, CAIRN_NO_FSYNC="1")
    series = {
        CAIRN_TOUCH: (A, lambda: [cairn, "agent", "run", "touch", "--input", f"n={nxt()}"], env),
        GIT_TOUCH: (Bc, git_touch, env),
        CAIRN_WIDE: (A, lambda: [cairn, "agent", "run", "touch-wide", "--input", f"n={nxt()}"], env),
        CAIRN_NOOP: (A, lambda: [cairn, "agent", "run", "noop", "--input", f"n={nxt()}"], env),
        TRUE: (A, lambda: ["/bin/true"], env),
        CAIRN_NOOP_NOFSYNC: (A, lambda: [cairn, "agent", "run", "noop", "--input", f"n={nxt()}"], env_nofsync),
        CAIRN_SNAPSHOT: (A, lambda: [cairn, "snapshot"], env),
        CAIRN_STATUS: (A, lambda: [cairn, "status"], env),
        CAIRN_VERSION: (A, lambda: [cairn, "--version"], env),
    }
    samples = {k: {"wall": [], "cpu": []} for k in series}
    names = list(series)
    B.log(f"[{notes} notes] {args.runs} runs + 1 warm-up of {len(names)} commands")
    for r in range(args.runs + 1):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            copy, make, cmd_env = series[name]
            wall, cpu = B.timed(make(), copy, cmd_env)
            if r > 0:
                samples[name]["wall"].append(wall)
                samples[name]["cpu"].append(cpu)
    B.log(f"[{notes} notes] " + ", ".join(f"{k} {B.med(v['wall']):.1f}" for k, v in samples.items()))
    n = args.runs + 1
    checked = verify(A, Bc, env, head_a, head_b, {"touch": n, "touch-wide": n, "noop": 2 * n, "git": n})
    B.log(f"[{notes} notes] verified: {checked}")

    profile = None
    if args.profile and notes == max(args.sizes_list):
        profile = strace_profile(A, cairn, env)
    return {"work": work, "notes": notes, "init_ms": init_ms, "inbox_files": inbox_files, "samples": samples,
            "verified": checked, "profile": profile}


def strace_profile(A, cairn, env):
    """One `strace -f -c` of a no-op run (not timed): syscall counts and kernel time."""
    if not shutil.which("strace"):
        return None
    out = os.path.join(HERE, "out", "agents-noop.strace")
    argv = ["strace", "-f", "-c", "-o", out, cairn, "agent", "run", "noop", "--input", "n=strace"]
    B.run(argv, cwd=A, env=env)
    rows = []
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and re.match(r"^\d+\.\d+$", parts[0]) and parts[-1] != "total":
                # % time, seconds, usecs/call, calls, [errors], syscall
                errors = parts[4] if len(parts) == 6 else "0"
                rows.append({"pct": float(parts[0]), "seconds": float(parts[1]), "calls": int(parts[3]),
                             "errors": int(errors), "syscall": parts[-1]})
    rows.sort(key=lambda r: -r["calls"])
    return {"command": shlex.join(["strace", "-f", "-c", "-o", os.path.relpath(out, REPO), "cairn"] + argv[6:]), "file": os.path.relpath(out, REPO), "rows": rows}


# ---------------------------------------------------------------------------------------------
# Report


def verdict(ok):
    return "PASS" if ok else "FAIL"


def build_rows(results):
    rows = []
    by_n = {res["notes"]: res for res in results}
    for res in results:
        n, s = res["notes"], res["samples"]
        enforced = n >= ENFORCE_FROM
        c, g = B.med(s[CAIRN_TOUCH]["wall"]), B.med(s[GIT_TOUCH]["wall"])
        speedup = g / c
        rows.append({"what": f"proposal commit, 1-file change @ {n:,}", "cairn": c, "cairn_cpu": B.med(s[CAIRN_TOUCH]["cpu"]),
                     "base_name": "git switch -c && git add && git commit && git switch main", "base": g,
                     "base_cpu": B.med(s[GIT_TOUCH]["cpu"]), "result_text": f"{speedup:.2f}× faster" if speedup >= 1
                     else f"{1 / speedup:.2f}× slower",
                     "target": f"≥ {SPEEDUP_TARGET:.0f}×" if enforced else f"(≥ {SPEEDUP_TARGET:.0f}× at 100k)",
                     "result": verdict(speedup >= SPEEDUP_TARGET) if enforced else "info"})
        w = B.med(s[CAIRN_WIDE]["wall"])
        rows.append({"what": f"same, agent reads all of inbox/ ({res['inbox_files']:,} files) @ {n:,}", "cairn": w,
                     "cairn_cpu": B.med(s[CAIRN_WIDE]["cpu"]), "base_name": "git (as above)", "base": g,
                     "base_cpu": B.med(s[GIT_TOUCH]["cpu"]),
                     "result_text": f"{g / w:.2f}× faster" if g >= w else f"{w / g:.2f}× slower", "target": "—",
                     "result": "info"})
        c0, t = B.med(s[CAIRN_NOOP]["wall"]), B.med(s[TRUE]["wall"])
        rows.append({"what": f"no-op agent run overhead @ {n:,}", "cairn": c0, "cairn_cpu": B.med(s[CAIRN_NOOP]["cpu"]),
                     "base_name": "/bin/true", "base": t, "base_cpu": B.med(s[TRUE]["cpu"]),
                     "result_text": f"overhead {c0 - t:.1f} ms",
                     "target": f"≤ {OVERHEAD_TARGET:.0f} ms" if enforced else f"(≤ {OVERHEAD_TARGET:.0f} ms at 100k)",
                     "result": verdict(c0 - t <= OVERHEAD_TARGET) if enforced else "info"})
        nf = B.med(s[CAIRN_NOOP_NOFSYNC]["wall"])
        rows.append({"what": f"no-op run without fsync (info) @ {n:,}", "cairn": nf,
                     "cairn_cpu": B.med(s[CAIRN_NOOP_NOFSYNC]["cpu"]), "base_name": "/bin/true", "base": t,
                     "base_cpu": B.med(s[TRUE]["cpu"]), "result_text": f"overhead {nf - t:.1f} ms (fsync {c0 - nf:+.1f})",
                     "target": "—", "result": "info"})
        sn = B.med(s[CAIRN_SNAPSHOT]["wall"])
        rows.append({"what": f"no-op run minus the snapshot it starts with (info) @ {n:,}", "cairn": c0,
                     "cairn_cpu": B.med(s[CAIRN_NOOP]["cpu"]), "base_name": "cairn snapshot (clean)", "base": sn,
                     "base_cpu": B.med(s[CAIRN_SNAPSHOT]["cpu"]), "result_text": f"rest {c0 - sn:.1f} ms",
                     "target": "—", "result": "info"})
        rows.append({"what": f"for reference: cairn status / cairn --version @ {n:,}", "cairn": B.med(s[CAIRN_STATUS]["wall"]),
                     "cairn_cpu": B.med(s[CAIRN_STATUS]["cpu"]), "base_name": "cairn --version",
                     "base": B.med(s[CAIRN_VERSION]["wall"]), "base_cpu": B.med(s[CAIRN_VERSION]["cpu"]),
                     "result_text": "", "target": "—", "result": "info"})
    sizes = sorted(by_n)
    if len(sizes) >= 2:
        lo, hi = by_n[sizes[0]]["samples"], by_n[sizes[-1]]["samples"]
        for name, label in ((CAIRN_TOUCH, "cairn proposal commit"), (GIT_TOUCH, "git switch+add+commit+switch")):
            a, b = B.med(lo[name]["wall"]), B.med(hi[name]["wall"])
            growth = b / a
            is_cairn = name == CAIRN_TOUCH
            rows.append({"what": f"flat as the vault grows: {label}, {sizes[-1]:,} vs {sizes[0]:,}", "cairn": b,
                         "cairn_cpu": B.med(hi[name]["cpu"]), "base_name": f"same @ {sizes[0]:,}", "base": a,
                         "base_cpu": B.med(lo[name]["cpu"]), "result_text": f"{growth:.2f}× growth",
                         "target": f"≤ {FLAT_TARGET}× (our reading of “flat”)" if is_cairn else "—",
                         "result": verdict(growth <= FLAT_TARGET) if is_cairn and sizes[-1] >= ENFORCE_FROM else "info"})
    return rows


def render_table(rows):
    lines = ["| Row | cairn ms | Baseline | baseline ms | Result | Target | Pass | CPU ms cairn / baseline |",
             "|---|---:|---|---:|---:|---|---|---:|"]
    for r in rows:
        lines.append(f"| {r['what']} | {r['cairn']:.1f} | `{r['base_name']}` | {r['base']:.1f} | {r['result_text']} | "
                     f"{r['target']} | {r['result']} | {r['cairn_cpu']:.1f} / {r['base_cpu']:.1f} |")
    return "\n".join(lines)


def render_samples(results):
    out = []
    for res in results:
        out.append(f"@ {res['notes']:,} notes (`cairn init` adopting the vault took {res['init_ms']:.0f} ms; "
                   f"checked afterwards: {res['verified']['proposals']} proposal commits, each with `main` as its only "
                   f"parent and exactly `{BENCH_NOTE}` + its run record changed; {res['verified']['runs']} no-op run "
                   f"records (half of them without fsync); {res['verified']['git_branches']} git branches; `main`, HEAD and both working trees "
                   f"unchanged):\n")
        out.append("| Command | wall median | min | max | CPU median | runs |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, xs in res["samples"].items():
            w = xs["wall"]
            out.append(f"| `{name}` | {B.med(w):.1f} | {min(w):.1f} | {max(w):.1f} | {B.med(xs['cpu']):.1f} | {len(w)} |")
        out.append("")
    return "\n".join(out)


def render_profile(profile):
    if not profile:
        return ""
    rows = profile["rows"]
    total_s = sum(r["seconds"] for r in rows)
    top = rows[:10]
    lines = [f"`{profile['command']}` once at the largest size (not timed; kernel time as strace counts it, "
             f"{total_s * 1000:.0f} ms in all; raw output in `{profile['file']}`):", "",
             "| syscall | calls | errors | kernel ms |", "|---|---:|---:|---:|"]
    for r in top:
        lines.append(f"| {r['syscall']} | {r['calls']:,} | {r['errors']:,} | {r['seconds'] * 1000:.1f} |")
    return "\n".join(lines)


def write_section(path, generated):
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    notes = NOTES + "\n\n(Hand-written notes on where the time goes go here.)\n"
    if BEGIN in old and END in old:
        pre, rest = old.split(BEGIN, 1)
        inner, post = rest.split(END, 1)
        if NOTES in inner:
            notes = NOTES + inner.split(NOTES, 1)[1].rstrip("\n") + "\n"
    else:
        pre, post = old.rstrip("\n") + "\n\n", "\n"
    block = f"{BEGIN}\n{generated.rstrip()}\n\n{notes.rstrip()}\n{END}"
    with open(path, "w") as f:
        f.write(pre + block + post)


# ---------------------------------------------------------------------------------------------
# Realistic scope and built-ins (issue 14)

SCOPE_NOTE = "memory/working/bench-scope.md"
SCOPE_AGENTS = {
    "agents/scope.md": """---
kind: command
command: ["sh", "agents/scope.sh"]
reads: ["memory/working/**"]
writes: ["memory/working/**"]
timeout: 60s
---
Benchmark agent (bench/agent_bench.py --scope): shown every working note, appends one line to one.
""",
    "agents/scope-off.md": """---
kind: command
command: ["sh", "agents/scope.sh"]
reads: ["memory/working/**"]
writes: ["memory/working/**"]
sandbox: off
timeout: 60s
---
Benchmark agent (bench/agent_bench.py --scope): like `scope`, without the sandbox.
""",
    "agents/scope.sh": f"""#!/bin/sh
set -e
printf 'bench run %s\\n' "$CAIRN_RUN_ID" >> {SCOPE_NOTE}
""",
    SCOPE_NOTE: "---\ntitle: Scope benchmark\ntier: working\n---\n# Scope benchmark\n\n",
}


def adopt_copies(vault, work, cairn, env, names):
    """`cp -a` of `vault` adopted with `cairn init` (never the shared vault itself), then one copy per name."""
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    seed = os.path.join(work, "seed")
    B.run(["cp", "-a", vault, seed])
    B.run([cairn, "init", seed], env=env)
    for rel, text in SCOPE_AGENTS.items():
        path = os.path.join(seed, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    B.run([cairn, "snapshot", "-m", "Benchmark agents"], cwd=seed, env=env)
    copies = {}
    for name in names:
        dst = os.path.join(work, name)
        B.run(["cp", "-a", seed, dst])
        B.run(["git", "status", "--porcelain"], cwd=dst, env=env)
        B.run([cairn, "status"], cwd=dst, env=env)
        copies[name] = dst
    shutil.rmtree(seed)
    return copies


def section_header(title, started, finished, info, argv, load):
    return [f"## {title}", "",
            f"- Date: {started.strftime('%Y-%m-%d %H:%M')} UTC (took {(finished - started).total_seconds() / 60:.1f} min)",
            f"- Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, bench/ on {info['fs']}; {load}",
            f"- Versions: cairn {info['cairn']}; {info['git']}; libgit2 {info['libgit2']}",
            f"- Command (from the repository root): `{argv}`", ""]


def write_marked(path, begin, end, text):
    old = open(path).read() if os.path.exists(path) else ""
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in old and end in old:
        pre, rest = old.split(begin, 1)
        post = rest.split(end, 1)[1]
        new = pre + block + post
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(new)


def scope_bench(args, env, cairn, argv):
    started = dt.datetime.now(dt.timezone.utc)
    load0 = os.getloadavg()
    work = os.path.join(HERE, "out", "agent-scope")
    copies = adopt_copies(args.scope, work, cairn, env, ["A", "B", "W"])
    A, Bc, W = copies["A"], copies["B"], copies["W"]
    # W: the same agent with the vault's watcher running (started here; every copy has cairn.autoWatch = false).
    B.run([cairn, "watch", "start"], cwd=W, env=env)
    scope_files = len(git_lines(A, env, "ls-files", "--", "memory/working"))
    counter = {"i": 0}

    def nxt():
        counter["i"] += 1
        return counter["i"]

    def git_seq():
        i = nxt()
        return ["sh", "-c", f"git switch -q -c bench-{i} && printf 'bench run git-{i}\\n' >> {SCOPE_NOTE} && "
                            "git add -A && git commit -q -m x && git switch -q main"]

    series = {
        "cairn agent run scope (sandboxed)": (A, lambda: [cairn, "agent", "run", "scope", "--input", f"n={nxt()}"]),
        "cairn agent run scope-off (sandbox: off)": (A, lambda: [cairn, "agent", "run", "scope-off", "--input", f"n={nxt()}"]),
        "cairn agent run scope (sandboxed), watcher running": (W, lambda: [cairn, "agent", "run", "scope", "--input", f"n={nxt()}"]),
        "git switch -c && append && git add -A && git commit && git switch main": (Bc, git_seq),
    }
    samples = {k: [] for k in series}
    first = {}
    names = list(series)
    try:
        for r in range(args.runs + 1):
            for name in names[r % len(names):] + names[:r % len(names)]:
                copy, make = series[name]
                wall, _ = B.timed(make(), copy, env)
                if r > 0:
                    samples[name].append(wall)
                else:
                    first[name] = wall
    finally:
        B.run([cairn, "watch", "stop"], cwd=W, env=env)
    for copy, expected in ((A, 2 * (args.runs + 1)), (W, args.runs + 1)):
        proposals = git_lines(copy, env, "for-each-ref", "--format=%(objectname)", "refs/heads/proposals/")
        for oid in proposals:
            changed = [p for p in git_lines(copy, env, "diff-tree", "-r", "--name-only", "--no-commit-id", oid)
                       if not p.startswith("runs/")]
            if changed != [SCOPE_NOTE]:
                raise B.BenchError(f"proposal {oid} changes {changed}, expected only {SCOPE_NOTE}")
        if len(proposals) != expected:
            raise B.BenchError(f"{len(proposals)} proposals in {copy}, expected {expected}")
    profile = ""
    if shutil.which("strace"):
        out = os.path.join(HERE, "out", "agent-scope.strace")
        B.run(["strace", "-f", "-c", "-o", out, cairn, "agent", "run", "scope-off", "--input", "n=strace"], cwd=A, env=env)
        calls = {}
        for line in open(out):
            parts = line.split()
            if len(parts) >= 5 and re.match(r"^\d+\.\d+$", parts[0]) and parts[-1] != "total":
                calls[parts[-1]] = int(parts[3])
        top = sorted(calls.items(), key=lambda kv: -kv[1])[:8]
        profile = ("`strace -f -c` of one `cairn agent run scope-off` (not timed), most frequent calls: "
                   + ", ".join(f"{k} {v:,}" for k, v in top) + ".")
    finished = dt.datetime.now(dt.timezone.utc)
    load1 = os.getloadavg()
    info = B.versions(cairn, env)
    git_ms = B.med(samples[names[3]])
    lines = section_header("Agent proposal at a realistic scope (bench/agent_bench.py --scope)", started, finished, info, argv,
                           f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end")
    lines += [f"- Data: `{args.scope}` ({scope_files:,} notes in memory/working/), three `cp -a` copies adopted with "
              "`cairn init`: one without a watcher for both cairn agents, one with `cairn watch start`, one for "
              "git (`cairn.autoWatch` is false in all). Agent `scope` reads and writes `memory/working/**` (so all of "
              "them are shown and checked afterwards) and appends one line to "
              f"`{SCOPE_NOTE}`; every proposal was checked to change exactly that note (plus its run record).",
              f"- Work folders in `{os.environ.get('TMPDIR', '/tmp')}`. An agent's work folder is kept between its runs "
              "(`TMPDIR/cairn-work-*`): the first run of each agent fills it (the warm-up column, not in the medians); "
              "later runs rewrite only what changed.",
              f"- {args.runs} timed runs per command after one warm-up, order rotated; medians in ms.", "",
              "| Command | warm-up ms | median ms | min | max | vs git |", "|---|---:|---:|---:|---:|---:|"]
    for name in names:
        xs = samples[name]
        ratio = git_ms / B.med(xs)
        lines.append(f"| `{name}` | {first[name]:.0f} | {B.med(xs):.0f} | {min(xs):.0f} | {max(xs):.0f} | {ratio:.2f}× faster |")
    plain, watched = git_ms / B.med(samples[names[0]]), git_ms / B.med(samples[names[2]])
    lines += ["", f"Targets: ≥ 3× faster than the git sequence without a watcher: {'PASS' if plain >= 3 else 'FAIL'} "
              f"({plain:.2f}× sandboxed); ≥ 10× with the watcher: {'PASS' if watched >= 10 else 'FAIL'} ({watched:.2f}×).",
              "", profile]
    text = "\n".join(lines)
    print(text)
    if not args.keep:
        B.discard(work)
    return text


def builtins_bench(args, env, cairn, argv):
    started = dt.datetime.now(dt.timezone.utc)
    load0 = os.getloadavg()
    work = os.path.join(HERE, "out", "agent-builtins")
    A = adopt_copies(args.builtins, work, cairn, env, ["A"])["A"]
    notes = len(git_lines(A, env, "ls-files", "--", "memory"))
    rows = []
    for agent in ("gc", "digest"):
        walls, peaks, summary = [], [], ""
        for i in range(args.runs):
            out = os.path.join(work, f"{agent}-{i}.time")
            argv_run = ["/usr/bin/time", "-f", "%e %M", "-o", out, cairn, "agent", "run", agent, "--json", "--input", f"n={i}"]
            p = B.run(argv_run, cwd=A, env=env, check=False)
            if p.returncode not in (0, 1):
                raise B.BenchError(f"{agent} failed: {p.stderr[-2000:]}")
            result = json.loads(p.stdout)
            summary = f"{result['outcome']}: {result['summary']}"
            secs, kb = open(out).read().split()[-2:]
            walls.append(float(secs))
            peaks.append(int(kb) / 1024)
        rows.append((agent, walls, peaks, summary))
    finished = dt.datetime.now(dt.timezone.utc)
    load1 = os.getloadavg()
    info = B.versions(cairn, env)
    lines = section_header("Built-in agents at scale (bench/agent_bench.py --builtins)", started, finished, info, argv,
                           f"load average {load0[0]:.1f} at start, {load1[0]:.1f} at end")
    lines += [f"- Data: `{args.builtins}` ({notes:,} notes under memory/), a `cp -a` copy adopted with `cairn init`; the "
              "template's `gc` (reads `memory/**`) and `digest` (reads `memory/**`, `inbox/**`). Each run is a fresh run "
              "(`--input n=I`) on the same base, so every digest is a first digest. Wall seconds and peak resident "
              "memory from GNU time.", "",
              "| Agent | median s | runs (s) | peak RSS MB (max) | target | result | proposal |",
              "|---|---:|---|---:|---|---|---|"]
    targets = {"gc": (20, 300), "digest": (5, None)}
    for agent, walls, peaks, summary in rows:
        t, mem = targets[agent]
        ok = B.med(walls) <= t and (mem is None or max(peaks) <= mem)
        target = f"≤ {t} s" + (f", ≤ {mem} MB" if mem else "")
        lines.append(f"| `cairn agent run {agent}` | {B.med(walls):.2f} | {', '.join(f'{w:.2f}' for w in walls)} | "
                     f"{max(peaks):.0f} | {target} | {'PASS' if ok else 'FAIL'} | {summary[:120]} |")
    text = "\n".join(lines)
    print(text)
    if not args.keep:
        B.discard(work)
    return text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True, help="the cairn binary to measure")
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated note counts (default 10000,100000)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per command (default 9; 3 with --quick)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1000 notes, 3 runs, RESULTS.md untouched")
    ap.add_argument("--commits", type=int, default=1000, help="history commits in the generated vaults (default 1000)")
    ap.add_argument("--gen", default=B.DEFAULT_GEN, help=f"the vault generator (default {B.DEFAULT_GEN})")
    ap.add_argument("--results", default=None, help="markdown file to update (default bench/RESULTS.md; none with --quick)")
    ap.add_argument("--keep", action="store_true", help="keep the working copies in bench/out/agents-n*/")
    ap.add_argument("--note", default="", help="free text recorded with the results")
    ap.add_argument("--no-profile", dest="profile", action="store_false", help="skip the strace -c of a no-op run")
    ap.add_argument("--wait-for", default=None, metavar="FILE",
                    help="first wait until FILE has a line `done` (another benchmark), polling every 30 s, at most 25 min")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a row misses its target")
    ap.add_argument("--scope", default=None, metavar="VAULT",
                    help="only the realistic-scope row on this generated vault (section AGENT SCOPE)")
    ap.add_argument("--builtins", default=None, metavar="VAULT",
                    help="only gc and the first digest on this generated vault (section BUILTINS)")
    args = ap.parse_args()

    argv_for_report = "python3 bench/agent_bench.py " + shlex.join(sys.argv[1:])
    if args.scope or args.builtins:
        cairn = os.path.abspath(args.cairn)
        home = tempfile.mkdtemp(prefix="cairn-agent-bench-home-")
        env = B.hermetic_env(home)
        results_path = args.results or os.path.join(HERE, "RESULTS.md")
        try:
            if args.scope:
                args.runs = args.runs or 5
                text = scope_bench(args, env, cairn, argv_for_report)
                write_marked(results_path, "<!-- BEGIN AGENT SCOPE -->", "<!-- END AGENT SCOPE -->", text)
            else:
                args.runs = args.runs or 3
                text = builtins_bench(args, env, cairn, argv_for_report)
                write_marked(results_path, "<!-- BEGIN BUILTINS -->", "<!-- END BUILTINS -->", text)
        except B.BenchError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        finally:
            shutil.rmtree(home, ignore_errors=True)
        return 0
    if args.quick:
        args.sizes_list = [1000]
        args.runs = args.runs or 3
    else:
        args.sizes_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
        args.runs = args.runs or 9
    results_path = args.results or (None if args.quick else os.path.join(HERE, "RESULTS.md"))
    cairn = os.path.abspath(args.cairn)
    waited = wait_for_done(args.wait_for, 30, 25 * 60) if args.wait_for else ""
    if not os.access(cairn, os.X_OK):
        sys.exit(f"error: {args.cairn} is not an executable")
    if not os.path.exists(args.gen):
        sys.exit(f"error: vault generator {args.gen} not found (--gen)")
    wait_for_background_deletes(os.path.join(HERE, "out"))

    home = tempfile.mkdtemp(prefix="cairn-agent-bench-home-")
    env = B.hermetic_env(home)
    started = dt.datetime.now(dt.timezone.utc)
    load_start = os.getloadavg()
    results = []
    try:
        for n in args.sizes_list:
            results.append(bench_size(args, n, env, cairn))
    except B.BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(home, ignore_errors=True)
    finished = dt.datetime.now(dt.timezone.utc)
    load_end = os.getloadavg()
    if not args.keep:
        for res in results:
            B.discard(res["work"])

    info = B.versions(cairn, env)
    rows = build_rows(results)
    table = render_table(rows)
    print(table)
    load = f"load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end"
    raw_path = os.path.join(HERE, "out", f"agents-{started.strftime('%Y%m%dT%H%M%SZ')}.json")
    with open(raw_path, "w") as f:
        json.dump({"command": argv_for_report, "started": started.isoformat(), "info": info, "load": load, "waited": waited,
                   "runs": args.runs, "commits": args.commits, "sizes": results, "rows": rows}, f, indent=1)
    B.log(f"raw samples: {os.path.relpath(raw_path, REPO)}")

    if results_path:
        section = "\n".join([
            "## Agent runs (bench/agent_bench.py)",
            "",
            f"- Date: {started.strftime('%Y-%m-%d %H:%M')} UTC (took {(finished - started).total_seconds() / 60:.1f} min"
            + (f"; {waited}" if waited else "") + ")",
            f"- Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, bench/ on {info['fs']}; {load}",
            f"- Versions: cairn {info['cairn']}; {info['git']}; libgit2 {info['libgit2']}",
            f"- Command (from the repository root): `{argv_for_report}`",
            f"- Binary: {info['binary']}" + (f"; {args.note}" if args.note else ""),
            f"- Data: gen_vault.py vaults with --commits {args.commits}, two `cp -a` copies adopted with `cairn init`, then "
            "`agents/touch.md` (reads/writes `inbox/bench/**`, runs `sh agents/touch.sh`, which appends `bench run "
            f"$CAIRN_RUN_ID` to `{BENCH_NOTE}`), `agents/touch-wide.md` (same script, reads/writes `inbox/**`), "
            "`agents/noop.md` (`command: [\"true\"]`, reads/writes nothing) and the note, committed with `cairn snapshot` "
            "in both copies.",
            f"- Each timed cairn run is a fresh run (`--input n=<counter>`); the git side on copy B is "
            f"`sh -c 'git switch -q -c bench-I && printf … >> {BENCH_NOTE} && git add {BENCH_NOTE} && git commit -q -m x "
            "&& git switch -q main'` (it includes switching back: cairn never touches the working tree). "
            f"{args.runs} timed runs per command after one warm-up, order rotated every run; medians in ms. "
            "Speed-up = git / cairn; overhead = cairn no-op run − `/bin/true` through the same subprocess path. "
            "For attribution (info rows): the no-op run with `CAIRN_NO_FSYNC=1`, and `cairn snapshot` of the clean copy "
            "(what every run does first).",
            "- CPU ms = user + system time of the command and its children (getrusage); targets are judged on wall time.",
            "",
            table,
            "",
            "<details><summary>Spread of the samples</summary>",
            "",
            render_samples(results),
            "</details>",
            "",
            render_profile(next((r["profile"] for r in results if r["profile"]), None)),
        ])
        write_section(results_path, section)
        B.log(f"updated {os.path.relpath(results_path, REPO)}")

    failed = [r for r in rows if r["result"] == "FAIL"]
    if failed:
        B.log("missed targets: " + "; ".join(r["what"] for r in failed))
    return 1 if (failed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
