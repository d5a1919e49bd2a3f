"""Streaming ASR over any Hugging Face Whisper checkpoint folder (transformers).

Same streaming policy as the embedded default
(:class:`~audiointeract.backends.streaming_asr.StreamingAsrPerceiver`); this module
loads ``WhisperForConditionalGeneration`` + ``WhisperProcessor`` and turns one
``generate()`` into timed words. Word times come from the cross-attention alignment
heads when the checkpoint's generation config names them; otherwise words are
spread evenly over the decoded audio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor, LogitsProcessorList, WhisperForConditionalGeneration, WhisperProcessor

from audiointeract.audio import FloatArray
from audiointeract.backends.hf._checkpoint import checkpoint_model_type
from audiointeract.backends.streaming_asr import (
    ASR_SAMPLE_RATE,
    SpeechGate,
    StreamingAsrPerceiver,
    StreamingConfig,
)
from audiointeract.backends.thread_budget import check_threads, thread_budget
from audiointeract.clock import Clock
from audiointeract.errors import CheckpointError
from audiointeract.events import Word

__all__ = ["WhisperPerceiver", "load_whisper_checkpoint"]

_SECONDS_PER_CHAR = 0.07  # speaking rate for a one-word hypothesis (about 14 characters a second)


def load_whisper_checkpoint(
    path: str | Path, *, device: str = "cpu"
) -> tuple[WhisperForConditionalGeneration, WhisperProcessor]:
    """Load a Whisper model and its processor from a local folder, with clear errors."""
    folder, model_type = checkpoint_model_type(path)
    if model_type != "whisper":
        raise CheckpointError(
            f"{str(folder)!r} holds a {model_type!r} checkpoint; WhisperPerceiver needs a 'whisper' one"
        )
    try:
        model = WhisperForConditionalGeneration.from_pretrained(folder)
        model = model.to(device).eval()  # type: ignore[arg-type] # transformers types .to() as a wrapper
        processor = WhisperProcessor.from_pretrained(folder)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise CheckpointError(f"cannot load the Whisper checkpoint at {str(folder)!r}: {exc}") from exc
    return model, processor


class _SuppressTokens(LogitsProcessor):
    """Whisper's token suppression as precomputed masks.

    transformers' own processors rebuild the mask with ``torch.isin`` over the whole
    vocabulary at every step, which dominated decoding time on CPU.
    """

    def __init__(self, always: list[int], at_begin: list[int], vocab: int) -> None:
        self._always = torch.zeros(vocab, dtype=torch.bool)
        self._always[always] = True
        self._at_begin = self._always.clone()
        self._at_begin[at_begin] = True
        self._begin_index = -1

    def set_begin_index(self, begin_index: int) -> None:
        """Called by Whisper's generate() with the position of the first generated token."""
        self._begin_index = begin_index

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        mask = self._at_begin if input_ids.shape[-1] == self._begin_index else self._always
        return scores.masked_fill(mask.to(scores.device), -float("inf"))  # type: ignore[return-value]


