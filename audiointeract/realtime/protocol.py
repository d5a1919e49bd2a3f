"""The client half of the OpenAI Realtime protocol (GA event names), sans-IO.

:func:`parse_client_event` turns one JSON text message into a typed command, or raises
:class:`ProtocolError` naming the problem (it becomes an ``error`` event; the connection
stays open). :class:`SessionSettings` is what ``session.update`` configures, validated
field by field; fields we do not honour are accepted and left out of ``session.updated``,
so clients written for the hosted API connect unchanged. Nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs
import numpy as np

from audiointeract.config import DEFAULT_TASKS
from audiointeract.errors import AudioInteractError, ConfigurationError
from audiointeract.events import StandingTask
from audiointeract.realtime.source import PcmBlock

__all__ = [
    "CLIENT_EVENTS",
    "SUPPORTED_RATES",
    "AppendAudio",
    "CancelResponse",
    "ClearAudio",
    "ClientCommand",
    "CommitAudio",
    "CreateResponse",
    "ProtocolError",
    "SessionSettings",
    "TurnDetection",
    "UpdateSession",
    "parse_client_event",
]

SUPPORTED_RATES = (16000, 24000)
MAX_INSTRUCTIONS = 20_000

CLIENT_EVENTS = frozenset({
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "response.create",
    "response.cancel",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "output_audio_buffer.clear",
})
"""Every client event of the GA Realtime API; the first six are implemented."""


class ProtocolError(AudioInteractError, ValueError):
    """A client event we cannot act on; it is answered with an ``error`` event.

    ``code`` is a stable machine-readable name (see the server protocol docs), ``param``
    the offending field, ``event_id`` the client's id of the event.
    """

    def __init__(
        self, message: str, *, code: str, param: str | None = None, event_id: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.param = param
        self.event_id = event_id
        self.kind = kind


# --------------------------------------------------------------------------- commands


@attrs.frozen(kw_only=True)
class UpdateSession:
    """``session.update``: the ``session`` object, applied with :meth:`SessionSettings.updated`."""

    event_id: str | None
    session: Mapping[str, Any]


@attrs.frozen(kw_only=True, eq=False)
class AppendAudio:
    """``input_audio_buffer.append``: decoded PCM16 samples (at the session's input rate)."""

    event_id: str | None
    samples: PcmBlock


@attrs.frozen(kw_only=True)
class CommitAudio:
    """``input_audio_buffer.commit``: what was appended so far is the user's turn."""

    event_id: str | None


@attrs.frozen(kw_only=True)
class ClearAudio:
    """``input_audio_buffer.clear``: drop the audio not heard yet."""

    event_id: str | None


@attrs.frozen(kw_only=True)
class CreateResponse:
    """``response.create``: reply now; ``instructions`` replace the session's for this reply."""

    event_id: str | None
    instructions: str | None = None


@attrs.frozen(kw_only=True)
class CancelResponse:
    """``response.cancel``: stop the reply in flight (``response_id``: only if it is that one)."""

    event_id: str | None
    response_id: str | None = None


ClientCommand: TypeAlias = UpdateSession | AppendAudio | CommitAudio | ClearAudio | CreateResponse | CancelResponse


def parse_client_event(message: str | bytes) -> ClientCommand:
    """Parse one client message; raise :class:`ProtocolError` for anything we cannot act on."""
    if isinstance(message, bytes):
        raise ProtocolError("binary frames are not part of the protocol; send JSON text frames",
                            code="binary_not_supported")
    try:
        data = json.loads(message)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"the message is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise ProtocolError(f"a client event is a JSON object, got {type(data).__name__}", code="invalid_json")
    event_id = data.get("event_id")
    if event_id is not None and not isinstance(event_id, str):
        raise ProtocolError("event_id must be a string", code="invalid_event", param="event_id")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("the event has no string 'type'", code="invalid_event", param="type", event_id=event_id)
    if kind == "session.update":
        session = data.get("session")
        if not isinstance(session, dict):
            raise ProtocolError("session.update needs a 'session' object", code="invalid_event", param="session",
                                event_id=event_id)
        return UpdateSession(event_id=event_id, session=session)
    if kind == "input_audio_buffer.append":
        return AppendAudio(event_id=event_id, samples=_decode_audio(data.get("audio"), event_id))
    if kind == "input_audio_buffer.commit":
        return CommitAudio(event_id=event_id)
    if kind == "input_audio_buffer.clear":
        return ClearAudio(event_id=event_id)
    if kind == "response.create":
        response = _optional_object(data, "response", event_id)
        instructions = _optional_str(response, "instructions", "response.instructions", event_id)
        return CreateResponse(event_id=event_id, instructions=instructions)
    if kind == "response.cancel":
        response_id = _optional_str(data, "response_id", "response_id", event_id)
        return CancelResponse(event_id=event_id, response_id=response_id)
    if kind in CLIENT_EVENTS:
        raise ProtocolError(f"{kind!r} is a Realtime API event this server does not implement",
                            code="unsupported_event", param="type", event_id=event_id)
    raise ProtocolError(f"unknown event type {kind!r}", code="unknown_event", param="type", event_id=event_id)


def _decode_audio(value: object, event_id: str | None) -> PcmBlock:
    if not isinstance(value, str):
        raise ProtocolError("input_audio_buffer.append needs 'audio', a base64 string", code="invalid_event",
                            param="audio", event_id=event_id)
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(f"'audio' is not valid base64: {exc}", code="invalid_audio", param="audio",
                            event_id=event_id) from exc
    if len(raw) % 2:
        raise ProtocolError(f"'audio' holds {len(raw)} bytes; PCM16 needs an even number", code="invalid_audio",
                            param="audio", event_id=event_id)
    return np.frombuffer(raw, dtype="<i2").astype(np.int16, copy=False)


def _optional_object(data: Mapping[str, Any], key: str, event_id: str | None) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError(f"{key!r} must be an object", code="invalid_event", param=key, event_id=event_id)
    return value


def _optional_str(data: Mapping[str, Any], key: str, param: str, event_id: str | None) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ProtocolError(f"{param!r} must be a string", code="invalid_value", param=param, event_id=event_id)
    return value


# --------------------------------------------------------------------------- session settings


@attrs.frozen(kw_only=True)
class TurnDetection:
    """Server-side turn detection: the session's own perceiver and decider take turns.

    ``create_response``: the decider's RESPOND starts replies; ``interrupt_response``: its
    INTERRUPT (barge-in) cancels them. The VAD tuning fields of the hosted API are accepted
    and ignored: the perceiver's own settings apply.
    """

    kind: str = attrs.field(default="server_vad", validator=attrs.validators.in_(("server_vad", "semantic_vad")))
    create_response: bool = True
    interrupt_response: bool = True

    def to_wire(self) -> dict[str, Any]:
        """The ``turn_detection`` object of ``session.updated``."""
        return {"type": self.kind, "create_response": self.create_response,
                "interrupt_response": self.interrupt_response}


@attrs.frozen(kw_only=True)
class SessionSettings:
    """What a connection's client configured; every field is honoured (see the protocol docs)."""

    model: str = "audiointeract"
    instructions: str | None = None
    tasks: tuple[StandingTask, ...] = DEFAULT_TASKS
    turn_detection: TurnDetection | None = attrs.field(factory=TurnDetection)
    input_rate: int = 24000
    output_rate: int = 24000
    output_modalities: tuple[str, ...] = ("audio",)
    decisions: bool = True
    """Send the ``audiointeract.decision`` extension events."""

    @property
    def speaks(self) -> bool:
        """Whether replies carry audio (``output_modalities`` holds "audio")."""
        return "audio" in self.output_modalities

    def updated(self, session: Mapping[str, Any], *, started: bool, event_id: str | None = None) -> SessionSettings:
        """These settings with a ``session.update``'s ``session`` object applied (all or nothing)."""
        changes: dict[str, Any] = {}
        kind = session.get("type", "realtime")
        if kind != "realtime":
            raise ProtocolError(f"session type {kind!r} is not supported; use 'realtime'", code="invalid_value",
                                param="session.type", event_id=event_id)
        if "model" in session:
            changes["model"] = _text(session["model"], "session.model", event_id)
        if "instructions" in session:
            instructions = session["instructions"]
            if instructions is not None:
                instructions = _text(instructions, "session.instructions", event_id, limit=MAX_INSTRUCTIONS)
            changes["instructions"] = instructions or None
        if "output_modalities" in session:
            changes["output_modalities"] = _modalities(session["output_modalities"], event_id)
        audio = _mapping(session, "audio", "session.audio", event_id)
        audio_in = _mapping(audio, "input", "session.audio.input", event_id)
        audio_out = _mapping(audio, "output", "session.audio.output", event_id)
        if "format" in audio_in:
            changes["input_rate"] = _rate(audio_in["format"], "session.audio.input.format", event_id)
        if "format" in audio_out:
            changes["output_rate"] = _rate(audio_out["format"], "session.audio.output.format", event_id)
        if "turn_detection" in audio_in:
            changes["turn_detection"] = _turn_detection(audio_in["turn_detection"], event_id)
        extension = _mapping(session, "audiointeract", "session.audiointeract", event_id)
        if "decisions" in extension:
            decisions = extension["decisions"]
            if not isinstance(decisions, bool):
                raise ProtocolError("session.audiointeract.decisions must be true or false", code="invalid_value",
                                    param="session.audiointeract.decisions", event_id=event_id)
            changes["decisions"] = decisions
        if "tasks" in extension:
            if started:
                raise ProtocolError(
                    "standing tasks are fixed once the session has started; set them in the first session.update "
                    "(or reconnect)", code="session_started", param="session.audiointeract.tasks", event_id=event_id)
            changes["tasks"] = _tasks(extension["tasks"], event_id)
        return attrs.evolve(self, **changes)

    def to_wire(self, session_id: str) -> dict[str, Any]:
        """The ``session`` object of ``session.created`` / ``session.updated``."""
        return {
            "type": "realtime",
            "object": "realtime.session",
            "id": session_id,
            "model": self.model,
            "instructions": self.instructions or "",
            "output_modalities": list(self.output_modalities),
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": self.input_rate},
                    "turn_detection": None if self.turn_detection is None else self.turn_detection.to_wire(),
                },
                "output": {"format": {"type": "audio/pcm", "rate": self.output_rate}},
            },
            "audiointeract": {
                "tasks": [
                    {"name": t.name, "instruction": t.instruction, "proactive": t.proactive, "priority": t.priority}
                    for t in self.tasks
                ],
                "decisions": self.decisions,
            },
        }


