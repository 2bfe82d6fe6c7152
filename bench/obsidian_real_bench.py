#!/usr/bin/env python3
"""A real, public Obsidian vault kept in git the way the obsidian-git plugin keeps it, adopted with `cairn init`:
`cairn doctor` (this build and, side by side, a baseline build), then `cairn mv` of a much-linked note and of a
folder, with doctor's link counts before and after each move, `git fsck --strict` and `cairn audit`.

    python3 bench/obsidian_real_bench.py --vault EXPORTED_VAULT --cairn .build/release/cairn [--baseline OLD_CAIRN]
        [--note "en/Linking notes and files/Internal links.md" --to "en/Linking notes and files/Links between notes.md"]
        [--folder "en/Linking notes and files" --folder-to "en/Links"] [--runs 3]

EXPORTED_VAULT is a plain folder (for example `obsidianmd/obsidian-help` exported from its git history); it is copied,
never changed, and nothing of it is committed here. Prints a Markdown section for bench/RESULTS.md.
Python 3 standard library only.
"""
import argparse, datetime as dt, json, os, resource, shutil, statistics, subprocess, time

HERE = os.path.dirname(os.path.abspath(__file__))


def env_for(home):
    os.makedirs(home, exist_ok=True)
    cfg = os.path.join(home, "gitconfig")
    with open(cfg, "w") as f:
        f.write("[user]\n\tname = Bench Operator\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n[cairn]\n\tautoWatch = false\n")
    return {"HOME": home, "GIT_CONFIG_GLOBAL": cfg, "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "NO_COLOR": "1", "CAIRN_NOW": "2026-06-01T00:00:00Z", "LC_ALL": "C.UTF-8", "TZ": "UTC",
            "GIT_AUTHOR_DATE": "2026-06-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-06-01T00:00:00Z"}


def run(cmd, cwd, env, ok=(0,)):
    """Wall and CPU (user + system) seconds of one run, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in ok:
        raise SystemExit(f"{cmd} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p.stdout


def doctor(cairn, cwd, env, runs):
    walls, cpus, out = [], [], b""
    for _ in range(runs):
        w, c, out = run([cairn, "doctor", "--json"], cwd, env, ok=(0, 1))
        walls.append(w)
        cpus.append(c)
    report = json.loads(out)
    return statistics.median(walls), statistics.median(cpus), report["links"], report["notesChecked"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vault", required=True)
    ap.add_argument("--cairn", default=".build/release/cairn")
    ap.add_argument("--baseline")
    ap.add_argument("--note", default="en/Linking notes and files/Internal links.md")
    ap.add_argument("--to", default="en/Linking notes and files/Links between notes.md")
    ap.add_argument("--folder", default="en/Linking notes and files")
    ap.add_argument("--folder-to", default="en/Links")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    cairn = os.path.abspath(a.cairn)
    env = env_for(os.path.join(HERE, "out", "real-home"))
    work = os.path.join(HERE, "out", "real-vault")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(a.vault, work, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    subprocess.run(["git", "init", "-q", work], check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "vault backup: 2026-05-31 10:00:00"], cwd=work, check=True, env=env)
    run([cairn, "init", work], work, env)
    rows = []
    w, c, links, notes = doctor(cairn, work, env, a.runs)
    rows.append(("`cairn doctor`", w, c, links))
    if a.baseline:
        bw, bc, blinks, _ = doctor(os.path.abspath(a.baseline), work, env, a.runs)
        rows.append(("baseline `cairn doctor`", bw, bc, blinks))
    w, c, out = run([cairn, "mv", "--json", a.note, a.to], work, env)
    moved = json.loads(out)
    note_links = len(moved["links"])
    note_notes = len({l["path"] for l in moved["links"]})
    _, _, links_after, _ = doctor(cairn, work, env, 1)
    rows.append((f"`cairn mv` a note: {note_links} links in {note_notes} notes", w, c, links_after))
    w, c, out = run([cairn, "mv", "--json", a.folder, a.folder_to], work, env)
    moved = json.loads(out)
    folder_links = len(moved["links"])
    _, _, links_folder, _ = doctor(cairn, work, env, 1)
    rows.append((f"`cairn mv` a folder: {len(moved['moved'])} files, {folder_links} links in "
                 f"{len({l['path'] for l in moved['links']})} notes", w, c, links_folder))
    fsck = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=work, env=env, capture_output=True).returncode
    audit = subprocess.run([cairn, "audit"], cwd=work, env=env, capture_output=True).returncode
    lines = [f"- Command: `python3 bench/obsidian_real_bench.py --vault VAULT --cairn {a.cairn}"
             + (f" --baseline {a.baseline}" if a.baseline else "") + f" --runs {a.runs}`"
             f" ({dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, load average {os.getloadavg()[0]:.1f}).",
             f"- {notes} notes checked. After both moves: `git fsck --strict` exit {fsck}, `cairn audit` exit {audit}.", "",
             "| step | wall / CPU | links read | unresolved | to a missing heading or block | by a shared name |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, w, c, l in rows:
        lines.append(f"| {name} | {w:.2f} / {c:.2f} s | {l['links']} | {l['unresolved']} | {l['brokenAnchors']} | {l['ambiguous']} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
