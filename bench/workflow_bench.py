#!/usr/bin/env python3
"""Workflow orchestration benchmark: what a workflow adds per step over running the same agents by hand.

    python3 bench/workflow_bench.py --cairn bench/out/cairn-new [--steps 5] [--runs 9]
    python3 bench/workflow_bench.py --cairn .build/debug/cairn --quick     # 3 runs, RESULTS.md untouched

Each sample starts from a fresh copy of one prepared vault (`cairn init` from the template, plus the agent
`step`: `sh agents/step.sh`, which appends one line to `inbox/bench/bench.md`, and workflows `bench` with
STEPS steps of that agent, `gate: auto`, and `bench1` with one). Timed, in each copy:

  agents by hand    STEPS × `cairn agent run step --input n=I` (the baseline: the same agent runs, one process each)
  workflow          `cairn workflow run bench` (STEPS steps, one process)
  workflow, 1 step  `cairn workflow run bench1` (info: the fixed cost of a run — catalog, start and done checkpoints)
  resume, waiting   `cairn resume RUN` of a run waiting at a gate (info: an advance that finds nothing to do)

Orchestration overhead per step = (workflow − agents by hand) / STEPS, paired per sample; target ≤ 50 ms
(median). It excludes the agent's own work, which both sides do identically. Every workflow sample is checked
with git: STEPS commits carry `Cairn-Workflow: RUN/STEP`, one per step.

Writes the section between `<!-- BEGIN WORKFLOWS -->` and `<!-- END WORKFLOWS -->` of bench/RESULTS.md.
Python 3 standard library only.
"""
import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402

BEGIN = "<!-- BEGIN WORKFLOWS -->"
END = "<!-- END WORKFLOWS -->"
TARGET_MS = 50.0

AGENT = """---
kind: command
command: ["sh", "agents/step.sh"]
reads: ["inbox/bench/**"]
writes: ["inbox/bench/**"]
timeout: 60s
---
Benchmark agent (bench/workflow_bench.py): appends one line to inbox/bench/bench.md.
"""
SCRIPT = """#!/bin/sh
set -e
printf 'bench run %s %s\\n' "$CAIRN_RUN_ID" "$CAIRN_INPUT_N" >> inbox/bench/bench.md
echo "summary: bench step $CAIRN_INPUT_N"
"""


def workflow(steps, gate="auto"):
    body = "steps:\n" + "".join(f"  - id: s{i}\n    agent: step\n    with: {{n: \"{{{{run.id}}}}-s{i}\"}}\n    gate: {gate}\n"
                                for i in range(1, steps + 1))
    return f"---\n{body}---\nBenchmark workflow (bench/workflow_bench.py).\n"


