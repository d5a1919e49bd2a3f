"""The session: perceive -> decide -> respond over bounded queues in one anyio task group.

The session is a short orchestrator of parts that each own one idea (see docs/design.md):

* :mod:`~audiointeract.ingest` turns source blocks into fixed chunks on stream time;
  the ingest task paces them and puts them on the bounded chunk queue, never waiting on
  the perceiver (a full queue applies its overflow policy);
* the perceive task runs the perceiver on each chunk in order, checks what it returns
  (:mod:`~audiointeract.contracts`) and queues it for the decider;
* the decide task drains the decision queue at each decision point (or takes one
  chunk's results at a time), asks the decider, and feeds the decision to the pure
  turn-taking state machine (:mod:`~audiointeract.turns`), carrying out its actions;
* :mod:`~audiointeract.replies` runs the replies and acknowledgements;
* :mod:`~audiointeract.conversation` keeps what was said, :mod:`~audiointeract.recent_audio`
  the newest audio, :mod:`~audiointeract.bus` delivers every event to the recorder
  (:mod:`~audiointeract.recording`), the observers and the event streams, and every
  backend call goes through the one retry loop of :mod:`~audiointeract.retry`.

All time is read through the injected :class:`~audiointeract.clock.Clock`. Every ending
— the source ran out or failed, ``stop()``, a failure policy that says stop, the task
running the session cancelled — ends with one ``SessionEnded`` that says why, and
every observer closed.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio
import anyio.abc
import attrs

from audiointeract.audio import AudioChunk
from audiointeract.bus import EventBus, EventStream
from audiointeract.clock import Clock, LoopClock, Stopwatch
from audiointeract.config import DecisionMode, FailureAction, FailurePolicy, Pacing, SessionConfig
from audiointeract.contracts import check_decision, check_perceptions
from audiointeract.conversation import Conversation
from audiointeract.echo import EchoCanceller
from audiointeract.errors import AudioInteractError, ConfigurationError
from audiointeract.events import (
    Action,
    AudioReceived,
    BackendErrorEvent,
    ChunkDropped,
    Decision,
    DecisionIgnored,
    Event,
    InputWarning,
    Perception,
    ReplyAudio,
    ResponseRequest,
    SessionEnded,
    event_to_dict,
)
from audiointeract.ingest import AudioIngest
from audiointeract.interfaces import AudioSource, Decider, DecisionContext, Observer, Perceiver, Responder
from audiointeract.queues import BoundedQueue, Overflow, QueueStatistics
from audiointeract.recent_audio import RecentAudio
from audiointeract.recording import Recorder, RingRecorder
from audiointeract.replies import SESSION_ENDED, ReplyRunner
from audiointeract.retry import bounded, call_with_retries, shortest
from audiointeract.statistics import Counters, LatencySummary, SessionStatistics
from audiointeract.trace import Trace
from audiointeract.turns import (
    CancelBackchannel,
    CancelReply,
    Ignore,
    Phase,
    ReplyOutcome,
    StartBackchannel,
    StartReply,
    TurnAction,
    TurnState,
    on_backchannel_ended,
    on_close,
    on_decision,
    on_reply_ended,
)

__all__ = ["EventStream", "LatencySummary", "Session", "SessionStatistics"]

T = TypeVar("T")
_AUDIO_LAG_ALLOWANCE = 10.0  # seconds of extra audio kept so a lagging decision point still gets its window


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


class Session:
    """One live interaction: a perceiver, a decider and a responder over one audio stream.

    Build it from backends, then either ``await session.run(source)`` (returns the
    recorded :class:`~audiointeract.trace.Trace`) or iterate events while it runs::

        async with session.start(source) as events:
            async for event in events:
                ...

    Observers registered with :meth:`subscribe` see every event in order. ``recorder``
    chooses what is kept (:mod:`audiointeract.recording`; default: the newest events in
    a bounded ring). A session object runs once.
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
        recorder: Recorder | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        _check_parts(perceiver=perceiver, decider=decider, responder=responder, config=config, clock=clock,
                     observers=observers, recorder=recorder)
        self.perceiver = perceiver
        self.decider = decider
        self.responder = responder
        self.config = cfg = config or SessionConfig()
        self._watch = Stopwatch(clock or LoopClock())
        self._recorder = recorder if recorder is not None else RingRecorder()
        self._bus = EventBus(self._recorder, observers, on_observer_error=self._observer_failed)
        self._meta = meta
        self._counters = Counters()
        self._conversation = Conversation(transcript_chars=cfg.transcript_chars, history_turns=cfg.history_turns)
        self._recent = RecentAudio(
            seconds=cfg.request_audio_seconds,
            horizon=cfg.request_audio_seconds + _AUDIO_LAG_ALLOWANCE + cfg.chunk_queue * cfg.audio.chunk_seconds,
            sample_rate=cfg.audio.sample_rate,
        )
        self._replies = ReplyRunner(
            responder,
            cfg,
            self._watch,
            emit=self._emit,
            report=self._report_error,
            counters=self._counters,
            on_reply_ended=self._reply_ended,
            on_backchannel_ended=self._backchannel_ended,
        )
        self._turn = TurnState()
        self._echo = (
            EchoCanceller(cfg.echo, cfg.audio.sample_rate)
            if cfg.echo is not None and cfg.pacing is Pacing.REALTIME
            else None
        )
        self._stream_offset = float("inf")  # session time minus stream time of the audio heard (its least)
        self.ended: SessionEnded | None = None
        """How the session ended (None while it runs); ``ended.normal`` tells a normal end from a failure."""
        self._started = False
        self._stop_reason: str | None = None
        self._source_error: BaseException | None = None
        self._failure: str | None = None
        self._warned: set[str] = set()
        self._next_decision_id = 0
        # created inside the event loop, in _run
        self._chunks: BoundedQueue[AudioChunk] | None = None
        self._pending: BoundedQueue[_Perceived] | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._ingest_scope: anyio.CancelScope | None = None
        self._arrivals: dict[int, float] = {}
        self._decided_through = -1
        self._decided: anyio.Event | None = None

    # ------------------------------------------------------------------ public API

    def subscribe(self, observer: Observer) -> None:
        """Register an observer; it sees every later event."""
        self._bus.subscribe(observer)

    @property
    def trace(self) -> Trace:
        """What the recorder kept so far."""
        return self._recorder.trace()

    async def run(self, source: AudioSource, *, heard_from: float | None = None) -> Trace:
        """Run until the source ends (and the last reply is done); return the recorded trace.

        ``heard_from`` is the clock time at which the source's first sample was heard, for
        a live source that began before the session (a network client that connected
        while the backends loaded); stream time counts from there, so real-time pacing
        never holds audio that is already due. It defaults to when the session starts.
        """
        _check_source(source)
        heard_from = self._check_heard_from(heard_from)
        await self._begin()
        await self._run(source, heard_from)
        return self.trace

    @contextlib.asynccontextmanager
    async def start(self, source: AudioSource, *, heard_from: float | None = None) -> AsyncIterator[EventStream]:
        """Run the session in the background; yield a stream of its events.

        Each backend's ``check()`` runs first; a failing check raises before any audio
        is taken. Leaving the block early stops the session (as :meth:`stop` does) and
        waits for it to wind down. ``heard_from`` is as in :meth:`run`.
        """
        _check_source(source)
        heard_from = self._check_heard_from(heard_from)
        await self._begin()
        stream = self._bus.open_stream(self.config.event_buffer)
        async with anyio.create_task_group() as group:
            group.start_soon(self._run, source, heard_from)
            try:
                yield stream
            finally:
                self.stop()

    def stop(self, reason: str | None = None) -> None:
        """Stop taking audio; what was heard is still decided, and the reply in flight is cut short.

        ``reason`` (e.g. ``"SIGTERM"``, ``"client disconnected"``) makes the ending
        ``"stopped: <reason>"``, which counts as abnormal; without one it is ``"stopped"``.
        The loop winds down within ``config.stop_grace`` seconds.
        """
        if self._stop_reason is not None:
            return
        self._stop_reason = f"stopped: {reason}" if reason else "stopped"
        if self._ingest_scope is not None:
            self._ingest_scope.cancel()
        if self._group is not None:
            self._group.cancel_scope.deadline = min(
                self._group.cancel_scope.deadline, self._watch.clock.now() + self.config.stop_grace
            )
            self._close_floor()

    def statistics(self) -> SessionStatistics:
        """Queue depths, drops, counters and latencies right now."""
        empty = QueueStatistics(capacity=0, depth=0, max_depth=0, put=0, dropped=0)
        return SessionStatistics.snapshot(
            self._counters,
            chunk_queue=self._chunks.statistics() if self._chunks is not None else empty,
            decision_queue=self._pending.statistics() if self._pending is not None else empty,
            events_dropped=self._bus.events_dropped,
        )

    # ------------------------------------------------------------------ lifecycle

    async def _begin(self) -> None:
        if self._started:
            msg = "a Session runs once; build a new one"
            raise RuntimeError(msg)
        self._started = True
        for backend in (self.perceiver, self.decider, self.responder):
            await backend.check()

    def _check_heard_from(self, heard_from: float | None) -> float | None:
        now = self._watch.clock.now()
        if heard_from is not None and not (
            isinstance(heard_from, int | float) and math.isfinite(heard_from) and heard_from <= now
        ):
            msg = f"heard_from must be a clock time no later than now ({now}), got {heard_from!r}"
            raise ConfigurationError(msg)
        return heard_from

    async def _run(self, source: AudioSource, heard_from: float | None) -> None:
        cfg = self.config
        self._chunks = BoundedQueue(cfg.chunk_queue, cfg.chunk_overflow, name="chunk queue")
        self._pending = BoundedQueue(cfg.decision_queue, Overflow.DROP_OLDEST, name="decision queue")
        self._watch.start(heard_from)
        self._recorder.start(self._trace_meta())
        ending = "cancelled"
        try:
            try:
                async with anyio.create_task_group() as group:
                    self._group = group
                    self._replies.bind(group)
                    if self._stop_reason is not None:
                        group.cancel_scope.deadline = self._watch.clock.now() + cfg.stop_grace
                    group.start_soon(self._perceive_loop)
                    group.start_soon(self._decide_loop)
                    await self._ingest_loop(source)
            except* _SessionFailure as failures:
                self._failure = f"failed: {failures.exceptions[0]}"
            except* Exception as errors:  # a bug, not a backend failure: say so, then let it surface
                ending = f"failed: internal error: {errors.exceptions[0]!r}"
                raise
            ending = self._ending()
        finally:
            with anyio.CancelScope(shield=True):
                await self._end(source, ending)

    def _ending(self) -> str:
        if self._failure is not None:
            return self._failure
        if self._source_error is not None:
            return f"source failed: {self._source_error}"
        return self._stop_reason or "source_exhausted"

    async def _end(self, source: AudioSource, reason: str) -> None:
        self._close_floor()
        try:
            await source.aclose()
        except Exception as exc:  # noqa: BLE001 - a source that fails to close is reported, the session still ends
            self._report_error("source", exc, attempt=1, handling="skip")
        self.ended = SessionEnded(reason=reason, heard_until=self._counters.heard_until, at=self._now())
        self._emit(self.ended)
        self._bus.close()
        self._counters.observer_failures += self._bus.close_failures

    def _now(self) -> float:
        return self._watch.elapsed()

    # ------------------------------------------------------------------ ingest

    async def _ingest_loop(self, source: AudioSource) -> None:
        assert self._chunks is not None
        ingest = AudioIngest(self.config.audio, allow_resample=self.config.allow_resample)
        with anyio.CancelScope() as scope:
            self._ingest_scope = scope
            if self._stop_reason is not None:
                scope.cancel()
            try:
                async with contextlib.aclosing(source.blocks()) as blocks:  # type: ignore[type-var]
                    async for data, rate in blocks:
                        if self._stop_reason is not None:  # a source that never awaits cannot see the cancel
                            break
                        try:
                            chunks = ingest.push(data, rate)
                        except AudioInteractError as exc:
                            self._report_error("source", exc, attempt=1, handling="skip")
                            continue
                        self._note_repairs(ingest)
                        for problem in source.problems():
                            self._warn(problem.code, problem.message, problem.count)
                        for chunk in chunks:
                            await self._ingest(chunk)
            except Exception as exc:  # noqa: BLE001 - a failing source (decoder, device) ends the input, not the session
                self._source_error = exc
                self._report_error("source", exc, attempt=1, handling="stop")
        for chunk in ingest.flush():
            await self._ingest(chunk)
        if not ingest.samples_emitted and self._stop_reason is None and self._source_error is None:
            self._warn("no_audio", "the source ended without a single usable sample (nothing was piped in?)", 0)
        self._replies.advance(math.inf)  # no more stream: what is left of a reply plays out
        self._chunks.close()

    def _note_repairs(self, ingest: AudioIngest) -> None:
        for problem in ingest.problems():
            self._warn(problem.code, problem.message, problem.count)
        new = ingest.repaired - self._counters.samples_repaired
        if new <= 0:
            return
        self._counters.samples_repaired = ingest.repaired
        self._warn(
            "non_finite_samples",
            f"{new} NaN or infinite input sample(s) replaced by silence; stream time is unchanged "
            "(later ones are only counted in the statistics)",
            new,
        )

    def _warn(self, code: str, message: str, count: int) -> None:
        """Say once per kind of input problem what was wrong; later ones are counted only."""
        if code not in self._warned:
            self._warned.add(code)
            self._emit(InputWarning(code=code, message=message, count=count, at=self._now()))

    async def _ingest(self, chunk: AudioChunk) -> None:
        assert self._chunks is not None
        if self._stop_reason is None:
            if self.config.pacing is Pacing.REALTIME:
                await self._watch.sleep_until_elapsed(chunk.end_time)
            else:
                await self._wait_decided(chunk.index - 1)
                await self._replies.wait_stream_turn(chunk.start_time)
        self._counters.heard_until = chunk.end_time
        self._replies.advance(chunk.end_time)
        self._counters.chunks_received += 1
        now = self._now()
        if self._echo is not None:  # the agent's own voice out, before anything hears it
            self._stream_offset = min(self._stream_offset, max(0.0, now - chunk.end_time))
            chunk = attrs.evolve(chunk, samples=self._echo.process(chunk.samples, chunk.start_sample))
        self._emit(AudioReceived(index=chunk.index, span_start=chunk.start_time, span_end=chunk.end_time, at=now))
        self._recent.add(chunk)
        self._arrivals[chunk.index] = now
        try:
            await self._chunks.put(chunk, on_drop=self._on_chunk_dropped)
        except AudioInteractError as exc:
            raise _SessionFailure("chunk queue", exc) from exc

    async def _wait_decided(self, index: int) -> None:
        """Lock-step for FAST pacing: wait until chunk ``index`` went through a decision point.

        Half-duplex makes no decision while a reply plays, and the reply plays with the stream:
        the stream goes on then, and what it brings is decided at once when the reply ends.
        """
        while self._decided_through < index and not (self.config.half_duplex and self._replies.reply_id is not None):
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

    # ------------------------------------------------------------------ perceive

    async def _perceive_loop(self) -> None:
        assert self._chunks is not None
        assert self._pending is not None
        policy = self.config.perceiver_failure
        while (chunk := await self._chunks.get()) is not None:
            outcome = await self._call("perceiver", policy, self.perceiver.perceive, chunk)
            self._counters.perceived(chunk.end_time)
            accepted = self._publish(outcome, limit=chunk.end_time, index=chunk.index)
            arrived = self._arrivals.pop(chunk.index, self._now())
            await self._pending.put(
                _Perceived(index=chunk.index, stream_end=chunk.end_time, arrived_at=arrived, perceptions=accepted),
                on_drop=self._on_perceived_dropped,
            )
        final = await self._call("perceiver", policy, self.perceiver.finish)
        heard = self._counters.heard_until
        accepted = self._publish(final, limit=heard, index=-1)
        if accepted:
            last = _Perceived(index=-1, stream_end=heard, arrived_at=self._now(), perceptions=accepted)
            self._pending.put_unbounded(last)
        self._pending.close()

    def _on_perceived_dropped(self, item: _Perceived) -> None:
        self._counters.perceptions_dropped += len(item.perceptions)

    def _publish(self, outcome: object, *, limit: float, index: int) -> tuple[Perception, ...]:
        if isinstance(outcome, _Skipped):
            return ()
        accepted, violations = check_perceptions(outcome, limit=limit, index=index)
        for violation in violations:
            self._report_error("perceiver", violation, attempt=1, handling="skip")
        now = self._now()
        stamped = tuple(attrs.evolve(p, emitted_at=now) for p in accepted)
        for perception in stamped:
            self._counters.perceptions += 1
            self._emit(perception)  # type: ignore[arg-type]
        return stamped

    # ------------------------------------------------------------------ decide

    async def _decide_loop(self) -> None:
        assert self._pending is not None
        policy = self.config.decider_failure
        while True:
            if self.config.half_duplex:
                await self._replies.wait_floor_free()
            if self.config.decision_mode is DecisionMode.DRAIN:
                items = await self._pending.get_all()
            else:
                item = await self._pending.get()
                items = [] if item is None else [item]
            if not items:
                break
            perceptions = tuple(p for item in items for p in item.perceptions)
            heard_until = max(item.stream_end for item in items)
            self._conversation.absorb(perceptions)
            outcome = await self._call("decider", policy, self.decider.decide, self._context(heard_until), perceptions)
            decision = None if isinstance(outcome, _Skipped) else self._stamp(outcome, heard_until)
            if decision is not None:
                assert decision.decided_at is not None
                for item in items:
                    self._counters.decision_latency.add(decision.decided_at - item.arrived_at)
                self._carry_out(decision)
            self._mark_decided(max(item.index for item in items))
        if self._stop_reason is None:
            # the input ended: no decision can confirm a reply written ahead; let the last reply play out
            self._replies.discard("the input ended before a decision confirmed it")
            await self._replies.wait_idle()
        self._close_floor()
        await self._replies.wait_idle()

    def _stamp(self, outcome: object, heard_until: float) -> Decision | None:
        checked = check_decision(outcome, heard_until)
        if not isinstance(checked, Decision):
            self._report_error("decider", checked, attempt=1, handling="skip")
            return None
        decision = attrs.evolve(checked, id=self._next_decision_id, decided_at=self._now(), heard_until=heard_until)
        self._next_decision_id += 1
        self._counters.decisions[decision.action.value] += 1
        self._emit(decision)
        return decision

    def _context(self, heard_until: float) -> DecisionContext:
        assert self._pending is not None
        conversation = self._conversation
        reply = self._replies.reply_id
        return DecisionContext(
            now=self._now(),
            heard_until=heard_until,
            agent_speaking=reply is not None,
            active_reply=reply,
            tasks=self.config.tasks,
            transcript=conversation.transcript,
            history=tuple(conversation.history),
            user_speaking=conversation.user.speaking,
            last_speech_end=conversation.user.speech_end,
            last_reply_end=self._turn.last_reply_end,
            pending_chunks=len(self._pending),
            audio=self._recent.window(heard_until),
            sample_rate=self.config.audio.sample_rate,
            last_reply_cut=self._turn.last_reply_cut,
        )

    # ------------------------------------------------------------------ carrying decisions out

    def _carry_out(self, decision: Decision) -> None:
        assert decision.decided_at is not None
        if decision.prepare:
            self._speculate(decision)
        elif decision.action is not Action.RESPOND:
            self._replies.discard(f"the decider no longer prepares it ({decision.action.value})")
        self._turn, actions = on_decision(self._turn, decision, decision.decided_at, self.config.turn)
        self._dispatch(actions)
        self._hold_or_release(decision)

    def _hold_or_release(self, decision: Decision) -> None:
        """A decision that holds pauses the reply's audio; any other lets a paused reply play on.

        An INTERRUPT has cancelled the reply by now, so it stays silent.
        """
        assert decision.id is not None
        if decision.hold:
            self._replies.pause(decision_id=decision.id, reason=decision.reason)
        else:
            self._replies.resume(decision_id=decision.id)

    def _speculate(self, decision: Decision) -> None:
        """Write the reply a decider prepares ahead, if the floor is free; its output is held back."""
        if not self.config.speculate or self._turn.phase is not Phase.LISTENING or self._replies.reply_id is not None:
            return
        self._replies.speculate(self._request(self._turn.next_reply_id, decision, commit=False))

    def _close_floor(self) -> None:
        """Nothing new starts from now on; whatever still plays is cut short."""
        self._replies.discard(SESSION_ENDED)
        self._turn, actions = on_close(self._turn)
        self._dispatch(actions)

    def _dispatch(self, actions: Sequence[TurnAction]) -> None:
        for action in actions:
            if isinstance(action, StartReply):
                self._start_reply(action)
            elif isinstance(action, CancelReply):
                if action.decision is None:
                    self._replies.cancel(action.reply_id, requested_at=self._now(), reason=SESSION_ENDED)
                else:
                    assert action.decision.decided_at is not None
                    self._replies.cancel(
                        action.reply_id,
                        requested_at=action.decision.decided_at,
                        reason="barge-in",
                        decision_id=action.decision.id,
                    )
            elif isinstance(action, StartBackchannel):
                self._replies.start_backchannel(action.backchannel_id, action.decision)
            elif isinstance(action, CancelBackchannel):
                reason = "the agent takes the floor" if self._turn.reply_id is not None else "barge-in"
                self._replies.cancel_backchannel(action.backchannel_id, reason=reason)
            else:
                assert isinstance(action, Ignore)
                ignored = action.decision
                assert ignored.id is not None
                self._emit(
                    DecisionIgnored(decision_id=ignored.id, action=ignored.action, reason=action.reason, at=self._now())
                )

    def _start_reply(self, action: StartReply) -> None:
        self._replies.start(self._request(action.reply_id, action.decision, commit=True))

    def _request(self, reply_id: int, decision: Decision, *, commit: bool) -> ResponseRequest:
        """What the responder gets for ``decision``; ``commit`` moves the answered words into the history."""
        conversation = self._conversation
        if commit:
            utterance, history = conversation.answer(decision.evidence), conversation.history
        else:
            utterance, preview = conversation.preview(decision.evidence)
            history = preview if preview is not None else conversation.history
        return ResponseRequest(
            reply_id=reply_id,
            decision=decision,
            task=next((t for t in self.config.tasks if t.name == decision.task), None),
            transcript=conversation.transcript,
            utterance=utterance,
            history=tuple(history),
            trigger=decision.evidence[-1] if decision.evidence else None,
            audio=self._recent.window(decision.heard_until),
            sample_rate=self.config.audio.sample_rate,
        )

    def _reply_ended(self, reply_id: int, outcome: ReplyOutcome, said: str, cancel_reason: str) -> None:
        self._conversation.replied(said)
        if cancel_reason == SESSION_ENDED:
            self._close_floor()  # torn down: a reply queued behind this one must not start
        self._turn, actions = on_reply_ended(self._turn, reply_id, outcome, self._now(), self.config.turn)
        self._dispatch(actions)

    def _backchannel_ended(self, backchannel_id: int) -> None:
        self._turn = on_backchannel_ended(self._turn, backchannel_id)

    # ------------------------------------------------------------------ backend calls and events

    async def _call(
        self, component: str, policy: FailurePolicy, fn: Callable[..., Awaitable[T]], *args: object
    ) -> T | _Skipped:
        """Call a backend through the one retry loop; a final failure is skipped or stops the session."""
        clock = self._watch.clock
        attempts = 0

        async def attempt(budget: float | None) -> T:
            nonlocal attempts
            attempts += 1
            return await bounded(lambda: fn(*args), clock, shortest(policy.timeout, budget), component)

        try:
            return await call_with_retries(
                attempt,
                policy,
                clock,
                on_retry=lambda error, number: self._report_error(component, error, attempt=number, handling="retry"),
            )
        except Exception as exc:
            if policy.on_exhausted is FailureAction.SKIP:
                self._report_error(component, exc, attempt=attempts, handling="skip")
                return _SKIPPED
            self._report_error(component, exc, attempt=attempts, handling="stop")
            raise _SessionFailure(component, exc) from exc

    def _report_error(self, component: str, error: BaseException, attempt: int, handling: str) -> None:
        self._counters.backend_errors[component] += 1
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

    def _observer_failed(self, observer: Observer, error: Exception) -> None:
        self._counters.observer_failures += 1
        self._report_error(f"observer {type(observer).__name__}", error, attempt=1, handling="skip")

    def _emit(self, event: Event) -> None:
        if self._echo is not None and isinstance(event, ReplyAudio) and event.samples is not None:
            # what plays now is heard from this stream time on (its echo comes later still)
            at = event.play_at - (0.0 if math.isinf(self._stream_offset) else self._stream_offset)
            self._echo.play(event.samples, event.sample_rate, max(0.0, at))
        self._bus.emit(event, at=self._now(), heard=self._counters.heard_until)

    def _trace_meta(self) -> dict[str, Any]:
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
            **(self._meta or {}),
        }


