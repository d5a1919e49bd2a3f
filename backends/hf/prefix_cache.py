"""The standing part of a chat prompt, run through the model once and reused by every reply.

Each reply's prompt starts with the same messages (persona, facts, tasks); only the last
message (the words being answered) and the generation prompt change. :class:`PrefixCache`
keeps the attention keys and values of that standing prefix, computed the first time it is
seen (and again whenever it changes), and hands each reply its own copy to generate from, so
a reply's first token costs a forward pass over its own words only. Replies written ahead and
replies in flight may run at once in different threads: the one cache entry is guarded by a
lock, and every reply gets a private copy.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import attrs

from audiointeract.errors import BackendUnavailable

try:
    import torch
    from transformers import DynamicCache
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise BackendUnavailable("prefix cache", "transformers", _exc.name or "transformers") from _exc

__all__ = ["CachedPrompt", "PrefixCache"]


@attrs.frozen
class CachedPrompt:
    """A reply's prompt: the token ids to generate from and, if its prefix is cached, a copy of that cache."""

    input_ids: torch.Tensor
    cache: Any | None
    cached_tokens: int


class PrefixCache:
    """Keys and values of one standing prompt prefix for ``model`` (the latest one seen)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._lock = threading.Lock()
        self._ids: torch.Tensor | None = None
        self._cache: Any | None = None

    def prompt(self, input_ids: torch.Tensor, prefix_ids: torch.Tensor) -> CachedPrompt:
        """The prompt ``input_ids`` (shape ``(1, n)``), generating from the cached ``prefix_ids`` when they start it.

        Call from the generation thread, under the model's thread budget and inference mode:
        a new prefix runs through the model here. A prefix that does not start the prompt
        (a chat template that renders the standing messages differently on their own), or
        that leaves nothing of the prompt to run, is not used.
        """
        length = prefix_ids.shape[-1]
        if not 0 < length < input_ids.shape[-1] or not torch.equal(input_ids[0, :length], prefix_ids[0]):
            return CachedPrompt(input_ids=input_ids, cache=None, cached_tokens=0)
        with self._lock:
            if self._ids is None or not torch.equal(self._ids, prefix_ids):
                cache = DynamicCache(config=self._model.config)
                self._model(input_ids=prefix_ids, cache=cache, use_cache=True)
                self._ids, self._cache = prefix_ids, cache
            own = copy.deepcopy(self._cache)
        return CachedPrompt(input_ids=input_ids, cache=own, cached_tokens=length)
