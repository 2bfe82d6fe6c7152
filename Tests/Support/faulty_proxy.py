#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 for transport fault tests: forwards to a server and can break or slow the line.

Usage: faulty_proxy.py LISTEN_PORT TARGET_PORT [--cut down|up BYTES] [--cuts N] [--rate BYTES_PER_SECOND]
                       [--stall down|up BYTES] [--stalls N]

--cut down BYTES   once more than BYTES went from the server to the client on a connection, reset both sides
                   (the server "dies" mid-fetch); `--cut up` counts client-to-server bytes (mid-push).
--cuts N           only the first N connections that reach the limit are cut; later ones pass untouched
                   (default: every one). The number cut so far is written to LISTEN_PORT.cuts beside this
                   process's working directory, so a test can tell that a cut really happened.
--rate BPS         server-to-client bytes per second (a slow line, for progress displays).
--stall down BYTES once more than BYTES went from the server to the client on a connection, stop forwarding in
                   both directions and keep both sides open (a half-open line: nothing is closed or reset, nothing
                   arrives); `--stall up` counts client-to-server bytes. Only the first N connections that reach
                   the limit stall (`--stalls N`, default every one); the count is written to LISTEN_PORT.stalls.
"""
import argparse
import os
import socket
import struct
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("listen", type=int)
ap.add_argument("target", type=int)
ap.add_argument("--cut", nargs=2, metavar=("DIRECTION", "BYTES"))
ap.add_argument("--cuts", type=int, default=-1)
ap.add_argument("--rate", type=int, default=0)
ap.add_argument("--stall", nargs=2, metavar=("DIRECTION", "BYTES"))
ap.add_argument("--stalls", type=int, default=-1)
a = ap.parse_args()

lock = threading.Lock()
cut_count = 0
stall_count = 0


def reset(sock):
    """Drop the connection as a killed server's kernel does. shutdown() first: it wakes the other pump thread's
    recv() on the same socket (a bare close() from another thread would leave the connection open until then)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    for op in (lambda: sock.shutdown(socket.SHUT_RDWR), sock.close):
        try:
            op()
        except OSError:
            pass


def serve(client):
    global cut_count, stall_count
    try:
        server = socket.create_connection(("127.0.0.1", a.target))
    except OSError:
        reset(client)
        return
    state = {"dead": False, "stalled": False}
    with lock:
        may_cut = a.cut is not None and (a.cuts < 0 or cut_count < a.cuts)
        may_stall = a.stall is not None and (a.stalls < 0 or stall_count < a.stalls)

    def hold():
        """A stalled line: nothing more is forwarded, nothing is closed (the threads wait until the proxy dies)."""
        while True:
            time.sleep(3600)

    def pump(src, dst, direction):
        global cut_count, stall_count
        moved = 0
        limit = int(a.cut[1]) if may_cut and a.cut[0] == direction else None
        stall_at = int(a.stall[1]) if may_stall and a.stall[0] == direction else None
        try:
            while not state["dead"]:
                data = src.recv(4096)
                if state["stalled"]:
                    hold()
                if stall_at is not None and moved + len(data) > stall_at:
                    with lock:
                        stall_count += 1
                        with open(f"{a.listen}.stalls", "w") as f:
                            f.write(str(stall_count))
                    state["stalled"] = True
                    dst.sendall(data[: max(0, stall_at - moved)])
                    hold()
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                if limit is not None and moved + len(data) > limit:
                    with lock:
                        cut_count += 1
                        with open(f"{a.listen}.cuts", "w") as f:
                            f.write(str(cut_count))
                    dst.sendall(data[: max(0, limit - moved)])
                    state["dead"] = True
                    reset(src)
                    reset(dst)
                    return
                moved += len(data)
                if a.rate and direction == "down":
                    time.sleep(len(data) / a.rate)
                dst.sendall(data)
        except OSError:
            state["dead"] = True
            reset(src)
            reset(dst)

    up = threading.Thread(target=pump, args=(client, server, "up"), daemon=True)
    down = threading.Thread(target=pump, args=(server, client, "down"), daemon=True)
    up.start()
    down.start()
    up.join()
    down.join()
    for s in (client, server):
        try:
            s.close()
        except OSError:
            pass


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", a.listen))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
