"""Audio-language-model hooks (Qwen2-Audio and other HF checkpoints whose processor takes ``audio=``).

* :class:`AudioLanguageModel` loads the processor and model once; the perceiver and the
  decider can share one instance.
* :class:`AudioLMPerceiver` prompts the model over each new ``segment_seconds`` of audio and
  returns its answer as a :class:`~audiointeract.events.TranscriptUpdate` (committed text,
  spanning that segment): a transcript with the default prompt, or whatever the prompt asks for.
* :class:`AudioLMDecider` asks, at each decision point, whether to respond now over the recent
  audio (``context.audio``, which the session provides when ``SessionConfig.request_audio_seconds``
  is set), the transcript and the new perceptions, and reads P(respond) from the next-token
  logits of the respond and silent answer words.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
import torch
from transformers import AutoModelForMultimodalLM, AutoProcessor
from transformers.models.auto.modeling_auto import MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES

from audiointeract.audio import AudioChunk, FloatArray, resample
from audiointeract.backends.audio_lm_prompt import (
    DEFAULT_QUESTION,
    DEFAULT_SYSTEM_PROMPT,
    check_threshold,
    decision_from_probability,
    decision_prompt,
    respond_probability,
    skip_reason,
)
from audiointeract.backends.hf._checkpoint import checkpoint_model_type
from audiointeract.errors import BackendError, CheckpointError, ConfigurationError
from audiointeract.events import Action, Decision, Perception, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext, Perceiver

__all__ = [
    "DEFAULT_PERCEIVER_PROMPT",
    "AudioLMDecider",
    "AudioLMPerceiver",
    "AudioLanguageModel",
]

DEFAULT_PERCEIVER_PROMPT = "Transcribe the speech in the audio. If there is no speech, answer with nothing."
_MAX_AUDIO_SECONDS = 30.0  # Whisper-style feature extractors cut longer audio


class AudioLanguageModel:
    """A local audio-LLM checkpoint: a processor taking ``audio=`` and a generating model."""

    def __init__(self, path: str | Path, *, device: str = "cpu") -> None:
        folder, model_type = checkpoint_model_type(path)
        if model_type not in MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES:
            raise CheckpointError(
                f"{str(folder)!r} holds a {model_type!r} checkpoint, which is not an audio-language model "
                "(expected e.g. qwen2_audio, voxtral, granite_speech)"
            )
        try:
            auto_processor: Any = AutoProcessor  # untyped in transformers
            self.processor = auto_processor.from_pretrained(str(folder), local_files_only=True)
            self.model = AutoModelForMultimodalLM.from_pretrained(str(folder), local_files_only=True).to(device).eval()
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as exc:
            raise CheckpointError(f"cannot load the audio-language model at {str(folder)!r}: {exc}") from exc
        extractor = getattr(self.processor, "feature_extractor", None)
        if extractor is None or not getattr(self.processor, "chat_template", None):
            raise CheckpointError(
                f"the processor at {str(folder)!r} needs an audio feature extractor and a chat template"
            )
        self.sample_rate = int(getattr(extractor, "sampling_rate", 16000))
        self.device = device
        self.path = folder
        self._lock = threading.Lock()  # the perceiver and the decider may share one model across threads

    def inputs(self, audio: FloatArray | None, sample_rate: int, prompt: str, system: str | None = None) -> Any:
        """Model inputs for one user turn: the audio (if any), then ``prompt``; ready for the answer."""
        content: list[dict[str, str]] = [] if audio is None else [{"type": "audio"}]
        content.append({"type": "text", "text": prompt})
        messages: list[dict[str, Any]] = [] if system is None else [{"role": "system", "content": system}]
        messages.append({"role": "user", "content": content})
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        if audio is None:
            return self.processor(text=text, return_tensors="pt").to(self.device)
        samples = resample(audio, sample_rate, self.sample_rate)[: round(_MAX_AUDIO_SECONDS * self.sample_rate)]
        inputs = self.processor(text=text, audio=[samples], sampling_rate=self.sample_rate, return_tensors="pt")
        return inputs.to(self.device)

    def generate(self, audio: FloatArray, sample_rate: int, prompt: str, *, max_new_tokens: int = 64) -> str:
        """The model's greedy answer to ``prompt`` about ``audio``."""
        inputs = self.inputs(audio, sample_rate, prompt)
        try:
            with self._lock, torch.inference_mode():
                output = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise BackendError(f"generation with {self.path} failed: {exc}", retryable=False) from exc
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return str(self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0]).strip()

    def answer_ids(self, word: str) -> list[int]:
        """Vocabulary ids whose token reads as ``word`` (any case, with or without a leading space)."""
        tokenizer = self.processor.tokenizer
        found: set[int] = set()
        for variant in (word, word.capitalize(), " " + word, " " + word.capitalize()):
            ids = tokenizer.encode(variant, add_special_tokens=False)
            if not ids or ids[0] == tokenizer.unk_token_id:
                continue
            piece = str(tokenizer.decode(ids[:1])).strip().lower()
            if piece and word.lower().startswith(piece):  # the word itself, or the first piece of it
                found.add(int(ids[0]))
        if not found:
            raise ConfigurationError(f"the tokenizer at {self.path} has no token for the answer word {word!r}")
        return sorted(found)

    def answer_distribution(self, audio: FloatArray | None, sample_rate: int, prompt: str, system: str | None,
                            answers: Sequence[Sequence[int]]) -> tuple[list[float], str]:
        """Next-token probability mass of each group of answer ids, and the most likely token's text."""
        inputs = self.inputs(audio, sample_rate, prompt, system)
        try:
            with self._lock, torch.inference_mode():
                logits = self.model(**inputs).logits[0, -1].float()
        except (RuntimeError, ValueError, IndexError) as exc:
            raise BackendError(f"scoring with {self.path} failed: {exc}", retryable=False) from exc
        probabilities = torch.softmax(logits, dim=-1)
        top = self.processor.tokenizer.decode([int(probabilities.argmax())]).strip()
        return [float(probabilities[list(ids)].sum()) for ids in answers], top


