"""Public, pytest-free conformance checks any backend can run.

Each ``check_*`` coroutine builds a fresh backend with the given factory, drives it
through its interface contract (see :mod:`audiointeract.interfaces`) and raises
:class:`ConformanceError` naming the first broken rule::

    from audiointeract.testing import check_perceiver
    await check_perceiver(lambda: MyPerceiver(model_path))
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

import anyio
import numpy as np

from audiointeract.audio import AudioChunk, AudioFormat, FloatArray, Rechunker
from audiointeract.config import DEFAULT_TASKS
from audiointeract.events import (
    Action,
    AudioDelta,
    Decision,
    Perception,
    ResponseRequest,
    SpeechActivity,
    TextDelta,
    TranscriptUpdate,
)
from audiointeract.interfaces import Decider, DecisionContext, Perceiver, Responder

__all__ = [
    "ConformanceError",
    "check_decider",
    "check_perceiver",
    "check_responder",
    "probe_audio",
    "sample_request",
]

B = TypeVar("B")
Factory = Callable[[], B | Awaitable[B]]


class ConformanceError(AssertionError):
    """A backend broke a rule of its interface contract."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConformanceError(message)


async def _build(factory: Factory[B]) -> B:
    built = factory()
    if inspect.isawaitable(built):
        return await built
    return built


def probe_audio(fmt: AudioFormat | None = None, seconds: float = 3.0, seed: int = 0) -> FloatArray:
    """Deterministic test audio: quiet noise with a 1.2 s voiced-like harmonic burst."""
    fmt = fmt or AudioFormat()
    rng = np.random.default_rng(seed)
    n = round(seconds * fmt.sample_rate)
    t = np.arange(n) / fmt.sample_rate
    audio = 0.003 * rng.standard_normal(n)
    burst = (t >= 0.8) & (t < 2.0)
    voiced = np.sum([np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8)], axis=0)
    audio[burst] += 0.2 * voiced[burst] * np.hanning(int(burst.sum()))
    return audio.astype(np.float32)


def _chunks(audio: FloatArray, fmt: AudioFormat) -> list[AudioChunk]:
    rechunker = Rechunker(fmt)
    return [*rechunker.push(audio), *rechunker.flush()]


async def _run_perceiver(perceiver: Perceiver, chunks: Sequence[AudioChunk]) -> list[Perception]:
    seen: list[Perception] = []
    for chunk in chunks:
        out = await perceiver.perceive(chunk)
        _require(isinstance(out, Sequence), f"perceive() must return a sequence, got {type(out).__name__}")
        for item in out:
            _require(isinstance(item, Perception), f"perceive() returned {type(item).__name__}, not a Perception")
            _require(
                item.span_end <= chunk.end_time + 1e-9,
                f"perception {item!r} ends after the audio heard so far ({chunk.end_time:.3f}s)",
            )
        seen.extend(out)
    final = await perceiver.finish()
    for item in final:
        _require(isinstance(item, Perception), f"finish() returned {type(item).__name__}, not a Perception")
        _require(item.span_end <= chunks[-1].end_time + 1e-9, f"finish() perception {item!r} ends after the stream")
    seen.extend(final)
    return seen


async def check_perceiver(
    factory: Factory[Perceiver],
    *,
    audio: FloatArray | None = None,
    fmt: AudioFormat | None = None,
    deterministic: bool = True,
) -> list[Perception]:
    """Check the Perceiver contract on ``audio`` (default :func:`probe_audio`); return what it perceived.

    Rules checked: results are Perceptions of audio already heard; ``finish`` flushes
    only heard audio; transcript commits never repeat (each ends later than the one
    before, and its words come in stream order, none committed twice); ``reset`` restores the initial
    state (same results again when ``deterministic``); ``aclose`` is idempotent.
    """
    fmt = fmt or AudioFormat()
    chunks = _chunks(audio if audio is not None else probe_audio(fmt), fmt)
    perceiver = await _build(factory)
    try:
        _require(isinstance(perceiver, Perceiver), f"factory built {type(perceiver).__name__}, not a Perceiver")
        _require(isinstance(perceiver.name, str) and bool(perceiver.name), "Perceiver.name must be a non-empty str")
        first = await _run_perceiver(perceiver, chunks)
        _check_commits(first)
        await perceiver.reset()
        second = await _run_perceiver(perceiver, chunks)
        if deterministic:
            _require(
                [_summary(p) for p in first] == [_summary(p) for p in second],
                "after reset() the same audio must give the same perceptions",
            )
    finally:
        await perceiver.aclose()
        await perceiver.aclose()
    return first


def _check_commits(perceptions: Sequence[Perception]) -> None:
    """Transcript commits never repeat: each commits newer audio than the last, its words once, in order."""
    commits = [p for p in perceptions if isinstance(p, TranscriptUpdate) and p.committed.strip()]
    for before, after in itertools.pairwise(commits):
        _require(
            after.span_end > before.span_end + 1e-6,
            f"transcript commit {after.committed!r} (ends {after.span_end:.3f}s) does not follow the commit "
            f"{before.committed!r} (ends {before.span_end:.3f}s): a commit must not repeat audio already committed",
        )
    words = [w for p in commits for w in p.words]
    for previous, word in itertools.pairwise(words):
        _require(word.start >= previous.start - 1e-6, "committed words must come in stream order")
        _require(
            not (word.text == previous.text and word.start < previous.end - 1e-6),
            f"the word {word.text!r} at {word.start:.3f}s was committed twice",
        )


