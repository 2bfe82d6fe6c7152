#!/usr/bin/env python3
"""`cairn tick` with nothing due, side by side with `git status`, on one generated vault.

    python3 bench/tick_bench.py --cairn /tmp/cairn-wfsup/.build/release/cairn [--notes 100000] [--commits 50]
                                [--workflows 50] [--runs 11]
    python3 bench/tick_bench.py --cairn .build/debug/cairn --quick      # 1k notes, 5 runs, RESULTS.md untouched

What is measured: a vault from gen_vault.py (`--notes`, `--commits`), adopted with `cairn init`, with one no-op
command agent and `--workflows` workflows (a third each on a schedule that is never due in the window, on
paths that nothing changes, on an event nobody emits), snapshotted. One priming tick starts watching; then
each timed tick runs one minute later (CAIRN_NOW advances), so every tick does the whole idle path: load
policy and workflow catalog, check every schedule against the minute that passed, compare main with the last
tick, look at runs under way and health (proposals, breakers of every agent), decide that the digest is
unchanged — and writes no commit (checked: main and refs/cairn/tick do not move). Baseline: `git status` in
the same vault, timed interleaved with the ticks. Target: median tick <= 100 ms at 100k notes.

Writes the section between `<!-- BEGIN TICK -->` and `<!-- END TICK -->` of bench/RESULTS.md (appended if
missing). Python 3 standard library only; reuses bench/bench.py for the cached vault and the environment.
"""
import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

BEGIN = "<!-- BEGIN TICK -->"
END = "<!-- END TICK -->"
TARGET_MS = 100.0
START = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.timezone.utc)

NOOP_AGENT = """---
kind: command
command: ["true"]
reads: []
writes: []
timeout: 60s
---
Benchmark agent (bench/tick_bench.py): does nothing.
"""


