#!/usr/bin/env python3
"""MCP benchmark: round trips through `cairn mcp`, measured from the official Python MCP client, side by side
with the same work done by a process per call (the CLI) and by ripgrep / git on the same vault.

    python3 bench/mcp_bench.py --cairn .build/release/cairn [--notes 100000] [--calls 200] [--proposals 30]

One working copy of a vault — gen_vault.py's (cached under bench/data/, shared with search_bench.py) or the one
--source names — adopted with `cairn init` and indexed once (--work puts it elsewhere; --reuse keeps it). Then
once with `cairn mcp` as clients start it (it watches the working tree itself while it runs, so a search checks
only what changed) and once with `cairn mcp --no-watch` (every note statted per search):
  - search_memory round trips over gen_vault's common and rare sample words (client call to parsed reply);
  - read_note round trips over random notes (whole note, with its blob id);
  - propose_edit round trips, each a new note in one proposal (snapshot check, quota, policy, one commit);
and, timed in the same run: `cairn search TERM --json` as a process per call (without and with `cairn watch`),
`rg -l -i TERM`, and
`git cat-file -p main:PATH` per read. Medians and p99 of each row; writes its section of bench/RESULTS.md
between <!-- BEGIN MCP --> and <!-- END MCP -->. Needs `pip install mcp`.
"""
import argparse, asyncio, datetime as dt, importlib.util, json, os, random, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BEGIN, END = "<!-- BEGIN MCP -->", "<!-- END MCP -->"

spec = importlib.util.spec_from_file_location("search_bench", os.path.join(HERE, "search_bench.py"))
sb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sb)

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

try:
    import mcp_types as types  # noqa: E402
except ImportError:  # SDKs before 2.0
    from mcp import types  # noqa: E402


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(samples):
    return {"median": statistics.median(samples), "p99": pct(samples, 99), "n": len(samples)}


