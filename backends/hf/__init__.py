"""Hugging Face transformers backends (``pip install 'audiointeract[transformers]'``)."""

from __future__ import annotations

from audiointeract._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
