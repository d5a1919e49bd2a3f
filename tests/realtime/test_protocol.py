"""Client events in: every supported event parses; everything else is a ProtocolError with a stable code."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from audiointeract.realtime.protocol import (
    AppendAudio,
    CancelResponse,
    ClearAudio,
    CommitAudio,
    CreateResponse,
    ProtocolError,
    SessionSettings,
    TurnDetection,
    UpdateSession,
    parse_client_event,
)


def event(kind: str, **fields: object) -> str:
    return json.dumps({"type": kind, **fields})


def test_each_supported_event_parses() -> None:
    pcm = np.array([0, 1000, -1000, 32767], dtype="<i2")
    append = parse_client_event(event("input_audio_buffer.append", event_id="e1",
                                      audio=base64.b64encode(pcm.tobytes()).decode()))
    assert isinstance(append, AppendAudio)
    assert append.event_id == "e1"
    assert append.samples.tolist() == pcm.tolist()
    assert isinstance(parse_client_event(event("input_audio_buffer.commit")), CommitAudio)
    assert isinstance(parse_client_event(event("input_audio_buffer.clear")), ClearAudio)
    update = parse_client_event(event("session.update", session={"instructions": "Be brief."}))
    assert isinstance(update, UpdateSession)
    assert update.session == {"instructions": "Be brief."}
    create = parse_client_event(event("response.create", response={"instructions": "Say hi."}))
    assert create == CreateResponse(event_id=None, instructions="Say hi.")
    assert parse_client_event(event("response.create")) == CreateResponse(event_id=None)
    assert parse_client_event(event("response.cancel", response_id="resp_1")) == CancelResponse(
        event_id=None, response_id="resp_1")


@pytest.mark.parametrize(
    ("message", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ("[1, 2]", "invalid_json", None),
        (b"\x00\x01", "binary_not_supported", None),
        (json.dumps({"event_id": "x"}), "invalid_event", "type"),
        (event("session.update", session="instructions"), "invalid_event", "session"),
        (event("nonsense.event"), "unknown_event", "type"),
        (event("conversation.item.create", item={}), "unsupported_event", "type"),
        (event("input_audio_buffer.append"), "invalid_event", "audio"),
        (event("input_audio_buffer.append", audio="not base64!"), "invalid_audio", "audio"),
        (event("input_audio_buffer.append", audio=base64.b64encode(b"\x01\x02\x03").decode()), "invalid_audio",
         "audio"),
        (event("response.create", response={"instructions": 3}), "invalid_value", "response.instructions"),
        (event("response.cancel", response_id=7), "invalid_value", "response_id"),
    ],
)
def test_bad_client_events_are_named(message: str | bytes, code: str, param: str | None) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_event(message)
    assert caught.value.code == code
    assert caught.value.param == param
    assert str(caught.value)


def test_the_client_event_id_is_kept_on_errors() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_event(event("input_audio_buffer.append", event_id="mine", audio="@@@"))
    assert caught.value.event_id == "mine"


def test_session_update_honours_each_field() -> None:
    settings = SessionSettings().updated({
        "type": "realtime",
        "model": "gpt-realtime",
        "instructions": "You are a cook.",
        "output_modalities": ["text"],
        "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": 16000},
                      "turn_detection": {"type": "semantic_vad", "create_response": False, "eagerness": "low"}},
            "output": {"format": {"type": "audio/pcm", "rate": 16000}, "voice": "alloy"},
        },
        "tools": [{"type": "function", "name": "ignored"}],
        "audiointeract": {"decisions": False,
                          "tasks": [{"name": "alarm", "instruction": "Warn me about alarms.", "proactive": True}]},
    }, started=False)
    assert settings.model == "gpt-realtime"
    assert settings.instructions == "You are a cook."
    assert settings.output_modalities == ("text",)
    assert not settings.speaks
    assert (settings.input_rate, settings.output_rate) == (16000, 16000)
    assert settings.turn_detection == TurnDetection(kind="semantic_vad", create_response=False,
                                                    interrupt_response=True)
    assert not settings.decisions
    assert [(t.name, t.proactive) for t in settings.tasks] == [("alarm", True)]
    wire = settings.to_wire("sess_1")
    assert wire["audio"]["input"]["turn_detection"]["create_response"] is False
    assert "tools" not in wire


def test_turn_detection_off_and_beta_format_name() -> None:
    settings = SessionSettings().updated({"audio": {"input": {"turn_detection": None, "format": "pcm16"}}},
                                         started=True)
    assert settings.turn_detection is None
    assert settings.input_rate == 24000
    assert settings.to_wire("s")["audio"]["input"]["turn_detection"] is None


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"type": "transcription"}, "session.type"),
        ({"instructions": 5}, "session.instructions"),
        ({"instructions": "x" * 20_001}, "session.instructions"),
        ({"output_modalities": ["video"]}, "session.output_modalities"),
        ({"output_modalities": []}, "session.output_modalities"),
        ({"audio": {"input": {"format": {"type": "audio/pcmu"}}}}, "session.audio.input.format.type"),
        ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 44100}}}}, "session.audio.input.format.rate"),
        ({"audio": {"output": {"format": {"type": "audio/pcm", "rate": True}}}}, "session.audio.output.format.rate"),
        ({"audio": {"input": {"turn_detection": {"type": "push_to_talk"}}}}, "session.audio.input.turn_detection.type"),
        ({"audio": {"input": {"turn_detection": {"create_response": "yes"}}}},
         "session.audio.input.turn_detection.create_response"),
        ({"audio": "loud"}, "session.audio"),
        ({"audiointeract": {"decisions": "all"}}, "session.audiointeract.decisions"),
        ({"audiointeract": {"tasks": []}}, "session.audiointeract.tasks"),
        ({"audiointeract": {"tasks": [{"name": "bad name!", "instruction": "x"}]}}, "session.audiointeract.tasks[0]"),
        ({"audiointeract": {"tasks": [{"name": "a", "instruction": "x", "when": 1}]}},
         "session.audiointeract.tasks[0]"),
        ({"audiointeract": {"tasks": [{"name": "a", "instruction": "x"}, {"name": "a", "instruction": "y"}]}},
         "session.audiointeract.tasks"),
    ],
)
def test_bad_session_updates_change_nothing(session: dict[str, object], param: str) -> None:
    settings = SessionSettings()
    with pytest.raises(ProtocolError) as caught:
        settings.updated({**session, "instructions": "ok"} if "instructions" not in session else session,
                         started=False, event_id="u1")
    assert caught.value.param == param
    assert caught.value.code == "invalid_value"
    assert caught.value.event_id == "u1"
    assert settings == SessionSettings()


def test_tasks_are_fixed_once_the_session_started() -> None:
    with pytest.raises(ProtocolError) as caught:
        SessionSettings().updated({"audiointeract": {"tasks": [{"name": "a", "instruction": "x"}]}}, started=True)
    assert caught.value.code == "session_started"
    # everything else may still change
    assert SessionSettings().updated({"instructions": "later"}, started=True).instructions == "later"
