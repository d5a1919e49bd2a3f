"""OpenAI-compatible HTTP backends (vLLM, transformers serve, hosted APIs); ``pip install 'audiointeract[vllm]'``."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AudioLMDecider",
    "ChatResponder",
    "ServerConfig",
    "TranscriptionPerceiver",
]

# public name -> module that defines it; imported on first access so this package stays cheap
_LAZY = {
    "ChatResponder": "audiointeract.backends.openai_compat.chat",
    "TranscriptionPerceiver": "audiointeract.backends.openai_compat.transcription",
    "AudioLMDecider": "audiointeract.backends.openai_compat.decider",
    "ServerConfig": "audiointeract.backends.openai_compat._client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