def prepare(work, cairn, env, steps):
    vault = os.path.join(work, "vault")
    B.run([cairn, "init", vault], env=env)
    files = {
        "agents/step.md": AGENT, "agents/step.sh": SCRIPT, "inbox/bench/bench.md": "# Bench\n",
        "workflows/bench.md": workflow(steps), "workflows/bench1.md": workflow(1), "workflows/gated.md": workflow(1, "approve"),
    }
    for path, text in files.items():
        full = os.path.join(vault, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    B.run([cairn, "snapshot", "-m", "Benchmark agent and workflows"], cwd=vault, env=env)
    return vault


def fresh_copy(vault, work, i):
    copy = os.path.join(work, f"copy-{i}")
    shutil.copytree(vault, copy, symlinks=True)
    return copy


def json_out(argv, cwd, env):
    return json.loads(B.run(argv, cwd=cwd, env=env).stdout)


def verify(copy, env, run_id, steps):
    trailers = [l for l in B.run(["git", "log", "--all", "--format=%(trailers:key=Cairn-Workflow,valueonly)"],
                                 cwd=copy, env=env).stdout.splitlines() if l.strip()]
    expected = sorted(f"{run_id}/s{i}" for i in range(1, steps + 1))
    if sorted(trailers) != expected:
        raise B.BenchError(f"workflow run {run_id}: expected one commit per step {expected}, found {sorted(trailers)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True, help="the cairn binary to measure (a release build)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--quick", action="store_true", help="3 runs; print, leave RESULTS.md alone")
    ap.add_argument("--note", default="", help="a note on the binary, for RESULTS.md")
    ap.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    args = ap.parse_args()
    if args.quick:
        args.runs = 3
    cairn = os.path.abspath(args.cairn)
    started = time.time()
    load0 = os.getloadavg()[0]
    work = tempfile.mkdtemp(prefix="cairn-wfbench-")
    try:
        home = os.path.join(work, "home")
        os.makedirs(home)
        env = B.hermetic_env(home)
        vault = prepare(work, cairn, env, args.steps)
        samples = {"agents": [], "workflow": [], "workflow1": [], "resume": []}
        cpu = {k: [] for k in samples}
        for i in range(args.runs + 1):  # the first is a warm-up
            copy = fresh_copy(vault, work, i)
            wall_a = cpu_a = 0.0
            for s in range(1, args.steps + 1):
                w, c = B.timed([cairn, "agent", "run", "step", "--input", f"n=by-hand-{i}-{s}"], copy, env)
                wall_a += w
                cpu_a += c
            copy2 = fresh_copy(vault, work, f"{i}-wf")
            wall_w, cpu_w = B.timed([cairn, "workflow", "run", "bench"], copy2, env)
            run_id = json_out([cairn, "runs", "--json"], copy2, env)[0]["id"]
            verify(copy2, env, run_id, args.steps)
            copy3 = fresh_copy(vault, work, f"{i}-wf1")
            wall_1, cpu_1 = B.timed([cairn, "workflow", "run", "bench1"], copy3, env)
            gated = json_out([cairn, "workflow", "run", "gated", "--json"], copy3, env)["id"]
            wall_r, cpu_r = B.timed([cairn, "resume", gated], copy3, env)
            for d in (copy, copy2, copy3):
                shutil.rmtree(d, ignore_errors=True)
            if i == 0:
                continue
            for k, w, c in (("agents", wall_a, cpu_a), ("workflow", wall_w, cpu_w), ("workflow1", wall_1, cpu_1),
                            ("resume", wall_r, cpu_r)):
                samples[k].append(w)
                cpu[k].append(c)
            B.log(f"run {i}: agents by hand {wall_a:.1f} ms, workflow {wall_w:.1f} ms, "
                  f"overhead/step {(wall_w - wall_a) / args.steps:.1f} ms")
        per_step = [(w - a) / args.steps for w, a in zip(samples["workflow"], samples["agents"])]
        med = B.med
        overhead = med(per_step)
        rows = [
            ("orchestration overhead per step (workflow − agents by hand) / steps",
             f"{med(samples['workflow']):.1f}", f"{args.steps} × `cairn agent run step`", f"{med(samples['agents']):.1f}",
             f"{overhead:+.1f} ms/step", f"≤ {TARGET_MS:.0f} ms", "PASS" if overhead <= TARGET_MS else "FAIL",
             f"{med(cpu['workflow']):.1f} / {med(cpu['agents']):.1f}"),
            ("same, per step: one `cairn agent run` vs one workflow step (info)",
             f"{med(samples['workflow']) / args.steps:.1f}", "`cairn agent run step`", f"{med(samples['agents']) / args.steps:.1f}",
             "", "—", "info", ""),
            ("workflow of 1 step: fixed cost of a run (info)", f"{med(samples['workflow1']):.1f}", "`cairn agent run step`",
             f"{med(samples['agents']) / args.steps:.1f}", f"{med(samples['workflow1']) - med(samples['agents']) / args.steps:+.1f} ms",
             "—", "info", f"{med(cpu['workflow1']):.1f} / {med(cpu['agents']) / args.steps:.1f}"),
            ("`cairn resume` of a run waiting at a gate (info)", f"{med(samples['resume']):.1f}", "", "", "", "—", "info",
             f"{med(cpu['resume']):.1f}"),
        ]
        took = (time.time() - started) / 60
        version = B.run([cairn, "--version"], env=env).stdout.strip()
        git_version = B.run(["git", "--version"], env=env).stdout.strip()
        cmd = "python3 bench/workflow_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        lines = [
            "## Workflows (bench/workflow_bench.py)",
            "",
            f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC (took {took:.1f} min)",
            f"- Machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, {platform.system()} {platform.release()};"
            f" load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end",
            f"- Versions: cairn {version}; {git_version}",
            f"- Command (from the repository root): `{cmd}`",
            f"- Binary: {cairn}" + (f"; {args.note}" if args.note else ""),
            f"- Data: the template vault (`cairn init`) plus agent `step` (reads/writes `inbox/bench/**`, `sh agents/step.sh` appends a"
            f" line to `inbox/bench/bench.md`) and workflows of {args.steps} and 1 `gate: auto` steps of it; every sample in fresh"
            f" copies. {args.runs} timed samples after one warm-up; medians in ms (wall). Each workflow sample is checked with"
            f" `git log --all`: one commit with `Cairn-Workflow: RUN/STEP` per step.",
            "- Overhead per step = (workflow − the same agents run by hand, one process each) / steps, paired per sample. Negative"
            " means the workflow is cheaper than separate processes (one process start and vault open instead of several).",
            "",
            "| Row | cairn ms | Baseline | baseline ms | Result | Target | Pass | CPU ms cairn / baseline |",
            "|---|---:|---|---:|---:|---|---|---:|",
        ] + ["| " + " | ".join(r) + " |" for r in rows] + [
            "",
            "Samples (ms): " + "; ".join(f"{k}: " + ", ".join(f"{x:.0f}" for x in v) for k, v in samples.items()),
        ]
        section = "\n".join(lines)
        print(section)
        if not args.quick:
            old = open(args.results).read() if os.path.exists(args.results) else "# Cairn benchmark results\n"
            block = f"{BEGIN}\n{section}\n{END}"
            if BEGIN in old and END in old:
                pre, rest = old.split(BEGIN, 1)
                new = pre + block + rest.split(END, 1)[1]
            else:
                new = old.rstrip() + "\n\n" + block + "\n"
            with open(args.results, "w") as f:
                f.write(new)
            B.log(f"wrote {args.results}")
        return 0 if overhead <= TARGET_MS else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
