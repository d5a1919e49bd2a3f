"""Hugging Face transformers backends (``pip install 'audiointeract[transformers]'``)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AudioClassificationPerceiver",
    "AudioLMDecider",
    "AudioLMPerceiver",
    "TransformersResponder",
    "WhisperPerceiver",
    "default_responder",
]

# public name -> module that defines it; imported on first access so this package stays cheap
_LAZY = {
    "WhisperPerceiver": "audiointeract.backends.hf.whisper",
    "AudioClassificationPerceiver": "audiointeract.backends.hf.audio_classification",
    "AudioLMPerceiver": "audiointeract.backends.hf.audio_lm",
    "AudioLMDecider": "audiointeract.backends.hf.audio_lm",
    "TransformersResponder": "audiointeract.backends.hf.responder",
    "default_responder": "audiointeract.backends.hf.default",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
