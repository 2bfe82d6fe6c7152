#!/usr/bin/env python3
"""Real mail, calendar and webhook servers on 127.0.0.1 for cairn's connector tests.

Usage: mail_servers.py DIR

Starts, each on a free port:
  - Dovecot (IMAP, plain on loopback) with one passwd-file user `op` (password `pw-Zq81-test`) whose Maildir is
    DIR/home/op/Maildir, run with a throwaway config (`dovecot -F -c DIR/dovecot.conf`);
  - an SMTP server (aiosmtpd) that delivers every message into that Maildir's INBOX and a copy into its
    `Sent` folder (as hosted mail services file what their users submit), and appends each Message-ID to
    DIR/smtp.log;
  - an HTTP webhook receiver that appends {"key", "body", "duplicate"} for every POST to DIR/webhooks.jsonl
    and treats a repeated Idempotency-Key as the same delivery (answers 200, records duplicate: true);
  - Radicale (CalDAV) with no authentication, storing under DIR/radicale.

TLS: a throwaway CA (DIR/tls/ca.pem) signs a certificate for 127.0.0.1 and localhost. Dovecot offers STARTTLS on
its IMAP port and implicit TLS on an IMAPS port; a second SMTP server speaks implicit TLS (SMTPS) and the first
offers STARTTLS. Plain connections on the plain ports keep working.

Prints one JSON line {"imap", "imaps", "smtp", "smtps", "http", "caldav": port, "ca": path} when all answer,
then runs until stdin closes or SIGTERM arrives, and stops them all.
"""
import json
import mailbox
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

DIR = os.path.abspath(sys.argv[1])
os.makedirs(DIR, exist_ok=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=90):  # generous: the whole test suite runs in parallel on two cores
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not start")


imap_port, smtp_port, http_port, caldav_port = free_port(), free_port(), free_port(), free_port()
imaps_port, smtps_port = free_port(), free_port()

# A throwaway CA and a server certificate it signs, for 127.0.0.1 and localhost.
tls = os.path.join(DIR, "tls")
os.makedirs(tls, exist_ok=True)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=cairn test CA", "-keyout", f"{tls}/ca.key", "-out", f"{tls}/ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", f"{tls}/server.key", "-out", f"{tls}/server.csr")
with open(f"{tls}/ext.cnf", "w") as f:
    f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
openssl("x509", "-req", "-in", f"{tls}/server.csr", "-CA", f"{tls}/ca.pem", "-CAkey", f"{tls}/ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{tls}/ext.cnf", "-out", f"{tls}/server.pem")
for name in os.listdir(tls):
    os.chmod(os.path.join(tls, name), 0o644)  # Dovecot reads them as its own user
maildir = os.path.join(DIR, "home", "op", "Maildir")
for sub in ("cur", "new", "tmp", ".Sent/cur", ".Sent/new", ".Sent/tmp"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)
with open(os.path.join(maildir, "subscriptions"), "w") as f:
    f.write("Sent\n")
user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
group = subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip()
login_user, internal_user, internal_group = user, user, group
if os.getuid() == 0:
    # Dovecot refuses to run its login and internal processes as root: use the accounts its package creates.
    import pwd
    def exists(name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False
    login_user = "dovenull" if exists("dovenull") else "nobody"
    internal_user = "dovecot" if exists("dovecot") else "nobody"
    internal_group = subprocess.run(["id", "-gn", internal_user], capture_output=True, text=True).stdout.strip()
mail_uid, mail_gid = os.getuid(), os.getgid()


def own_mail(path):
    """Dovecot never serves mail as root: under root, the mailbox belongs to `nobody`."""
    if os.getuid() == 0:
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(root, name), mail_uid, mail_gid)
        os.chown(path, mail_uid, mail_gid)


if os.getuid() == 0:
    import pwd
    mail_uid, mail_gid = pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid
    d = DIR
    while d != "/":
        os.chmod(d, os.stat(d).st_mode | 0o011)  # nobody must reach the mailbox
        d = os.path.dirname(d)
    own_mail(os.path.join(DIR, "home"))
with open(os.path.join(DIR, "passwd"), "w") as f:
    f.write("op:{PLAIN}pw-Zq81-test::::::\n")
os.makedirs(os.path.join(DIR, "run"), exist_ok=True)
os.makedirs(os.path.join(DIR, "state"), exist_ok=True)
config = f"""
base_dir = {DIR}/run
state_dir = {DIR}/state
log_path = {DIR}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{tls}/server.pem
ssl_key = <{tls}/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {DIR}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={DIR}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    user = {internal_user}
  }}
  unix_listener stats-writer {{
    user = {internal_user}
  }}
}}
"""
with open(os.path.join(DIR, "dovecot.conf"), "w") as f:
    f.write(config)
