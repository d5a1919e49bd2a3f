"""Fixtures of the reliability matrix: the bad inputs on disk, the real CLI in batches, a broken server."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from reliability.harness import CliResult, run_batch, serve
from reliability.inputs import SCENE, write_inputs, write_traces

from audiointeract.simulators import Scene, run_simulation


@pytest.fixture(scope="session")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with every input of the matrix (see ``inputs.py``)."""
    folder = write_inputs(tmp_path_factory.mktemp("inputs"))
    good = run_simulation(Scene.from_dict(SCENE)).trace.to_jsonl()
    write_traces(folder, good)
    return folder


@pytest.fixture(scope="session")
def cli_batch(inputs: Path) -> Callable[[Sequence[tuple[list[str], bytes]]], list[CliResult]]:
    """``cli_batch(cases)`` runs command lines in one subprocess, in the inputs folder."""
    return lambda cases: run_batch(cases, cwd=inputs)


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """A misbehaving OpenAI-compatible server on loopback: ``{url}/<mode>/v1`` (modes in ``harness._Handler``)."""
    with serve() as url:
        yield url