class WhisperPerceiver(StreamingAsrPerceiver):
    """Streaming transcription with a transformers Whisper checkpoint (greedy decoding).

    ``path`` is a local checkpoint folder (e.g. one written by
    :func:`audiointeract.backends.hf.convert_ct2.convert_ct2_whisper`). ``vad`` gates
    decoding with silero VAD (needs onnxruntime and silero-vad); ``vad=False``
    decodes all audio. ``threads`` caps the CPU threads torch uses for this model's
    decoding, in the thread that runs it only (other models keep theirs; see
    :mod:`~audiointeract.backends.thread_budget`); on a busy machine one thread is
    several times faster than two.
    """

    name = "transformers-whisper"

    def __init__(
        self,
        path: str | Path,
        *,
        device: str = "cpu",
        max_new_tokens: int = 128,
        threads: int | None = None,
        decode_every: float = 1.0,
        streaming: StreamingConfig | None = None,
        vad: bool = True,
        min_silence: float = 0.4,
        speech_pad: float = 0.5,
        offload: bool = True,
        clock: Clock | None = None,
    ) -> None:
        self._threads = check_threads("WhisperPerceiver", threads)
        self.model, self.processor = load_whisper_checkpoint(path, device=device)
        self._device = device
        self._max_new_tokens = max_new_tokens
        generation = self.model.generation_config
        self._timed = bool(getattr(generation, "alignment_heads", None))
        self._suppress = _SuppressTokens(
            list(getattr(generation, "suppress_tokens", None) or []),
            list(getattr(generation, "begin_suppress_tokens", None) or []),
            int(self.model.config.vocab_size),
        )
        generation.suppress_tokens = None
        generation.begin_suppress_tokens = None
        tokenizer: Any = self.processor.tokenizer
        self._eos = int(tokenizer.eos_token_id)
        self._pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        gate: SpeechGate | None = None
        if vad:
            from audiointeract.backends.embedded.vad import SileroVad  # noqa: PLC0415 - optional gate

            gate = SileroVad(min_silence=min_silence, source=self.name)
        super().__init__(
            self._transcribe,
            gate=gate,
            streaming=streaming or StreamingConfig(decode_every=decode_every),
            speech_pad=speech_pad,
            offload=offload,
            clock=clock,
        )

    def _transcribe(self, audio: FloatArray, prompt: str) -> list[Word]:
        features = self.processor.feature_extractor(
            audio, sampling_rate=ASR_SAMPLE_RATE, return_tensors="pt", return_attention_mask=True
        )
        options: dict[str, Any] = {
            "attention_mask": features.attention_mask.to(self._device),
            "max_new_tokens": self._max_new_tokens,
            "return_token_timestamps": self._timed,
            "logits_processor": LogitsProcessorList([self._suppress]),
        }
        if prompt:
            options["prompt_ids"] = torch.as_tensor(self.processor.get_prompt_ids(prompt), device=self._device)
        with torch.inference_mode(), thread_budget(self._threads):
            out = self.model.generate(features.input_features.to(self._device), **options)
        duration = audio.size / ASR_SAMPLE_RATE
        if self._timed:
            ids, times = out["sequences"][0].tolist(), out["token_timestamps"][0].tolist()
        else:
            ids = (out["sequences"] if isinstance(out, dict) else out)[0].tolist()
            times = [duration * i / max(1, len(ids)) for i in range(len(ids))]
        return self._words(ids, times, duration)

    def _words(self, ids: list[int], times: list[float], duration: float) -> list[Word]:
        """Group sub-word tokens into words (a leading space starts a word) with start/end times."""
        groups: list[tuple[str, float, int]] = []  # (text, start, index of the first token after it)
        for index, (token, time) in enumerate(zip(ids, times, strict=False)):
            if token >= self._eos or token >= len(self._pieces):
                continue
            piece = self.processor.tokenizer.convert_tokens_to_string([self._pieces[token]])
            if piece.startswith(" ") or not groups:
                groups.append((piece, float(time), index + 1))
            else:
                text, start, _ = groups[-1]
                groups[-1] = (text + piece, start, index + 1)
        groups = [group for group in groups if group[0].strip()]
        timed = [(len(text.strip()), float(times[after]) - start)
                 for text, start, after in groups if after < len(times)]
        chars = sum(n for n, _ in timed)
        per_char = sum(d for _, d in timed) / chars if chars else _SECONDS_PER_CHAR
        words: list[Word] = []
        for text, start, after in groups:
            # the last word has no next token to end it: give it its length at this hypothesis' speaking rate
            end = float(times[after]) if after < len(times) else start + per_char * len(text.strip())
            begin = float(np.clip(start, 0.0, duration))
            words.append(Word(text=text, start=begin, end=float(np.clip(end, begin, duration))))
        return words