dovecot = subprocess.Popen(["dovecot", "-F", "-c", os.path.join(DIR, "dovecot.conf")],
                           stdout=open(os.path.join(DIR, "dovecot.out"), "w"), stderr=subprocess.STDOUT)

LOCK = threading.Lock()


RCPT_TRIES = {}


class Deliver:
    def __init__(self, implicit_tls=False):
        self.implicit_tls = implicit_tls  # an SMTPS server: every session is encrypted from the first byte

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that is busy for a moment: `busyN@...` is refused with 451 (try again later) N times, then taken.
        local = address.split("@")[0]
        if local.startswith("busy") and local[4:].isdigit():
            with LOCK:
                RCPT_TRIES[address] = RCPT_TRIES.get(address, 0) + 1
                tries = RCPT_TRIES[address]
                with open(os.path.join(DIR, "smtp_rcpt.log"), "a") as log:
                    log.write(json.dumps({"rcpt": address, "try": tries, "at": time.time()}) + "\n")
            if tries <= int(local[4:]):
                return "451 4.2.1 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        msg = message_from_bytes(raw)
        with LOCK:
            mailbox.Maildir(maildir, create=False).add(raw)
            mailbox.Maildir(os.path.join(maildir, ".Sent"), create=False).add(raw)
            own_mail(maildir)
            with open(os.path.join(DIR, "smtp.log"), "a") as log:
                log.write(json.dumps({"message_id": msg.get("Message-ID"), "from": envelope.mail_from,
                                      "to": envelope.rcpt_tos, "tls": self.implicit_tls or session.ssl is not None}) + "\n")
        return "250 Message accepted for delivery"


server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
server_tls.load_cert_chain(f"{tls}/server.pem", f"{tls}/server.key")
smtp = Controller(Deliver(), hostname="127.0.0.1", port=smtp_port, tls_context=server_tls, ready_timeout=60)
smtp.start()
smtps = Controller(Deliver(implicit_tls=True), hostname="127.0.0.1", port=smtps_port, ssl_context=server_tls, ready_timeout=60)
smtps.start()

SEEN = set()
FLAKY = {}


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        key = self.headers.get("Idempotency-Key")
        # POST /flaky/N: a receiver that is down for a moment: 503 to the first N requests of each key, then 200.
        parts = self.path.strip("/").split("/")
        fail_first = int(parts[1]) if len(parts) == 2 and parts[0] == "flaky" and parts[1].isdigit() else 0
        with LOCK:
            FLAKY[key] = FLAKY.get(key, 0) + 1
            if FLAKY[key] <= fail_first:
                with open(os.path.join(DIR, "webhooks.jsonl"), "a") as log:
                    log.write(json.dumps({"key": key, "body": body, "status": 503, "at": time.time()}) + "\n")
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            duplicate = key in SEEN
            if key:
                SEEN.add(key)
            with open(os.path.join(DIR, "webhooks.jsonl"), "a") as log:
                log.write(json.dumps({"key": key, "body": body, "duplicate": duplicate, "status": 200, "at": time.time()}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


http = ThreadingHTTPServer(("127.0.0.1", http_port), Webhook)
threading.Thread(target=http.serve_forever, daemon=True).start()

radicale_dir = os.path.join(DIR, "radicale")
os.makedirs(radicale_dir, exist_ok=True)
radicale = subprocess.Popen([sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{caldav_port}",
                             "--storage-filesystem-folder", radicale_dir, "--auth-type", "none",
                             "--rights-type", "none" if False else "owner_only"],
                            stdout=open(os.path.join(DIR, "radicale.out"), "w"), stderr=subprocess.STDOUT)


def stop(*_):
    for p in (dovecot, radicale):
        try:
            p.terminate()
            p.wait(5)
        except Exception:
            p.kill()
    smtp.stop()
    smtps.stop()
    http.shutdown()
    os._exit(0)


signal.signal(signal.SIGTERM, stop)
try:
    for port in (imap_port, imaps_port, smtp_port, smtps_port, http_port, caldav_port):
        wait_port(port)
except SystemExit as e:
    print(str(e), file=sys.stderr)
    stop()
print(json.dumps({"imap": imap_port, "imaps": imaps_port, "smtp": smtp_port, "smtps": smtps_port, "http": http_port,
                  "caldav": caldav_port, "ca": f"{tls}/ca.pem"}), flush=True)
try:
    sys.stdin.read()
finally:
    stop()
