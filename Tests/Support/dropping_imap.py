#!/usr/bin/env python3
"""An IMAP server on 127.0.0.1 that logs in, answers STATUS, EXAMINE and UID SEARCH, then drops the connection in the
middle of the first UID FETCH literal: a server that dies while a pull reads a message.

Prints {"imap": PORT} on stdout, serves until stdin closes.
"""
import json
import socket
import sys
import threading

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(5)
print(json.dumps({"imap": listener.getsockname()[1]}), flush=True)


def serve(conn):
    f = conn.makefile("rwb")
    f.write(b"* OK IMAP4rev1 test server ready\r\n")
    f.flush()
    for line in f:
        parts = line.decode("utf-8", "replace").strip().split(" ")
        tag, command = parts[0], " ".join(parts[1:3]).upper()
        if command.startswith("CAPABILITY"):
            f.write(b"* CAPABILITY IMAP4rev1\r\n" + tag.encode() + b" OK done\r\n")
        elif command.startswith("LOGIN"):
            f.write(tag.encode() + b" OK logged in\r\n")
        elif command.startswith("STATUS"):
            f.write(b"* STATUS INBOX (UIDVALIDITY 7 UIDNEXT 4)\r\n" + tag.encode() + b" OK done\r\n")
        elif command.startswith("EXAMINE"):
            f.write(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" + tag.encode() + b" OK [READ-ONLY] done\r\n")
        elif command.startswith("UID SEARCH"):
            f.write(b"* SEARCH 1 2 3\r\n" + tag.encode() + b" OK done\r\n")
        elif command.startswith("UID FETCH"):
            f.write(b"* 1 FETCH (UID 1 BODY[] {500}\r\nFrom: a@b.test\r\nSubject: Cut short\r\n\r\nThe first lines of")
            f.flush()
            break
        elif command.startswith("LOGOUT"):
            f.write(b"* BYE\r\n" + tag.encode() + b" OK bye\r\n")
            f.flush()
            break
        else:
            f.write(tag.encode() + b" BAD unknown\r\n")
        f.flush()
    conn.close()


def accept():
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
sys.stdin.read()
