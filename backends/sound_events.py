"""Streaming sound-event detection shared by every clip classifier (YAMNet, HF audio classification).

A :class:`WindowedSoundEventPerceiver` keeps a rolling buffer of the stream, cuts it into
fixed windows at a fixed hop (YAMNet: 0.975 s every 0.48 s), asks its model for one score
per label and window, and turns the scores into :class:`~audiointeract.events.SoundEvent`
perceptions with an :class:`EventMerger`: consecutive windows in which a label stays above
the threshold form one event, emitted once, when it starts (span and score = union and max
over the windows of that chunk); the label is emitted again only after it has been absent
for ``release_seconds``. Speech and silence labels are denied by default: the ASR and VAD
report those, and a talker would otherwise keep them firing.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Collection, Sequence

import anyio.to_thread
import numpy as np

from audiointeract.audio import AudioChunk, FloatArray, resample
from audiointeract.errors import AudioFormatError, ConfigurationError
from audiointeract.events import Perception, SoundEvent
from audiointeract.interfaces import Perceiver

__all__ = ["DEFAULT_DENY", "SPEECH_LABELS", "EventMerger", "WindowedSoundEventPerceiver"]

SPEECH_LABELS: frozenset[str] = frozenset({
    "Speech",
    "Child speech, kid speaking",
    "Conversation",
    "Narration, monologue",
    "Babbling",
    "Speech synthesizer",
    "Male speech, man speaking",
    "Female speech, woman speaking",
})
"""AudioSet's speech classes (YAMNet and AST spell them the same way)."""

DEFAULT_DENY: frozenset[str] = SPEECH_LABELS | {"Silence"}
"""Labels never emitted unless the caller passes its own ``deny``."""


class EventMerger:
    """Turns per-window label scores into sound events, one per label onset (pure, no I/O)."""

    def __init__(
        self,
        labels: Sequence[str],
        *,
        threshold: float = 0.5,
        allow: Collection[str] | None = None,
        deny: Collection[str] = DEFAULT_DENY,
        release_seconds: float = 2.0,
        source: str = "",
    ) -> None:
        if not (math.isfinite(threshold) and 0.0 < threshold <= 1.0):
            raise ConfigurationError(f"threshold must be in (0, 1], got {threshold}")
        if not (math.isfinite(release_seconds) and release_seconds >= 0.0):
            raise ConfigurationError(f"release_seconds must be >= 0, got {release_seconds}")
        known = set(labels)
        unknown = sorted(set(allow or ()) - known)
        if unknown:
            raise ConfigurationError(f"allow names labels the model does not have: {unknown}")
        self.labels = tuple(labels)
        self.threshold = threshold
        self.release_seconds = release_seconds
        self._source = source
        wanted = known if allow is None else set(allow)
        self._candidates = np.array(
            [i for i, label in enumerate(self.labels) if label in wanted and label not in set(deny)], dtype=np.int64
        )
        self._last_hot: dict[int, float] = {}  # label index -> end of its last window above threshold

    def reset(self) -> None:
        """Forget which labels are sounding."""
        self._last_hot.clear()

    def update(self, scores: FloatArray, starts: Sequence[float], ends: Sequence[float]) -> list[SoundEvent]:
        """Feed the scores [windows, labels] of consecutive windows; return the events that started."""
        if scores.shape != (len(starts), len(self.labels)) or len(starts) != len(ends):
            raise AudioFormatError(
                f"scores of shape {scores.shape} do not match {len(starts)} windows x {len(self.labels)} labels"
            )
        events: list[SoundEvent] = []
        if not self._candidates.size or not len(starts):
            return events
        hot = scores[:, self._candidates] >= self.threshold
        for column in np.flatnonzero(hot.any(axis=0)):
            label = int(self._candidates[column])
            opened: list[int] = []  # windows of the event opened in this batch, if any
            for row in range(len(starts)):
                last = self._last_hot.get(label)
                if hot[row, column]:
                    if last is None or ends[row] - last > self.release_seconds + 1e-9 or opened:
                        opened.append(row)
                    self._last_hot[label] = ends[row]
                elif last is not None and ends[row] - last > self.release_seconds + 1e-9:
                    del self._last_hot[label]
                    if opened:
                        events.append(self._event(label, scores, opened, starts, ends))
                        opened = []
            if opened:
                events.append(self._event(label, scores, opened, starts, ends))
        for label in [label for label, last in self._last_hot.items() if ends[-1] - last > self.release_seconds + 1e-9]:
            del self._last_hot[label]
        return sorted(events, key=lambda e: (e.span_start, -e.score, e.label))

    def _event(
        self, label: int, scores: FloatArray, rows: list[int], starts: Sequence[float], ends: Sequence[float]
    ) -> SoundEvent:
        score = float(np.clip(scores[rows, label].max(), 0.0, 1.0))
        return SoundEvent(span_start=starts[rows[0]], span_end=ends[rows[-1]], label=self.labels[label],
                          score=score, source=self._source)