def _model(path: str | Path | AudioLanguageModel, device: str) -> AudioLanguageModel:
    """``path`` loaded, or an already loaded model shared with another backend."""
    return path if isinstance(path, AudioLanguageModel) else AudioLanguageModel(path, device=device)


async def _call(offload: bool, fn: Any, *args: Any) -> Any:
    if offload:
        return await anyio.to_thread.run_sync(fn, *args)
    return fn(*args)


class AudioLMPerceiver(Perceiver):
    """Prompts the audio LLM over each new ``segment_seconds`` of audio; answers become committed text.

    Segments quieter than ``min_rms_db`` (dBFS) are skipped, so silence costs nothing and
    is never "transcribed". ``finish`` prompts over the last partial segment.
    """

    name = "transformers-audio-lm"

    def __init__(
        self,
        path: str | Path | AudioLanguageModel,
        *,
        prompt: str = DEFAULT_PERCEIVER_PROMPT,
        segment_seconds: float = 5.0,
        max_new_tokens: int = 64,
        min_rms_db: float = -60.0,
        device: str = "cpu",
        offload: bool = True,
    ) -> None:
        if not (math.isfinite(segment_seconds) and 0 < segment_seconds <= _MAX_AUDIO_SECONDS):
            raise ConfigurationError(f"segment_seconds must be in (0, {_MAX_AUDIO_SECONDS}], got {segment_seconds}")
        if max_new_tokens < 1:
            raise ConfigurationError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        self.model = _model(path, device)
        self.prompt = prompt
        self.segment_seconds = segment_seconds
        self.max_new_tokens = max_new_tokens
        self.min_rms_db = min_rms_db
        self.offload = offload
        self._chunks: list[AudioChunk] = []

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        self._chunks.append(chunk)
        if chunk.end_time - self._chunks[0].start_time + 1e-9 < self.segment_seconds:
            return ()
        return await self._segment()

    async def finish(self) -> Sequence[Perception]:
        return await self._segment() if self._chunks else ()

    async def reset(self) -> None:
        self._chunks.clear()

    async def _segment(self) -> Sequence[Perception]:
        chunks, self._chunks = self._chunks, []
        audio = np.concatenate([c.samples for c in chunks])
        rms = math.sqrt(float(np.mean(audio.astype(np.float64) ** 2)))
        if 20 * math.log10(rms + 1e-12) < self.min_rms_db:
            return ()
        text = await _call(self.offload, self._generate, audio, chunks[0].sample_rate)
        if not text:
            return ()
        return (TranscriptUpdate(span_start=chunks[0].start_time, span_end=chunks[-1].end_time, committed=text,
                                 source=self.name),)

    def _generate(self, audio: FloatArray, sample_rate: int) -> str:
        return self.model.generate(audio, sample_rate, self.prompt, max_new_tokens=self.max_new_tokens)


