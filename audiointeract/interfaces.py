"""The three backend interfaces, the audio source and the observer hook.

Each interface has one required method; lifecycle methods have no-op defaults. The
docstrings are the contract that :mod:`audiointeract.testing` checks.

Rules shared by every backend:

* **Cancellation.** Any ``await`` may be cancelled by the session. A backend must
  not catch and swallow cancellation; it releases what it holds in ``finally``.
* **Errors.** Raise :class:`~audiointeract.errors.BackendError` (with ``retryable``)
  for failures of the backend's own machinery, mapping foreign exceptions at the
  boundary with ``raise ... from exc``. The session turns any exception into a
  :class:`~audiointeract.events.BackendErrorEvent` and applies its failure policy.
* **Time.** Backends that wait or read time use the clock they are given (default
  :class:`~audiointeract.clock.LoopClock`), never ``time``/``asyncio.sleep``.
* **Threads.** Blocking compute runs off the event loop (``anyio.to_thread``).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence

import attrs
import numpy.typing as npt

from audiointeract.audio import AudioChunk, FloatArray
from audiointeract.events import (
    AudioDelta,
    Decision,
    Event,
    Perception,
    ResponseDelta,
    ResponseRequest,
    StandingTask,
    Turn,
)

__all__ = [
    "AudioSource",
    "Decider",
    "DecisionContext",
    "Observer",
    "Perceiver",
    "Responder",
    "SourceProblem",
]


class Perceiver(abc.ABC):
    """Turns audio chunks into perceptions (speech activity, transcripts, sound events).

    Contract:

    * ``perceive`` is called once per chunk, in stream order, never concurrently.
      The perceiver keeps whatever streaming state it needs between calls.
    * Every returned perception describes audio already heard:
      ``span_end <= chunk.end_time``. The session rejects any other as a
      :class:`~audiointeract.errors.ContractViolation`.
    * Returning an empty sequence is normal (nothing new was heard).
    * ``finish`` is called once after the last chunk to flush pending results
      (e.g. tentative words); ``reset`` forgets all streaming state;
      ``aclose`` releases resources and is idempotent.
    """

    name: str = "perceiver"

    @abc.abstractmethod
    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        """Process one chunk and return what became known because of it."""

    async def check(self) -> None:
        """Verify the backend can work (e.g. reach its server) before audio flows.

        The session calls it once before it starts; raise a clear
        :class:`~audiointeract.errors.AudioInteractError` if it cannot.
        """

    async def finish(self) -> Sequence[Perception]:
        """Flush at the end of the stream; default: nothing pending."""
        return ()

    async def reset(self) -> None:
        """Forget all streaming state, as if no audio had been heard."""

    async def aclose(self) -> None:
        """Release resources. Safe to call more than once."""


@attrs.frozen(kw_only=True)
class DecisionContext:
    """What a decider knows at a decision point besides the new perceptions.

    ``now`` is session time; ``heard_until`` is the stream time of the newest audio
    the perceptions cover. ``transcript`` is the committed transcript so far
    (bounded to the session's ``transcript_chars``).
    """

    now: float
    heard_until: float
    agent_speaking: bool
    active_reply: int | None
    tasks: tuple[StandingTask, ...]
    transcript: str
    history: tuple[Turn, ...]
    user_speaking: bool
    last_speech_end: float | None
    last_reply_end: float | None
    pending_chunks: int
    audio: FloatArray | None = attrs.field(default=None, eq=False, repr=False)
    """The last ``SessionConfig.request_audio_seconds`` of audio up to ``heard_until`` (None if 0)."""
    sample_rate: int = 16000
    """Sample rate of ``audio`` (the session's)."""
    last_reply_cut: bool = False
    """Whether the newest reply was cancelled before it finished (barge-in), not played to its end."""


class Decider(abc.ABC):
    """Decides, from new perceptions and the session state, what to do now.

    Contract:

    * ``decide`` is called at each decision point with every perception that became
      available since the previous call (drained FIFO), or per chunk, depending on
      the session's ``decision_mode``. It is never called concurrently.
    * It returns one :class:`~audiointeract.events.Decision`. Its ``evidence`` must
      be drawn from perceptions the decider has been given (the session checks the
      spans against ``context.heard_until``).
    * ``context.agent_speaking`` tells whether a reply is in flight: RESPOND then is
      ignored by the session; INTERRUPT cancels that reply (barge-in).
    """

    name: str = "decider"

    @abc.abstractmethod
    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Return the decision for this decision point."""

    async def check(self) -> None:
        """Verify the backend can work before audio flows (see :meth:`Perceiver.check`)."""

    async def reset(self) -> None:
        """Forget policy state (evidence, cooldowns)."""

    async def aclose(self) -> None:
        """Release resources. Safe to call more than once."""


class Responder(abc.ABC):
    """Writes one reply as an async stream of text and/or audio deltas.

    Contract:

    * ``respond`` returns an async iterator (normally an async generator). The
      session consumes it inside ``contextlib.aclosing`` and may cancel it at any
      ``await``; the generator must then stop promptly, release threads, streams and
      sockets in ``finally``, and emit nothing further.
    * At most one reply per responder is in flight at a time.
    * Raising ends the reply as failed; the session keeps listening. A reply that
      produces no output within ``first_output_timeout`` seconds (None: the session's
      ``responder_failure.first_output_timeout``) fails as a timeout.
    """

    name: str = "responder"
    first_output_timeout: float | None = None

    @abc.abstractmethod
    def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        """Stream the reply to ``request``."""

    async def acknowledgement(self, text: str) -> AudioDelta | None:
        """A short acknowledgement ("mm-hm") spoken in this responder's voice; None if it has no voice.

        The session asks once per phrase and caches the audio; a text-only responder's
        acknowledgements are traced as text.
        """
        return None

    async def check(self) -> None:
        """Verify the backend can work before audio flows (see :meth:`Perceiver.check`)."""

    async def aclose(self) -> None:
        """Release resources. Safe to call more than once."""


@attrs.frozen(kw_only=True)
class SourceProblem:
    """Something a source noticed about its input: ``count`` new cases of ``code`` (e.g. ``"microphone_overrun"``)."""

    code: str
    message: str
    count: int


class AudioSource(abc.ABC):
    """Yields audio as (samples, sample_rate) blocks of any length, in any PCM format.

    The session converts each block to the session format and re-chunks it. A source
    that is exhausted ends the session's input; ``aclose`` is idempotent.
    """

    @abc.abstractmethod
    def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        """Yield ``(array_like, sample_rate)`` blocks in stream order."""

    def problems(self) -> Sequence[SourceProblem]:
        """Input problems noticed since the last call (e.g. audio a live device dropped).

        The session asks after each block and reports each ``code`` once as an
        :class:`~audiointeract.events.InputWarning`; the default is none.
        """
        return ()

    async def aclose(self) -> None:
        """Release the underlying file/stream. Safe to call more than once."""


class Observer(abc.ABC):
    """Receives every session event, synchronously, in order; must not block.

    Sinks (console timelines, trace recorders, audio outputs, app callbacks) are
    observers. An observer that raises is reported and detached, never kills the
    session.
    """

    @abc.abstractmethod
    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        """Handle one event. ``at`` is session time, ``heard`` the stream time ingested so far."""

    def close(self) -> None:
        """Called once when the session ends."""
