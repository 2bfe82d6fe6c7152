#!/usr/bin/env python3
"""Full index rebuild, first digest and search without a watcher, for one or more cairn binaries (issue 14).

    python3 bench/index_bench.py --vault LABEL=PATH --cairn LABEL=BIN [--vault ... --cairn ...] [--runs 5]
        [--rows rebuild,search,digest]

Each `--cairn LABEL=BIN` runs on the `--vault` of the same LABEL: a working copy adopted with `cairn init`
(binaries with different index versions must not share a vault, or every search would rebuild). Rows:
  rebuild  `cairn index --rebuild` (wall, CPU = user + system of the process, peak RSS)
  search   `cairn search WORD` with no watcher running vs `rg -l -i WORD` in the same vault, over
           gen_vault's rare sample words (CPU and wall); ratio = rg / cairn
  digest   `cairn agent run digest --input n=I`: a fresh run on the same base each time, so each is a first digest
Commands alternate between binaries (and rg) in rotating order; medians over --runs. Prints a Markdown table.
Python 3 standard library only.
"""
import argparse, importlib.util, json, os, random, statistics, subprocess, time

GEN = "/work/shared/corpus/gen_vault.py"


def timed(argv, cwd, env):
    """Runs argv; returns (wall s, CPU s of it and its children, peak RSS MiB, stdout)."""
    pid_r, pid_w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        os.dup2(pid_w, 1)
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 2)
        os.execvpe(argv[0], argv, env)
    os.close(pid_w)
    chunks = []
    while True:
        b = os.read(pid_r, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(pid_r)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{argv} in {cwd} exited {code}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, b"".join(chunks)


def rare_words():
    spec = importlib.util.spec_from_file_location("gen_vault", GEN)
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    words = gen.vocabulary(random.Random(1))
    return [words[i] for i in (500, 2000, 8000, 15000)]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", action="append", required=True, help="LABEL=BIN")
    ap.add_argument("--vault", action="append", required=True, help="LABEL=PATH")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rows", default="rebuild,search,digest")
    a = ap.parse_args()
    bins = dict(x.split("=", 1) for x in a.cairn)
    vaults = dict(x.split("=", 1) for x in a.vault)
    labels = list(bins)
    home = "/tmp/cairn-index-bench-home"
    os.makedirs(home, exist_ok=True)
    cfg = os.path.join(home, "gitconfig")
    with open(cfg, "w") as f:
        f.write("[user]\n\tname = Bench Operator\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n[cairn]\n\tautoWatch = false\n")
    env = {"HOME": home, "GIT_CONFIG_GLOBAL": cfg, "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "NO_COLOR": "1", "LC_ALL": "C.UTF-8"}
    rows = a.rows.split(",")
    load0 = os.getloadavg()[0]
    out = []
    if "rebuild" in rows:
        got = {l: [] for l in labels}
        for r in range(a.runs):
            for l in labels[r % len(labels):] + labels[:r % len(labels)]:
                got[l].append(timed([bins[l], "index", "--rebuild"], vaults[l], env)[:3])
        for l in labels:
            w, c, m = zip(*got[l])
            out.append(f"| `cairn index --rebuild` ({l}) | {med(w):.1f} s | {med(c):.1f} s | {max(m):.0f} MB | "
                       f"{', '.join(f'{x:.1f}' for x in c)} |")
    if "search" in rows:
        words = rare_words()
        got = {l: ([], []) for l in labels + ["rg"]}
        for l in labels:
            timed([bins[l], "search", words[0]], vaults[l], env)  # brings the index up to date
        for r in range(a.runs):
            for w in words:
                for l in labels:
                    for name, argv in ((l, [bins[l], "search", w]), ("rg", ["rg", "-l", "-i", w])):
                        wall, cpu, _, _ = timed(argv, vaults[l], env)
                        got[name][0].append(wall)
                        got[name][1].append(cpu)
        rg_w, rg_c = med(got["rg"][0]), med(got["rg"][1])
        out.append(f"| `rg -l -i WORD` | {rg_w * 1000:.0f} ms | {rg_c * 1000:.0f} ms | — | |")
        for l in labels:
            w, c = med(got[l][0]), med(got[l][1])
            out.append(f"| `cairn search WORD`, no watcher ({l}) | {w * 1000:.0f} ms | {c * 1000:.0f} ms | — | "
                       f"rg/cairn: {rg_w / w:.2f}× wall, {rg_c / c:.2f}× CPU |")
    if "digest" in rows:
        got = {l: [] for l in labels}
        n = int(time.time())
        for r in range(a.runs):
            for l in labels[r % len(labels):] + labels[:r % len(labels)]:
                wall, cpu, rss, o = timed([bins[l], "agent", "run", "digest", "--json", "--input", f"n={n}-{r}"], vaults[l], env)
                got[l].append((wall, cpu, rss))
        for l in labels:
            w, c, m = zip(*got[l])
            out.append(f"| first `cairn agent run digest` ({l}) | {med(w):.2f} s | {med(c):.2f} s | {max(m):.0f} MB | "
                       f"{', '.join(f'{x:.2f}' for x in c)} |")
    print(f"load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end; {a.runs} runs, medians")
    print("| Command | wall | CPU (user+sys) | peak RSS | notes |\n|---|---:|---:|---:|---|")
    print("\n".join(out))


if __name__ == "__main__":
    main()
