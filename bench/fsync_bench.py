#!/usr/bin/env python3
"""What fsync costs: `cairn snapshot` with and without CAIRN_NO_FSYNC=1, on the same data, in one run.

    git archive HEAD | (mkdir -p /tmp/cairn-trust && tar -x -C /tmp/cairn-trust)
    (cd /tmp/cairn-trust && swift build -c release)
    python3 bench/fsync_bench.py --cairn /tmp/cairn-trust/.build/release/cairn [--notes 5000] [--runs 7]

Rows: a snapshot of 10 edited notes, of 200 new notes, and of the initial commit of --notes notes.
Each row runs with fsync (the default: libgit2 fsyncs objects, refs and the index before renaming them
into place) and with CAIRN_NO_FSYNC=1, alternating, on two identical vault copies; medians of --runs.
Python 3 standard library only. Writes its section of bench/RELIABILITY.md between the FSYNC markers.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN, END = "<!-- BEGIN FSYNC -->", "<!-- END FSYNC -->"


def env_for(home, fsync):
    cfg = os.path.join(home, "gitconfig")
    with open(cfg, "w") as f:
        f.write("[user]\n\tname = Bench Operator\n\temail = bench@example.com\n[cairn]\n\tautoWatch = false\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "GIT_CONFIG_GLOBAL": cfg, "GIT_CONFIG_NOSYSTEM": "1",
           "CAIRN_NOW": "2026-06-01T00:00:00Z", "LC_ALL": "C.UTF-8", "TZ": "UTC", "NO_COLOR": "1"}
    if not fsync:
        env["CAIRN_NO_FSYNC"] = "1"
    return env


def run(cmd, cwd, env):
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("%s failed in %s: %s" % (" ".join(cmd), cwd, r.stderr))


def note(i, rev):
    return "---\ntitle: Note %d\ntags: [bench]\n---\n# Note %d\n\nrevision %d\n%s\n" % (i, i, rev, "lorem ipsum dolor sit amet " * 20)


def timed(cmd, cwd, env):
    t = time.perf_counter()
    run(cmd, cwd, env)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--notes", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--results", default=os.path.join(HERE, "RELIABILITY.md"))
    args = ap.parse_args()
    cairn = os.path.abspath(args.cairn)
    tmp = tempfile.mkdtemp(prefix="fsync-bench-")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    envs = {True: env_for(home, True), False: env_for(home, False)}
    results = {}
    try:
        vaults = {}
        initial = {True: [], False: []}
        for rnd in range(args.runs):
            for fsync in ((True, False) if rnd % 2 == 0 else (False, True)):
                v = os.path.join(tmp, "init-%s-%d" % (fsync, rnd))
                run([cairn, "init", v], tmp, envs[fsync])
                for i in range(args.notes):
                    d = os.path.join(v, "memory", "knowledge", "n%03d" % (i // 100))
                    os.makedirs(d, exist_ok=True)
                    with open(os.path.join(d, "note-%d.md" % i), "w") as f:
                        f.write(note(i, 0))
                initial[fsync].append(timed([cairn, "snapshot"], v, envs[fsync]))
                if rnd == 0:
                    vaults[fsync] = v
                else:
                    shutil.rmtree(v)
        results["initial commit of %d notes" % args.notes] = initial
        edits = {True: [], False: []}
        adds = {True: [], False: []}
        for rnd in range(args.runs):
            for fsync in ((True, False) if rnd % 2 == 0 else (False, True)):
                v = vaults[fsync]
                for k in range(10):
                    i = (rnd * 10 + k) % args.notes
                    with open(os.path.join(v, "memory", "knowledge", "n%03d" % (i // 100), "note-%d.md" % i), "w") as f:
                        f.write(note(i, rnd + 1))
                edits[fsync].append(timed([cairn, "snapshot"], v, envs[fsync]))
                d = os.path.join(v, "inbox", "r%d" % rnd)
                os.makedirs(d)
                for k in range(200):
                    with open(os.path.join(d, "new-%d.md" % k), "w") as f:
                        f.write(note(k, rnd))
                adds[fsync].append(timed([cairn, "snapshot"], v, envs[fsync]))
        results["10 edited notes"] = edits
        results["200 new notes"] = adds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = ["| snapshot of | with fsync (median) | CAIRN_NO_FSYNC=1 (median) | fsync cost |", "|---|---|---|---|"]
    for row, r in results.items():
        a, b = statistics.median(r[True]), statistics.median(r[False])
        lines.append("| %s | %.1f ms | %.1f ms | +%.1f ms (%.2f×) |" % (row, a * 1000, b * 1000, (a - b) * 1000, a / b if b else 0))
    table = "\n".join(lines)
    print(table)
    section = "%s\n%s\n\n`python3 bench/fsync_bench.py --cairn %s --notes %d --runs %d` (%d runs per cell, medians; disk: %s)\n%s" % (
        BEGIN, table, args.cairn, args.notes, args.runs, args.runs, filesystem(tmp), END)
    text = open(args.results, encoding="utf-8").read() if os.path.exists(args.results) else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text += "\n" + section + "\n"
    with open(args.results, "w", encoding="utf-8") as f:
        f.write(text)


def filesystem(path):
    r = subprocess.run(["df", "-T", os.path.dirname(path)], capture_output=True, text=True)
    lines = r.stdout.strip().split("\n")
    return lines[-1].split()[1] if len(lines) > 1 else "?"


if __name__ == "__main__":
    main()