class AudioLMDecider(Decider):
    """RESPOND when the audio LLM's P(respond) >= ``threshold`` at a decision point, else SILENT.

    The audio it hears is ``context.audio``: set ``SessionConfig(request_audio_seconds=...)``
    (e.g. 4.0) so the session provides it, and ``sample_rate`` to the session's rate (the
    audio is resampled to the model's rate; only its last 30 s are used). With that setting
    at 0 (the default) the question carries text only (transcript and new perceptions), and
    with neither audio nor anything new it is SILENT without asking. While a reply is in
    flight it does not ask. P(respond) is the next-token probability mass of ``respond_word``
    over that of both answer words. ``task`` names the standing task a RESPOND serves
    (default: the first).
    """

    name = "transformers-audio-lm"

    def __init__(
        self,
        path: str | Path | AudioLanguageModel,
        *,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        question: str = DEFAULT_QUESTION,
        respond_word: str = "respond",
        silent_word: str = "silent",
        threshold: float = 0.5,
        sample_rate: int = 16000,
        task: str | None = None,
        device: str = "cpu",
        offload: bool = True,
    ) -> None:
        check_threshold(threshold)
        if sample_rate <= 0:
            raise ConfigurationError(f"sample_rate must be > 0, got {sample_rate}")
        self.model = _model(path, device)
        respond_ids, silent_ids = self.model.answer_ids(respond_word), self.model.answer_ids(silent_word)
        if set(respond_ids) & set(silent_ids):
            raise ConfigurationError(f"respond_word {respond_word!r} and silent_word {silent_word!r} share a token")
        self._answers = (respond_ids, silent_ids)
        self.system_prompt = system_prompt
        self.question = question
        self.respond_word = respond_word
        self.threshold = threshold
        self.sample_rate = sample_rate
        self.task = task
        self.offload = offload

    def prompt(self, context: DecisionContext, perceptions: Sequence[Perception]) -> tuple[str, str]:
        """(system, user text) of the question at this decision point."""
        return decision_prompt(context, perceptions, system_prompt=self.system_prompt, question=self.question)

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        audio = self._audio(context)
        if (skip := skip_reason(context, perceptions, audio)) is not None:
            return Decision.silent(skip)
        system, text = self.prompt(context, perceptions)
        masses, top = await _call(self.offload, self.model.answer_distribution, audio, self.sample_rate, text, system,
                                  self._answers)
        probability = respond_probability(*masses)
        if probability is None:
            return Decision(action=Action.SILENT, score=0.5, reason=f"no answer word among likely tokens (top {top!r})")
        return decision_from_probability(probability, threshold=self.threshold, context=context,
                                         perceptions=perceptions, task=self.task,
                                         reason=f"P({self.respond_word})={probability:.2f} (top token {top!r})")

    def _audio(self, context: DecisionContext) -> FloatArray | None:
        """The last ``_MAX_AUDIO_SECONDS`` of ``context.audio`` (None when there is none)."""
        if context.audio is None or not context.audio.size:
            return None
        return context.audio[-round(_MAX_AUDIO_SECONDS * self.sample_rate) :]
