"""FAST pacing keeps replies in step with the stream, and `report` compares every time on one axis.

A ``--fast`` session rushes the audio through in lock-step with the decisions; its replies
must advance with the stream (not at wall-clock pace, where the next turn would cut them
off), and its report must score stream times against the scene, as for a real-time run and
a simulation of the same scene.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
import soundfile as sf
from reliability.inputs import RATE, tone

from audiointeract import ArraySource, Pacing, Session, SessionConfig
from audiointeract.backends.mock import EnergyPerceiver, ScriptedResponder, TurnEndDecider
from audiointeract.events import ReplyAudio, ReplyCancelled, ReplyFinished, ReplyStarted
from audiointeract.queues import Overflow
from audiointeract.simulators import Scene, run_virtual
from audiointeract.simulators.metrics import score
from audiointeract.trace import Trace

TURNS = (1.0, 4.5)
TOTAL = 8.0
SCENE = {
    "name": "two-turns",
    "duration": TOTAL,
    "tasks": [{"name": "answer", "instruction": "Answer questions."}],
    "segments": [
        {"kind": "speech", "start": start, "duration": 1.0, "text": "is it raining?",
         "expects": [{"task": "answer", "within": 2.0}]}
        for start in TURNS
    ],
}
REPLY = ["-o", 'responder.reply="one two three four"', "-o", "responder.word_seconds=0.3",
         "-o", "responder.tokens_per_second=10"]
MOCKS = ["--perceiver", "energy", "--decider", "turn-end", "--responder", "mock", *REPLY]


def _session(pacing: Pacing, *, half_duplex: bool = False) -> Session:
    overflow = Overflow.BLOCK if pacing is Pacing.FAST else Overflow.DROP_OLDEST
    config = SessionConfig(pacing=pacing, chunk_overflow=overflow, half_duplex=half_duplex)
    responder = ScriptedResponder("one two three four", word_seconds=0.3, tokens_per_second=10)
    return Session(EnergyPerceiver(), TurnEndDecider(), responder, config=config)


@pytest.mark.anyio
@pytest.mark.parametrize("half_duplex", [False, True], ids=["full-duplex", "half-duplex"])
@pytest.mark.parametrize("pacing", [Pacing.REALTIME, Pacing.FAST])
async def test_replies_play_out_between_turns_at_either_pace(pacing: Pacing, half_duplex: bool) -> None:
    audio = tone(1.0, at=TURNS, total=TOTAL)
    with anyio.fail_after(60):  # FAST with half-duplex used to wait on itself
        trace = await _session(pacing, half_duplex=half_duplex).run(ArraySource(audio, RATE))
    assert len(trace.of_type(ReplyStarted)) == 2
    assert len(trace.of_type(ReplyFinished)) == 2  # under FAST they used to be cut off by the next turn
    assert trace.of_type(ReplyCancelled) == []
    blocks = trace.of_type(ReplyAudio)
    assert sum(block.duration for block in blocks) == pytest.approx(2 * 4 * 0.3)
    first = blocks[0].play_at
    assert 2.0 < first < 3.5  # on the stream's timeline: after the first turn's end, before the second turn
    assert all(b.play_at >= a.play_at + a.duration - 1e-9 for a, b in itertools.pairwise(blocks))


def test_fast_traces_are_scored_on_stream_time() -> None:
    scene = Scene.from_dict(SCENE)

    async def main() -> Trace:
        return await _session(Pacing.FAST).run(ArraySource(tone(1.0, at=TURNS, total=TOTAL), RATE))

    trace = run_virtual(main)
    result = score(trace, scene)
    assert result.axis == "stream"
    assert result.at(0.4).f1 == pytest.approx(1.0)
    assert result.false_triggers_per_hour == 0


@pytest.fixture(scope="module")
def three_traces(tmp_path_factory: pytest.TempPathFactory,
                 cli_batch: Callable[..., list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("axis")
    sf.write(folder / "two_turns.wav", tone(1.0, at=TURNS, total=TOTAL), RATE, subtype="PCM_16")
    (folder / "scene.json").write_text(json.dumps(SCENE))
    runs = [
        (["run", str(folder / "two_turns.wav"), "--fast", *MOCKS, "--trace", str(folder / "fast.jsonl")], b""),
        (["run", str(folder / "two_turns.wav"), "--realtime", *MOCKS, "--trace", str(folder / "realtime.jsonl")], b""),
        (["simulate", str(folder / "scene.json"), "--trace", str(folder / "simulate.jsonl"), "--no-timeline"], b""),
    ]
    for result in cli_batch(runs):
        assert result["code"] == 0, result["stderr"]
    names = ("fast", "realtime", "simulate")
    reports = [(["report", str(folder / f"{name}.jsonl"), "--scene", str(folder / "scene.json"), "--json", "-"], b"")
               for name in names]
    return dict(zip(names, cli_batch(reports), strict=True))


@pytest.mark.parametrize("name", ["fast", "realtime", "simulate"])
def test_report_scores_every_kind_of_trace_on_one_axis(three_traces: dict[str, dict[str, Any]], name: str) -> None:
    result = three_traces[name]
    assert result["code"] == 0
    assert "Traceback" not in result["stderr"]
    report = json.loads(result["stdout"])
    row = next(r for r in report["tolerances"] if r["tolerance"] == 0.4)
    assert (row["matched"], row["responses"], row["expected"]) == (2, 2, 2)
    assert row["f1"] == pytest.approx(1.0)
    assert report["false_triggers_per_hour"] == 0
    assert 0 <= report["decision_latency"]["max"] < 2.0  # stream seconds after the question ended
    assert report["axis"] == ("stream" if name == "fast" else "session")
    assert ("fast-paced session: times are stream times" in result["stderr"]) is (name == "fast")
    assert report["partial"] is False


def test_report_table_says_when_a_trace_is_partial(inputs: Path, cli_batch: Callable[..., list[dict[str, Any]]]) -> None:
    (result,) = cli_batch([(["report", "traces/cut_at_line.jsonl", "--json", "-"], b"")])
    report = json.loads(result["stdout"])
    assert report["partial"] is True
    assert report["left_out"] == 1
    assert report["scored_until"] < 14.0
    assert re.search(r"partial trace: it stops at \d+\.\d\d s without a session end", result["stderr"])
    full = Trace.load(inputs / "traces" / "good.jsonl")
    assert score(full).at(0.4).recall == pytest.approx(1.0)
    cut = Trace.load(inputs / "traces" / "cut_at_line.jsonl")
    assert score(cut).at(0.4).recall == pytest.approx(1.0)  # 2 of the 2 heard, not 2 of 3
    assert np.isclose(score(cut).at(0.4).expected, 2)
