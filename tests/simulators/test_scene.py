"""Scenes: validation, ground-truth windows (the paper's label rule), files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import StandingTask
from audiointeract.simulators import (
    Anchor,
    Expect,
    NoiseBed,
    Scene,
    Silence,
    Sound,
    Speech,
    label_time,
    load_scene,
    save_scene,
)
from audiointeract.simulators.faults import Fault

ANSWER = StandingTask(name="answer", instruction="Answer questions.")
WARN = StandingTask(name="warn", instruction="Warn about alarms.", proactive=True)


def two_task_scene() -> Scene:
    return Scene(
        segments=[
            Speech(start=0.5, duration=1.3, text="what time is it?", expects=[Expect(task="answer")]),
            Sound(start=3.0, duration=2.0, label="Alarm", expects=[Expect(task="warn", anchor="onset", within=1.5)]),
            Speech(start=6.0, duration=1.0, text="nice weather", speaker="tv"),
            Silence(start=7.0, duration=1.0),
        ],
        tasks=[ANSWER, WARN],
        noise=[NoiseBed(snr_db=12.0, color="brown", end=5.0)],
        faults=[Fault(component="decider", kind="raise", start=1.0, end=2.0)],
    )


@pytest.mark.parametrize(
    ("end", "chunk", "expected"),
    [(1.8, 0.4, 2.0), (2.0, 0.4, 2.0), (2.01, 0.4, 2.4), (0.0, 0.4, 0.0), (1.0, 0.6, 1.2), (3.3, 0.2, 3.4)],
)
def test_label_time_is_end_of_chunk_ceil_t_over_c(end: float, chunk: float, expected: float) -> None:
    assert label_time(end, chunk) == pytest.approx(expected)


def test_expectations_are_absolute_windows_with_paper_reference() -> None:
    scene = two_task_scene()
    answer, warn = scene.expectations(0.4)
    assert (answer.task, answer.segment, answer.label) == ("answer", 0, "what time is it?")
    assert answer.evidence_end == pytest.approx(1.8)
    assert answer.reference == pytest.approx(2.0)
    assert (answer.window_start, answer.window_end) == pytest.approx((1.8, 3.8))
    assert warn.evidence_end == pytest.approx(3.0)
    assert (warn.window_start, warn.window_end) == pytest.approx((3.0, 4.5))
    assert warn.reference == pytest.approx(3.2)


def test_delay_shifts_the_window() -> None:
    scene = Scene(segments=[Speech(start=0, duration=1, text="hi?", expects=[Expect(task="answer", delay=0.5, within=1)])],
                  tasks=[ANSWER])
    (e,) = scene.expectations()
    assert (e.window_start, e.window_end) == pytest.approx((1.5, 2.5))
    assert e.reference == pytest.approx(1.2)


def test_duration_defaults_to_last_end_plus_tail() -> None:
    assert two_task_scene().duration == pytest.approx(9.0)


def test_speech_spans_by_speaker() -> None:
    scene = two_task_scene()
    assert scene.speech_spans() == ((0.5, 1.8),)
    assert scene.speech_spans(None) == ((0.5, 1.8), (6.0, 7.0))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Scene(segments=[Speech(start=0, duration=1, text="x", expects=[Expect(task="nope")])], tasks=[ANSWER]),
         "unknown task 'nope'"),
        (lambda: Scene(segments=[Speech(start=0, duration=5, text="x")], tasks=[ANSWER], duration=2.0), "after the scene"),
        (lambda: Speech(start=0, duration=1, text="  "), "text must be a non-empty string"),
        (lambda: Speech(start=-1, duration=1, text="x"), "start must be"),
        (lambda: Speech(start=0, duration=0, text="x"), "duration must be"),
        (lambda: Sound(start=0, duration=1, label=""), "label must be a non-empty string"),
        (lambda: Sound(start=0, duration=1, label="x", score=1.5), "score"),
        (lambda: Expect(task="answer", within=0), "within"),
        (lambda: Sound(start=0, duration=1, label="x", synth="boom"), "synth must be one of"),
        (lambda: NoiseBed(color="blue"), "color must be one of"),
        (lambda: Fault(component="ears", kind="raise"), "component must be one of"),
        (lambda: Fault(component="decider", kind="raise", start=2.0, end=1.0), "start < end"),
        (lambda: NoiseBed(start=2.0, end=1.0), "after its start"),
        (lambda: Scene(segments=[], tasks=[ANSWER, ANSWER]), "unique"),
    ],
)
def test_bad_scenes_raise_configuration_errors(build, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_dict_round_trip() -> None:
    scene = two_task_scene()
    data = json.loads(json.dumps(scene.to_dict()))
    assert Scene.from_dict(data) == scene


def test_sequential_placement_with_gaps() -> None:
    scene = Scene.from_dict({
        "segments": [
            {"kind": "speech", "text": "a", "duration": 1.0, "start": 0.5},
            {"kind": "sound", "label": "Door", "duration": 0.5, "gap": 2.0},
            {"kind": "silence", "duration": 1.0},
        ],
    })
    assert [s.start for s in scene.segments] == pytest.approx([0.5, 3.5, 4.0])
    assert scene.tasks[0].name == "answer"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "'segments' list"),
        ({"segments": [{"kind": "music", "duration": 1}]}, "unknown kind"),
        ({"segments": [{"kind": "speech", "text": "a"}]}, "needs a 'duration'"),
        ({"segments": [{"kind": "speech", "text": "a", "duration": 1, "colour": 2}]}, "malformed"),
        ({"segments": [3]}, "must be a table"),
    ],
)
def test_malformed_scene_dicts(data, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Scene.from_dict(data)


def test_json_and_toml_files(tmp_path: Path) -> None:
    scene = two_task_scene()
    save_scene(scene, tmp_path / "s.json")
    assert load_scene(tmp_path / "s.json") == scene
    toml = tmp_path / "s.toml"
    toml.write_text(
        'name = "t"\n[[tasks]]\nname = "answer"\ninstruction = "a"\n'
        '[[segments]]\nkind = "speech"\ntext = "hi?"\nstart = 1.0\nduration = 1.0\n'
        'expects = [{ task = "answer", within = 1.0 }]\n'
    )
    loaded = load_scene(toml)
    assert loaded.name == "t"
    assert loaded.expectations()[0].window_end == pytest.approx(3.0)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_scene(tmp_path / "missing.json")
    (tmp_path / "s.yaml").write_text("x")
    with pytest.raises(ConfigurationError, match=r"\.json or \.toml"):
        load_scene(tmp_path / "s.yaml")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_scene(tmp_path / "bad.json")


def test_anchor_values() -> None:
    assert Expect(task="a", anchor="onset").anchor is Anchor.ONSET
