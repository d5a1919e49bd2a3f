"""End-of-turn estimates from Smart Turn v3.2 at each end of speech (silero VAD), as a perceiver.

At every end of speech the VAD confirms, :class:`SmartTurnPerceiver` scores the turn's
audio up to that moment (its last 8 s) and reports a
:class:`~audiointeract.events.TurnEndEstimate`. A turn starts ``pre_speech`` before the
first speech after the previous turn was judged complete, or after ``turn_gap`` of
silence; a pause judged incomplete keeps the turn open, so the next estimate hears it
whole. Deciding whether to take the turn is the policy's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import anyio
import numpy as np

from audiointeract.audio import AudioChunk, FloatArray
from audiointeract.backends.embedded.smart_turn_model import SAMPLE_RATE, WINDOW_SECONDS, SmartTurnModel
from audiointeract.backends.embedded.vad import FRAME_SECONDS, SileroVad
from audiointeract.backends.streaming_asr import to_asr_rate
from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, SpeechActivity, TurnEndEstimate
from audiointeract.interfaces import Perceiver

__all__ = ["SmartTurnPerceiver"]

_KEEP_SECONDS = WINDOW_SECONDS + 4.0  # the window, plus the hangover and the longest chunk (2 s)


class SmartTurnPerceiver(Perceiver):
    """P(turn complete) from Smart Turn v3.2 at each end of speech.

    The VAD options (``vad_threshold``, ``min_speech``, ``min_silence``) match
    :class:`~audiointeract.backends.embedded.FasterWhisperPerceiver`'s defaults, so
    its estimates come with the ASR's speech ends. ``threads`` is onnxruntime's
    thread count for the model (about 0.1 s per estimate on one thread).
    ``complete_at`` is the probability from which a turn counts as over for
    where the next one starts (not a decision).
    """

    name = "smart-turn"

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        threads: int = 1,
        vad_threshold: float = 0.5,
        min_speech: float = 0.16,
        min_silence: float = 0.2,
        pre_speech: float = 0.5,
        trailing_silence: float = 0.0,
        turn_gap: float = 3.0,
        complete_at: float = 0.5,
        offload: bool = True,
    ) -> None:
        if not (0 <= pre_speech <= 2.0 and 0 <= trailing_silence <= 2.0 and turn_gap > 0 and 0 < complete_at <= 1):
            raise ConfigurationError(
                f"need 0 <= pre_speech, trailing_silence <= 2, turn_gap > 0 and 0 < complete_at <= 1; "
                f"got {pre_speech}, {trailing_silence}, {turn_gap}, {complete_at}"
            )
        self.model = SmartTurnModel(model_path, threads=threads)
        self._vad = SileroVad(threshold=vad_threshold, min_speech=min_speech, min_silence=min_silence,
                              source=self.name)
        self._pre_speech = pre_speech
        self._trailing = trailing_silence
        self._turn_gap = turn_gap
        self._complete_at = complete_at
        self._offload = offload
        self._reset_state()

    def _reset_state(self) -> None:
        self._vad.reset()
        self._audio = np.zeros(0, dtype=np.float32)  # the last _KEEP_SECONDS of 16 kHz audio
        self._audio_start = 0.0
        self._turn_start: float | None = None  # None: the next speech starts a turn
        self._last_end: float | None = None

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        samples = to_asr_rate(chunk)
        if self._offload:
            return await anyio.to_thread.run_sync(self._step, samples, chunk.start_time)
        return self._step(samples, chunk.start_time)

    async def finish(self) -> Sequence[Perception]:
        return ()

    async def reset(self) -> None:
        self._reset_state()

    def _step(self, samples: FloatArray, start: float) -> list[Perception]:
        self._remember(samples, start)
        out: list[Perception] = []
        for event in self._vad.push(samples, start):
            if event.speaking:
                self._on_onset(event)
            else:
                out.append(self._estimate(event))
        return out

    def _on_onset(self, onset: SpeechActivity) -> None:
        gap = None if self._last_end is None else onset.span_start - self._last_end
        if self._turn_start is None or (gap is not None and gap >= self._turn_gap):
            self._turn_start = max(0.0, onset.span_start - self._pre_speech, self._last_end or 0.0)

    def _estimate(self, end: SpeechActivity) -> TurnEndEstimate:
        confirmed = end.span_end + self._vad.silence_frames * FRAME_SECONDS  # where the VAD knew
        heard = min(confirmed, end.span_end + self._trailing)
        start = max(self._turn_start if self._turn_start is not None else end.span_start,
                    heard - WINDOW_SECONDS, self._audio_start)
        first = round((start - self._audio_start) * SAMPLE_RATE)
        last = round((heard - self._audio_start) * SAMPLE_RATE)
        probability = self.model.probability(self._audio[first:last])
        self._last_end = end.span_end
        if probability >= self._complete_at:
            self._turn_start = None
        return TurnEndEstimate(span_start=start, span_end=heard, probability=probability,
                               speech_end=end.span_end, source=self.name)

    def _remember(self, samples: FloatArray, start: float) -> None:
        end_of_kept = self._audio_start + self._audio.size / SAMPLE_RATE
        if self._audio.size and abs(end_of_kept - start) < 1.0 / SAMPLE_RATE:
            joined = np.concatenate([self._audio, samples.astype(np.float32, copy=False)])
        else:  # first chunk, or a gap in the stream: start over from this chunk
            joined, self._audio_start = samples.astype(np.float32, copy=False), start
        drop = max(0, joined.size - round(_KEEP_SECONDS * SAMPLE_RATE) - samples.size)
        self._audio = joined[drop:]
        self._audio_start += drop / SAMPLE_RATE
