"""Check server events against the official ``openai`` package's Realtime types (the judge of the wire format)."""

from __future__ import annotations

import json
import typing
from typing import Any

from openai.types.realtime import RealtimeServerEvent

_MODELS: dict[str, Any] = {}
for _model in typing.get_args(typing.get_args(RealtimeServerEvent)[0]):
    (_kind,) = typing.get_args(_model.model_fields["type"].annotation)
    _MODELS[_kind] = _model

EXTENSIONS = ("audiointeract.decision", "audiointeract.decision.ignored", "audiointeract.sound_event")


def check_server_event(message: dict[str, Any]) -> None:
    """Fail unless ``message`` is JSON and validates as the openai type of its ``type`` (or is one of our extensions)."""
    assert json.loads(json.dumps(message)) == message
    kind = message["type"]
    assert isinstance(message.get("event_id"), str), message
    if kind in EXTENSIONS:
        return
    assert kind in _MODELS, f"{kind!r} is not a Realtime server event"
    _MODELS[kind].model_validate(message)
