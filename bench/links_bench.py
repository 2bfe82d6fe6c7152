#!/usr/bin/env python3
"""Link graph benchmark: `cairn links --unresolved` and `cairn doctor` on an Obsidian-like vault, side by side
with ripgrep reading every link and `git fsck --connectivity-only`, in one run.

    python3 bench/links_bench.py --cairn .build/release/cairn [--sizes 1000,10000] [--runs 5]

Data: gen_vault.py vaults (--commits 10) with, per 2 notes, one attachment (`Attachments/NN/img-I.png`, 200 bytes;
5,000 at 10k notes) and, appended to every note, Obsidian links of each kind: an embed of an attachment by name
(`![[img-I.png]]`), a path-suffix link to another note (`[[folder/name]]`), a heading link (`[[name#Heading]]`),
a block link (`[[name#^b1]]`), a percent-encoded Markdown link and a link to a note not written yet. Committed
with git, then adopted with `cairn init`.

Reports medians (wall seconds) and, per size, the cost per note, which stays flat when resolution per link does
not grow with the vault (an index by name and by path suffix, not a scan). Target: link graph and doctor over
10k notes with 5k attachments in at most 2 s. Writes its section of bench/RESULTS.md between
<!-- BEGIN LINKS --> and <!-- END LINKS -->. Python 3 standard library only.
"""
import argparse, datetime as dt, json, os, resource, shutil, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = "/work/shared/corpus/gen_vault.py"
BEGIN, END = "<!-- BEGIN LINKS -->", "<!-- END LINKS -->"


def env_for(home):
    os.makedirs(home, exist_ok=True)
    cfg = os.path.join(home, "gitconfig")
    with open(cfg, "w") as f:
        f.write("[user]\n\tname = Bench Operator\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n[cairn]\n\tautoWatch = false\n")
    shutil.copy(cfg, os.path.join(home, ".gitconfig"))
    return {"HOME": home, "GIT_CONFIG_GLOBAL": cfg, "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "NO_COLOR": "1", "CAIRN_NOW": "2026-06-01T00:00:00Z", "LC_ALL": "C.UTF-8", "TZ": "UTC",
            "GIT_AUTHOR_DATE": "2026-06-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-06-01T00:00:00Z"}


def timed(cmd, cwd, env, runs):
    """Median wall and CPU (user + system) seconds of `runs` runs after one warm-up; returns (wall, cpu, stdout)."""
    out = b""
    times, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:
            times.append(wall)
            cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if p.returncode not in (0, 1):
            raise SystemExit(f"{cmd} failed ({p.returncode})")
        out = p.stdout
    return statistics.median(times), statistics.median(cpus), out


