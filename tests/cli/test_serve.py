"""``audiointeract serve``: the loopback rule, the start-up line, and a real server process a client talks to."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from websockets.sync.client import connect

from audiointeract.cli import main


def test_a_public_address_needs_an_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIOINTERACT_API_KEY", raising=False)
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--responder", "mock"])
    assert result.exit_code == 2  # a usage error: nothing ran
    expected = ("Error: refusing to listen on 0.0.0.0 without an API key: set --api-key or $AUDIOINTERACT_API_KEY, "
                "or listen on 127.0.0.1")
    assert result.output.strip().splitlines() == [expected]


def test_bad_backend_names_are_reported_before_listening() -> None:
    result = CliRunner().invoke(main, ["serve", "--perceiver", "nope", "--responder", "mock"])
    assert result.exit_code == 2
    assert "unknown perceiver 'nope'" in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_runs_a_server_that_a_client_talks_to(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-c", "from audiointeract.cli import main; main()", "serve", "--port", str(port),
               "--perceiver", "energy", "--decider", "turn-end", "--responder", "mock",
               "-o", 'responder.reply="Hello."', "--trace-dir", str(tmp_path)]
    env = {**os.environ, "AUDIOINTERACT_API_KEY": "k"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            assert banner.startswith(f"audiointeract serve: ws://127.0.0.1:{port}/v1/realtime"), banner
            assert "API key required" in banner
            deadline = time.monotonic() + 30
            while True:
                try:
                    ws = connect(f"ws://127.0.0.1:{port}/v1/realtime", additional_headers={"Authorization": "Bearer k"})
                    break
                except OSError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.05)
            with ws:
                created = json.loads(ws.recv(timeout=10))
                assert created["type"] == "session.created"
                ws.send(json.dumps({"type": "response.create"}))
                kinds = []
                while "response.done" not in kinds:
                    kinds.append(json.loads(ws.recv(timeout=10))["type"])
            assert "response.output_text.delta" not in kinds  # a spoken session, but the mock has no voice
            assert "response.output_audio_transcript.delta" in kinds
            line = process.stdout.readline()
            assert line.startswith("sess_1 ended (stopped: client disconnected)"), line
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
    assert process.returncode == 0
    assert (tmp_path / "sess_1.jsonl").is_file()
