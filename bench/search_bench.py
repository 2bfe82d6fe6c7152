#!/usr/bin/env python3
"""Search benchmark: cairn's FTS5 index side by side with ripgrep and git grep on the same vault.

    python3 bench/search_bench.py --cairn /tmp/cairn-search/.build/release/cairn [--notes 100000] [--runs 15]

Measures, in one run on one working copy of a gen_vault.py vault (cached under bench/data/,
the same cache bench/bench.py uses):
  - full index build (`cairn index --rebuild`), wall time and peak RSS;
  - incremental update after a commit changing 10 notes (`cairn index` after `cairn snapshot`),
    with the share spent on the working-tree check (the index's stat cache) reported by cairn itself;
  - query latency over common and rare words (gen_vault's sample words): `cairn search TERM`
    end to end (process start, index check asking the running watcher, query), the query time in process
    (`cairn search TERM --bench-runs N`: N runs on one open, up-to-date index), vs `rg -l -i TERM`
    and `git grep -l -i TERM`;
  - peak RSS of `cairn search` (getrusage of the child), and of the watcher after the searches (VmHWM).
Writes its section of bench/RESULTS.md between <!-- BEGIN SEARCH --> and <!-- END SEARCH -->.
Python 3 standard library only.
"""
import argparse, datetime as dt, importlib.util, json, os, random, resource, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GEN = "/work/shared/corpus/gen_vault.py"
BEGIN, END = "<!-- BEGIN SEARCH -->", "<!-- END SEARCH -->"


def env_for(home):
    os.makedirs(home, exist_ok=True)
    cfg = os.path.join(home, "gitconfig")
    with open(cfg, "w") as f:
        f.write("[user]\n\tname = Bench Operator\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n[cairn]\n\tautoWatch = false\n")
    e = {"HOME": home, "GIT_CONFIG_GLOBAL": cfg, "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "NO_COLOR": "1", "CAIRN_NOW": "2026-06-01T00:00:00Z", "LC_ALL": "C.UTF-8"}
    return e


def run(cmd, cwd, env, check=True):
    """Runs cmd; returns (wall seconds, child CPU seconds, peak RSS of the child in KiB, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if check and p.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed ({p.returncode}): {p.stderr.decode()[:500]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stdout


def peak_rss_kib(cmd, cwd, env):
    """Peak RSS of one process, from wait4's rusage (ru_maxrss of children is a running maximum)."""
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1); os.dup2(fd, 2)
        os.execvpe(cmd[0], cmd, env)
    _, status, usage = os.wait4(pid, 0)
    return usage.ru_maxrss


def sample_words(seed=1):
    spec = importlib.util.spec_from_file_location("gen_vault", GEN)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    words = gen.vocabulary(random.Random(seed))
    return words[:5], [words[i] for i in (500, 2000, 8000, 15000)]