def server_cpu():
    """CPU seconds (user + system) used so far by this process's `cairn` children (the server under test)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def mcp_rounds(cairn, work, env, terms, notes, calls, proposals, tag, extra=()):
    params = StdioServerParameters(command=cairn, args=["mcp", "--vault", work, *extra], env=env)
    out = {"search": [], "read": [], "propose": [], "hits": 0, "cpu": {}}
    async with stdio_client(params) as streams:
        # One client name per configuration: each is its own agent `mcp:<name>` with its own daily run quota.
        info = types.Implementation(name=f"bench-{tag}-{os.getpid()}", version="1")
        async with ClientSession(streams[0], streams[1], client_info=info) as s:
            await s.initialize()
            await s.call_tool("search_memory", {"query": terms[0]})  # warm: open the index, first check
            await s.call_tool("read_note", {"path": notes[0]})
            c0 = server_cpu()
            for i in range(calls):
                term = terms[i % len(terms)]
                t0 = time.perf_counter()
                r = await s.call_tool("search_memory", {"query": term})
                out["search"].append(time.perf_counter() - t0)
                assert not r.is_error, r
                out["hits"] += len(r.structured_content["results"])
            c1 = server_cpu()
            for i in range(calls):
                t0 = time.perf_counter()
                r = await s.call_tool("read_note", {"path": notes[i % len(notes)]})
                out["read"].append(time.perf_counter() - t0)
                assert not r.is_error and r.structured_content["blob"], r
            c2 = server_cpu()
            for i in range(proposals):
                t0 = time.perf_counter()
                r = await s.call_tool("propose_edit", {"summary": f"bench note {tag}{i}", "edits": [
                    {"path": f"memory/working/mcp-bench-{tag}-{os.getpid()}-{i}.md", "action": "create",
                     "content": f"# Bench note {i}\n\nWritten by the MCP benchmark.\n"}]})
                out["propose"].append(time.perf_counter() - t0)
                assert not r.is_error and r.structured_content["status"] == "pending", r
            c3 = server_cpu()
            # The server's own CPU time per call (user + system), less sensitive to a loaded machine than wall time.
            out["cpu"] = {"search": (c1 - c0) / calls, "read": (c2 - c1) / calls, "propose": (c3 - c2) / max(1, proposals)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=os.path.join(REPO, ".build/release/cairn"))
    ap.add_argument("--notes", type=int, default=100000)
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=200, help="search and read round trips per configuration")
    ap.add_argument("--proposals", type=int, default=30, help="propose_edit round trips per configuration")
    ap.add_argument("--cli-runs", type=int, default=3, help="CLI / rg / git runs per term")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--prepare-only", action="store_true", help="only make the working copy")
    ap.add_argument("--source", help="a vault to copy instead of generating one (e.g. /work/data/vault-100k-notes)")
    ap.add_argument("--work", help="where the adopted, indexed working copy goes (default bench/out/)")
    ap.add_argument("--reuse", action="store_true", help="reuse the adopted, indexed working copy of an earlier run")
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    env = sb.env_for(os.path.join(HERE, "out", "mcp-home"))
    started, load_before = time.time(), os.getloadavg()

    source = os.path.abspath(a.source) if a.source else sb.cached_vault(a.notes, a.commits, env)
    work = os.path.abspath(a.work) if a.work else os.path.join(HERE, "out", f"mcp-work-n{a.notes}")
    if not (a.reuse and os.path.exists(work + ".prepared")):
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["cp", "-a", source, work], check=True)
        subprocess.run([cairn, "init", "--name", "Bench Operator", "--email", "bench@example.com", work], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=work, env=env)
        subprocess.run([cairn, "index", "--rebuild"], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
        open(work + ".prepared", "w").close()
    if a.prepare_only:
        return

    common, rare = sb.sample_words()
    terms = common + rare
    files = subprocess.run(["git", "ls-files", "memory/knowledge", "memory/projects"], cwd=work, env=env, stdout=subprocess.PIPE,
                           text=True, check=True).stdout.split()
    notes = random.Random(3).sample(files, min(200, len(files)))
    res = {"notes": a.notes, "terms": terms}

    # Baselines, in the same run: a process per call.
    cli, rg, git = [], [], []
    for term in terms:
        sb.run([cairn, "search", term, "--json"], work, dict(env, CAIRN_NO_SERVER="1"))
        for _ in range(a.cli_runs):
            cli.append(sb.run([cairn, "search", term, "--json"], work, dict(env, CAIRN_NO_SERVER="1"))[0])
            rg.append(sb.run(["rg", "-l", "-i", term], work, env)[0])
    for path in notes[:50]:
        git.append(sb.run(["git", "cat-file", "-p", "main:" + path], work, env)[0])
    res["cli_search_no_watcher"], res["rg"], res["git_cat_file"] = summary(cli), summary(rg), summary(git)

    res["no_watcher"] = asyncio.run(mcp_rounds(cairn, work, env, terms, notes, a.calls, a.proposals, "n", ["--no-watch"]))
    res["watcher"] = asyncio.run(mcp_rounds(cairn, work, env, terms, notes, a.calls, a.proposals, "w"))
    subprocess.run([cairn, "watch", "start"], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        cli_w = []
        for term in terms:
            for _ in range(a.cli_runs):
                cli_w.append(sb.run([cairn, "search", term, "--json"], work, dict(env, CAIRN_NO_SERVER="1"))[0])
        res["cli_search_watcher"] = summary(cli_w)
    finally:
        subprocess.run([cairn, "watch", "stop"], cwd=work, env=env, stdout=subprocess.DEVNULL)
    fsck = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    res["fsck"] = "clean" if fsck.returncode == 0 else fsck.stdout[-500:]
    for k in ("no_watcher", "watcher"):
        for row in ("search", "read", "propose"):
            res[k][row] = summary(res[k][row])
    res["elapsed"] = time.time() - started
    res["load"] = (load_before, os.getloadavg())
    print(json.dumps(res, indent=2))
    if not a.no_write:
        write_results(res, a)


def ms(x):
    return f"{x * 1000:.1f} ms"


def write_results(r, a):
    w, n = r["watcher"], r["no_watcher"]
    rows = [
        ("search_memory round trip, median (the server watches)", ms(w["search"]["median"]), "`rg -l -i`", ms(r["rg"]["median"]),
         f"{r['rg']['median'] / w['search']['median']:.0f}×", "≤ 20 ms", w["search"]["median"] <= 0.020),
        ("search_memory round trip, p99 (the server watches)", ms(w["search"]["p99"]), "`rg -l -i`", ms(r["rg"]["p99"]), "—", "≤ 50 ms",
         w["search"]["p99"] <= 0.050),
        ("search_memory round trip, median, `--no-watch` (every note statted)", ms(n["search"]["median"]), "`cairn search` process per call",
         ms(r["cli_search_no_watcher"]["median"]), f"{r['cli_search_no_watcher']['median'] / n['search']['median']:.1f}×", "—", None),
        ("search_memory round trip, p99, `--no-watch`", ms(n["search"]["p99"]), "—", "—", "—", "—", None),
        ("`cairn search` process per call, `cairn watch` running", ms(r["cli_search_watcher"]["median"]), "—", "—", "—", "—", None),
        ("read_note round trip, median (the server watches)", ms(w["read"]["median"]), "`git cat-file -p main:PATH`",
         ms(r["git_cat_file"]["median"]), f"{r['git_cat_file']['median'] / w['read']['median']:.1f}×", "≤ 20 ms", w["read"]["median"] <= 0.020),
        ("read_note round trip, p99 (the server watches)", ms(w["read"]["p99"]), "—", "—", "—", "≤ 50 ms", w["read"]["p99"] <= 0.050),
        ("read_note round trip, median / p99, `--no-watch`", f"{ms(n['read']['median'])} / {ms(n['read']['p99'])}", "—", "—", "—", "≤ 20 / 50 ms",
         n["read"]["median"] <= 0.020 and n["read"]["p99"] <= 0.050),
        ("propose_edit round trip, median (the server watches)", ms(w["propose"]["median"]), "—", "—", "—", "≤ 100 ms",
         w["propose"]["median"] <= 0.100),
        ("propose_edit round trip, p99 (the server watches)", ms(w["propose"]["p99"]), "—", "—", "—", "—", None),
        ("propose_edit round trip, median / p99, `--no-watch`", f"{ms(n['propose']['median'])} / {ms(n['propose']['p99'])}", "—", "—", "—",
         "≤ 100 ms", n["propose"]["median"] <= 0.100),
    ]
    lines = [BEGIN, "## MCP server (bench/mcp_bench.py)", "",
             f"- Date: {dt.datetime.utcnow():%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs (load average {r['load'][0][0]:.1f} at the start, "
             f"{r['load'][1][0]:.1f} at the end); took {r['elapsed'] / 60:.1f} min",
             f"- Command: `python3 bench/mcp_bench.py --cairn {a.cairn} --notes {a.notes} --calls {a.calls} --proposals {a.proposals} --cli-runs {a.cli_runs}"
             + (f" --source {a.source}" if a.source else "") + "`",
             (f"- Data: {a.source}, adopted with `cairn init`, indexed once." if a.source else
              f"- Data: gen_vault.py vault, {a.notes:,} notes, {a.commits} history commits, adopted with `cairn init`, indexed once."),
             f"- Client: the official Python MCP SDK over stdio, one session per configuration; each time is one `call_tool` from "
             f"send to parsed reply. {a.calls} searches (over {len(r['terms'])} sample words), {a.calls} reads (random notes, whole), "
             f"{a.proposals} proposals (one new note each) per configuration. `git fsck --strict` afterwards: {r['fsck']}.",
             "", "| Row | cairn mcp | Baseline | baseline | Ratio (baseline / cairn) | Target | Result |", "|---|---:|---|---:|---:|---|---|"]
    for label, value, base, bval, ratio, target, ok in rows:
        lines.append(f"| {label} | {value} | {base} | {bval} | {ratio} | {target} | {'info' if ok is None else 'PASS' if ok else 'FAIL'} |")
    lines.append("")
    lines.append("Server CPU time per call (user + system, from /proc), the server watching / `--no-watch`: "
                 + "; ".join(f"{row} {ms(w['cpu'][row])} / {ms(n['cpu'][row])}" for row in ("search", "read", "propose")) + ".")
    lines.append(END)
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path).read()
    section = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    open(path, "w").write(text)


if __name__ == "__main__":
    main()
