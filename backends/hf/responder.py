"""A responder over any Hugging Face causal LM checkpoint that has a chat template.

The prompt comes from a replaceable template, and the reply follows the spoken-reply rules
of :mod:`audiointeract.backends.prompting`: a reply to a sound is the
:class:`~audiointeract.backends.prompting.SoundWarning` template (the model is not asked),
and generated text passes a :class:`~audiointeract.backends.prompting.SpokenFilter`, which
ends generation once the reply has its sentences.
``model.generate`` runs in a dedicated thread with a streamer that hands the text of
each generated token to the event loop as a :class:`~audiointeract.events.TextDelta`; a stopping
criterion watches a cancel flag, so cancelling the reply stops generation within one
token step and the thread is joined before ``respond`` returns. Time to first token and
tokens/s of the last reply are kept in :attr:`TransformersResponder.last_statistics`.

On a small CPU, ``threads`` is the model's thread budget, applied in the generation
thread only (:func:`~audiointeract.backends.thread_budget.thread_budget`), and
``niceness`` lowers that thread's priority, so perception keeps real time while a reply
is generated; and the standing part of the prompt (every message before the words being
answered) is computed once and kept (:class:`~audiointeract.backends.hf.prefix_cache.PrefixCache`),
so a reply runs only its own words through the model before generating.

Bad configuration fails in the constructor: a missing path raises
:class:`~audiointeract.errors.ModelNotFoundError`, a checkpoint that is not a causal LM
(or has no chat template) :class:`~audiointeract.errors.CheckpointError`, and missing
torch/transformers :class:`~audiointeract.errors.BackendUnavailable`.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import attrs

from audiointeract.backends.hf.prefix_cache import PrefixCache
from audiointeract.backends.prompting import ChatMessage, ChatPrompt, PromptTemplate, SoundWarning, SpokenStyle
from audiointeract.backends.thread_budget import check_threads, thread_budget
from audiointeract.backends.threaded import ThreadedStream, check_niceness
from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import (
    AudioInteractError,
    BackendError,
    BackendUnavailable,
    CheckpointError,
    ConfigurationError,
    ModelNotFoundError,
)
from audiointeract.events import ResponseDelta, ResponseRequest, SoundEvent, TextDelta
from audiointeract.interfaces import Responder

try:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    from transformers.generation.stopping_criteria import StoppingCriteria, StoppingCriteriaList
    from transformers.generation.streamers import BaseStreamer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
except ImportError as _exc:  # pragma: no cover - exercised only without the extra
    raise BackendUnavailable("responder 'transformers'", "transformers", _exc.name or "transformers") from _exc

__all__ = ["GenerationStatistics", "TransformersResponder"]

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@attrs.frozen(kw_only=True)
class GenerationStatistics:
    """Timing of one reply, in seconds of the responder's clock."""

    reply_id: int
    started: float
    """Clock time of the ``respond`` call."""
    prompt_tokens: int
    cached_tokens: int
    """Prompt tokens taken from the prefix cache (not run through the model for this reply)."""
    tokens: int
    time_to_first_token: float | None
    """From the ``respond`` call to the first generated token reaching the event loop."""
    tokens_per_second: float | None
    """Decode rate after the first token (None with fewer than two tokens)."""
    duration: float
    stopped_early: bool
    """True when the reply was cancelled (or failed) before generation ended."""


@attrs.frozen
class _Piece:
    text: str = ""
    tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0


