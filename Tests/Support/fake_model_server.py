#!/usr/bin/env python3
"""A fake OpenAI-compatible chat-completions server for cairn's tests.

Usage: fake_model_server.py SCENARIO.json REQUESTS.jsonl

Listens on 127.0.0.1 on a free port and prints that port as the first line of stdout.
SCENARIO.json is a list of steps; each POST consumes the next one, in order:

  {"status": 200, "body": {...}}   answer with this JSON body (status defaults to 200)
  {"status": 429}                  answer with an error body {"error": {"message": ...}}
  {"delay": 5, ...}                sleep 5 seconds first (the client should time out)
  {"raw": "not json"}              answer with this text as the body (status defaults to 200)
  {"headers": {"Retry-After": "0"}} extra response headers, with any of the above

When the scenario runs out, every request gets a 500. Every request is appended to
REQUESTS.jsonl as {"path", "authorization", "body"} before it is answered, so a test can
check exactly what the client sent even when it gave up waiting.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

with open(sys.argv[1], encoding="utf-8") as f:
    SCENARIO = json.load(f)
LOG_PATH = sys.argv[2]
LOCK = threading.Lock()
NEXT = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep stderr quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with LOCK:
            i = NEXT[0]
            NEXT[0] += 1
            step = SCENARIO[i] if i < len(SCENARIO) else {"status": 500, "body": {"error": {"message": "scenario exhausted"}}}
            with open(LOG_PATH, "a", encoding="utf-8") as log:
                log.write(json.dumps({"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}) + "\n")
        if "delay" in step:
            time.sleep(step["delay"])
        status = step.get("status", 200)
        if "raw" in step:
            payload, ctype = step["raw"].encode("utf-8"), "text/plain"
        else:
            default = {"error": {"message": "status %d" % status}} if status >= 400 else {}
            payload, ctype = json.dumps(step.get("body", default)).encode("utf-8"), "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in step.get("headers", {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