def cached_vault(notes, commits, env):
    data = os.path.join(HERE, "data")
    os.makedirs(data, exist_ok=True)
    for name in (f"vault-n{notes}-c{commits}-gcd1bf640", f"search-n{notes}-c{commits}"):
        path = os.path.join(data, name)
        if os.path.exists(path + ".complete"):
            return path
    path = os.path.join(data, f"search-n{notes}-c{commits}")
    shutil.rmtree(path, ignore_errors=True)
    t0 = time.time()
    subprocess.run([sys.executable, GEN, path, "--notes", str(notes), "--commits", str(commits)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    with open(path + ".complete", "w") as f:
        f.write(f"{notes} notes, {commits} commits, generated in {time.time() - t0:.1f}s\n")
    return path


def ms(x):
    return f"{x * 1000:.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default="/tmp/cairn-search/.build/release/cairn")
    ap.add_argument("--notes", type=int, default=100000)
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=15, help="timed runs per query term")
    ap.add_argument("--bench-runs", type=int, default=50, help="in-process query runs per term")
    ap.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    home = os.path.join(HERE, "out", "search-home")
    env = env_for(home)
    started = time.time()
    load_before = os.getloadavg()

    source = cached_vault(a.notes, a.commits, env)
    work = os.path.join(HERE, "out", f"search-work-n{a.notes}")
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run(["cp", "-a", source, work], check=True)
    subprocess.run([cairn, "init", "--name", "Bench Operator", "--email", "bench@example.com", work], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    # A copy changes every file's inode and ctime, so the index's stat cache no longer matches
    # and every status would rehash all files; refresh it once, as any `git status` would.
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=work, env=env)
    results = {"notes": a.notes, "vault_bytes": int(subprocess.run(["du", "-sb", "--exclude=.git", work], stdout=subprocess.PIPE,
                                                                     text=True).stdout.split()[0])}

    # Full build (twice: the first warms the page cache of the packfile; report the second).
    builds = []
    for _ in range(2):
        wall, cpu, out = run([cairn, "index", "--rebuild", "--stats", "--json"], work, env)
        stats = json.loads(out)
        builds.append((wall, cpu, stats))
    wall, cpu, stats = builds[-1]
    build_rss = peak_rss_kib([cairn, "index", "--rebuild"], work, env)
    results["build"] = {"wall": wall, "cpu": cpu, "documents": stats["documents"], "db_bytes": stats["bytes"],
                        "worktree_seconds": stats["update"]["worktreeSeconds"], "rss_kib": build_rss}

    # Incremental: commit 10 changed notes, then update (median of 5 rounds), first without a watcher
    # (every note statted), then with `cairn watch` running (only the reported paths looked at).
    notes = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(work, "memory", "knowledge")) for f in fs if f.endswith(".md"))
    rng = random.Random(7)

    def incremental_rounds(label, check):
        inc = []
        for round_ in range(5):
            for path in rng.sample(notes, 10):
                with open(path, "a") as f:
                    f.write(f"\nEdited in round {label}{round_}: benchword{round_}.\n")
            subprocess.run([cairn, "snapshot", "-m", f"bench round {label}{round_}"], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
            time.sleep(1.1)  # leave git's racy-timestamp window, so the 10 files are not rehashed on every later status
            w, c, out = run([cairn, "index", "--json"], work, env)
            u = json.loads(out)["update"]
            assert u["kind"] == "incremental" and u["committedChanges"] == 10, u
            assert u.get("worktreeCheck") == check, u
            inc.append({"wall": w, "update": u["seconds"], "worktree": u["worktreeSeconds"], "commit": u["seconds"] - u["worktreeSeconds"],
                        "statted": u.get("filesStatted", 0)})
        return {k: statistics.median(r[k] for r in inc) for k in ("wall", "update", "worktree", "commit", "statted")}

    results["incremental_full"] = incremental_rounds("f", "full")
    t0 = time.perf_counter()
    subprocess.run([cairn, "watch", "start"], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
    results["watch_start"] = time.perf_counter() - t0
    try:
        run([cairn, "index", "--json"], work, env)  # the first check with a watcher is full: it takes the first token
        results["incremental"] = incremental_rounds("w", "watcher")
        measure_queries(a, cairn, work, env, results)
    finally:
        subprocess.run([cairn, "watch", "stop"], cwd=work, env=env, stdout=subprocess.DEVNULL)
    # End to end without a watcher, for comparison.
    no_watch = []
    for term in sample_words()[0][:2] + sample_words()[1][:2]:
        run([cairn, "search", term, "--json"], work, env)
        for _ in range(max(3, a.runs // 3)):
            no_watch.append(run([cairn, "search", term, "--json"], work, env)[0])
    results["no_watcher_end_to_end"] = statistics.median(no_watch)
    results["elapsed"] = time.time() - started
    results["load"] = (load_before, os.getloadavg())
    print(json.dumps(results, indent=2))
    if not a.no_write:
        write_results(results, a, cairn)


def measure_queries(a, cairn, work, env, results):
    common, rare = sample_words()
    # Queries: cairn end to end (and its own query time) vs rg and git grep.
    terms = common + rare
    rows = {"cairn": [], "cairn_query": [], "cairn_update": [], "in_process": [], "in_process_cpu": [], "rg": [], "git grep": [],
            "version": [], "core": []}
    per_term = []
    core_env = env
    searches = 0
    for term in terms:
        run([cairn, "search", term, "--json"], work, env)  # warm
        run(["rg", "-l", "-i", term], work, env)
        t_c, t_q, t_u, t_r, t_g, t_k = [], [], [], [], [], []
        for _ in range(a.runs):
            w, _, out = run([cairn, "search", term, "--json"], work, env)
            r = json.loads(out)
            t_c.append(w); t_q.append(r["querySeconds"]); t_u.append(r["update"]["seconds"])
            t_k.append(w)
            # The start-up floor of a cairn process, timed alongside.
            rows["version"].append(run([cairn, "--version"], work, env)[0])
        searches += 1 + a.runs
        for _ in range(max(3, a.runs // 3)):
            t_r.append(run(["rg", "-l", "-i", term], work, env)[0])
            t_g.append(run(["git", "grep", "-l", "-i", term], work, env)[0])
        timing = json.loads(run([cairn, "search", term, "--bench-runs", str(a.bench_runs)], work, core_env)[2])
        t_p, t_pc = timing["seconds"][1:], timing["cpuSeconds"][1:]  # the first run warms
        rows["core"] += t_k
        rows["cairn"] += t_c; rows["cairn_query"] += t_q; rows["cairn_update"] += t_u; rows["rg"] += t_r; rows["git grep"] += t_g
        rows["in_process"] += t_p
        rows["in_process_cpu"] += t_pc
        hits = len(json.loads(run([cairn, "search", term, "--json", "--limit", "1000000"], work, core_env)[2])["hits"])
        per_term.append({"term": term, "kind": "common" if term in common else "rare", "hits": hits,
                         "cairn": statistics.median(t_c), "core": statistics.median(t_k), "query": statistics.median(t_q), "in_process": statistics.median(t_p),
                         "in_process_max": max(t_p), "in_process_cpu": statistics.median(t_pc),
                         "rg": statistics.median(t_r), "git grep": statistics.median(t_g)})

    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    results["queries"] = {k: {"median": statistics.median(v), "p99": pct(v, 99)} for k, v in rows.items()}
    results["per_term"] = per_term
    status = watcher_status(cairn, work, env)
    results["search_rss_kib"] = max(peak_rss_kib([cairn, "search", t], work, core_env) for t in terms[:3] + rare[:1])
    with open(f"/proc/{status['pid']}/status") as f:
        results["watcher_rss_kib"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))


def watcher_status(cairn, work, env):
    out = subprocess.run([cairn, "watch", "status", "--json"], cwd=work, env=env, stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out)["watcher"]


def write_results(r, a, cairn):
    q = r["queries"]
    b, i, nf = r["build"], r["incremental"], r["incremental_full"]
    rg_ratio = q["rg"]["median"] / q["cairn"]["median"]
    rg_ratio_q = q["rg"]["median"] / q["cairn_query"]["median"]
    rg_ratio_p = q["rg"]["median"] / q["in_process"]["median"]
    gg_ratio_p = q["git grep"]["median"] / q["in_process"]["median"]

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    (l1, _, _), (l2, _, _) = r["load"]
    lines = [BEGIN, "## Search", "",
             f"- Date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; {os.cpu_count()} CPUs (load average {l1:.1f} at the start, {l2:.1f} at the end:"
             " other builds shared the machine); took {:.1f} min".format(r['elapsed'] / 60),
             f"- Command: `python3 bench/search_bench.py --cairn {cairn} --notes {a.notes} --runs {a.runs} --bench-runs {a.bench_runs}`"
             " (release build of the committed tree, `make release`)",
             f"- Data: gen_vault.py vault, {r['notes']:,} notes, {r['vault_bytes'] / 1e6:.0f} MB of notes, {a.commits} history commits, adopted with `cairn init`;"
             f" index {b['db_bytes'] / 1e6:.0f} MB for {b['documents']:,} documents.",
             "- Query terms: gen_vault's 5 common and 4 rare sample words; each timed "
             f"{a.runs}× end to end, {a.bench_runs}× in process, {max(3, a.runs // 3)}× for rg / git grep, warm page cache.",
             "- The working copy's git index is refreshed once after copying (`git update-index --refresh`), as an operator's own vault is.",
             "- Incremental updates are measured twice: without a watcher, then with `cairn watch` running; every query row runs with the watcher.",
             "- `cairn search` end to end = process start + index check (tree diff + the paths the running watcher saw change) + query;"
             " in process = `cairn search TERM --bench-runs N`: the same ranking, details and snippets repeated on one open,"
             " up-to-date index (the first run, which compiles statements, is dropped); query only = the SQL time one"
             " `cairn search` reports in `--json` (`querySeconds`, first query of a fresh process).",
             "",
             "| Row | cairn | Baseline | baseline | Ratio (baseline / cairn) | Target | Result |",
             "|---|---:|---|---:|---:|---|---|",
             f"| full index build @ {r['notes']:,} | {b['wall']:.1f} s | — | — | — | ≤ 60 s | {verdict(b['wall'] <= 60)} |",
             f"| incremental update, commit of 10 notes (in process, with the working-tree check through `cairn watch`) | {ms(i['update'])} ms (of which working-tree check {ms(i['worktree'])} ms, {i['statted']:.0f} files statted) | — | — | — | ≤ 50 ms | {verdict(i['update'] <= 0.05)} |",
             f"| incremental update as above, without a watcher (every note statted) | {ms(nf['update'])} ms (of which working-tree check {ms(nf['worktree'])} ms, {nf['statted']:,.0f} files statted) | — | — | — | — | info |",
             f"| incremental update, commit side only (tree diff + 10 notes re-indexed) | {ms(i['commit'])} ms | — | — | — | ≤ 50 ms | {verdict(i['commit'] <= 0.05)} |",
             f"| incremental update, `cairn index` process | {ms(i['wall'])} ms | — | — | — | — | info |",
             f"| query median, in process | {ms(q['in_process']['median'])} ms | `rg -l -i` | {ms(q['rg']['median'])} ms | {rg_ratio_p:.0f}× | ≤ 5 ms, ≥ 100× | {verdict(q['in_process']['median'] <= 0.005 and rg_ratio_p >= 100)} |",
             f"| query median, in process | {ms(q['in_process']['median'])} ms | `git grep -l -i` | {ms(q['git grep']['median'])} ms | {gg_ratio_p:.0f}× | — | info |",
             f"| query p99, in process | {ms(q['in_process']['p99'])} ms | — | — | — | ≤ 50 ms | {verdict(q['in_process']['p99'] <= 0.05)} |",
             f"| query median / p99, in process, CPU time of the querying thread | {ms(q['in_process_cpu']['median'])} / {ms(q['in_process_cpu']['p99'])} ms | `rg -l -i` | {ms(q['rg']['median'])} ms | {q['rg']['median'] / q['in_process_cpu']['median']:.0f}× | — | info |",
             f"| query median, query only (fresh process) | {ms(q['cairn_query']['median'])} ms | `rg -l -i` | {ms(q['rg']['median'])} ms | {rg_ratio_q:.0f}× | ≤ 5 ms, ≥ 100× | {verdict(q['cairn_query']['median'] <= 0.005 and rg_ratio_q >= 100)} |",
             f"| query p99, query only (fresh process) | {ms(q['cairn_query']['p99'])} ms | — | — | — | ≤ 50 ms | {verdict(q['cairn_query']['p99'] <= 0.05)} |",
             f"| query median, `cairn search` end to end | {ms(q['cairn']['median'])} ms | `rg -l -i` | {ms(q['rg']['median'])} ms | {rg_ratio:.1f}× | ≤ 5 ms, ≥ 100× | {verdict(q['cairn']['median'] <= 0.005 and rg_ratio >= 100)} |",
             f"| query p99, `cairn search` end to end | {ms(q['cairn']['p99'])} ms | `rg -l -i` | {ms(q['rg']['p99'])} ms | {q['rg']['p99'] / q['cairn']['p99']:.1f}× | ≤ 50 ms | {verdict(q['cairn']['p99'] <= 0.05)} |",
             f"| process start-up floor, `cairn --version` (timed alongside) | {ms(q['version']['median'])} ms | `rg -l -i` / 100 | {ms(q['rg']['median'] / 100)} ms | — | — | info |",
             f"| index check before each search (median) | {ms(q['cairn_update']['median'])} ms | — | — | — | — | info |",
             f"| query median, `cairn search` end to end, no watcher running | {ms(r['no_watcher_end_to_end'])} ms | `rg -l -i` | {ms(q['rg']['median'])} ms | {q['rg']['median'] / r['no_watcher_end_to_end']:.1f}× | — | info |",
             f"| `cairn watch start` (watch {r['notes']:,} notes' folders) | {ms(r['watch_start'])} ms | — | — | — | — | info |",
             f"| peak RSS, `cairn search` | {r['search_rss_kib'] / 1024:.0f} MB | — | — | — | ≤ 100 MB | {verdict(r['search_rss_kib'] / 1024 <= 100)} |",
             f"| peak RSS of the watcher after every search above (VmHWM) | {r['watcher_rss_kib'] / 1024:.0f} MB | — | — | — | ≤ 100 MB | {verdict(r['watcher_rss_kib'] / 1024 <= 100)} |",
             f"| peak RSS, `cairn index --rebuild` | {b['rss_kib'] / 1024:.0f} MB | — | — | — | — | info |",
             "", "Per term (medians, ms; in-process max in parentheses):", "",
             "| term | kind | notes matching | cairn end to end | own process | query only | in process | in process, CPU | rg -l -i | git grep -l -i |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for t in r["per_term"]:
        lines.append(f"| {t['term']} | {t['kind']} | {t['hits']:,} | {ms(t['cairn'])} | {ms(t['core'])} | {ms(t['query'])} | {ms(t['in_process'])} ({ms(t['in_process_max'])}) | {ms(t['in_process_cpu'])} | {ms(t['rg'])} | {ms(t['git grep'])} |")
    lines += ["", "<!-- notes -->", END]
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Cairn benchmark results\n"
    notes = ""
    if BEGIN in text and END in text:
        old = text[text.index(BEGIN):text.index(END) + len(END)]
        if "<!-- notes -->" in old:
            notes = old[old.index("<!-- notes -->") + len("<!-- notes -->"):old.index(END)]
        block = "\n".join(lines).replace("<!-- notes -->", "<!-- notes -->" + notes.rstrip("\n") + ("\n" if notes.strip() else ""))
        text = text.replace(old, block)
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
