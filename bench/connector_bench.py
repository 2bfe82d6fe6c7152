#!/usr/bin/env python3
"""Connector pulls over loopback IMAP, side by side with a plain imapclient script, in one run.

Usage: bench/connector_bench.py --cairn .build/release/cairn [--messages 1000] [--runs 5] [--work-root DIR]
       bench/connector_bench.py --cairn before=/tmp/cairn-base --cairn after=.build/release/cairn ...

With several `--cairn NAME=BIN`, each run pulls once with every binary (each into its own fresh vault), in turn
with the imapclient script, so all sides see the same machine load; one table row per binary.

--work-root DIR puts the work folder (the vaults, the servers' Maildir) in DIR instead of the system's temporary
folder, e.g. `--work-root /dev/shm` to measure on tmpfs, away from a disk's file-creation costs.

Starts the test servers (Tests/Support/mail_servers.py: Dovecot on 127.0.0.1), delivers N messages into the
Maildir, then for each run:
  - cairn: a fresh vault with an IMAP connector; `cairn connector pull mail` (fetch, parse, notes, one commit);
  - imapclient: log in, EXAMINE INBOX, UID SEARCH, one UID FETCH BODY.PEEK[] of all the UIDs (a plain script),
    writing nothing.
Also times `cairn connector pull mail` with nothing new (the common case under cron). Prints medians, ratios, cairn's
CPU time of both sides (user+sys of the cairn child process, and of this process around the imapclient
script) and the load average, since wall time on a shared machine is noisy.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from imapclient import IMAPClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "pw-Zq81-test"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn", required=True, action="append", help="BIN or NAME=BIN; repeat to interleave binaries")
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work-root", help="directory to hold the work folder (default: the system's temporary folder)")
    args = ap.parse_args()
    binaries = [(c.split("=", 1) if "=" in c else ["cairn", c]) for c in args.cairn]
    binaries = [(name, os.path.abspath(path)) for name, path in binaries]
    work = tempfile.mkdtemp(prefix="cairn-connector-bench-", dir=args.work_root)
    servers = subprocess.Popen([sys.executable, os.path.join(ROOT, "Tests/Support/mail_servers.py"), work + "/servers"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ports = json.loads(servers.stdout.readline())
        msgs = []
        for i in range(args.messages):
            body = ("Line %d of a realistic business mail about quotes, dates and invoices.\r\n" % i) * 30
            msgs.append(f"From: Client {i} <c{i}@acme.test>\r\nTo: ada@example.com\r\nSubject: Request number {i}\r\n"
                        f"Date: Mon, 02 Mar 2026 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <m{i}@acme.test>\r\n"
                        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}")
        files = []
        for i, m in enumerate(msgs):
            f = os.path.join(work, f"m{i}.eml")
            with open(f, "w") as fh:
                fh.write(m)
            files.append(f)
        subprocess.run([sys.executable, os.path.join(ROOT, "Tests/Support/deliver_mail.py"), work + "/servers/home/op/Maildir", "INBOX"] + files, check=True)
        env = dict(os.environ, HOME=work, GIT_CONFIG_GLOBAL=work + "/gitconfig", GIT_CONFIG_NOSYSTEM="1",
                   TEST_MAIL_PASSWORD=PASSWORD, CAIRN_NOW="2026-03-03T09:00:00Z")
        with open(work + "/gitconfig", "w") as fh:
            fh.write("[user]\n\tname = Bench\n\temail = bench@example.com\n")

        def imapclient_fetch():
            c = IMAPClient("127.0.0.1", port=ports["imap"], ssl=False)
            c.login("op", PASSWORD)
            c.select_folder("INBOX", readonly=True)
            uids = c.search(["UID", "1:*"])
            total = sum(len(m[b"BODY[]"]) for m in c.fetch(uids, ["BODY.PEEK[]"]).values())
            c.logout()
            return len(uids)

        py_times, py_cpu = [], []
        sides = {name: {"wall": [], "cpu": [], "idle": [], "idle_cpu": []} for name, _ in binaries}

        def child_cpu():
            r = resource.getrusage(resource.RUSAGE_CHILDREN)
            return r.ru_utime + r.ru_stime

        def own_cpu():
            r = resource.getrusage(resource.RUSAGE_SELF)
            return r.ru_utime + r.ru_stime

        def make_vault(cairn, vault):
            subprocess.run([cairn, "init", vault], env=env, check=True, capture_output=True)
            os.makedirs(vault + "/connectors", exist_ok=True)
            with open(vault + "/connectors/mail.md", "w") as fh:
                fh.write(f"---\nkind: imap\nurl: imap://127.0.0.1:{ports['imap']}\nusername: op\npassword_env: TEST_MAIL_PASSWORD\n---\n")
            subprocess.run([cairn, "snapshot"], cwd=vault, env=env, check=True, capture_output=True)

        for run in range(args.runs):
            for name, cairn in binaries:
                side = sides[name]
                vault = os.path.join(work, f"v{run}-{name}")
                make_vault(cairn, vault)
                t, cpu = time.perf_counter(), child_cpu()
                r = subprocess.run([cairn, "connector", "pull", "mail", "--json"], cwd=vault, env=env, capture_output=True, text=True)
                side["wall"].append(time.perf_counter() - t)
                side["cpu"].append(child_cpu() - cpu)
                if r.returncode != 0 or len(json.loads(r.stdout)["imported"]) != args.messages:
                    sys.exit(f"{name}: cairn pull failed: {r.stderr[:500]}")
                st = subprocess.run(["git", "status", "--porcelain"], cwd=vault, env=env, capture_output=True, text=True)
                if st.stdout.strip():
                    sys.exit(f"{name}: git status is not clean after the pull: {st.stdout[:500]}")
                for _ in range(3):
                    t, cpu = time.perf_counter(), child_cpu()
                    r = subprocess.run([cairn, "connector", "pull", "mail"], cwd=vault, env=env, capture_output=True, text=True)
                    side["idle"].append(time.perf_counter() - t)
                    side["idle_cpu"].append(child_cpu() - cpu)
                    assert "Nothing new" in r.stdout, r.stdout + r.stderr
                t, cpu = time.perf_counter(), own_cpu()
                n = imapclient_fetch()
                py_times.append(time.perf_counter() - t)
                py_cpu.append(own_cpu() - cpu)
                assert n == args.messages
            # The vaults are removed at the end, not here: on ext4 without a journal (this machine's disks) a new
            # inode skips those freed in the last 60-360 s, so deleting a thousand notes right before the next
            # pull made that pull's file creation several times slower (~0.6 ms of kernel time per file).
        p, pc = statistics.median(py_times), statistics.median(py_cpu)
        fs = subprocess.run(["stat", "-f", "-c", "%T", work], capture_output=True, text=True).stdout.strip()
        print(f"work folder {work} ({fs}); load average {os.getloadavg()[0]:.1f}; medians of {args.runs} runs")
        print("| case | cairn wall | cairn CPU (user+sys) | imapclient wall | imapclient CPU (user+sys) | ratio (wall) | ratio (CPU) | target |")
        print("|---|---|---|---|---|---|---|---|")
        for name, _ in binaries:
            side = sides[name]
            c, cc = statistics.median(side["wall"]), statistics.median(side["cpu"])
            label = "" if len(binaries) == 1 else f"{name}: "
            print(f"| {label}pull {args.messages} new messages (fetch, notes, one commit) | {c * 1000:.0f} ms | {cc * 1000:.0f} ms | "
                  f"{p * 1000:.0f} ms (fetch only) | {pc * 1000:.0f} ms | {c / p:.2f}x | {cc / pc:.2f}x | <= 2x |")
            print(f"| {label}pull with nothing new (login, STATUS, LOGOUT, no commit) | {statistics.median(side['idle']) * 1000:.1f} ms "
                  f"| {statistics.median(side['idle_cpu']) * 1000:.1f} ms | - | - | - | - | <= 100 ms |")
        for name, _ in binaries:
            side = sides[name]
            print(f"{name} (ms): wall " + ", ".join(f"{x * 1000:.0f}" for x in side["wall"])
                  + "; CPU " + ", ".join(f"{x * 1000:.0f}" for x in side["cpu"])
                  + "; nothing-new wall " + ", ".join(f"{x * 1000:.0f}" for x in side["idle"]))
        print("imapclient (ms): wall " + ", ".join(f"{x * 1000:.0f}" for x in py_times)
              + "; CPU " + ", ".join(f"{x * 1000:.0f}" for x in py_cpu))
    finally:
        servers.stdin.close()
        servers.terminate()
        servers.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