def _invalid(message: str, param: str, event_id: str | None) -> ProtocolError:
    return ProtocolError(message, code="invalid_value", param=param, event_id=event_id)


def _text(value: object, param: str, event_id: str | None, *, limit: int = 200) -> str:
    if not isinstance(value, str):
        raise _invalid(f"{param} must be a string", param, event_id)
    if len(value) > limit:
        raise _invalid(f"{param} is {len(value)} characters long; the limit is {limit}", param, event_id)
    return value


def _mapping(data: Mapping[str, Any], key: str, param: str, event_id: str | None) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(f"{param} must be an object", param, event_id)
    return value


def _modalities(value: object, event_id: str | None) -> tuple[str, ...]:
    param = "session.output_modalities"
    if not isinstance(value, list) or not value or any(item not in ("audio", "text") for item in value):
        raise _invalid(f'{param} must be ["audio"] or ["text"], got {value!r}', param, event_id)
    return tuple(dict.fromkeys(value))


def _rate(value: object, param: str, event_id: str | None) -> int:
    if value == "pcm16":  # the beta name: 24 kHz PCM16
        return 24000
    if not isinstance(value, dict):
        raise _invalid(f'{param} must be {{"type": "audio/pcm", "rate": 24000 or 16000}}', param, event_id)
    kind = value.get("type", "audio/pcm")
    if kind != "audio/pcm":
        raise _invalid(f"{param}.type {kind!r} is not supported; use 'audio/pcm' (PCM16 mono)", f"{param}.type",
                       event_id)
    rate = value.get("rate", 24000)
    if rate not in SUPPORTED_RATES or isinstance(rate, bool):
        raise _invalid(f"{param}.rate {rate!r} is not supported; use 24000 or 16000", f"{param}.rate", event_id)
    return int(rate)


