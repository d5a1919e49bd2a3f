"""OpenAI-compatible HTTP backends (vLLM, transformers serve, hosted APIs); ``pip install 'audiointeract[vllm]'``."""

from __future__ import annotations

from audiointeract._lazy import lazy_exports

__all__ = [
    "AudioLMDecider",
    "ChatResponder",
    "ServerConfig",
    "TranscriptionPerceiver",
    "TranscriptionStatistics",
]

# public name -> module that defines it; imported on first access so this package stays cheap
_LAZY = {
    "ChatResponder": "audiointeract.backends.openai_compat.chat",
    "TranscriptionPerceiver": "audiointeract.backends.openai_compat.transcription",
    "TranscriptionStatistics": "audiointeract.backends.openai_compat.transcription",
    "AudioLMDecider": "audiointeract.backends.openai_compat.decider",
    "ServerConfig": "audiointeract.backends.openai_compat._client",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
