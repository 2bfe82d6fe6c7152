#!/usr/bin/env python3
"""A real MCP client (the official Python SDK, `mcp` on PyPI) that drives `cairn mcp` over stdio.

Used by Tests/EndToEndTests/MCPE2ETests.swift. Two modes, each reading a JSON list of steps on stdin and
printing a JSON list of results on stdout:

  session --cairn BIN --vault PATH [--client-name NAME]
      One client session through the SDK (initialize, then each step):
        {"op": "init"}                       -> server name, protocol version, instructions
        {"op": "tools"}                      -> each tool's name, hints and required arguments
        {"op": "call", "tool": T, "args": A} -> {"is_error", "text", "structured"} or {"protocol_error": {...}}
        {"op": "resources"} / {"op": "templates"} / {"op": "resource", "uri": U}
        {"op": "write", "path": P, "content": C}   (an editor saving a file in the vault meanwhile)
        {"op": "cairn", "args": [...]}       -> {"status", "stdout"} of the CLI run in the vault meanwhile
  raw --cairn BIN --vault PATH
      Bytes straight to the server's stdin, bypassing the SDK (malformed JSON-RPC, oversized lines):
        {"send": "text"}                     a line as given
        {"send_hex": "…"}                    a line of raw bytes (hex), e.g. invalid UTF-8
        {"send_huge": N, "id": I}            a tools/call request of about N bytes with id I
        {"expect": K}                        wait (10 s at most, or $EXPECT_TIMEOUT) until K more messages have arrived
      Prints {"received": [...], "alive": bool, "exit": code}.
"""
import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
try:
    from mcp.shared.exceptions import MCPError as McpError
except ImportError:  # SDKs before 2.0
    from mcp.shared.exceptions import McpError

try:
    import mcp_types as types
except ImportError:  # older SDKs
    from mcp import types


def dump(model):
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return model


async def session(args, steps):
    params = StdioServerParameters(command=args.cairn, args=["mcp", "--vault", args.vault], env=dict(os.environ))
    results = []
    client_info = types.Implementation(name=args.client_name, version="1.0")
    async with stdio_client(params) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write, client_info=client_info) as s:
            init = await s.initialize()
            for step in steps:
                op = step["op"]
                try:
                    if op == "init":
                        results.append({"server": init.server_info.name, "protocol": init.protocol_version,
                                        "instructions": init.instructions or "",
                                        "capabilities": dump(init.capabilities)})
                    elif op == "tools":
                        listed = await s.list_tools()
                        rows = []
                        for t in listed.tools:
                            a = t.annotations
                            rows.append({"name": t.name, "description": t.description or "",
                                         "read_only": a.read_only_hint if a else None,
                                         "destructive": a.destructive_hint if a else None,
                                         "idempotent": a.idempotent_hint if a else None,
                                         "open_world": a.open_world_hint if a else None,
                                         "required": (t.input_schema or {}).get("required", []),
                                         "properties": sorted((t.input_schema or {}).get("properties", {}).keys())})
                        results.append({"tools": rows})
                    elif op == "call":
                        started = time.perf_counter()
                        r = await s.call_tool(step["tool"], step.get("args", {}))
                        text = "".join(getattr(c, "text", "") for c in (r.content or []))
                        results.append({"is_error": bool(r.is_error), "text": text,
                                        "structured": r.structured_content,
                                        "ms": (time.perf_counter() - started) * 1000})
                    elif op == "resources":
                        listed = await s.list_resources()
                        results.append({"uris": [str(r.uri) for r in listed.resources]})
                    elif op == "templates":
                        listed = await s.list_resource_templates()
                        results.append({"templates": [t.uri_template for t in listed.resource_templates]})
                    elif op == "resource":
                        r = await s.read_resource(step["uri"])
                        results.append({"text": "".join(getattr(c, "text", "") or "" for c in r.contents)})
                    elif op == "write":
                        path = os.path.join(args.vault, step["path"])
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        with open(path, "w", encoding="utf-8") as f:
                            f.write(step["content"])
                        results.append({"written": step["path"]})
                    elif op == "cairn":
                        r = subprocess.run([args.cairn] + step["args"], cwd=args.vault, stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, env=dict(os.environ), timeout=60)
                        results.append({"status": r.returncode, "stdout": r.stdout.decode("utf-8", "replace")})
                    else:
                        results.append({"harness_error": f"unknown op {op}"})
                except McpError as e:
                    err = getattr(e, "error", None)
                    results.append({"protocol_error": {"code": getattr(err, "code", None),
                                                       "message": getattr(err, "message", str(e))}})
    return results


def raw(args, steps):
    proc = subprocess.Popen([args.cairn, "mcp", "--vault", args.vault], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=dict(os.environ))
    received = []
    buffer = b""

    def pump(count, timeout):
        nonlocal buffer
        deadline = time.time() + timeout
        want = len(received) + count
        while len(received) < want and time.time() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.time()))
            if not ready:
                break
            chunk = os.read(proc.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    try:
                        received.append(json.loads(line))
                    except ValueError:
                        received.append({"unparsable": line[:200].decode("utf-8", "replace")})

    try:
        for step in steps:
            if "send" in step:
                proc.stdin.write(step["send"].encode("utf-8") + b"\n")
                proc.stdin.flush()
            elif "send_hex" in step:
                proc.stdin.write(bytes.fromhex(step["send_hex"]) + b"\n")
                proc.stdin.flush()
            elif "send_huge" in step:
                filler = "A" * step["send_huge"]
                message = {"jsonrpc": "2.0", "id": step["id"], "method": "tools/call",
                           "params": {"name": "propose_edit", "arguments": {
                               "summary": "huge", "edits": [{"path": "memory/huge.md", "action": "create", "content": filler}]}}}
                proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
                proc.stdin.flush()
            elif "expect" in step:
                pump(step["expect"], float(os.environ.get("EXPECT_TIMEOUT", "10")))
        alive = proc.poll() is None
    finally:
        proc.stdin.close()
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = "killed: did not exit after its input closed"
    return {"received": received, "alive": alive, "exit": code}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["session", "raw"])
    parser.add_argument("--cairn", required=True)
    parser.add_argument("--vault", required=True)
    parser.add_argument("--client-name", default="pytest-client")
    args = parser.parse_args()
    steps = json.load(sys.stdin)
    if args.mode == "session":
        out = asyncio.run(session(args, steps))
    else:
        out = raw(args, steps)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