class WindowedSoundEventPerceiver(Perceiver):
    """A perceiver that scores fixed windows of the stream and reports sound events.

    Subclasses give the labels, the model's sample rate and window, and implement
    :meth:`score_windows` (blocking; run off the event loop unless ``offload=False``,
    which keeps virtual-time simulations deterministic).
    """

    def __init__(
        self,
        *,
        labels: Sequence[str],
        model_rate: int,
        window_seconds: float,
        hop_seconds: float,
        threshold: float = 0.5,
        allow: Collection[str] | None = None,
        deny: Collection[str] = DEFAULT_DENY,
        release_seconds: float = 2.0,
        offload: bool = True,
    ) -> None:
        if not (math.isfinite(window_seconds) and window_seconds > 0):
            raise ConfigurationError(f"window_seconds must be > 0, got {window_seconds}")
        if not (math.isfinite(hop_seconds) and 0 < hop_seconds <= window_seconds):
            raise ConfigurationError(f"hop_seconds must be in (0, window_seconds], got {hop_seconds}")
        self.merger = EventMerger(labels, threshold=threshold, allow=allow, deny=deny,
                                  release_seconds=release_seconds, source=self.name)
        self.model_rate = model_rate
        self.window_seconds = window_seconds
        self.hop_seconds = hop_seconds
        self.offload = offload
        self._rate: int | None = None
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0  # stream sample index of _buffer[0] (= start of the next window)
        self._scored_until = 0  # stream sample index up to which windows have covered the audio

    @abc.abstractmethod
    def score_windows(self, windows: FloatArray) -> FloatArray:
        """Scores in [0, 1] of shape [N, labels] for windows [N, model window] at ``model_rate``."""

    @property
    def model_window(self) -> int:
        """Samples per window at the model's rate."""
        return round(self.window_seconds * self.model_rate)

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        if self._rate != chunk.sample_rate or chunk.start_sample != self._buffer_start + self._buffer.size:
            # first chunk, or a gap (chunks dropped by the session): start a fresh window grid here
            self._rate = chunk.sample_rate
            self._buffer = np.zeros(0, dtype=np.float32)
            self._buffer_start = self._scored_until = chunk.start_sample
        self._buffer = np.concatenate([self._buffer, chunk.samples])
        window, hop = self._samples(self.window_seconds), self._samples(self.hop_seconds)
        offsets = list(range(0, self._buffer.size - window + 1, hop))
        if not offsets:
            return ()
        windows = np.stack([self._buffer[offset : offset + window] for offset in offsets])
        starts = [self._buffer_start + offset for offset in offsets]
        self._scored_until = starts[-1] + window
        cut = offsets[-1] + hop
        self._buffer_start += cut
        self._buffer = self._buffer[cut:].copy()
        return await self._detect(windows, starts, [start + window for start in starts])

    async def finish(self) -> Sequence[Perception]:
        end = self._buffer_start + self._buffer.size
        if self._rate is None or end <= self._scored_until:
            return ()
        window = np.zeros(self._samples(self.window_seconds), dtype=np.float32)
        window[: self._buffer.size] = self._buffer[: window.size]
        self._scored_until = end
        return await self._detect(window[None, :], [self._buffer_start], [end])

    async def reset(self) -> None:
        self.merger.reset()
        self._rate = None
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = self._scored_until = 0

    def _samples(self, seconds: float) -> int:
        assert self._rate is not None
        return round(seconds * self._rate)

    async def _detect(self, windows: FloatArray, starts: list[int], ends: list[int]) -> list[SoundEvent]:
        if self.offload:
            scores = await anyio.to_thread.run_sync(self._score_at_model_rate, windows)
        else:
            scores = self._score_at_model_rate(windows)
        assert self._rate is not None
        rate = self._rate
        return self.merger.update(scores, [s / rate for s in starts], [e / rate for e in ends])

    def _score_at_model_rate(self, windows: FloatArray) -> FloatArray:
        assert self._rate is not None
        if self._rate != self.model_rate:
            size = self.model_window
            converted = np.zeros((windows.shape[0], size), dtype=np.float32)
            for row, window in enumerate(windows):
                samples = resample(window, self._rate, self.model_rate)[:size]
                converted[row, : samples.size] = samples
            windows = converted
        return self.score_windows(windows)
