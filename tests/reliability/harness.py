"""Helpers of the reliability matrix: the real CLI in batches, and a misbehaving HTTP server on loopback."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import audiointeract

ROOT = Path(audiointeract.__file__).resolve().parents[1]
BATCH = Path(__file__).with_name("cli_batch.py")

CliResult = dict[str, Any]


def cli_env() -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout first on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_batch(cases: Sequence[tuple[list[str], bytes]], *, cwd: Path, timeout: float = 600) -> list[CliResult]:
    """Run each ``(argv, stdin)`` as ``audiointeract *argv`` in one real Python process (see ``cli_batch.py``)."""
    payload = json.dumps([{"argv": argv, "stdin": base64.b64encode(stdin).decode()} for argv, stdin in cases])
    done = subprocess.run(
        [sys.executable, str(BATCH)], input=payload, capture_output=True, text=True, timeout=timeout, check=False,
        cwd=cwd, env=cli_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results: list[CliResult] = json.loads(done.stdout)
    return results


HANGING = threading.Event()
"""Set when a client is waiting on the hanging ``/hang/v1/models``."""


class _Handler(BaseHTTPRequestHandler):
    """``/<mode>/v1/...``: the mode says how to misbehave."""

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        mode = self.path.split("/")[1]
        if mode == "error500":
            self._send(500, b'{"error": {"message": "the GPU caught fire"}}')
        elif mode == "garbage":
            self._send(200, b"<html>not json</html>")
        elif mode == "hang":
            HANGING.set()
            time.sleep(3)
            self._send(200, json.dumps({"data": [{"id": "served-model"}]}).encode())
        else:
            self._send(200, json.dumps({"data": [{"id": "served-model"}]}).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self._send(200, b"garbage{")  # application/json, but not JSON


@contextlib.contextmanager
def serve() -> Iterator[str]:
    """Run the misbehaving server in a thread; yield its base URL (``{url}/<mode>/v1``)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
