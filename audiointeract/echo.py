"""Self-speech suppression: the agent's own voice, heard back through the microphone, removed before perception.

With a loudspeaker next to the microphone the agent hears itself: its reply comes back
a little later and quieter, the speech detector takes it for the user, and the reply
stops itself. The session knows exactly what it played and when (each ``ReplyAudio``
block's samples and ``play_at``), so :class:`EchoCanceller` uses that as a reference:

1. **Path.** Over the last ``window`` seconds it finds the echo delay (the peak of the
   phase-transform cross-correlation of microphone and reference, searched from 0 to
   ``max_delay``) and fits a filter of ``filter_seconds`` from just before it (least
   squares, solved on the correlations): the echo as a delayed, filtered copy of what
   was played. A fit becomes the path only if it explains at least half the
   microphone's energy over that window (a filter explains some of any speech by
   chance), and replaces the path in use only if it explains more than that one.
2. **Cancel.** Each chunk gets the reference through that path subtracted; where the
   subtraction would add energy (no echo now: headphones, or a stale path) the chunk
   is left as it was.
3. **Gate.** A 10 ms frame whose energy the echo explains (the subtraction removed at
   least ``gate_db``) is the agent alone and is muted, so the leftover cannot reach
   the speech detector; frames where the user talks keep the cancelled audio.

Pure and synchronous (numpy in, numpy out); stream times are the session's.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import numpy.typing as npt
from scipy.linalg import solve_toeplitz
from scipy.signal import fftconvolve

from audiointeract.audio import FloatArray, resample
from audiointeract.errors import ConfigurationError

__all__ = ["EchoCanceller", "EchoConfig", "EchoPath"]

_Samples = npt.NDArray[np.float64]
_FRAME_SECONDS = 0.01
_SILENT = 1e-10  # mean square below which a signal counts as silent (-100 dBFS)
_RIDGE = 1e-3  # regularisation of the filter fit, relative to the reference power
_PRE_SECONDS = 0.001  # filter length before the correlation peak (fractional delays, band limits)
_MIN_EXPLAINED = 0.5  # a fitted filter explains up to ~30 % of speech that is no echo at all (headphones): not a path


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be > 0, got {value}")


@attrs.frozen(kw_only=True)
class EchoConfig:
    """How the session removes the agent's own voice from the microphone (see :mod:`audiointeract.echo`)."""

    max_delay: float = attrs.field(default=0.4, validator=_positive)
    """Longest echo path searched (output and input latency plus the air), seconds."""
    filter_seconds: float = attrs.field(default=0.032, validator=_positive)
    """Length of the fitted filter: the direct path, its colouring and the first reflections."""
    window: float = attrs.field(default=1.0, validator=_positive)
    """Seconds of recent audio the path is fitted on."""
    gate_db: float = attrs.field(default=10.0, validator=_positive)
    """A frame the cancellation lowers by at least this much is the agent alone: muted."""


@attrs.frozen(kw_only=True)
class EchoPath:
    """The echo as the canceller models it: ``filter`` applied to the reference ``delay`` samples late."""

    delay: int
    filter: _Samples = attrs.field(eq=False, repr=False)
    explained: float
    """Share of the microphone's energy the path explained where it was fitted."""


