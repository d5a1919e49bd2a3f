"""Decision policies (Deciders): rules, semantic triggers, rate controls, and the learned policy."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BackchannelPolicy",
    "CompositePolicy",
    "EndpointingPolicy",
    "InterruptPolicy",
    "KeywordPolicy",
    "LearnedDecider",
    "RateControlled",
    "SemanticPolicy",
    "SoundEventPolicy",
    "default_policy",
]

# public name -> module that defines it; imported on first access so this package stays cheap
_LAZY = {
    "EndpointingPolicy": "audiointeract.policies.endpointing",
    "KeywordPolicy": "audiointeract.policies.keyword",
    "SoundEventPolicy": "audiointeract.policies.sound_events",
    "SemanticPolicy": "audiointeract.policies.semantic",
    "CompositePolicy": "audiointeract.policies.composite",
    "RateControlled": "audiointeract.policies.rate",
    "default_policy": "audiointeract.policies.default",
    "LearnedDecider": "audiointeract.policies.learned",
    "InterruptPolicy": "audiointeract.policies.barge_in",
    "BackchannelPolicy": "audiointeract.policies.backchannel",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
