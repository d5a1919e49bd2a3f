"""Session events out: the translator's server events, validated against the official openai types."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
from realtime.wire import check_server_event

from audiointeract.events import (
    Action,
    BackchannelEnded,
    BackchannelStarted,
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
    TranscriptUpdate,
)
from audiointeract.realtime.controls import CLIENT_CANCEL, CLIENT_CREATE
from audiointeract.realtime.protocol import ProtocolError, SessionSettings
from audiointeract.realtime.source import Timeline
from audiointeract.realtime.translator import Translator


class Feed:
    """A translator and every server event it produced, each checked against the openai types."""

    def __init__(self, settings: SessionSettings | None = None, timeline: Timeline | None = None) -> None:
        self.translator = Translator(session_id="sess_1", settings=settings or SessionSettings(), timeline=timeline)
        self.sent: list[dict[str, Any]] = []
        self.next_decision = 0

    def __call__(self, *events: Any) -> list[dict[str, Any]]:
        out = [message for event in events for message in self.translator.on_event(event)]
        for message in out:
            check_server_event(message)
        self.sent += out
        return out

    def decide(self, action: Action, heard: float, reason: str = "policy", **fields: Any) -> Decision:
        decision = Decision(action=action, reason=reason, id=self.next_decision, decided_at=heard, heard_until=heard,
                            **fields)
        self.next_decision += 1
        return decision


def types(messages: list[dict[str, Any]]) -> list[str]:
    return [m["type"] for m in messages]


def speech(speaking: bool, start: float, end: float) -> SpeechActivity:
    return SpeechActivity(span_start=start, span_end=end, speaking=speaking)


def words(text: str, start: float, end: float) -> TranscriptUpdate:
    return TranscriptUpdate(span_start=start, span_end=end, committed=text)


def test_a_spoken_turn_and_a_spoken_reply() -> None:
    feed = Feed()
    created = feed.translator.session_created()
    check_server_event(created[0])
    assert created[0]["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    out = feed(speech(True, 0.5, 0.8), words("Which folder", 0.5, 1.6), words(" should I save it to?", 1.6, 2.8),
               speech(False, 3.0, 3.4))
    assert types(out) == [
        "input_audio_buffer.speech_started", "conversation.item.added",
        "conversation.item.input_audio_transcription.delta", "conversation.item.input_audio_transcription.delta",
        "input_audio_buffer.speech_stopped", "input_audio_buffer.committed", "conversation.item.done",
        "conversation.item.input_audio_transcription.completed",
    ]
    assert out[0]["audio_start_ms"] == 500
    assert out[4]["audio_end_ms"] == 3400
    user = out[0]["item_id"]
    assert {m.get("item_id") for m in out if "item_id" in m} == {user}
    assert "".join(m["delta"] for m in out if m["type"].endswith("transcription.delta")) == (
        "Which folder should I save it to?")
    assert out[-1]["transcript"] == "Which folder should I save it to?"
    respond = feed.decide(Action.RESPOND, 3.6, "user turn ended", task="answer")
    samples = np.sin(np.linspace(0, 400, 4410)).astype(np.float32) * 0.5
    pieces = [ReplyAudio(reply_id=0, play_at=4.0 + n / 10, duration=0.1, sample_rate=22050, at=4.0, samples=piece)
              for n, piece in enumerate(np.split(samples, 2))]
    out = feed(respond, ReplyStarted(reply_id=0, decision_id=respond.id or 0, task="answer", at=3.7),
               ReplyText(reply_id=0, text="The inbox.", at=3.9), *pieces,
               ReplyFinished(reply_id=0, text="The inbox.", at=4.2))
    assert types(out) == [
        "audiointeract.decision", "response.created", "response.output_item.added", "conversation.item.added",
        "response.content_part.added", "response.output_audio_transcript.delta", "response.output_audio.delta",
        "response.output_audio.delta", "response.output_audio.delta",  # the resampler's tail comes last
        "response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
        "response.output_item.done", "conversation.item.done", "response.done",
    ]
    assert out[0] | {"event_id": None} == {
        "type": "audiointeract.decision", "event_id": None, "decision_id": 0, "action": "respond", "task": "answer",
        "score": 1.0, "reason": "user turn ended", "audio_end_ms": 3600, "evidence": []}
    assert out[3]["previous_item_id"] == user
    pcm = np.concatenate([np.frombuffer(base64.b64decode(m["delta"]), dtype="<i2") for m in out[6:9]])
    assert pcm.size == 4800  # 0.2 s at the 24 kHz output rate, resampled as one stream
    assert np.abs(pcm).max() > 10000
    done = out[-1]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0] == {"type": "output_audio", "transcript": "The inbox."}
    assert done["metadata"] == {"decision_id": "0", "reply_id": "0"}
    assert not feed.translator.response_active
    assert len({m["event_id"] for m in feed.sent}) == len(feed.sent)


@pytest.mark.parametrize(("reason", "expected"), [("user spoke over the reply", "turn_detected"),
                                                  (CLIENT_CANCEL, "client_cancelled")])
def test_a_cancelled_reply_says_who_cancelled_it(reason: str, expected: str) -> None:
    feed = Feed()
    respond = feed.decide(Action.RESPOND, 1.0)
    feed(respond, ReplyStarted(reply_id=0, decision_id=0, task=None, at=1.0), ReplyText(reply_id=0, text="Well", at=1.1))
    interrupt = feed.decide(Action.INTERRUPT, 1.6, reason)
    out = feed(interrupt, ReplyCancelled(reply_id=0, reason="barge-in", requested_at=1.6, carried_out_at=1.65,
                                         decision_id=interrupt.id))
    done = out[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": expected}
    assert done["output"][0]["status"] == "incomplete"
    assert out[-5]["transcript"] == "Well"


def test_a_failed_reply_carries_its_error() -> None:
    feed = Feed(SessionSettings(output_modalities=("text",)))
    feed(feed.decide(Action.RESPOND, 1.0), ReplyStarted(reply_id=0, decision_id=0, task=None, at=1.0))
    out = feed(ReplyText(reply_id=0, text="Hal", at=1.1),
               ReplyFailed(reply_id=0, error_type="BackendError", message="server went away", at=1.2))
    assert types(out)[:2] == ["response.output_text.delta", "response.output_text.done"]
    assert out[-1]["response"]["status_details"]["error"]["message"] == "server went away"
    assert out[-1]["response"]["output_modalities"] == ["text"]


def test_an_acknowledgement_is_a_response_of_its_own() -> None:
    feed = Feed()
    ack = feed(BackchannelStarted(backchannel_id=0, decision_id=4, text="Mm-hm.", at=2.0),
               ReplyAudio(reply_id=0, play_at=2.0, duration=0.1, sample_rate=24000, at=2.0,
                          samples=np.full(2400, 0.2, np.float32), backchannel=True),
               BackchannelEnded(backchannel_id=0, cancelled=False, at=2.1))
    assert types(ack)[:6] == ["response.created", "response.output_item.added", "conversation.item.added",
                              "response.content_part.added", "response.output_audio_transcript.delta",
                              "response.output_audio.delta"]
    assert ack[0]["response"]["metadata"] == {"decision_id": "4", "backchannel_id": "0"}
    assert ack[-1]["response"]["status"] == "completed"
    assert ack[-1]["response"]["output"][0]["content"][0]["transcript"] == "Mm-hm."
    assert not feed.translator.response_active  # response.create is still allowed while it plays


def test_text_only_sessions_get_no_audio() -> None:
    feed = Feed(SessionSettings(output_modalities=("text",)))
    feed(feed.decide(Action.RESPOND, 1.0), ReplyStarted(reply_id=0, decision_id=0, task=None, at=1.0))
    audio = ReplyAudio(reply_id=0, play_at=1.0, duration=0.1, sample_rate=16000, at=1.0,
                       samples=np.zeros(1600, np.float32))
    assert feed(audio) == []


def test_without_turn_detection_the_commit_delimits_the_turn() -> None:
    feed = Feed(SessionSettings(turn_detection=None))
    assert feed(speech(True, 0.2, 0.5)) == []
    out = feed(words("hello there", 0.2, 1.0))
    assert types(out) == ["conversation.item.added", "conversation.item.input_audio_transcription.delta"]
    item = out[0]["item"]["id"]
    committed = feed.translator.committed(1.6)
    assert types(committed) == ["input_audio_buffer.committed"]
    assert committed[0]["item_id"] == item
    # late words of the committed audio still belong to the turn; it completes once that audio was decided on
    assert types(feed(words("again", 1.0, 1.2), feed.decide(Action.SILENT, 1.2))) == [
        "conversation.item.input_audio_transcription.delta", "audiointeract.decision"]
    out = feed(feed.decide(Action.SILENT, 1.6))
    assert types(out) == ["conversation.item.done", "conversation.item.input_audio_transcription.completed",
                          "audiointeract.decision"]
    assert out[1]["transcript"] == "hello there again"


def test_a_commit_with_no_words_still_makes_an_item() -> None:
    feed = Feed(SessionSettings(turn_detection=None))
    out = feed.translator.committed(0.8)
    assert types(out) == ["conversation.item.added", "input_audio_buffer.committed"]
    for message in out:
        check_server_event(message)


def test_decisions_sound_events_and_ignored_decisions_are_extensions() -> None:
    feed = Feed()
    alarm = SoundEvent(span_start=2.0, span_end=2.96, label="Smoke detector, smoke alarm", score=0.81)
    out = feed(alarm, feed.decide(Action.RESPOND, 3.2, "alarm", evidence=(alarm,), score=0.81, task="safety"))
    assert out[0] == {"type": "audiointeract.sound_event", "event_id": out[0]["event_id"],
                      "label": "Smoke detector, smoke alarm", "score": 0.81, "audio_start_ms": 2000,
                      "audio_end_ms": 2960}
    assert out[1]["evidence"] == [{"kind": "sound_event", "audio_start_ms": 2000, "audio_end_ms": 2960,
                                   "label": "Smoke detector, smoke alarm", "score": 0.81}]
    create = feed.decide(Action.RESPOND, 3.6, CLIENT_CREATE)
    out = feed(create, DecisionIgnored(decision_id=create.id or 0, action=Action.RESPOND, reason="reply 0 in flight",
                                       at=3.6))
    assert types(out) == ["audiointeract.decision", "error", "audiointeract.decision.ignored"]
    assert out[1]["error"]["code"] == "response_not_started"
    quiet = Feed(SessionSettings(decisions=False))
    assert quiet(alarm, quiet.decide(Action.SILENT, 3.0)) == []


def test_server_side_problems_are_errors() -> None:
    feed = Feed()
    out = feed(BackendErrorEvent(component="perceiver", error_type="BackendTimeout", message="slow", retryable=True,
                                 attempt=1, handling="retry", at=1.0),
               ChunkDropped(index=3, span_start=1.2, span_end=1.6, at=2.0, reason="chunk queue full (drop_oldest)"),
               words("half a", 1.6, 2.0),
               SessionEnded(reason="failed: decider failed: boom", heard_until=2.0, at=2.1))
    codes = [m["error"]["code"] for m in out if m["type"] == "error"]
    assert codes == ["backend_error", "audio_dropped", "session_failed"]
    assert "perceiver failed (BackendTimeout: slow); handling: retry" in out[0]["error"]["message"]
    assert "conversation.item.input_audio_transcription.completed" in types(out)  # the open turn is closed


def test_client_errors_name_code_param_and_event() -> None:
    feed = Feed()
    message = feed.translator.error(ProtocolError("bad", code="invalid_value", param="session.type", event_id="e9"))
    check_server_event(message)
    assert message["error"] == {"type": "invalid_request_error", "code": "invalid_value", "message": "bad",
                                "param": "session.type", "event_id": "e9"}


def test_times_are_the_clients_across_inserted_silence_and_dropped_audio() -> None:
    timeline = Timeline()
    timeline.record(0.0, 0.0, 1.0, silent=False)
    timeline.record(1.0, 1.0, 2.0, silent=True)  # the client paused for two seconds
    timeline.record(3.0, 4.0, 5.0, silent=False)  # and then a second of its audio was dropped
    feed = Feed(timeline=timeline)
    out = feed(speech(True, 3.5, 3.8), speech(False, 4.5, 5.0))
    assert out[0]["audio_start_ms"] == 4500
    assert out[-4]["audio_end_ms"] == 6000
