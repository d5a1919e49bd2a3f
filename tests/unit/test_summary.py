"""The five-second session summary, on traces of real sessions over scenes on virtual time."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiointeract.events import ReplyAudio, ReplyStarted, SpeechActivity, StandingTask
from audiointeract.simulators.files import load_scene
from audiointeract.simulators.run import run_simulation
from audiointeract.simulators.scene import Expect, Scene, Sound, Speech
from audiointeract.summary import summarize
from audiointeract.trace import Trace

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenes"


def first_audio(trace: Trace, reply_id: int) -> float:
    return next(e.play_at for e in trace.of_type(ReplyAudio) if e.reply_id == reply_id)


def test_replies_latencies_barge_in_and_warning_of_the_barge_in_scene() -> None:
    scene = load_scene(EXAMPLES / "barge_in.json")
    trace = run_simulation(scene).trace
    text = summarize(trace, scene)
    lines = text.splitlines()
    assert lines[0] == "summary: 1 of 2 user turns answered, 1 sound warning, 1 reply cut off by the user"
    question, alarm = scene.segments[0], scene.segments[3]
    answer_latency = first_audio(trace, 0) - question.end  # virtual time: audio arrives when it ends
    warning_latency = first_audio(trace, 1) - alarm.start
    assert lines[1] == f'  {answer_latency:4.1f} s  "how long do I boil an egg?" -> "Here is my answer to that."  [cut off by the user]'
    assert lines[2].startswith(f'  {warning_latency:4.1f} s  sound Smoke alarm (1.00) -> "Heads up')
    assert lines[3] == '  ignored  "sorry, I meant a soft one" (spoken over a reply: barge-in)'
    assert lines[-1].endswith(f"median {(answer_latency + warning_latency) / 2:.1f} s, max {warning_latency:.1f} s")
    assert len(lines) == 5


def test_without_a_scene_speech_ends_come_from_the_vad() -> None:
    scene = load_scene(EXAMPLES / "barge_in.json")
    trace = run_simulation(scene).trace
    vad_end = next(e.span_end for e in trace.of_type(SpeechActivity) if not e.speaking)
    text = summarize(trace)
    assert f'{first_audio(trace, 0) - vad_end:4.1f} s  "how long do I boil an egg?"' in text
    assert "as the VAD heard it" in text


def test_speech_not_said_to_the_assistant_and_unwatched_sounds_are_listed_as_ignored() -> None:
    tasks = (StandingTask(name="answer", instruction="Answer the questions the user asks you."),)
    scene = Scene(
        tasks=tasks,
        segments=(
            Speech(start=0.5, duration=2.0, text="he was not an ill disposed young man", speaker="radio"),
            Sound(start=3.0, duration=1.0, label="Crow", synth="chirp", score=0.8),
            Speech(start=5.0, duration=1.5, text="what is the capital of France?",
                   expects=(Expect(task="answer", within=2.0),)),
        ),
        tail=3.0,
    )
    trace = run_simulation(scene).trace
    assert len(trace.of_type(ReplyStarted)) == 1
    text = summarize(trace, scene)
    assert text.startswith("summary: 1 of 1 user turn answered, 0 sound warnings, 0 replies cut off by the user")
    assert '  ignored  "he was not an ill disposed young man" (radio, not said to the assistant)' in text
    assert "  ignored  sounds Crow 0.80 (no decision acted on them)" in text
    assert '"what is the capital of France?" -> "Here is my answer to that."\n' in f"{text}\n"


def test_an_empty_session_says_so() -> None:
    scene = Scene(tasks=(), segments=(Sound(start=0.5, duration=1.0, label="Door", synth="noise"),), tail=1.0)
    text = summarize(run_simulation(scene).trace, scene)
    assert text.splitlines()[0] == "summary: 0 of 0 user turns answered, 0 sound warnings, 0 replies cut off by the user"
    with pytest.raises(StopIteration):
        next(line for line in text.splitlines() if line.startswith("latency"))
