"""A ring buffer of the newest session audio, so backends can be handed the last few seconds."""

from __future__ import annotations

from collections import deque

import numpy as np

from audiointeract.audio import AudioChunk, FloatArray

__all__ = ["RecentAudio"]

_EPS = 1e-9


class RecentAudio:
    """Keeps the newest ``horizon`` seconds of chunks; :meth:`window` cuts the last ``seconds`` up to a time.

    The horizon is longer than any window asked for, so a decision point that lags
    behind ingestion still gets its whole window, cut at the audio it was decided on.
    """

    def __init__(self, *, seconds: float, horizon: float, sample_rate: int) -> None:
        self.seconds = seconds
        self._horizon = horizon
        self._size = round(seconds * sample_rate)
        self._chunks: deque[AudioChunk] = deque()

    def add(self, chunk: AudioChunk) -> None:
        """Remember ``chunk`` and forget what fell out of the horizon."""
        if self._size <= 0:
            return
        self._chunks.append(chunk)
        while self._chunks and self._chunks[0].end_time <= chunk.end_time - self._horizon + _EPS:
            self._chunks.popleft()

    def window(self, until: float | None) -> FloatArray | None:
        """The last ``seconds`` of audio ending at or before stream time ``until`` (None: no limit)."""
        if self._size <= 0:
            return None
        wanted = self._size
        picked: list[FloatArray] = []
        for chunk in reversed(self._chunks):  # newest first; stop once the window is full
            if until is not None and chunk.end_time > until + _EPS:
                continue
            picked.append(chunk.samples)
            wanted -= chunk.samples.size
            if wanted <= 0:
                break
        if not picked:
            return None
        return np.concatenate(picked[::-1])[-self._size :]