def _summary(p: Perception) -> tuple[object, ...]:
    return (type(p).__name__, round(p.span_start, 6), round(p.span_end, 6), getattr(p, "committed", None),
            getattr(p, "label", None), getattr(p, "speaking", None))


def _context(*, agent_speaking: bool, heard_until: float) -> DecisionContext:
    return DecisionContext(
        now=heard_until,
        heard_until=heard_until,
        agent_speaking=agent_speaking,
        active_reply=0 if agent_speaking else None,
        tasks=DEFAULT_TASKS,
        transcript="what time is it",
        history=(),
        user_speaking=False,
        last_speech_end=heard_until - 0.8,
        last_reply_end=None,
        pending_chunks=0,
    )


async def check_decider(factory: Factory[Decider]) -> None:
    """Check the Decider contract: always a Decision, evidence only from what it was given.

    Drives the decider through listening and speaking contexts with no perceptions,
    a finished user turn, and a barge-in; then ``reset`` and idempotent ``aclose``.
    """
    decider = await _build(factory)
    try:
        _require(isinstance(decider, Decider), f"factory built {type(decider).__name__}, not a Decider")
        turn = (
            SpeechActivity(span_start=0.4, span_end=0.8, speaking=True),
            TranscriptUpdate(span_start=0.4, span_end=1.6, committed="what time is it"),
            SpeechActivity(span_start=1.6, span_end=2.4, speaking=False),
        )
        steps: list[tuple[bool, float, tuple[Perception, ...]]] = [
            (False, 0.4, ()),
            (False, 2.4, turn),
            (True, 2.8, (SpeechActivity(span_start=2.4, span_end=2.8, speaking=True),)),
            (True, 3.2, ()),
        ]
        for speaking, heard, perceptions in steps:
            decision = await decider.decide(_context(agent_speaking=speaking, heard_until=heard), perceptions)
            _require(isinstance(decision, Decision), f"decide() returned {type(decision).__name__}, not a Decision")
            _require(isinstance(decision.action, Action), "Decision.action must be an Action")
            for evidence in decision.evidence:
                _require(
                    any(evidence == given for given in turn + perceptions) or evidence.span_end <= heard + 1e-9,
                    f"decision evidence {evidence!r} was never heard",
                )
        await decider.reset()
    finally:
        await decider.aclose()
        await decider.aclose()


def sample_request(*, with_audio: bool = False, fmt: AudioFormat | None = None) -> ResponseRequest:
    """A small, valid reply request for testing responders."""
    fmt = fmt or AudioFormat()
    decision = Decision(action=Action.RESPOND, task=DEFAULT_TASKS[0].name, reason="conformance", id=0,
                        decided_at=2.4, heard_until=2.4)
    return ResponseRequest(
        reply_id=0,
        decision=decision,
        task=DEFAULT_TASKS[0],
        transcript="What is the capital of France?",
        audio=probe_audio(fmt, 2.4) if with_audio else None,
        sample_rate=fmt.sample_rate,
    )


async def _first_delta(stream: AsyncIterator[object]) -> object:
    async for delta in stream:
        return delta
    raise ConformanceError("respond() yielded nothing")


async def check_responder(
    factory: Factory[Responder], *, request: ResponseRequest | None = None, cancel_within: float = 5.0
) -> str:
    """Check the Responder contract; return the text of one full reply.

    Rules checked: only TextDelta/AudioDelta are yielded and at least one; cancelling
    before the first delta and after it closes the stream within ``cancel_within``
    seconds (session clock) without raising; a new reply works after a cancel;
    ``aclose`` is idempotent.
    """
    request = request or sample_request()
    responder = await _build(factory)
    try:
        _require(isinstance(responder, Responder), f"factory built {type(responder).__name__}, not a Responder")
        text: list[str] = []
        count = 0
        stream = responder.respond(request)
        try:
            async for delta in stream:
                _require(isinstance(delta, TextDelta | AudioDelta), f"respond() yielded {type(delta).__name__}")
                count += 1
                if isinstance(delta, TextDelta):
                    text.append(delta.text)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        _require(count > 0, "respond() must yield at least one delta")
        # cancel before the first delta
        with anyio.move_on_after(cancel_within) as outer:
            with anyio.CancelScope() as scope:
                scope.cancel()
                stream = responder.respond(request)
                try:
                    await _first_delta(stream)
                finally:
                    with anyio.CancelScope(shield=True):
                        await stream.aclose()  # type: ignore[attr-defined]
        _require(not outer.cancelled_caught, f"cancel before the first delta took over {cancel_within}s")
        # cancel after the first delta
        with anyio.move_on_after(cancel_within) as outer:
            stream = responder.respond(request)
            try:
                await _first_delta(stream)
            finally:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()  # type: ignore[attr-defined]
        _require(not outer.cancelled_caught, f"closing a reply mid-stream took over {cancel_within}s")
        again = responder.respond(request)
        try:
            await _first_delta(again)
        finally:
            await again.aclose()  # type: ignore[attr-defined]
    finally:
        await responder.aclose()
        await responder.aclose()
    return "".join(text)