def workflow(i):
    """Workflow i: a third scheduled (never due in June), a third on paths nobody changes, a third on events."""
    kind = i % 3
    if kind == 0:
        trigger = f'on: {{schedule: "{i % 60} {i % 24} 1 1 *"}}'
    elif kind == 1:
        trigger = f'on: {{paths: ["inbox/bench-{i}/**"]}}'
    else:
        trigger = f"on: {{event: bench.event-{i}}}"
    return f"""---
description: Benchmark workflow {i} (bench/tick_bench.py).
{trigger}
steps:
  - id: a
    agent: noop
    gate: auto
---
Benchmark workflow {i}.
"""


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--gen", default=B.DEFAULT_GEN)
    ap.add_argument("--notes", type=int, default=100000)
    ap.add_argument("--commits", type=int, default=50)
    ap.add_argument("--workflows", type=int, default=50)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--note", default="")
    ap.add_argument("--quick", action="store_true", help="1k notes, 5 runs, RESULTS.md untouched")
    args = ap.parse_args()
    if args.quick:
        args.notes, args.runs = 1000, 5
    cairn = os.path.abspath(args.cairn)
    home = tempfile.mkdtemp(prefix="cairn-tick-bench-home-")
    env = B.hermetic_env(home)
    base = B.cached_vault(args.gen, args.notes, args.commits, env)
    work = os.path.join(HERE, "out", f"tick-n{args.notes}")
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    v = os.path.join(work, "vault")
    B.run(["cp", "-a", base, v])
    B.run([cairn, "init", v], env=env)
    with open(os.path.join(v, "agents", "noop.md"), "w") as f:
        f.write(NOOP_AGENT)
    for i in range(args.workflows):
        with open(os.path.join(v, "workflows", f"bench-{i:02d}.md"), "w") as f:
            f.write(workflow(i))
    B.run([cairn, "snapshot", "-m", "Benchmark workflows"], cwd=v, env=env)
    listed = json.loads(B.run([cairn, "workflow", "list", "--json"], cwd=v, env=env).stdout)
    names = [w.get("name") for w in (listed if isinstance(listed, list) else listed.get("workflows", []))]
    bench_names = [n for n in names if n and n.startswith("bench-")]
    if len(bench_names) != args.workflows:
        raise B.BenchError(f"expected {args.workflows} benchmark workflows in the catalog, found {len(bench_names)}")
    B.run(["git", "status", "--porcelain"], cwd=v, env=env)  # fresh stat cache for both tools

    def tick_env(minute):
        e = dict(env)
        e["CAIRN_NOW"] = iso(START + dt.timedelta(minutes=minute))
        return e

    B.run([cairn, "tick"], cwd=v, env=tick_env(0))  # first tick: starts watching
    main_before = B.run(["git", "rev-parse", "main"], cwd=v, env=env).stdout.strip()
    tick_ref = B.run(["git", "rev-parse", "refs/cairn/tick"], cwd=v, env=env).stdout.strip()
    load0 = os.getloadavg()[0]
    # Warm-up, then interleaved timed runs.
    B.timed([cairn, "tick"], v, tick_env(1))
    B.timed(["git", "status"], v, env)
    tick_ms, tick_cpu, git_ms, git_cpu, start_ms, start_cpu = [], [], [], [], [], []
    for i in range(args.runs):
        ms, cpu = B.timed([cairn, "tick"], v, tick_env(2 + i))
        tick_ms.append(ms)
        tick_cpu.append(cpu)
        ms, cpu = B.timed(["git", "status"], v, env)
        git_ms.append(ms)
        git_cpu.append(cpu)
        ms, cpu = B.timed([cairn, "--version"], v, env)
        start_ms.append(ms)
        start_cpu.append(cpu)
    report = json.loads(B.run([cairn, "tick", "--json"], cwd=v, env=tick_env(2 + args.runs)).stdout)
    if report.get("actions") or report.get("digest"):
        raise B.BenchError(f"the ticks were not idle: {report}")
    if B.run(["git", "rev-parse", "main"], cwd=v, env=env).stdout.strip() != main_before:
        raise B.BenchError("an idle tick moved main")
    if B.run(["git", "rev-parse", "refs/cairn/tick"], cwd=v, env=env).stdout.strip() != tick_ref:
        raise B.BenchError("an idle tick wrote a tick-state commit")

    t, g = B.med(tick_ms), B.med(git_ms)
    ratio = t / g if g else float("inf")
    result = "PASS" if t <= TARGET_MS else "FAIL"
    version = B.run([cairn, "--version"], env=env).stdout.strip()
    gitv = B.run(["git", "--version"], env=env).stdout.strip()
    cmd = "python3 bench/tick_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [
        BEGIN,
        "## cairn tick, nothing due",
        "",
        f"- Date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; machine: {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}; load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(other builds and tests shared the machine)",
        f"- Versions: cairn {version}; {gitv}",
        f"- Command (from the repository root): `{cmd}`" + (f" — {args.note}" if args.note else ""),
        f"- Data: gen_vault.py --notes {args.notes} --commits {args.commits}, adopted with `cairn init`, plus "
        f"{args.workflows} workflows (a third each on a schedule never due in the window, on untouched paths, on an "
        "unemitted event) and a no-op agent. One priming tick, one warm-up, then "
        f"{args.runs} ticks one minute apart (CAIRN_NOW), interleaved with `git status` in the same vault; "
        "medians in ms; `cairn --version` is timed alongside as the process start-up floor (dynamic linking, "
        "argument parsing) that every command pays. Checked afterwards: no tick started anything, wrote a digest, "
        "moved main or refs/cairn/tick.",
        "",
        "| Row | cairn ms | Baseline | baseline ms | Ratio | Target | Result | CPU ms cairn / base |",
        "|---|---:|---|---:|---:|---|---|---:|",
        f"| `cairn tick`, nothing due, {args.workflows} workflows @ {args.notes:,} | {t:.1f} | `git status` | {g:.1f} | "
        f"{ratio:.2f}× | ≤ {TARGET_MS:.0f} ms | {result} | {B.med(tick_cpu):.1f} / {B.med(git_cpu):.1f} |",
        f"| start-up floor (info) | {B.med(start_ms):.1f} | `cairn --version` | — | — | — | info | {B.med(start_cpu):.1f} |",
        "",
        f"Samples (ms): tick min {min(tick_ms):.1f} / max {max(tick_ms):.1f}; git status min {min(git_ms):.1f} / "
        f"max {max(git_ms):.1f}.",
        END,
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.quick:
        text = open(args.results).read() if os.path.exists(args.results) else "# Cairn benchmark results\n"
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + section.rstrip("\n") + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + section
        with open(args.results, "w") as f:
            f.write(text)
    shutil.rmtree(home, ignore_errors=True)
    return 0 if result == "PASS" else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except B.BenchError as e:
        print(f"tick_bench: {e}", file=sys.stderr)
        sys.exit(2)
