"""Metrics on controlled sessions: matching, tolerances, TimeDiff, false triggers, latencies."""

from __future__ import annotations

import json

import pytest

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, StandingTask
from audiointeract.simulators import (
    Expect,
    Scene,
    Speech,
    match,
    responses,
    run_simulation,
    score,
)
from audiointeract.simulators.metrics import LatencyStats
from audiointeract.trace import Trace

ANSWER = StandingTask(name="answer", instruction="Answer questions.")


def question_scene(duration: float = 20.0) -> Scene:
    # question ends at 2.0: window [2.0, 4.0], reference 2.0 (chunk 0.4)
    return Scene(
        segments=[Speech(start=0.5, duration=1.5, text="what is it?", expects=[Expect(task="answer")])],
        tasks=[ANSWER],
        duration=duration,
    )


def run_with(actions: list[ScriptedAction], scene: Scene | None = None):
    return run_simulation(scene or question_scene(), decider=ScriptedDecider(actions))


def test_on_time_reply_scores_perfectly() -> None:
    result = run_with([ScriptedAction(at=2.4, action=Action.RESPOND, task="answer")])
    report = result.report
    for row in report.tolerances:
        assert (row.precision, row.recall, row.f1) == (1.0, 1.0, 1.0)
        assert row.time_diff == pytest.approx(0.4)
    assert report.decision_latency.p50 == pytest.approx(0.4)
    assert report.first_token_latency.p50 == pytest.approx(0.6)  # SpeakingResponder's 0.2 s first-token delay
    assert report.first_audio_latency.p50 == pytest.approx(0.6)
    assert report.false_triggers_per_hour == 0.0


def test_late_reply_matches_only_at_larger_tolerances() -> None:
    report = run_with([ScriptedAction(at=4.4, action=Action.RESPOND, task="answer")]).report
    assert [row.matched for row in report.tolerances] == [0, 1, 1, 1]
    assert report.at(0.0).precision == 0.0
    assert report.at(0.0).f1 == 0.0
    assert report.at(0.4).time_diff == pytest.approx(2.4)
    assert report.at(0.0).false_triggers == 1


def test_early_reply_never_matches() -> None:
    report = run_with([ScriptedAction(at=1.2, action=Action.RESPOND, task="answer")]).report
    assert all(row.matched == 0 for row in report.tolerances)
    assert report.at(2.0).recall == 0.0
    # 20 s scene, window [2.0, 6.0] at the loosest tolerance -> 16 s of quiet audio
    assert report.quiet_hours == pytest.approx(16 / 3600)
    assert report.false_triggers_per_hour == pytest.approx(3600 / 16)


def test_one_reply_cannot_serve_two_expectations_and_wrong_task_does_not_count() -> None:
    tasks = [ANSWER, StandingTask(name="warn", instruction="w", proactive=True)]
    scene = Scene(
        segments=[
            Speech(start=0.5, duration=1.5, text="a?", expects=[Expect(task="answer", within=4.0)]),
            Speech(start=2.2, duration=0.6, text="b?", expects=[Expect(task="answer", within=4.0)]),
        ],
        tasks=tasks,
        duration=12.0,
    )
    report = run_with(
        [ScriptedAction(at=3.2, action=Action.RESPOND, task="warn"),
         ScriptedAction(at=6.4, action=Action.RESPOND, task="answer")],
        scene,
    ).report
    row = report.at(2.0)
    assert (row.matched, row.responses, row.expected) == (1, 2, 2)
    assert (row.precision, row.recall) == (0.5, 0.5)


def test_matching_is_maximum_for_points_and_windows() -> None:
    scene = Scene(
        segments=[
            Speech(start=0.0, duration=1.0, text="a?", expects=[Expect(task="answer", within=5.0)]),
            Speech(start=1.5, duration=0.5, text="b?", expects=[Expect(task="answer", within=0.5)]),
        ],
        tasks=[ANSWER],
        duration=10.0,
    )
    expected = scene.expectations()
    trace = run_with([ScriptedAction(at=2.4, action=Action.RESPOND, task="answer")], scene).trace
    made = responses(trace)
    # the one reply (at 2.4) fits both windows; it must go to the one that closes first
    pairs = match(expected, made, 0.0)
    assert [e.segment for e, _ in pairs] == [1]


def test_report_is_json_ready_and_recomputable_from_saved_trace(tmp_path) -> None:
    result = run_with([ScriptedAction(at=2.4, action=Action.RESPOND, task="answer")])
    path = tmp_path / "t.jsonl"
    result.trace.save(path)
    again = score(Trace.load(path))
    assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(result.report.to_dict(), sort_keys=True)
    assert "F1" in result.report.table()


def test_latency_stats() -> None:
    stats = LatencyStats.of([0.1, 0.2, 0.3, 0.4])
    assert (stats.count, stats.max) == (4, 0.4)
    assert stats.p50 == pytest.approx(0.25)
    assert LatencyStats.of([]).p99 is None


def test_score_needs_a_scene() -> None:
    with pytest.raises(ConfigurationError, match="no scene"):
        score(Trace(records=[], meta={}))
    with pytest.raises(ConfigurationError, match="tolerance"):
        run_with([]).report.at(1.234)
