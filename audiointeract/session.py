"""The session loop: perceive -> decide -> respond over bounded queues in one anyio task group.

Four kinds of task run concurrently:

* **ingest** reads the source, converts and re-chunks audio, paces it in real time
  (or not), and puts chunks on the bounded chunk queue. It never waits on the
  perceiver: a full queue applies the overflow policy.
* **perceive** runs the perceiver on each chunk in order and hands the results to
  the decision queue.
* **decide** drains the decision queue at each decision point (or takes one chunk's
  results at a time), asks the decider, and feeds the decision to the pure
  turn-taking state machine (:mod:`audiointeract.turns`), carrying out its actions.
* **reply** (one at a time) streams the responder's deltas as events; an INTERRUPT
  cancels it, and nothing of it is emitted once the cancel is carried out.

All time is read through the injected :class:`~audiointeract.clock.Clock`.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio
import anyio.abc
import attrs
import numpy as np

from audiointeract.audio import AudioChunk, FloatArray, Rechunker, to_session_audio
from audiointeract.clock import Clock, LoopClock, Stopwatch
from audiointeract.config import DecisionMode, FailureAction, FailurePolicy, Pacing, SessionConfig
from audiointeract.errors import AudioInteractError, BackendTimeout, ContractViolation
from audiointeract.events import (
    AudioDelta,
    AudioReceived,
    BackendErrorEvent,
    ChunkDropped,
    Decision,
    DecisionIgnored,
    Event,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    ResponseRequest,
    SessionEnded,
    SpeechActivity,
    TextDelta,
    TranscriptUpdate,
    Turn,
    event_to_dict,
)
from audiointeract.interfaces import AudioSource, Decider, DecisionContext, Observer, Perceiver, Responder
from audiointeract.queues import BoundedQueue, Overflow, QueueStatistics
from audiointeract.trace import Trace, TraceRecorder
from audiointeract.turns import (
    Backchannel,
    CancelReply,
    Ignore,
    Phase,
    ReplyOutcome,
    StartReply,
    TurnState,
    on_decision,
    on_reply_ended,
)

__all__ = ["EventStream", "LatencySummary", "Session", "SessionStatistics"]

T = TypeVar("T")
_EPS = 1e-9
_LATENCY_WINDOW = 2048
_PLAYBACK_BUFFER = 64
_SESSION_ENDED = "session ended"
_AUDIO_LAG_ALLOWANCE = 10.0  # seconds of extra audio kept so a lagging decision point still gets its window


@attrs.frozen(kw_only=True)
class LatencySummary:
    """Percentiles of a latency series in seconds (NaN when empty)."""

    count: int
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> LatencySummary:
        """Summarise ``values``."""
        if not values:
            return cls(count=0, p50=math.nan, p95=math.nan, max=math.nan)
        array = np.asarray(values, dtype=np.float64)
        return cls(
            count=len(values),
            p50=float(np.percentile(array, 50)),
            p95=float(np.percentile(array, 95)),
            max=float(array.max()),
        )


@attrs.frozen(kw_only=True)
class SessionStatistics:
    """A snapshot of the session's queues, counters and latencies.

    ``perceiver_lag`` is how far perception trails the audio already ingested
    (stream seconds); ``decision_latency`` is session time from a chunk's arrival to
    the decision that covered it.
    """

    chunks_received: int
    chunks_perceived: int
    chunk_queue: QueueStatistics
    decision_queue: QueueStatistics
    perceptions: int
    perceptions_dropped: int
    decisions: Counter[str]
    replies_started: int
    replies_finished: int
    replies_cancelled: int
    replies_failed: int
    backend_errors: Counter[str]
    events_dropped: int
    heard_until: float
    perceived_until: float
    perceiver_lag: float
    max_perceiver_lag: float
    decision_latency: LatencySummary
    cancel_latency: LatencySummary


@attrs.frozen
class _Perceived:
    """One chunk's perception results on their way to the decider."""

    index: int
    stream_end: float
    arrived_at: float
    perceptions: tuple[Perception, ...]