class _StopOnEvent(StoppingCriteria):
    """Ends generation at the next token step once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self._event.is_set(), dtype=torch.bool, device=input_ids.device)


class _PieceStreamer(BaseStreamer):
    """Emits one :class:`_Piece` per generated token: its count and the text it completed.

    Text goes out as soon as it decodes to whole characters (a byte-level token may end
    mid-character), not only at word boundaries, so sentence ends are seen at once.
    """

    def __init__(self, tokenizer: Any, emit: Callable[[_Piece], None]) -> None:
        self._tokenizer = tokenizer
        self._emit = emit
        self._tokens: list[int] = []
        self._printed = ""
        self._prompt = True

    def put(self, value: torch.Tensor) -> None:
        if self._prompt:
            self._prompt = False
            self._emit(_Piece(prompt_tokens=int(value.shape[-1])))
            return
        self._tokens.extend(int(token) for token in value.reshape(-1).tolist())
        self._emit(_Piece(text=self._new_text(final=False), tokens=int(value.numel())))

    def end(self) -> None:
        if text := self._new_text(final=True):
            self._emit(_Piece(text=text))

    def _new_text(self, *, final: bool) -> str:
        text = self._tokenizer.decode(self._tokens, skip_special_tokens=True)
        if not text.startswith(self._printed) or (text.endswith("\ufffd") and not final):
            return ""  # an unfinished character, or decoding revised earlier text: wait for more tokens
        new, self._printed = text[len(self._printed) :], text
        return str(new)


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"TransformersResponder {name} must be > 0, got {value}")


class TransformersResponder(Responder):
    """Streams replies from a causal LM checkpoint directory (``model``), or a GGUF file in it.

    ``temperature`` 0 decodes greedily; ``generate_options`` are passed on to
    ``GenerationConfig`` (e.g. ``{"no_repeat_ngram_size": 3}``). ``warning`` words the
    reply to a sound event (None: the prompt template asks the model); ``spoken`` shapes
    generated text for speech (None: the raw text). ``warmup`` generates one
    token at construction, which moves torch's first-call cost out of the first reply (and
    proves the checkpoint can generate). ``threads`` caps the CPU threads torch uses
    while this model generates, in the generation thread only (None: torch's default, all
    cores); ``niceness`` lowers the generation thread's scheduling priority by that much
    (Linux), so perception runs first on a busy CPU; ``prefix_cache`` keeps the standing
    prompt prefix computed across replies.
    ``offload=False`` runs generation inline on the event loop (for virtual-time simulations).
    """

    name = "transformers"

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        gguf_file: str | None = None,
        prompt: PromptTemplate | None = None,
        warning: SoundWarning | None = SoundWarning(),  # noqa: B008 - frozen value
        spoken: SpokenStyle | None = SpokenStyle(),  # noqa: B008 - frozen value
        max_new_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        repetition_penalty: float = 1.0,
        generate_options: Mapping[str, Any] | None = None,
        dtype: str = "float32",
        warmup: bool = True,
        threads: int | None = None,
        niceness: int = 0,
        prefix_cache: bool = True,
        offload: bool = True,
        clock: Clock | None = None,
    ) -> None:
        path = Path(model).expanduser()
        _check_positive("max_new_tokens", max_new_tokens)
        _check_positive("top_p", top_p)
        _check_positive("repetition_penalty", repetition_penalty)
        if not temperature >= 0:
            raise ConfigurationError(f"TransformersResponder temperature must be >= 0, got {temperature}")
        if dtype not in _DTYPES:
            raise ConfigurationError(f"TransformersResponder dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
        self._threads = check_threads("TransformersResponder", threads)
        self._niceness = check_niceness("TransformersResponder", niceness)
        _check_checkpoint_path(path, gguf_file)
        self.path = path
        self._prompt: PromptTemplate = prompt or ChatPrompt()
        self._warning = warning
        self._spoken = spoken
        self._offload = offload
        self._clock = clock or LoopClock()
        self._tokenizer, self._model = _load(path, gguf_file, _DTYPES[dtype])
        self._generation = _generation_config(
            self._model,
            self._tokenizer,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            repetition_penalty=repetition_penalty,
            extra=dict(generate_options or {}),
        )
        self._prefix = PrefixCache(self._model) if prefix_cache else None
        self.last_statistics: GenerationStatistics | None = None
        if warmup:
            self._warm_up()

    def _warm_up(self) -> None:
        """Generate one token once, so the first reply does not pay torch's first-call setup."""
        inputs = self._tokenizer.apply_chat_template(
            [{"role": "user", "content": "Hello."}], add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        once = copy.deepcopy(self._generation)
        once.max_new_tokens = 1
        try:
            with torch.inference_mode(), thread_budget(self._threads):
                self._model.generate(**inputs, generation_config=once)
        except Exception as exc:
            raise CheckpointError(f"the model in {self.path} cannot generate: {exc}") from exc

    @property
    def model(self) -> Any:
        """The loaded ``PreTrainedModel``."""
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The loaded tokenizer."""
        return self._tokenizer

    def messages(self, request: ResponseRequest) -> list[ChatMessage]:
        """The chat messages the prompt template builds for ``request``."""
        return self._prompt(request)

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        if self._warning is not None and isinstance(request.trigger, SoundEvent):
            # a warning names what was heard and how sure; below the threshold nothing is said
            if warning := self._warning.text(request.trigger):
                yield TextDelta(text=warning)
            return
        messages = self._prompt(request)
        spoken = self._spoken.filter() if self._spoken is not None else None
        started = self._clock.now()
        first: float | None = None
        last = started
        tokens = prompt_tokens = cached_tokens = 0
        finished = False
        try:
            stream = ThreadedStream(partial(self._generate, messages), name="audiointeract-generate",
                                    offload=self._offload, niceness=self._niceness)
            async with stream:
                async for piece in stream:
                    prompt_tokens += piece.prompt_tokens
                    cached_tokens += piece.cached_tokens
                    if piece.tokens:
                        last = self._clock.now()
                        first = last if first is None else first
                        tokens += piece.tokens
                    text = spoken.push(piece.text) if spoken is not None and piece.text else piece.text
                    if text:
                        yield TextDelta(text=text)
                    if spoken is not None and spoken.done:
                        break  # the reply has its sentences: leaving the block stops generation
            if spoken is not None and (tail := spoken.finish(complete=tokens < self._generation.max_new_tokens)):
                yield TextDelta(text=tail)
            finished = True
        finally:
            rate = (tokens - 1) / (last - first) if first is not None and tokens > 1 and last > first else None
            self.last_statistics = GenerationStatistics(
                reply_id=request.reply_id,
                started=started,
                prompt_tokens=prompt_tokens,
                cached_tokens=cached_tokens,
                tokens=tokens,
                time_to_first_token=None if first is None else first - started,
                tokens_per_second=rate,
                duration=self._clock.now() - started,
                stopped_early=not finished,
            )

    def _generate(self, messages: list[ChatMessage], emit: Callable[[_Piece], None], stop: threading.Event) -> None:
        """Worker thread: tokenise the chat and stream ``generate`` until the end or ``stop``, within the budget."""
        if stop.is_set():
            return
        try:
            with torch.inference_mode(), thread_budget(self._threads):
                inputs = self._tokenizer.apply_chat_template(
                    messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
                )
                cache: dict[str, Any] = {}
                if self._prefix is not None and len(messages) > 1:
                    standing = self._tokenizer.apply_chat_template(messages[:-1], return_dict=True, return_tensors="pt")
                    prompt = self._prefix.prompt(inputs["input_ids"], standing["input_ids"])
                    if prompt.cache is not None:
                        cache["cache"] = prompt.cache
                        emit(_Piece(cached_tokens=prompt.cached_tokens))
                if stop.is_set():
                    return
                self._model.generate(
                    **inputs,
                    **cache,
                    generation_config=self._generation,
                    streamer=_PieceStreamer(self._tokenizer, emit),
                    stopping_criteria=StoppingCriteriaList([_StopOnEvent(stop)]),
                )
        except AudioInteractError:
            raise
        except Exception as exc:
            raise BackendError(f"generation with {self.path} failed: {exc}", retryable=False) from exc


def _check_checkpoint_path(path: Path, gguf_file: str | None) -> None:
    if not path.exists():
        raise ModelNotFoundError(f"no model checkpoint at {path}")
    if not path.is_dir():
        raise ModelNotFoundError(f"{path} is not a checkpoint directory (for a GGUF file, pass its folder + gguf_file)")
    if gguf_file is not None:
        if not (path / gguf_file).is_file():
            raise ModelNotFoundError(f"no GGUF file {gguf_file!r} in {path}")
    elif not (path / "config.json").is_file():
        raise ModelNotFoundError(f"{path} holds no model (no config.json)")


def _is_causal_lm(config: Any) -> bool:
    """Whether the checkpoint's saved architecture (or, without one, its model type) is a causal LM."""
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return False
    architectures = getattr(config, "architectures", None)
    if not architectures:
        return True
    causal = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[config.model_type]
    names = {causal} if isinstance(causal, str) else set(causal)
    return any(name in names or name.endswith("ForCausalLM") for name in architectures)


def _load(path: Path, gguf_file: str | None, dtype: torch.dtype) -> tuple[Any, Any]:
    where = str(path)
    files: dict[str, Any] = {"local_files_only": True}
    if gguf_file is not None:
        files["gguf_file"] = gguf_file
    try:
        config = AutoConfig.from_pretrained(where, **files)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"cannot read the model config in {path}: {exc}") from exc
    if not _is_causal_lm(config):
        architectures = ", ".join(getattr(config, "architectures", None) or [config.model_type])
        raise CheckpointError(f"{path} holds a {architectures} checkpoint, which is not a causal language model")
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **files)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"cannot load the tokenizer in {path}: {exc}") from exc
    if not getattr(tokenizer, "chat_template", None):
        raise CheckpointError(f"the tokenizer in {path} has no chat template; use an instruction-tuned checkpoint")
    try:
        model = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, **files)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"cannot load the model weights in {path}: {exc}") from exc
    model.eval()  # type: ignore[no-untyped-call]
    return tokenizer, model


def _generation_config(
    model: Any,
    tokenizer: Any,
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    repetition_penalty: float,
    extra: dict[str, Any],
) -> Any:
    config = copy.deepcopy(model.generation_config) if model.generation_config is not None else GenerationConfig()  # type: ignore[no-untyped-call]
    eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
    pad = config.pad_token_id if config.pad_token_id is not None else tokenizer.pad_token_id
    settings: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "do_sample": temperature > 0,
        "repetition_penalty": repetition_penalty,
        "eos_token_id": eos,
        "pad_token_id": eos if pad is None else pad,
    }
    if temperature > 0:
        settings.update(temperature=temperature, top_p=top_p)
    settings.update(extra)
    try:
        unknown = config.update(**settings)
        config.validate(strict=True)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"invalid generation options: {exc}") from exc
    if unknown:
        raise ConfigurationError(f"unknown generation options: {sorted(unknown)}")
    return config
