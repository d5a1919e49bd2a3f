"""The evaluation API: event files, scene sets, recorded real perception and its replay, scoring."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import attrs
import pytest

from audiointeract.backends.mock import EnergyPerceiver
from audiointeract.errors import ConfigurationError
from audiointeract.evaluation import (
    REAL_SCENES,
    PerceptionRecording,
    ReplayPerceiver,
    load_scenes,
    record_perception,
    score_events,
    score_scenes,
)
from audiointeract.events import BackendErrorEvent, Decision, Perception
from audiointeract.simulators import Expect, Scene, Silence, Sound, Speech, run_simulation
from audiointeract.simulators.agents import TaskRuleDecider
from audiointeract.testing.strategies import ANSWER, WARN
from audiointeract.training.vocabulary import load_events

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenes"


def write_rows(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_event_rows_ignore_extra_keys(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "description": "a smoke alarm beeping", "decision": "RESPOND", "path": "/data/a.wav", "x": 1},
        {"id": "b", "description": "rain on the roof", "decision": "IGNORE", "audioset_label": "Rain"},
    ]
    events = load_events(write_rows(tmp_path / "e.jsonl", rows))
    assert [(e.id, e.respond, e.audioset_label) for e in events] == [("a", True, None), ("b", False, "Rain")]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "b", "description": "x", "decision": "MAYBE"}, "e.jsonl:2: unknown decision 'MAYBE'"),
        ({"id": "b", "description": "x", "decision": "IGNORE", "audioset_label": "Rainy"}, "e.jsonl:2: unknown audioset_label"),
        ({"id": "b", "decision": "IGNORE"}, "e.jsonl:2: missing description"),
        ("[1, 2]", "e.jsonl:2: a row must be a JSON object"),
    ],
)
def test_event_rows_are_refused_with_their_line(tmp_path: Path, row: object, message: str) -> None:
    first = {"id": "a", "description": "a smoke alarm beeping", "decision": "RESPOND"}
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(first) + "\n" + (row if isinstance(row, str) else json.dumps(row)) + "\n")
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        load_events(path)


def test_scene_sets_list_what_they_skip_and_refuse_missing_folders(tmp_path: Path) -> None:
    folder = tmp_path / "scenes"
    folder.mkdir()
    shutil.copy(EXAMPLES / "barge_in.json", folder)  # synthetic speech and alarm
    shutil.copy(REAL_SCENES / "real-02-dog.json", folder)
    (folder / "notes.md").write_text("not a scene")
    loaded = load_scenes(folder)
    assert [s.name for s in loaded.scenes] == ["real-02-dog"]
    (skipped,) = loaded.skipped
    assert skipped.path.name == "barge_in.json"
    assert "not built only from real recordings" in skipped.reason
    everything = load_scenes(folder, real_only=False)
    assert len(everything.scenes) == 2
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_scenes(tmp_path / "missing")
    (folder / "broken.json").write_text("{")
    with pytest.raises(ConfigurationError, match=r"broken\.json"):
        load_scenes(folder)


def speech_scene() -> Scene:
    return Scene(
        segments=[
            Speech(start=0.5, duration=1.5, text="where are my keys?", expects=[Expect(task="answer")]),
            Silence(start=2.0, duration=1.0),
            Sound(start=3.0, duration=1.5, label="Siren", synth="alarm", expects=[Expect(task="warn", anchor="onset")]),
            Speech(start=5.0, duration=1.2, text="the kettle is on"),
        ],
        tasks=[ANSWER, WARN],
        name="energy-scene",
        tail=2.0,
    )


def perceptions(result: object) -> list[tuple[str, float, float, float]]:
    trace = result.trace  # type: ignore[attr-defined]
    return [(type(p).__name__, p.span_start, p.span_end, r.heard) for r in trace for p in [r.event]
            if isinstance(p, Perception)]


def test_replayed_perception_is_what_the_perceiver_said_live() -> None:
    scene = speech_scene()
    (recording,) = record_perception([scene], perceiver=EnergyPerceiver).values()
    assert recording.perceiver == "energy"
    assert len(recording.chunks) == len(recording.compute) == len(recording.start_samples)
    assert any(recording.chunks)
    live = run_simulation(scene, perceiver=EnergyPerceiver(), decider=TaskRuleDecider(), compute_aware=False)
    replay = run_simulation(scene, perceiver=ReplayPerceiver(recording), decider=TaskRuleDecider(),
                            compute_aware=False)
    assert perceptions(replay) == perceptions(live)
    assert PerceptionRecording.from_json(recording.to_json()) == recording


def test_charged_compute_delays_decisions_by_the_recorded_seconds() -> None:
    scene = speech_scene()
    (recording,) = record_perception([scene], perceiver=EnergyPerceiver).values()
    slow = attrs.evolve(recording, compute=tuple(0.3 for _ in recording.compute))
    result = run_simulation(scene, perceiver=ReplayPerceiver(slow, charge_compute=True), decider=TaskRuleDecider(),
                            compute_aware=False)
    lags = [d.decided_at - d.heard_until for d in result.trace.of_type(Decision)]
    assert min(lags) >= 0.3 - 1e-9
    assert PerceptionRecording.from_json(slow.to_json()).real_time_factor == pytest.approx(0.3 / 0.4)


def test_replay_refuses_another_chunking() -> None:
    scene = speech_scene()
    (recording,) = record_perception([scene], perceiver=EnergyPerceiver).values()
    short = attrs.evolve(recording, chunks=recording.chunks[:3], start_samples=recording.start_samples[:3],
                         compute=recording.compute[:3])
    result = run_simulation(scene, perceiver=ReplayPerceiver(short), compute_aware=False)
    errors = result.trace.of_type(BackendErrorEvent)
    assert errors
    assert {e.component for e in errors} == {"perceiver"}
    assert "not in the recording" in errors[0].message


def test_recordings_are_cached_by_scene(tmp_path: Path) -> None:
    scene = speech_scene()
    built: list[EnergyPerceiver] = []

    def factory() -> EnergyPerceiver:
        built.append(EnergyPerceiver())
        return built[-1]

    first = record_perception([scene], perceiver=factory, cache=tmp_path)
    again = record_perception([scene], perceiver=factory, cache=tmp_path)
    assert first == again
    assert len(built) == 1
    other = record_perception([attrs.evolve(scene, tail=3.0)], perceiver=factory, cache=tmp_path)
    assert len(built) == 2
    assert other != first


def test_scores_name_the_misses_and_report_progress() -> None:
    events = load_events(Path(__file__).resolve().parents[2] / "audiointeract/evaluation/data/events_test.jsonl")[:6]
    seen: list[str] = []
    scores = score_events(events, "endpointing", progress=seen.append)
    assert seen == [e.id for e in events]
    assert set(scores.wrong) == {e.id for e in events if e.respond}  # endpointing never warns about sounds
    timing = score_scenes([speech_scene()], TaskRuleDecider, progress=seen.append)
    assert seen[-1] == "energy-scene"
    assert timing.per_scene[0].expected == 2
    assert timing.f1[0.8] == 1.0
