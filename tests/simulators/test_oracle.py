"""Oracle perceptions: what a perfect perceiver reports, and when."""

from __future__ import annotations

import itertools

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import SoundEvent, SpeechActivity, StandingTask, TranscriptUpdate
from audiointeract.simulators import Scene, Silence, Sound, Speech, oracle_perceptions, word_timings

TASKS = [StandingTask(name="answer", instruction="a")]


def test_speech_gives_start_transcript_end() -> None:
    scene = Scene(segments=[Speech(start=1.0, duration=2.0, text="where is it?"), Silence(start=3, duration=1)],
                  tasks=TASKS)
    start, transcript, end = oracle_perceptions(scene)
    assert isinstance(start, SpeechActivity)
    assert start.speaking
    assert start.span_end == 1.0
    assert isinstance(transcript, TranscriptUpdate)
    assert transcript.committed == "where is it?"
    assert (transcript.span_start, transcript.span_end) == (1.0, 3.0)
    assert isinstance(end, SpeechActivity)
    assert not end.speaking
    assert end.span_end == 3.0


def test_word_timings_cover_the_span_in_order() -> None:
    words = word_timings("a bb ccc", 1.0, 2.0)
    assert [w.text for w in words] == ["a", "bb", "ccc"]
    assert words[0].start == 1.0
    assert words[-1].end == pytest.approx(2.0)
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(words))
    assert words[2].end - words[2].start > words[0].end - words[0].start


def test_sound_events_whole_or_per_hop() -> None:
    scene = Scene(segments=[Sound(start=1.0, duration=2.5, label="Alarm", score=0.8)], tasks=TASKS)
    (whole,) = oracle_perceptions(scene)
    assert isinstance(whole, SoundEvent)
    assert (whole.span_start, whole.span_end, whole.label, whole.score) == (1.0, 3.5, "Alarm", 0.8)
    hops = oracle_perceptions(scene, sound_hop=1.0)
    assert [(p.span_start, p.span_end) for p in hops] == [(1.0, 2.0), (2.0, 3.0), (3.0, 3.5)]
    with pytest.raises(ConfigurationError):
        oracle_perceptions(scene, sound_hop=0.0)


def test_sorted_by_span_end() -> None:
    scene = Scene(
        segments=[Speech(start=0.0, duration=3.0, text="long one"), Sound(start=0.5, duration=0.5, label="Door")],
        tasks=TASKS,
    )
    ends = [p.span_end for p in oracle_perceptions(scene)]
    assert ends == sorted(ends)