class _Timeline:
    """Samples on stream time (absolute sample indices), the newest ``keep`` of them; zeros where none."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._start = 0
        self._data = np.zeros(0, dtype=np.float64)

    @property
    def end(self) -> int:
        return self._start + self._data.size

    def add(self, at: int, samples: _Samples) -> None:
        """Mix ``samples`` in from sample ``at`` (overlapping pieces add up); older than ``keep`` is dropped."""
        oldest = max(self._start, self.end - self._keep)
        if self._data.size == 0 or at >= self.end + self._keep:
            self._start, self._data = at, np.zeros(0, dtype=np.float64)  # first piece, or after a long gap
            oldest = at
        if at < oldest:
            samples, at = samples[oldest - at :], oldest
        stop = at + samples.size
        if stop <= at:
            return
        if stop > self.end:
            self._data = np.concatenate([self._data, np.zeros(stop - self.end)])
        self._data[at - self._start : stop - self._start] += samples
        excess = self._data.size - self._keep
        if excess > 0:
            self._data = self._data[excess:]
            self._start += excess

    def read(self, begin: int, end: int) -> _Samples:
        """Samples ``[begin, end)``, zeros where nothing was written."""
        out = np.zeros(max(0, end - begin), dtype=np.float64)
        lo, hi = max(begin, self._start), min(end, self.end)
        if lo < hi:
            out[lo - begin : hi - begin] = self._data[lo - self._start : hi - self._start]
        return out


class EchoCanceller:
    """Removes the echo of what the session played from the microphone audio (see the module docstring).

    Feed it what plays (:meth:`play`) and each microphone chunk (:meth:`process`),
    both on stream time at ``sample_rate``.
    """

    def __init__(self, config: EchoConfig, sample_rate: int) -> None:
        self.config = config
        self.sample_rate = sample_rate
        self._delay = round(config.max_delay * sample_rate)
        self._window = round(config.window * sample_rate)
        self._frame = max(1, round(_FRAME_SECONDS * sample_rate))
        self._taps = max(1, round(config.filter_seconds * sample_rate))
        self._pre = round(_PRE_SECONDS * sample_rate)
        keep = self._window + self._delay + self._taps + sample_rate  # the fit window plus a second of slack
        self._reference = _Timeline(keep)
        self._microphone = _Timeline(keep)
        self.path: EchoPath | None = None
        self.muted_seconds = 0.0
        """Microphone audio muted as the agent's own voice so far."""

    def play(self, samples: FloatArray, sample_rate: int, at: float) -> None:
        """The agent plays ``samples`` from stream time ``at``: they may come back through the microphone."""
        audio = resample(np.asarray(samples, dtype=np.float32), sample_rate, self.sample_rate)
        self._reference.add(round(at * self.sample_rate), audio.astype(np.float64))

    def process(self, samples: FloatArray, start: int) -> FloatArray:
        """The microphone chunk beginning at stream sample ``start``, with the agent's echo removed."""
        mic = samples.astype(np.float64)
        end = start + mic.size
        self._microphone.add(start, mic)
        played = self._reference.read(start - self._delay - self._taps, end)
        if _power(played) < _SILENT or _power(mic) < _SILENT:
            return samples
        self._refit(end)
        if self.path is None:
            return samples
        echo = self._echo(self.path, start, end)
        residual = mic - echo
        if _power(residual) >= _power(mic):
            return samples  # the path does not fit what is heard now
        frames = -(-mic.size // self._frame)
        padded = np.zeros((2, frames * self._frame))
        padded[0, : mic.size], padded[1, : mic.size] = np.square(residual), np.square(mic)
        energy = padded.reshape(2, frames, self._frame).sum(axis=2)
        alone = energy[0] <= 10 ** (-self.config.gate_db / 10) * energy[1]
        mute = np.repeat(alone, self._frame)[: mic.size]
        out = np.where(mute, 0.0, residual)
        self.muted_seconds += float(mute.sum()) / self.sample_rate
        return out.astype(np.float32)

    def _echo(self, path: EchoPath, begin: int, end: int) -> _Samples:
        """The echo of the reference through ``path`` over microphone samples ``[begin, end)``."""
        reference = self._reference.read(begin - path.delay - path.filter.size + 1, end - path.delay)
        echo: _Samples = fftconvolve(reference, path.filter, mode="valid")
        return echo

    def _refit(self, end: int) -> None:
        """Fit a path on the last ``window`` of audio; keep it if it explains more than the one in use."""
        begin = end - self._window
        mic = self._microphone.read(begin, end)
        if _power(mic) < _SILENT or _power(self._reference.read(begin - self._delay, end)) < _SILENT:
            return
        lag = _peak_lag(mic, self._reference.read(begin - self._delay, end), self._delay)
        candidate = self._fit(mic, begin, end, max(0, lag - self._pre))
        current = None if self.path is None else self._explained(self.path, mic, begin, end)
        if candidate is not None and (current is None or candidate.explained > current):
            self.path = candidate

    def _fit(self, mic: _Samples, begin: int, end: int, delay: int) -> EchoPath | None:
        """The least-squares filter from ``delay`` on (normal equations from the correlations: Toeplitz)."""
        taps = self._taps
        reference = self._reference.read(begin - delay - taps + 1, end - delay)
        size = 1 << math.ceil(math.log2(reference.size + mic.size))
        spectrum = np.fft.rfft(reference, size)
        autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, size)[:taps]
        cross = np.fft.irfft(spectrum * np.conj(np.fft.rfft(mic, size)), size)[:taps][::-1]
        autocorrelation[0] += _RIDGE * autocorrelation[0] + 1e-12
        weights = np.asarray(solve_toeplitz(autocorrelation, cross), dtype=np.float64)
        path = EchoPath(delay=delay, filter=weights, explained=0.0)
        explained = self._explained(path, mic, begin, end)
        return attrs.evolve(path, explained=explained) if explained >= _MIN_EXPLAINED else None

    def _explained(self, path: EchoPath, mic: _Samples, begin: int, end: int) -> float:
        return 1.0 - _power(mic - self._echo(path, begin, end)) / _power(mic)


def _power(samples: _Samples) -> float:
    return float(np.mean(np.square(samples))) if samples.size else 0.0


def _peak_lag(mic: _Samples, reference: _Samples, max_lag: int) -> int:
    """The lag (0..``max_lag`` samples) at which the reference best matches the microphone (GCC-PHAT).

    ``reference`` starts ``max_lag`` samples before ``mic`` and runs to its end.
    """
    size = 1 << math.ceil(math.log2(mic.size + reference.size))
    spectrum = np.fft.rfft(reference, size) * np.conj(np.fft.rfft(mic, size))
    spectrum /= np.abs(spectrum) + 1e-12
    correlation = np.fft.irfft(spectrum, size)[: max_lag + 1]  # index k: reference shifted by k samples
    return max_lag - int(np.argmax(correlation))
