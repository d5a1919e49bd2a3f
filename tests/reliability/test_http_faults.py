"""HTTP backends against a misbehaving server on loopback: each fault is one line, or one typed event.

A real HTTP server (the ``server`` fixture) answers the OpenAI-compatible paths the way a
broken deployment would: 500, garbage, a hang, a model it does not serve, a chat
completion body that is not JSON. The real CLI runs against it (in one batch).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audiointeract.events import BackendErrorEvent, ReplyFailed, ReplyStarted
from audiointeract.trace import Trace

MOCKS = ["--perceiver", "energy", "--decider", "turn-end"]


CASES: list[tuple[str, list[str], int, str]] = [
    ("check-500", ["-o", "responder.base_url={url}/error500/v1"], 1,
     r"Error: OpenAI-compatible server at .*/error500/v1 is not usable: .*HTTP 500: the GPU caught fire"),
    ("check-garbage", ["-o", "responder.base_url={url}/garbage/v1"], 1,
     r"Error: OpenAI-compatible server at .*/garbage/v1 is not usable: .*invalid JSON.*"),
    ("check-hang", ["-o", "responder.base_url={url}/hang/v1", "-o", "responder.read_timeout=0.5"], 1,
     r"Error: OpenAI-compatible server at .*/hang/v1 is not usable: .*"),
    ("check-wrong-model", ["-o", "responder.base_url={url}/ok/v1", "-o", "responder.model=other"], 2,
     r"Error: model 'other' is not served at .*/ok/v1; it serves 'served-model' \(set model= to one of them\)"),
    ("option-type", ["-o", "responder.base_url={url}/ok/v1", "-o", 'responder.read_timeout="soon"'], 2,
     r"Error: read_timeout must be .*, got str 'soon'"),
]


@pytest.fixture(scope="module")
def results(server: str, inputs: Path, cli_batch: Callable[..., list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    (inputs / "out").mkdir(exist_ok=True)
    batch = [
        (["run", "a.wav", "--fast", *MOCKS, "--responder", "vllm", *(a.format(url=server) for a in args)], b"")
        for _, args, _, _ in CASES
    ]
    batch.append((["run", "a.wav", "--fast", *MOCKS, "--responder", "vllm", "-o", f"responder.base_url={server}/ok/v1",
                   "--trace", "out/garbage_body.jsonl"], b""))
    outcomes = cli_batch(batch)
    return {name: outcome for (name, *_), outcome in zip([*CASES, ("garbage-body",)], outcomes, strict=True)}


@pytest.mark.parametrize(("name", "code", "error"), [pytest.param(c[0], c[2], c[3], id=c[0]) for c in CASES])
def test_a_broken_server_is_one_line(results: dict[str, dict[str, Any]], name: str, code: int, error: str) -> None:
    result = results[name]
    assert "Traceback" not in result["stderr"]
    assert result["code"] == code, result["stderr"]
    lines = result["stderr"].strip().splitlines()
    assert [line for line in lines if line.startswith("Error:")] == [lines[-1]]
    assert re.fullmatch(error, lines[-1]), lines[-1]
    assert "heard" not in result["stdout"]  # nothing ran


def test_a_body_that_is_not_json_fails_the_reply_by_name_without_a_retry(
    results: dict[str, dict[str, Any]], inputs: Path
) -> None:
    result = results["garbage-body"]
    assert "Traceback" not in result["stderr"]
    assert result["code"] == 0, result["stderr"]  # a failed reply does not end the session
    trace = Trace.load(inputs / "out" / "garbage_body.jsonl")
    assert len(trace.of_type(ReplyStarted)) == 1
    (failed,) = trace.of_type(ReplyFailed)
    assert "returned invalid JSON" in failed.message
    assert "ended mid-reply" not in failed.message
    errors = [e for e in trace.of_type(BackendErrorEvent) if e.component == "responder"]
    assert [(e.handling, e.attempt, e.retryable) for e in errors] == [("skip", 1, False)]
    assert trace.ended is not None
    assert trace.ended.normal
