from __future__ import annotations

import math

import numpy as np
import pytest

from audiointeract.errors import AudioFormatError, ConfigurationError
from audiointeract.events import (
    Action,
    AudioDelta,
    AudioReceived,
    BackendErrorEvent,
    ChunkDropped,
    Decision,
    DecisionIgnored,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    SessionEnded,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    TranscriptUpdate,
    Turn,
    Word,
    event_from_dict,
    event_to_dict,
)


def test_perception_span_must_be_ordered_and_finite() -> None:
    with pytest.raises(ConfigurationError, match="span"):
        SpeechActivity(span_start=2.0, span_end=1.0, speaking=True)
    with pytest.raises(ConfigurationError, match="finite"):
        SpeechActivity(span_start=0.0, span_end=math.nan, speaking=True)
    with pytest.raises(ConfigurationError, match="span"):
        SpeechActivity(span_start=-1.0, span_end=1.0, speaking=True)


@pytest.mark.parametrize("score", [math.nan, -0.1, 1.5, math.inf])
def test_sound_event_score_must_be_a_probability(score: float) -> None:
    with pytest.raises(ConfigurationError, match="score"):
        SoundEvent(span_start=0, span_end=1, label="Siren", score=score)


def test_sound_event_label_must_not_be_empty() -> None:
    with pytest.raises(ConfigurationError, match="label"):
        SoundEvent(span_start=0, span_end=1, label="  ", score=0.5)


def test_decision_converts_action_strings_and_validates_score() -> None:
    decision = Decision(action="respond", task="answer")  # type: ignore[arg-type]
    assert decision.action is Action.RESPOND
    with pytest.raises(ConfigurationError):
        Decision(action=Action.RESPOND, score=math.nan)
    with pytest.raises(ValueError, match="'talk' is not a valid Action"):
        Decision(action="talk")  # type: ignore[arg-type]


def test_task_names_are_identifiers() -> None:
    with pytest.raises(ConfigurationError, match="task name"):
        StandingTask(name="warn me!", instruction="x")


def test_audio_delta_rejects_nan_and_wrong_dtype() -> None:
    with pytest.raises(AudioFormatError, match="NaN"):
        AudioDelta(samples=np.array([np.nan], np.float32), sample_rate=16000)
    with pytest.raises(AudioFormatError, match="float32"):
        AudioDelta(samples=np.zeros(4, np.int16), sample_rate=16000)
    assert AudioDelta(samples=np.zeros(800, np.float32), sample_rate=16000).duration == 0.05


EVERY_EVENT = [
    SpeechActivity(span_start=0.1, span_end=0.5, speaking=True, probability=0.9, emitted_at=0.8, source="vad"),
    TranscriptUpdate(span_start=0.5, span_end=1.5, committed="hello there", tentative="how",
                     words=(Word(text="hello", start=0.5, end=0.9), Word(text="there", start=1.0, end=1.4))),
    SoundEvent(span_start=2.0, span_end=2.96, label="Smoke detector, smoke alarm", score=0.81),
    Decision(action=Action.RESPOND, task="answer", score=0.7, reason="turn end", id=3, decided_at=1.9,
             heard_until=1.6, evidence=(SpeechActivity(span_start=1.5, span_end=1.6, speaking=False),)),
    AudioReceived(index=0, span_start=0.0, span_end=0.4, at=0.4),
    ChunkDropped(index=4, span_start=1.6, span_end=2.0, at=2.0, reason="full"),
    DecisionIgnored(decision_id=3, action=Action.RESPOND, reason="cooldown", at=2.0),
    ReplyStarted(reply_id=0, decision_id=3, task="answer", at=2.0),
    ReplyText(reply_id=0, text="Hi", at=2.2),
    ReplyAudio(reply_id=0, play_at=2.3, duration=0.1, sample_rate=22050, at=2.3),
    ReplyFinished(reply_id=0, text="Hi", at=2.5, first_output_at=2.2, deltas=2),
    ReplyCancelled(reply_id=1, reason="barge-in", requested_at=3.0, carried_out_at=3.05, decision_id=7),
    ReplyFailed(reply_id=2, error_type="BackendError", message="boom", at=4.0),
    BackendErrorEvent(component="perceiver", error_type="BackendError", message="x", retryable=True, attempt=1,
                      handling="retry", at=1.0),
    SessionEnded(reason="source_exhausted", heard_until=5.0, at=5.2),
    StandingTask(name="alarm", instruction="warn me", proactive=True, priority=2),
    Turn(role="user", text="hi"),
]


@pytest.mark.parametrize("event", EVERY_EVENT, ids=lambda e: type(e).__name__)
def test_every_event_round_trips_through_dicts(event: object) -> None:
    assert event_from_dict(event_to_dict(event)) == event


def test_reply_audio_samples_are_left_out_of_traces() -> None:
    event = ReplyAudio(reply_id=0, play_at=0, duration=0.1, sample_rate=16000, at=0,
                       samples=np.zeros(1600, np.float32))
    assert "samples" not in event_to_dict(event)


def test_unknown_or_malformed_event_dicts_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="unknown event kind 'nope'"):
        event_from_dict({"kind": "nope"})
    with pytest.raises(ConfigurationError, match="malformed 'reply_text'"):
        event_from_dict({"kind": "reply_text", "reply_id": 0})
