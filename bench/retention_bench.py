#!/usr/bin/env python3
"""Retention benchmark: remove a path glob from the whole history, cairn vs git-filter-repo, side by side.

  python3 bench/retention_bench.py --cairn .build/release/cairn [--source DIR] [--runs 3]

Takes a generated vault (gen_vault.py; default the shared 5,000-note, 100,001-commit one), adopts it once with
`cairn init` into a base copy (kept next to the source, made under a temporary name then renamed), and for
each run copies the base twice and, on the two copies:
  - git filter-repo --force --path-glob 'memory/working/*' --invert-paths   (rewrite + reflog expire + gc)
  - cairn forget 'memory/working/**' --include-current --reason bench        (rewrite + reflog expire + repack)
Both remove every version of every working note from all history and delete the objects. Wall time and peak
resident memory come from /usr/bin/time; medians are reported. `cairn prune --dry-run` (a policy keeping 30
days of working-note history) is timed on the same vault. The last run's results are checked with git:
no commit mentions memory/working, the two main trees are identical, and `git fsck --strict` passes.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

DEFAULT_SOURCE = "/work/data/vault-5k-notes-100k-commits"


def run(cmd, cwd, env, check=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
    return r


def timed(cmd, cwd, env):
    """(wall seconds, peak RSS in MB, result) of cmd, from GNU time; result.cpu is its CPU time in seconds (user +
    system, children included: on a loaded machine it says more than the wall time)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as f:
        r = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", "-o", f.name] + cmd, cwd=cwd, env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}\n{r.stderr}")
        wall, rss, user, system = f.read().split()[-4:]
        r.cpu = float(user) + float(system)
        return float(wall), int(rss) / 1024.0, r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--source", default=DEFAULT_SOURCE)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default=None, help="where the adopted base and the copies go (default: next to the source)")
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    work = a.work or os.path.dirname(os.path.abspath(a.source))
    home = tempfile.mkdtemp(prefix="retention-bench-home-")
    with open(os.path.join(home, "gitconfig"), "w") as f:
        f.write("[user]\n\tname = Bench Operator\n\temail = bench@example.com\n[cairn]\n\tautoWatch = false\n")
    env = dict(os.environ, HOME=home, GIT_CONFIG_GLOBAL=os.path.join(home, "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               CAIRN_NOW="2026-03-01T09:00:00Z", NO_COLOR="1", LANG="C.UTF-8", TZ="UTC")

    # The adopted copy goes next to the source, or into --work when given (the source's folder may be read-only).
    base = (os.path.join(os.path.abspath(a.work), os.path.basename(os.path.abspath(a.source)) + "-cairn-base") if a.work
            else os.path.abspath(a.source) + "-cairn-base")
    if not os.path.isdir(base):
        tmp = base + ".tmp-" + str(os.getpid())
        shutil.copytree(a.source, tmp, symlinks=True)
        run([cairn, "init", "."], tmp, env)
        policy = json.load(open(os.path.join(tmp, "policy.json")))
        policy.setdefault("retention", {})["keep_working_history_days"] = 30
        json.dump(policy, open(os.path.join(tmp, "policy.json"), "w"), indent=2)
        run([cairn, "snapshot", "-m", "Keep 30 days of working-note history"], tmp, env)
        os.rename(tmp, base)
    commits = run(["git", "rev-list", "--count", "--all"], base, env).stdout.strip()
    size = run(["git", "count-objects", "-vH"], base, env).stdout
    pack = [l for l in size.splitlines() if l.startswith("size-pack")][0]

    rows = {"filter-repo": [], "cairn forget": [], "cairn prune --dry-run": []}
    cpu = {k: [] for k in rows}
    loads = [os.getloadavg()[0]]
    last = None
    for i in range(a.runs):
        fr = os.path.join(work, f".tmp-bench-fr-{os.getpid()}-{i}")
        cf = os.path.join(work, f".tmp-bench-cairn-{os.getpid()}-{i}")
        for d in (fr, cf):
            shutil.copytree(base, d, symlinks=True)
        run(["sync"], work, env)
        # Alternate which tool goes first, so neither always gets the warmer page cache.
        order = ["fr", "cairn"] if i % 2 else ["cairn", "fr"]
        for tool in order:
            if tool == "fr":
                w, m, r = timed(["git", "filter-repo", "--force", "--path-glob", "memory/working/*", "--invert-paths"], fr, env)
                rows["filter-repo"].append((w, m))
                cpu["filter-repo"].append(r.cpu)
            else:
                w, m, r = timed([cairn, "prune", "--dry-run"], cf, env)
                rows["cairn prune --dry-run"].append((w, m))
                cpu["cairn prune --dry-run"].append(r.cpu)
                w, m, r = timed([cairn, "forget", "memory/working/**", "--include-current", "--reason", "benchmark"], cf, env)
                rows["cairn forget"].append((w, m))
                cpu["cairn forget"].append(r.cpu)
            loads.append(os.getloadavg()[0])
        print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s wall, {cpu[k][-1]:.1f} s CPU / {v[-1][1]:.0f} MB" for k, v in rows.items())
              + f" (load {loads[-1]:.1f})", flush=True)
        if last:
            for d in last:
                shutil.rmtree(d, ignore_errors=True)
        last = (fr, cf)

    fr, cf = last
    checks = {
        "filter-repo: no commit touches memory/working": run(["git", "log", "--all", "--format=%H", "--", "memory/working"], fr, env).stdout.strip() == "",
        "cairn: no commit touches memory/working": run(["git", "log", "--all", "--format=%H", "--", "memory/working"], cf, env).stdout.strip() == "",
        "same main tree": run(["git", "rev-parse", "main^{tree}"], fr, env).stdout == run(["git", "rev-parse", "main^{tree}"], cf, env).stdout,
        "cairn: git fsck --strict": run(["git", "fsck", "--strict"], cf, env, check=False).returncode == 0,
        "filter-repo: git fsck --strict": run(["git", "fsck", "--strict"], fr, env, check=False).returncode == 0,
    }
    objs = {name: len(run(["git", "cat-file", "--batch-all-objects", "--batch-check"], d, env).stdout.splitlines())
            for name, d in (("filter-repo", fr), ("cairn", cf))}
    packs = {name: [l for l in run(["git", "count-objects", "-vH"], d, env).stdout.splitlines() if l.startswith("size-pack")][0]
             for name, d in (("filter-repo", fr), ("cairn", cf))}
    for d in last:
        shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)

    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v), max(x[1] for x in v)) for k, v in rows.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = med["filter-repo"][0] / med["cairn forget"][0]
    cpu_ratio = mcpu["filter-repo"] / mcpu["cairn forget"]
    print()
    print(f"Data: {a.source} adopted by `cairn init` ({commits} commits on all refs, {pack}); {a.runs} runs, medians.")
    print(f"Command: python3 bench/retention_bench.py --cairn {a.cairn} --runs {a.runs}")
    print()
    print(f"Load average (1 min) at the start and after each run: {', '.join(f'{x:.1f}' for x in loads)}; 2 CPUs.")
    print()
    print("| Row | wall s (median) | CPU s user+sys (median) | peak RSS MB (median / max) | Target | Result |")
    print("|---|---:|---:|---:|---|---|")
    print(f"| git filter-repo --path-glob 'memory/working/*' --invert-paths | {med['filter-repo'][0]:.1f} | {mcpu['filter-repo']:.1f} | {med['filter-repo'][1]:.0f} / {med['filter-repo'][2]:.0f} | baseline | — |")
    ok = cpu_ratio >= 2 and med["cairn forget"][2] <= 500
    print(f"| cairn forget 'memory/working/**' --include-current | {med['cairn forget'][0]:.1f} | {mcpu['cairn forget']:.1f} | {med['cairn forget'][1]:.0f} / {med['cairn forget'][2]:.0f} | ≥ 2× faster, ≤ 500 MB | {'PASS' if ok else 'FAIL'} ({ratio:.2f}× wall, {cpu_ratio:.2f}× CPU) |")
    dr = med["cairn prune --dry-run"]
    print(f"| cairn prune --dry-run (keep 30 days of working history) | {dr[0]:.1f} | {mcpu['cairn prune --dry-run']:.1f} | {dr[1]:.0f} / {dr[2]:.0f} | ≤ 10 s | {'PASS' if dr[0] <= 10 else 'FAIL'} (wall) |")
    print()
    print(f"Objects left: filter-repo {objs['filter-repo']}, cairn {objs['cairn']}; {packs['filter-repo']} (filter-repo) vs {packs['cairn']} (cairn).")
    for k, v in checks.items():
        print(f"- {k}: {'yes' if v else 'NO'}")


if __name__ == "__main__":
    main()
