"""Fixtures of the reliability matrix: the bad inputs on disk, and the real CLI run in batches."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from reliability.inputs import SCENE, write_inputs, write_traces

import audiointeract
from audiointeract.simulators import Scene, run_simulation

ROOT = Path(audiointeract.__file__).resolve().parents[1]
BATCH = Path(__file__).with_name("cli_batch.py")

CliResult = dict[str, Any]


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with every input of the matrix (see ``inputs.py``)."""
    folder = write_inputs(tmp_path_factory.mktemp("inputs"))
    good = run_simulation(Scene.from_dict(SCENE)).trace.to_jsonl()
    write_traces(folder, good)
    return folder


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


@pytest.fixture(scope="session")
def cli_batch(inputs: Path) -> Callable[[Sequence[tuple[list[str], bytes]]], list[CliResult]]:
    """``cli_batch(cases)`` runs command lines in one subprocess, in the inputs folder."""
    return lambda cases: run_batch(cases, cwd=inputs)