def _turn_detection(value: object, event_id: str | None) -> TurnDetection | None:
    param = "session.audio.input.turn_detection"
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid(f"{param} must be an object or null", param, event_id)
    kind = value.get("type", "server_vad")
    if kind not in ("server_vad", "semantic_vad"):
        raise _invalid(f"{param}.type must be 'server_vad' or 'semantic_vad', got {kind!r}", f"{param}.type", event_id)
    flags: dict[str, bool] = {}
    for key in ("create_response", "interrupt_response"):
        flag = value.get(key, True)
        if not isinstance(flag, bool):
            raise _invalid(f"{param}.{key} must be true or false", f"{param}.{key}", event_id)
        flags[key] = flag
    return TurnDetection(kind=kind, **flags)


def _tasks(value: object, event_id: str | None) -> tuple[StandingTask, ...]:
    param = "session.audiointeract.tasks"
    if not isinstance(value, list) or not value:
        raise _invalid(f"{param} must be a non-empty list of {{name, instruction, proactive}}", param, event_id)
    tasks = []
    for index, item in enumerate(value):
        where = f"{param}[{index}]"
        if not isinstance(item, dict):
            raise _invalid(f"{where} must be an object", where, event_id)
        unknown = set(item) - {"name", "instruction", "proactive", "priority"}
        if unknown:
            raise _invalid(f"{where} has unknown field(s) {sorted(unknown)}", where, event_id)
        try:
            tasks.append(StandingTask(
                name=_text(item.get("name"), f"{where}.name", event_id),
                instruction=_text(item.get("instruction"), f"{where}.instruction", event_id, limit=2000),
                proactive=_flag(item.get("proactive", False), f"{where}.proactive", event_id),
                priority=_integer(item.get("priority", 0), f"{where}.priority", event_id),
            ))
        except ConfigurationError as exc:
            raise _invalid(f"{where}: {exc}", where, event_id) from exc
    names = [task.name for task in tasks]
    if len(set(names)) != len(names):
        raise _invalid(f"{param} names must be unique, got {names}", param, event_id)
    return tuple(tasks)


def _flag(value: object, param: str, event_id: str | None) -> bool:
    if not isinstance(value, bool):
        raise _invalid(f"{param} must be true or false", param, event_id)
    return value


def _integer(value: object, param: str, event_id: str | None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid(f"{param} must be an integer", param, event_id)
    return value
