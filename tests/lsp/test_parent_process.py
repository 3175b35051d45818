"""The server exits when the client process named by ``processId`` is gone, even with its pipes open."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from codegraph.lsp.session import process_alive


def _message(obj: dict) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_the_server_exits_when_its_client_process_dies(tmp_path) -> None:
    client = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    server = subprocess.Popen(
        [sys.executable, "-m", "codegraph", "lsp"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert server.stdin is not None
        init = {"processId": client.pid, "rootUri": tmp_path.as_uri(), "capabilities": {}}
        server.stdin.write(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}))
        server.stdin.flush()
        time.sleep(3)
        assert server.poll() is None  # the client lives: the server serves
        client.kill()
        client.wait()
        assert not process_alive(client.pid)
        # the pipes stay open (stdin is never closed here); the server must notice on its own
        assert server.wait(timeout=60) == 1  # no shutdown request came: exit status 1, as the protocol says
    finally:
        for proc in (client, server):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
