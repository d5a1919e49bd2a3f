"""Speech activity from silero VAD (the ONNX model shipped in the ``silero-vad`` wheel).

:class:`SileroVad` is the streaming detector (sans-IO: 16 kHz samples in, speech
starts/ends out) on the model's native 32 ms frames, run with onnxruntime and numpy
only; it also gates the streaming ASR and the end-of-turn model.
:class:`SileroVadPerceiver` exposes it as a perceiver.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import anyio
import numpy as np
import onnxruntime

from audiointeract.audio import AudioChunk, FloatArray
from audiointeract.backends.streaming_asr import to_asr_rate
from audiointeract.errors import BackendUnavailable, CheckpointError, ConfigurationError, ModelNotFoundError
from audiointeract.events import Perception, SpeechActivity
from audiointeract.interfaces import Perceiver

__all__ = ["FRAME_SECONDS", "SILERO_MODEL_ENV", "SileroVad", "SileroVadPerceiver", "default_silero_model", "frames_for"]

SILERO_MODEL_ENV = "AUDIOINTERACT_SILERO_VAD"
_RATE = 16000
_WINDOW = 512  # 32 ms at 16 kHz, the model's streaming window
_CONTEXT = 64  # samples of the previous window the model expects in front of each window
FRAME_SECONDS = _WINDOW / _RATE
"""Length of one VAD frame (32 ms)."""


def default_silero_model() -> Path:
    """The ONNX file inside the installed ``silero-vad`` wheel (``$AUDIOINTERACT_SILERO_VAD`` overrides)."""
    override = os.environ.get(SILERO_MODEL_ENV)
    if override:
        return Path(override)
    spec = importlib.util.find_spec("silero_vad")  # locates the wheel without importing it (and torch)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("silero-vad", "default", "silero_vad")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"


def frames_for(seconds: float) -> int:
    """Whole 32 ms frames closest to ``seconds`` (at least one)."""
    return max(1, int(seconds / FRAME_SECONDS + 0.5))


class SileroVad:
    """Streaming silero VAD on its native 32 ms frames, with hysteresis; events stamped at the audio.

    Frames are 512 samples at 16 kHz whatever size the pushed blocks have. Speech starts
    once frames stay at or above ``threshold`` for ``min_speech`` seconds and ends after
    ``min_silence`` seconds below ``threshold - 0.15`` (frames in between neither start nor
    break a run); both are rounded to whole frames. Each start/end is a
    :class:`~audiointeract.events.SpeechActivity` stamped at the audio it describes:

    * start: ``span_start`` = where the first speech frame begins, ``span_end`` = the end of
      the frame that confirmed it (``min_speech`` later);
    * end: ``span_start`` = the same onset, ``span_end`` = where the last speech frame ends
      (the confirmation came ``min_silence`` after it).
    """

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        min_speech: float = 0.16,
        min_silence: float = 0.2,
        model_path: str | Path | None = None,
        source: str = "silero-vad",
    ) -> None:
        if not 0.15 < threshold < 1.0:
            raise ConfigurationError(f"threshold must be within (0.15, 1), got {threshold}")
        if min_speech < 0 or min_silence <= 0:
            raise ConfigurationError(f"need min_speech >= 0 and min_silence > 0, got {min_speech}, {min_silence}")
        path = Path(model_path) if model_path is not None else default_silero_model()
        if not path.is_file():
            raise ModelNotFoundError(f"silero VAD model {str(path)!r} does not exist")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(str(path), sess_options=options,
                                                         providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's own error types: a file that is not a valid model
            raise CheckpointError(f"cannot load {str(path)!r} as the silero VAD ONNX model: {exc}") from exc
        self.threshold = threshold
        self._low = threshold - 0.15
        self.speech_frames = frames_for(min_speech)
        """Frames of speech that confirm an onset."""
        self.silence_frames = frames_for(min_silence)
        """Frames of silence that confirm an end of speech (the hangover)."""
        self._source = source
        self._sr = np.array(_RATE, dtype=np.int64)
        self.reset()

    @property
    def speaking(self) -> bool:
        """Whether the detector is inside speech (an onset was confirmed and no end yet)."""
        return self._speaking

    @property
    def onset(self) -> float | None:
        """Where the current speech began (None outside speech)."""
        return self._onset if self._speaking else None

    @property
    def pause_start(self) -> float | None:
        """Inside speech, where the silence now running began (a tentative end of speech); else None."""
        return self._run_start if self._speaking else None

    def reset(self) -> None:
        """Forget the model state and any partial window."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_start = 0.0
        self._speaking = False
        self._onset = 0.0
        self._run_start: float | None = None
        self._run_probs: list[float] = []

    def probability(self, window: FloatArray) -> float:
        """Speech probability of one 512-sample window (advances the model state)."""
        frame = np.concatenate([self._context, window])[None, :]
        out, self._state = self._session.run(None, {"input": frame, "state": self._state, "sr": self._sr})
        self._context = frame[0, -_CONTEXT:]
        return float(np.clip(out.reshape(-1)[0], 0.0, 1.0))

    def push(self, samples: FloatArray, start_time: float) -> list[SpeechActivity]:
        """Feed 16 kHz samples beginning at ``start_time``; return the speech starts/ends confirmed."""
        if self._pending.size == 0:
            self._pending_start = start_time
        audio = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        whole = audio.size - audio.size % _WINDOW
        events: list[SpeechActivity] = []
        for offset in range(0, whole, _WINDOW):
            t = self._pending_start + offset / _RATE
            event = self._update(self.probability(audio[offset : offset + _WINDOW]), t, t + FRAME_SECONDS)
            if event is not None:
                events.append(event)
        self._pending = audio[whole:]
        self._pending_start += whole / _RATE
        return events

    def end_now(self, heard: float) -> SpeechActivity | None:
        """Close speech at the end of the stream: the end is the running pause's start, else ``heard``."""
        if not self._speaking:
            return None
        end = self._run_start if self._run_start is not None else max(heard, self._onset)
        event = SpeechActivity(span_start=self._onset, span_end=end, speaking=False, source=self._source)
        self.reset()
        return event

    def _update(self, p: float, t: float, t_end: float) -> SpeechActivity | None:
        toward = p < self._low if self._speaking else p >= self.threshold
        against = p >= self.threshold if self._speaking else p < self._low
        if against or (not toward and self._run_start is None):
            self._run_start = None
            self._run_probs = []
            return None
        if self._run_start is None:
            self._run_start = t
        self._run_probs.append(p)
        if len(self._run_probs) < (self.silence_frames if self._speaking else self.speech_frames):
            return None
        self._speaking = not self._speaking
        mean = float(np.mean(self._run_probs))
        if self._speaking:
            self._onset = self._run_start
            event = SpeechActivity(span_start=self._onset, span_end=t_end, speaking=True, probability=mean,
                                   source=self._source)
        else:
            event = SpeechActivity(span_start=self._onset, span_end=self._run_start, speaking=False,
                                   probability=1.0 - mean, source=self._source)
        self._run_start = None
        self._run_probs = []
        return event


class SileroVadPerceiver(Perceiver):
    """Speech start/end perceptions from :class:`SileroVad` (any session sample rate and chunk size)."""

    name = "silero-vad"

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        min_speech: float = 0.16,
        min_silence: float = 0.2,
        model_path: str | Path | None = None,
        offload: bool = True,
    ) -> None:
        self._vad = SileroVad(threshold=threshold, min_speech=min_speech, min_silence=min_silence,
                              model_path=model_path, source=self.name)
        self._offload = offload
        self._heard = 0.0

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        samples = to_asr_rate(chunk)
        self._heard = chunk.end_time
        if self._offload:
            return await anyio.to_thread.run_sync(self._vad.push, samples, chunk.start_time)
        return self._vad.push(samples, chunk.start_time)

    async def finish(self) -> Sequence[Perception]:
        end = self._vad.end_now(self._heard)
        return () if end is None else (end,)

    async def reset(self) -> None:
        self._vad.reset()
