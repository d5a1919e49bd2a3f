"""Decision policies (Deciders): rules, semantic triggers, rate controls, and the learned policy."""

from __future__ import annotations

from audiointeract._lazy import lazy_exports

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
    "SoundMeaningPolicy",
    "default_policy",
]

# public name -> module that defines it; imported on first access so this package stays cheap
_LAZY = {
    "EndpointingPolicy": "audiointeract.policies.endpointing",
    "KeywordPolicy": "audiointeract.policies.keyword",
    "SoundEventPolicy": "audiointeract.policies.sound_events",
    "SoundMeaningPolicy": "audiointeract.policies.sound_meaning",
    "SemanticPolicy": "audiointeract.policies.semantic",
    "CompositePolicy": "audiointeract.policies.composite",
    "RateControlled": "audiointeract.policies.rate",
    "default_policy": "audiointeract.policies.default",
    "LearnedDecider": "audiointeract.policies.learned.decider",
    "InterruptPolicy": "audiointeract.policies.barge_in",
    "BackchannelPolicy": "audiointeract.policies.backchannel",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