class _Skipped:
    """Marker: a backend call failed and the policy said skip."""


_SKIPPED = _Skipped()


class _SessionFailure(Exception):
    """Raised inside the loop when a failure policy says stop."""

    def __init__(self, component: str, error: BaseException) -> None:
        super().__init__(f"{component} failed: {error}")
        self.component = component
        self.error = error


@attrs.define
class _ReplyProgress:
    playback_end: float
    first_output: float | None = None
    deltas: int = 0
    failure: BaseException | None = None
    done: bool = False


@attrs.define
class _Reply:
    reply_id: int
    decision: Decision
    scope: anyio.CancelScope
    cancel_requested_at: float | None = None
    cancel_decision: int | None = None
    cancel_reason: str = ""
    text: list[str] = attrs.field(factory=list)


class EventStream:
    """Async iterator over a running session's events.

    Bounded: a reader more than ``capacity`` events behind loses the oldest ones,
    counted in :attr:`dropped`; the session never waits for a slow reader.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: deque[Event] = deque()
        self._closed = False
        self._wakeup = anyio.Event()
        self.dropped = 0

    def _push(self, event: Event) -> None:
        if len(self._items) >= self._capacity:
            self._items.popleft()
            self.dropped += 1
        self._items.append(event)
        self._wakeup.set()

    def _close(self) -> None:
        self._closed = True
        self._wakeup.set()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup = anyio.Event()
            await self._wakeup.wait()
        return self._items.popleft()


class Session:
    """One live interaction: a perceiver, a decider and a responder over one audio stream.

    Build it from backends, then either ``await session.run(source)`` (returns the
    :class:`~audiointeract.trace.Trace`) or iterate events while it runs::

        async with session.start(source) as events:
            async for event in events:
                ...

    Observers (callbacks) registered with :meth:`subscribe` see every event in order.
    A session object runs once.
    """

    def __init__(
        self,
        perceiver: Perceiver,
        decider: Decider,
        responder: Responder,
        *,
        config: SessionConfig | None = None,
        clock: Clock | None = None,
        observers: Sequence[Observer] = (),
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.perceiver = perceiver
        self.decider = decider
        self.responder = responder
        self.config = config or SessionConfig()
        self._watch = Stopwatch(clock or LoopClock())
        self._observers: list[Observer] = list(observers)
        self._recorder = TraceRecorder(meta=self._trace_meta(meta))
        self._streams: list[EventStream] = []
        self._started = False
        # runtime state (created in _run, inside the event loop)
        self._chunks: BoundedQueue[AudioChunk] | None = None
        self._pending: BoundedQueue[_Perceived] | None = None
        self._turn = TurnState()
        self._reply: _Reply | None = None
        self._reply_done: anyio.Event | None = None
        self._idle: anyio.Event | None = None
        self._heard = 0.0
        self._perceived_until = 0.0
        self._max_lag = 0.0
        self._next_decision_id = 0
        self._counts: Counter[str] = Counter()
        self._decisions: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._decision_latency: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self._cancel_latency: deque[float] = deque(maxlen=_LATENCY_WINDOW)
        self._transcript = ""
        self._user_text: list[str] = []
        self._history: deque[Turn] = deque(maxlen=self.config.history_turns)
        self._user_speaking = False
        self._last_speech_end: float | None = None
        self._recent_audio: deque[AudioChunk] = deque()
        self._stop_requested = False
        self._ingest_scope: anyio.CancelScope | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._arrivals: dict[int, float] = {}
        self._decided_through = -1
        self._decided: anyio.Event | None = None

    # ------------------------------------------------------------------ public API

    def subscribe(self, observer: Observer) -> None:
        """Register an observer; it sees every later event."""
        self._observers.append(observer)

    @property
    def trace(self) -> Trace:
        """The trace of everything that happened so far."""
        return self._recorder.trace()

    async def run(self, source: AudioSource) -> Trace:
        """Run until the source ends (and the last reply is done); return the trace."""
        async with self.start(source) as events:
            async for _ in events:
                pass
        return self.trace

    @contextlib.asynccontextmanager
    async def start(self, source: AudioSource) -> AsyncIterator[EventStream]:
        """Run the session in the background; yield a stream of its events.

        Each backend's ``check()`` runs first; a failing check raises before any audio
        is taken. Leaving the block early stops the session (as :meth:`stop` does) and
        waits for it to wind down.
        """
        for backend in (self.perceiver, self.decider, self.responder):
            await backend.check()
        stream = EventStream(self.config.event_buffer)
        self._streams.append(stream)
        async with anyio.create_task_group() as group:
            group.start_soon(self._run, source)
            try:
                yield stream
            finally:
                self.stop()

    def stop(self) -> None:
        """Stop taking audio; pending perceptions are decided and the reply in flight ends."""
        self._stop_requested = True
        if self._ingest_scope is not None:
            self._ingest_scope.cancel()

    def statistics(self) -> SessionStatistics:
        """Queue depths, drops, counters and latencies right now."""
        empty = QueueStatistics(capacity=0, depth=0, max_depth=0, put=0, dropped=0)
        return SessionStatistics(
            chunks_received=self._counts["chunks_received"],
            chunks_perceived=self._counts["chunks_perceived"],
            chunk_queue=self._chunks.statistics() if self._chunks is not None else empty,
            decision_queue=self._pending.statistics() if self._pending is not None else empty,
            perceptions=self._counts["perceptions"],
            perceptions_dropped=self._counts["perceptions_dropped"],
            decisions=Counter(self._decisions),
            replies_started=self._counts["replies_started"],
            replies_finished=self._counts["replies_finished"],
            replies_cancelled=self._counts["replies_cancelled"],
            replies_failed=self._counts["replies_failed"],
            backend_errors=Counter(self._errors),
            events_dropped=sum(stream.dropped for stream in self._streams),
            heard_until=self._heard,
            perceived_until=self._perceived_until,
            perceiver_lag=max(0.0, self._heard - self._perceived_until),
            max_perceiver_lag=self._max_lag,
            decision_latency=LatencySummary.of(list(self._decision_latency)),
            cancel_latency=LatencySummary.of(list(self._cancel_latency)),
        )

    # ------------------------------------------------------------------ the loop

    async def _run(self, source: AudioSource) -> None:
        if self._started:
            msg = "a Session runs once; build a new one"
            raise RuntimeError(msg)
        self._started = True
        cfg = self.config
        self._chunks = BoundedQueue(cfg.chunk_queue, cfg.chunk_overflow, name="chunk queue")
        self._pending = BoundedQueue(cfg.decision_queue, Overflow.DROP_OLDEST, name="decision queue")
        self._idle = anyio.Event()
        self._idle.set()
        self._watch.start()
        reason = "source_exhausted"
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                group.start_soon(self._perceive_loop)
                group.start_soon(self._decide_loop)
                await self._ingest_loop(source)
        except* _SessionFailure as failures:
            reason = f"failed: {failures.exceptions[0]}"
        finally:
            with anyio.CancelScope(shield=True):
                await source.aclose()
        if self._stop_requested and reason == "source_exhausted":
            reason = "stopped"
        self._emit(SessionEnded(reason=reason, heard_until=self._heard, at=self._now()))
        for observer in self._observers:
            observer.close()
        for stream in self._streams:
            stream._close()  # noqa: SLF001

    def _now(self) -> float:
        return self._watch.elapsed()

    async def _ingest_loop(self, source: AudioSource) -> None:
        assert self._chunks is not None
        rechunker = Rechunker(self.config.audio)
        with anyio.CancelScope() as scope:
            self._ingest_scope = scope
            if self._stop_requested:
                scope.cancel()
            async for data, rate in source.blocks():
                try:
                    samples = to_session_audio(
                        data, rate, self.config.audio, allow_resample=self.config.allow_resample
                    )
                except AudioInteractError as exc:
                    self._report_error("source", exc, attempt=1, handling="skip")
                    continue
                for chunk in rechunker.push(samples):
                    await self._ingest(chunk)
        for chunk in rechunker.flush():
            await self._ingest(chunk)
        self._chunks.close()

    async def _ingest(self, chunk: AudioChunk) -> None:
        assert self._chunks is not None
        if self.config.pacing is Pacing.REALTIME:
            await self._watch.sleep_until_elapsed(chunk.end_time)
        else:
            await self._wait_decided(chunk.index - 1)
        self._heard = chunk.end_time
        self._counts["chunks_received"] += 1
        now = self._now()
        self._emit(AudioReceived(index=chunk.index, span_start=chunk.start_time, span_end=chunk.end_time, at=now))
        self._remember_audio(chunk)
        self._arrivals[chunk.index] = now
        try:
            await self._chunks.put(chunk, on_drop=self._on_chunk_dropped)
        except AudioInteractError as exc:
            raise _SessionFailure("chunk queue", exc) from exc

    async def _wait_decided(self, index: int) -> None:
        """Lock-step for FAST pacing: wait until chunk ``index`` went through a decision point."""
        while self._decided_through < index:
            self._decided = anyio.Event()
            await self._decided.wait()

    def _mark_decided(self, index: int) -> None:
        self._decided_through = max(self._decided_through, index)
        if self._decided is not None:
            self._decided.set()

    def _on_chunk_dropped(self, chunk: AudioChunk) -> None:
        self._arrivals.pop(chunk.index, None)
        self._emit(
            ChunkDropped(
                index=chunk.index,
                span_start=chunk.start_time,
                span_end=chunk.end_time,
                at=self._now(),
                reason="chunk queue full (drop_oldest)",
            )
        )

    def _remember_audio(self, chunk: AudioChunk) -> None:
        """Keep enough recent audio to cut the request window at a lagging decision point."""
        keep = self.config.request_audio_seconds
        if keep <= 0:
            return
        self._recent_audio.append(chunk)
        horizon = keep + _AUDIO_LAG_ALLOWANCE + self.config.chunk_queue * chunk.duration
        while self._recent_audio and self._recent_audio[0].end_time <= chunk.end_time - horizon + _EPS:
            self._recent_audio.popleft()

    async def _perceive_loop(self) -> None:
        assert self._chunks is not None
        assert self._pending is not None
        policy = self.config.perceiver_failure
        while (chunk := await self._chunks.get()) is not None:
            outcome = await self._call("perceiver", policy, self.perceiver.perceive, chunk)
            self._counts["chunks_perceived"] += 1
            self._perceived_until = chunk.end_time
            self._max_lag = max(self._max_lag, self._heard - self._perceived_until)
            accepted = self._publish_perceptions(outcome, limit=chunk.end_time, index=chunk.index)
            arrived = self._arrivals.pop(chunk.index, self._now())
            await self._pending.put(
                _Perceived(index=chunk.index, stream_end=chunk.end_time, arrived_at=arrived, perceptions=accepted),
                on_drop=self._on_perceived_dropped,
            )
        final = await self._call("perceiver", policy, self.perceiver.finish)
        accepted = self._publish_perceptions(final, limit=self._heard, index=-1)
        if accepted:
            self._pending.put_unbounded(
                _Perceived(index=-1, stream_end=self._heard, arrived_at=self._now(), perceptions=accepted)
            )
        self._pending.close()

    def _on_perceived_dropped(self, item: _Perceived) -> None:
        self._counts["perceptions_dropped"] += len(item.perceptions)

    def _publish_perceptions(self, results: object, *, limit: float, index: int) -> tuple[Perception, ...]:
        if isinstance(results, _Skipped):
            return ()
        if not isinstance(results, Sequence):
            violation = ContractViolation(f"perceive() returned {type(results).__name__}, not a sequence")
            self._report_error("perceiver", violation, attempt=1, handling="skip")
            return ()
        accepted: list[Perception] = []
        now = self._now()
        for item in results:
            if not isinstance(item, Perception):
                self._report_error(
                    "perceiver",
                    ContractViolation(f"perceive() returned {type(item).__name__}, not a Perception"),
                    attempt=1,
                    handling="skip",
                )
                continue
            if item.span_end > limit + _EPS:
                self._report_error(
                    "perceiver",
                    ContractViolation(
                        f"perception ends at {item.span_end:.3f}s but audio was only heard "
                        f"up to {limit:.3f}s (chunk {index})"
                    ),
                    attempt=1,
                    handling="skip",
                )
                continue
            stamped = attrs.evolve(item, emitted_at=now)
            accepted.append(stamped)
            self._counts["perceptions"] += 1
            self._emit(stamped)  # type: ignore[arg-type]
        return tuple(accepted)

    async def _decide_loop(self) -> None:
        assert self._pending is not None
        assert self._idle is not None
        policy = self.config.decider_failure
        while True:
            if self.config.half_duplex:
                await self._idle.wait()
            if self.config.decision_mode is DecisionMode.DRAIN:
                items = await self._pending.get_all()
            else:
                item = await self._pending.get()
                items = [] if item is None else [item]
            if not items:
                break
            perceptions = tuple(p for item in items for p in item.perceptions)
            heard_until = max(item.stream_end for item in items)
            self._absorb(perceptions)
            context = self._context(heard_until)
            outcome = await self._call("decider", policy, self.decider.decide, context, perceptions)
            decision = None if isinstance(outcome, _Skipped) else self._stamp(outcome, heard_until)
            if decision is not None:
                assert decision.decided_at is not None
                self._decision_latency.extend(decision.decided_at - item.arrived_at for item in items)
                self._carry_out(decision)
            self._mark_decided(max(item.index for item in items))
        await self._wait_reply()

    def _stamp(self, outcome: object, heard_until: float) -> Decision | None:
        if not isinstance(outcome, Decision):
            self._report_error(
                "decider",
                ContractViolation(f"decide() returned {type(outcome).__name__}, not a Decision"),
                attempt=1,
                handling="skip",
            )
            return None
        late = [p for p in outcome.evidence if p.span_end > heard_until + _EPS]
        if late:
            self._report_error(
                "decider",
                ContractViolation(
                    f"decision rests on audio up to {late[0].span_end:.3f}s, "
                    f"but only {heard_until:.3f}s was heard"
                ),
                attempt=1,
                handling="skip",
            )
            return None
        decision = attrs.evolve(
            outcome, id=self._next_decision_id, decided_at=self._now(), heard_until=heard_until
        )
        self._next_decision_id += 1
        self._decisions[decision.action.value] += 1
        self._emit(decision)
        return decision

    def _absorb(self, perceptions: Sequence[Perception]) -> None:
        for p in perceptions:
            if isinstance(p, TranscriptUpdate) and p.committed:
                self._transcript = _join(self._transcript, p.committed)[-self.config.transcript_chars :]
                self._user_text.append(p.committed)
            elif isinstance(p, SpeechActivity):
                self._user_speaking = p.speaking
                if not p.speaking:
                    self._last_speech_end = p.span_end

    def _context(self, heard_until: float) -> DecisionContext:
        assert self._pending is not None
        return DecisionContext(
            now=self._now(),
            heard_until=heard_until,
            agent_speaking=self._reply is not None,
            active_reply=self._reply.reply_id if self._reply else None,
            tasks=self.config.tasks,
            transcript=self._transcript,
            history=tuple(self._history),
            user_speaking=self._user_speaking,
            last_speech_end=self._last_speech_end,
            last_reply_end=self._turn.last_reply_end,
            pending_chunks=len(self._pending),
            audio=self._request_audio(heard_until),
            sample_rate=self.config.audio.sample_rate,
        )

    def _carry_out(self, decision: Decision) -> None:
        assert decision.id is not None
        assert decision.decided_at is not None
        self._turn, actions = on_decision(self._turn, decision, decision.decided_at, self.config.turn)
        for action in actions:
            if isinstance(action, StartReply):
                self._start_reply(action)
            elif isinstance(action, CancelReply):
                self._request_cancel(action.reply_id, decision)
            elif isinstance(action, Ignore):
                self._emit(
                    DecisionIgnored(
                        decision_id=decision.id, action=decision.action, reason=action.reason, at=self._now()
                    )
                )
            else:
                assert isinstance(action, Backchannel)

    def _start_reply(self, action: StartReply) -> None:
        assert self._idle is not None
        assert self._group is not None
        decision = action.decision
        task = next((t for t in self.config.tasks if t.name == decision.task), None)
        if self._user_text:
            self._history.append(Turn(role="user", text=_join("", " ".join(self._user_text))))
            self._user_text = []
        request = ResponseRequest(
            reply_id=action.reply_id,
            decision=decision,
            task=task,
            transcript=self._transcript,
            history=tuple(self._history),
            trigger=decision.evidence[-1] if decision.evidence else None,
            audio=self._request_audio(decision.heard_until),
            sample_rate=self.config.audio.sample_rate,
        )
        self._reply = _Reply(reply_id=action.reply_id, decision=decision, scope=anyio.CancelScope())
        self._reply_done = anyio.Event()
        self._idle = anyio.Event()
        self._counts["replies_started"] += 1
        assert decision.id is not None
        self._emit(ReplyStarted(reply_id=action.reply_id, decision_id=decision.id, task=decision.task, at=self._now()))
        self._group.start_soon(self._run_reply, self._reply, request)

    def _request_audio(self, until: float | None) -> FloatArray | None:
        """The last ``request_audio_seconds`` of audio up to stream time ``until`` (never unheard audio)."""
        keep = self.config.request_audio_seconds
        if keep <= 0:
            return None
        wanted = round(keep * self.config.audio.sample_rate)
        picked: list[FloatArray] = []
        for chunk in reversed(self._recent_audio):  # newest first; stop once the window is full
            if until is not None and chunk.end_time > until + _EPS:
                continue
            picked.append(chunk.samples)
            wanted -= chunk.samples.size
            if wanted <= 0:
                break
        if not picked:
            return None
        audio = np.concatenate(picked[::-1])
        return audio[-round(keep * self.config.audio.sample_rate) :]

    def _request_cancel(self, reply_id: int, decision: Decision) -> None:
        reply = self._reply
        if reply is None or reply.reply_id != reply_id or reply.cancel_requested_at is not None:
            return
        assert decision.decided_at is not None
        reply.cancel_requested_at = decision.decided_at
        reply.cancel_decision = decision.id
        reply.cancel_reason = "barge-in"
        reply.scope.cancel()

    async def _wait_reply(self) -> None:
        """Wait until no reply is in flight (a queued reply may follow a cancelled one)."""
        while self._reply is not None and self._reply_done is not None:
            await self._reply_done.wait()

    async def _run_reply(self, reply: _Reply, request: ResponseRequest) -> None:
        progress = _ReplyProgress(playback_end=self._now())
        try:
            with reply.scope:
                await self._stream_reply(reply, request, progress)
        finally:
            # runs on every exit, also when the whole session is torn down: exactly one terminal event
            if not progress.done and progress.failure is None and reply.cancel_requested_at is None:
                reply.cancel_requested_at = self._now()
                reply.cancel_reason = _SESSION_ENDED
            self._end_reply(reply, progress)

    async def _stream_reply(self, reply: _Reply, request: ResponseRequest, progress: _ReplyProgress) -> None:
        """Generate and play concurrently: text is emitted as it comes, audio at its play time."""
        send, receive = anyio.create_memory_object_stream[AudioDelta](max_buffer_size=_PLAYBACK_BUFFER)
        async with anyio.create_task_group() as group:
            group.start_soon(self._play_loop, reply, receive, progress)
            async with send:
                await self._generate(reply, request, progress, send)
            if progress.failure is not None:
                group.cancel_scope.cancel()

    async def _generate(
        self,
        reply: _Reply,
        request: ResponseRequest,
        progress: _ReplyProgress,
        audio_out: anyio.abc.ObjectSendStream[AudioDelta],
    ) -> None:
        policy = self.config.responder_failure
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._watch.clock.deadline_scope(policy.timeout):
                    async with contextlib.aclosing(self.responder.respond(request)) as stream:  # type: ignore[type-var]
                        async for item in stream:
                            delta: object = item  # checked: backends may break the contract
                            if reply.cancel_requested_at is not None:
                                return
                            if isinstance(delta, TextDelta):
                                self._emit_text(reply, delta, progress)
                            elif isinstance(delta, AudioDelta):
                                progress.deltas += 1
                                await audio_out.send(delta)
                            else:
                                msg = f"respond() yielded {type(delta).__name__}, not a TextDelta or AudioDelta"
                                raise ContractViolation(msg)  # noqa: TRY301 - reported like any backend error
            except Exception as exc:  # noqa: BLE001 - every backend failure becomes an event
                error = _as_timeout(exc, policy)
                retry = bool(getattr(error, "retryable", False)) and attempt <= policy.max_retries
                retry = retry and progress.deltas == 0
                self._report_error("responder", error, attempt=attempt, handling="retry" if retry else "skip")
                if retry:
                    await self._watch.clock.sleep(policy.backoff * 2 ** (attempt - 1))
                    continue
                progress.failure = error
            return

    def _emit_text(self, reply: _Reply, delta: TextDelta, progress: _ReplyProgress) -> None:
        if not delta.text:
            return
        reply.text.append(delta.text)
        progress.deltas += 1
        now = self._now()
        if progress.first_output is None:
            progress.first_output = now
        self._emit(ReplyText(reply_id=reply.reply_id, text=delta.text, at=now))

    async def _play_loop(
        self, reply: _Reply, audio_in: anyio.abc.ObjectReceiveStream[AudioDelta], progress: _ReplyProgress
    ) -> None:
        async with audio_in:
            async for delta in audio_in:
                await self._play(reply, delta, progress)
        await self._watch.sleep_until_elapsed(progress.playback_end)
        progress.done = progress.failure is None

    async def _play(self, reply: _Reply, delta: AudioDelta, progress: _ReplyProgress) -> None:
        """Emit reply audio in blocks at their play time, so a cancel cuts it within one block."""
        block = max(1, round(self.config.audio_block_seconds * delta.sample_rate))
        for start in range(0, delta.samples.size, block):
            samples = delta.samples[start : start + block]
            await self._watch.sleep_until_elapsed(progress.playback_end)
            if reply.cancel_requested_at is not None:
                return
            play_at = self._now()  # when the block really starts; lateness is not hidden
            duration = samples.size / delta.sample_rate
            progress.playback_end = play_at + duration
            if progress.first_output is None:
                progress.first_output = play_at
            self._emit(
                ReplyAudio(
                    reply_id=reply.reply_id,
                    play_at=play_at,
                    duration=duration,
                    sample_rate=delta.sample_rate,
                    at=self._now(),
                    samples=samples,
                )
            )

    def _end_reply(self, reply: _Reply, progress: _ReplyProgress) -> None:
        now = self._now()
        if reply.cancel_requested_at is not None:
            outcome = ReplyOutcome.CANCELLED
            self._counts["replies_cancelled"] += 1
            self._cancel_latency.append(now - reply.cancel_requested_at)
            self._emit(
                ReplyCancelled(
                    reply_id=reply.reply_id,
                    reason=reply.cancel_reason,
                    requested_at=reply.cancel_requested_at,
                    carried_out_at=now,
                    decision_id=reply.cancel_decision,
                )
            )
        elif progress.failure is not None:
            outcome = ReplyOutcome.FAILED
            self._counts["replies_failed"] += 1
            self._emit(
                ReplyFailed(
                    reply_id=reply.reply_id,
                    error_type=type(progress.failure).__name__,
                    message=str(progress.failure),
                    at=now,
                )
            )
        else:
            outcome = ReplyOutcome.FINISHED
            self._counts["replies_finished"] += 1
            self._emit(
                ReplyFinished(
                    reply_id=reply.reply_id,
                    text="".join(reply.text),
                    at=now,
                    first_output_at=progress.first_output,
                    deltas=progress.deltas,
                )
            )
        if reply.text:
            self._history.append(Turn(role="assistant", text="".join(reply.text).strip()))
        self._turn, actions = on_reply_ended(self._turn, reply.reply_id, outcome, now, self.config.turn)
        self._reply = None
        assert self._reply_done is not None
        assert self._idle is not None
        self._reply_done.set()
        self._idle.set()
        for action in actions:
            assert isinstance(action, StartReply)
            if reply.cancel_reason == _SESSION_ENDED:
                assert action.decision.id is not None
                self._turn = attrs.evolve(self._turn, phase=Phase.LISTENING, reply_id=None)
                self._emit(DecisionIgnored(decision_id=action.decision.id, action=action.decision.action,
                                           reason=_SESSION_ENDED, at=now))
            else:
                self._start_reply(action)

    async def _call(
        self, component: str, policy: FailurePolicy, fn: Callable[..., Awaitable[T]], *args: object
    ) -> T | _Skipped:
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._watch.clock.deadline_scope(policy.timeout):
                    return await fn(*args)
            except Exception as exc:
                error = _as_timeout(exc, policy)
                retryable = bool(getattr(error, "retryable", False))
                if retryable and attempt <= policy.max_retries:
                    self._report_error(component, error, attempt=attempt, handling="retry")
                    await self._watch.clock.sleep(policy.backoff * 2 ** (attempt - 1))
                    continue
                if policy.on_exhausted is FailureAction.SKIP:
                    self._report_error(component, error, attempt=attempt, handling="skip")
                    return _SKIPPED
                self._report_error(component, error, attempt=attempt, handling="stop")
                raise _SessionFailure(component, error) from exc

    def _report_error(self, component: str, error: BaseException, *, attempt: int, handling: str) -> None:
        self._errors[component] += 1
        self._emit(
            BackendErrorEvent(
                component=component,
                error_type=type(error).__name__,
                message=str(error),
                retryable=bool(getattr(error, "retryable", False)),
                attempt=attempt,
                handling=handling,
                at=self._now(),
            )
        )

    def _emit(self, event: Event) -> None:
        at = self._now()
        self._recorder.on_event(event, at=at, heard=self._heard)
        for observer in list(self._observers):
            try:
                observer.on_event(event, at=at, heard=self._heard)
            except Exception as exc:  # noqa: BLE001 - a broken observer must not kill the session
                self._observers.remove(observer)
                self._report_error(f"observer {type(observer).__name__}", exc, attempt=1, handling="skip")
        for stream in self._streams:
            stream._push(event)  # noqa: SLF001

    def _trace_meta(self, meta: dict[str, Any] | None) -> dict[str, Any]:
        cfg = self.config
        return {
            "sample_rate": cfg.audio.sample_rate,
            "chunk_seconds": cfg.audio.chunk_seconds,
            "decision_mode": cfg.decision_mode.value,
            "pacing": cfg.pacing.value,
            "tasks": [event_to_dict(task) for task in cfg.tasks],
            "backends": {
                "perceiver": self.perceiver.name,
                "decider": self.decider.name,
                "responder": self.responder.name,
            },
            **(meta or {}),
        }


def _as_timeout(exc: Exception, policy: FailurePolicy) -> Exception:
    if isinstance(exc, TimeoutError) and not isinstance(exc, BackendTimeout):
        return BackendTimeout(f"call did not finish within {policy.timeout}s")
    return exc


def _join(left: str, right: str) -> str:
    right = right.strip()
    if not left:
        return right
    if not right:
        return left
    return f"{left} {right}"