def make_vault(path, notes, env):
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, GEN, path, "--notes", str(notes), "--commits", "10"], check=True, env=env, stdout=subprocess.DEVNULL)
    md = sorted(os.path.relpath(os.path.join(dp, f), path) for dp, dn, fs in os.walk(path) if ".git" not in dp.split(os.sep)
                for f in fs if f.endswith(".md"))
    attachments = notes // 2
    for i in range(attachments):
        folder = os.path.join(path, "Attachments", f"{i % 50:02d}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"img-{i}.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + bytes(192))
    for n, rel in enumerate(md):
        other = md[(n * 7 + 3) % len(md)]
        stem = os.path.splitext(other)[0]
        suffix = "/".join(stem.split("/")[-2:])
        name = stem.split("/")[-1]
        with open(os.path.join(path, rel), "a") as f:
            f.write(f"\n## Heading {n}\n\nText. ^b1\n\n![[img-{n % attachments}.png]] [[{suffix}]] [[{name}#Heading {(n * 7 + 3) % len(md)}]]"
                    f" [[{name}#^b1]] [enc](/{other.replace(' ', '%20')}) [[Not written {n % 97}]]\n")
    subprocess.run(["git", "add", "-A"], cwd=path, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", "Obsidian links and attachments"], cwd=path, env=env, check=True)
    return md, attachments


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=".build/release/cairn")
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--baseline", help="another cairn binary whose doctor runs on the same vaults, in the same run")
    ap.add_argument("--marker", default="LINKS", help="the RESULTS.md section to write (<!-- BEGIN MARKER -->)")
    ap.add_argument("--title", default="Links (issue 15: Obsidian link resolution)")
    a = ap.parse_args()
    global BEGIN, END
    BEGIN, END = f"<!-- BEGIN {a.marker} -->", f"<!-- END {a.marker} -->"
    cairn = os.path.abspath(a.cairn)
    env = env_for(os.path.join(HERE, "out", "links-home"))
    rows = []
    for size in [int(s) for s in a.sizes.split(",")]:
        work = os.path.join(HERE, "out", f"links-n{size}")
        md, attachments = make_vault(work, size, env)
        notes = len(md)
        subprocess.run([cairn, "init", "--name", "Bench Operator", "--email", "bench@example.com", work], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=work, env=env)
        graph, graph_cpu, out = timed([cairn, "links", "--unresolved", "--json"], work, env, a.runs)
        report = json.loads(out)
        doctor, doctor_cpu, _ = timed([cairn, "doctor"], work, env, a.runs)
        # One note's outgoing links and backlinks: the same read of every note and the same resolver as doctor.
        note, note_cpu, _ = timed([cairn, "links", md[len(md) // 2], "--json"], work, env, a.runs)
        base, base_cpu = (timed([os.path.abspath(a.baseline), "doctor"], work, env, a.runs)[:2] if a.baseline else (None, None))
        rg, rg_cpu, _ = timed(["rg", "-c", r"\[\[|\]\(", "--glob", "*.md", "."], work, env, a.runs)
        fsck, fsck_cpu, _ = timed(["git", "fsck", "--connectivity-only", "--no-progress"], work, env, a.runs)
        rows.append({"notes": notes, "attachments": attachments, "files": report["files"], "links": report["links"],
                     "unresolved": len(report["unresolved"]), "anchors": len(report["brokenAnchors"]), "graph": graph,
                     "graph_cpu": graph_cpu, "note": note, "note_cpu": note_cpu, "doctor": doctor, "doctor_cpu": doctor_cpu, "rg": rg, "rg_cpu": rg_cpu,
                     "fsck": fsck, "fsck_cpu": fsck_cpu, "base": base, "base_cpu": base_cpu})
        print(json.dumps(rows[-1]))
    command = f"python3 bench/links_bench.py --cairn {a.cairn} --sizes {a.sizes} --runs {a.runs}"
    if a.baseline:
        command += f" --baseline {a.baseline} --marker '{a.marker}' --title '{a.title}'"
    lines = [BEGIN, f"## {a.title}", "",
             f"- Command: `{command}`"
             f" ({dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, load average {os.getloadavg()[0]:.1f} on a shared 2-core machine).",
             "- Data: gen_vault.py --commits 10, plus one 200-byte attachment per 2 notes and six Obsidian links per note "
             "(embed by name, path suffix, heading, block, %20 Markdown link, a note not written yet); adopted with `cairn init`.",
             "- Medians after one warm-up, as wall / CPU (user + system) seconds: on a machine shared by several builds "
             "the wall time is mostly waiting for a core, the CPU time is what the work costs. Baselines: `rg -c` reading "
             "every link of every note, `git fsck --connectivity-only` (doctor also walks every reachable object).", "",
             "| notes | attachments | links | unresolved | `cairn links --unresolved` | CPU per note | `cairn links NOTE` | `cairn doctor` | "
             + ("baseline doctor | " if a.baseline else "") + "rg | git fsck |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if a.baseline else "") + "---:|---:|"]
    for r in rows:
        base = f"{r['base']:.2f} / {r['base_cpu']:.2f} s | " if a.baseline else ""
        lines.append(f"| {r['notes']} | {r['attachments']} | {r['links']} | {r['unresolved']} | {r['graph']:.2f} / {r['graph_cpu']:.2f} s | "
                     f"{r['graph_cpu'] / r['notes'] * 1e6:.0f} µs | {r['note']:.2f} / {r['note_cpu']:.2f} s | {r['doctor']:.2f} / {r['doctor_cpu']:.2f} s | {base}"
                     f"{r['rg']:.2f} / {r['rg_cpu']:.2f} s | {r['fsck']:.2f} / {r['fsck_cpu']:.2f} s |")
    lines += ["", END]
    if a.no_write:
        print("\n".join(lines))
        return
    results = os.path.join(HERE, "RESULTS.md")
    text = open(results).read()
    section = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    open(results, "w").write(text)
    print(section)


if __name__ == "__main__":
    main()
