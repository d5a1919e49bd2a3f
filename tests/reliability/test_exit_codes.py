"""Exit codes in real processes: 0 done, 1 runtime failure, 2 usage error, 128+N stopped by signal N.

The other matrix files check 0, 1 and 2 case by case; here each code is seen by a shell, and
a signal arrives while a backend is still starting (its ``check()`` waits on a hanging server).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from reliability.harness import HANGING, cli_env

CLI = [sys.executable, "-c", "from audiointeract.cli import main; main()"]
MOCKS = ["--perceiver", "energy", "--decider", "turn-end", "--responder", "mock"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
                          env=cli_env())


def test_each_exit_code_reaches_the_shell(inputs: Path, server: str) -> None:
    done = _run(["run", "a.wav", "--fast", *MOCKS], inputs)
    assert (done.returncode, done.stderr) == (0, "")
    failed = _run(["run", "a.wav", "--fast", "--perceiver", "energy", "--decider", "turn-end", "--responder", "vllm",
                   "-o", f"responder.base_url={server}/error500/v1"], inputs)
    assert failed.returncode == 1
    usage = _run(["run", "a.wav", "--rate", "x"], inputs)
    assert usage.returncode == 2
    for result in (failed, usage):
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("Error: ")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_a_backend_starts_stops_with_128_plus_n(inputs: Path, server: str, signum: signal.Signals) -> None:
    HANGING.clear()
    command = [*CLI, "run", "a.wav", "--perceiver", "energy", "--decider", "turn-end", "--responder", "vllm",
               "-o", f"responder.base_url={server}/hang/v1", "-o", "responder.read_timeout=10"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=inputs,
                               env=cli_env())
    try:
        assert HANGING.wait(60), "the CLI never asked the server"
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 128 + signum
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == f"Error: session did not end normally: stopped: {signum.name}"
    assert "heard 0.0s" in stdout  # no audio was taken once the stop was asked