_PARTS: dict[str, tuple[type, str]] = {
    "perceiver": (Perceiver, "a Perceiver instance, e.g. EnergyPerceiver() or load_backend('perceiver', NAME)"),
    "decider": (Decider, "a Decider instance, e.g. TurnEndDecider() or load_backend('decider', NAME)"),
    "responder": (Responder, "a Responder instance, e.g. ScriptedResponder() or load_backend('responder', NAME)"),
    "config": (SessionConfig, "a SessionConfig (or None)"),
    "clock": (Clock, "a Clock (or None)"),
    "recorder": (Recorder, "a Recorder (RingRecorder, JsonlRecorder, NoRecording) or None"),
}


def _check_parts(**parts: object) -> None:
    """One ConfigurationError naming a part that is not what the session needs (a class, a name, a string)."""
    for name, value in parts.items():
        if name == "observers":
            listed = isinstance(value, Sequence) and not isinstance(value, str)
            if not listed or not all(isinstance(o, Observer) for o in value):  # type: ignore[attr-defined]
                raise ConfigurationError(f"Session observers must be a list of Observer instances, got {value!r}")
            continue
        kind, wanted = _PARTS[name]
        optional = name in ("config", "clock", "recorder")
        if not (isinstance(value, kind) or (optional and value is None)):
            got = f"the class {value.__name__}" if isinstance(value, type) else f"{type(value).__name__} {value!r}"
            raise ConfigurationError(f"Session {name} must be {wanted}, got {got}")


def _check_source(source: object) -> None:
    if not isinstance(source, AudioSource):
        raise ConfigurationError(
            "the session runs on an AudioSource (FileSource(path), ArraySource(samples, rate), PcmStreamSource(stream, "
            f"sample_rate=...)), got {type(source).__name__}"
        )
