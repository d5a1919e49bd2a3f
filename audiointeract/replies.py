"""The reply runner: the agent's replies and acknowledgements, from the responder to the ear.

A reply is generated (with the session's one retry loop, a first-output deadline and
a total deadline), played out block by block at its play time while text keeps
streaming, and ends with exactly one terminal event — finished, cancelled (with when
the cancel was carried out) or failed. An acknowledgement ("mm-hm", a BACKCHANNEL
decision) is a short phrase in the responder's voice, synthesised once per phrase and
cached, played without taking the floor, and cancellable the same way.

A reply in flight can be *paused* while a decider judges whether the user is barging in
(:meth:`ReplyRunner.pause`, a decision that holds): the block playing finishes, nothing
more is played until :meth:`ReplyRunner.resume` (it was not an interruption: the reply
plays on from where it stopped) or a cancel (it was). Both are traced
(``ReplyPaused``/``ReplyResumed``); a paused reply that is cancelled just ends.

A reply can also be written ahead (*speculation*): started when a decider prepares
it, its output held back — nothing is emitted or played — until a RESPOND confirms it
(:meth:`ReplyRunner.promote`) or it is discarded; both are traced
(``SpeculationStarted``/``SpeculationEnded``) and counted.

Under ``Pacing.FAST`` the stream outruns the clock, so replies advance with the stream
instead: a reply's audio plays on the stream's timeline from its decision's
``heard_until`` (``ReplyAudio.play_at`` is stream time), a block is played once the
stream has reached it, and the next chunk enters only once the reply in flight has
played past the stream's end so far (:meth:`ReplyRunner.wait_stream_turn`): compute
takes no stream time, and a reply is as long against the audio as it would be live.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import anyio
import anyio.abc
import attrs

from audiointeract.clock import Stopwatch
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import BackendTimeout, ContractViolation
from audiointeract.events import (
    AudioDelta,
    BackchannelEnded,
    BackchannelStarted,
    Decision,
    Event,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyPaused,
    ReplyResumed,
    ReplyStarted,
    ReplyText,
    ResponseRequest,
    SpeculationEnded,
    SpeculationStarted,
    TextDelta,
)
from audiointeract.interfaces import Responder
from audiointeract.retry import bounded, call_with_retries, shortest
from audiointeract.statistics import Counters
from audiointeract.turns import ReplyOutcome

__all__ = ["SESSION_ENDED", "ReplyRunner"]

SESSION_ENDED = "session ended"
"""Cancel reason of a reply cut short because the session ended."""

_PLAYBACK_BUFFER = 64
_JITTER = 0.02
"""A block this late or less plays right after the previous one (a device buffer absorbs it); later is a gap."""

Emit = Callable[[Event], None]
Report = Callable[[str, BaseException, int, str], None]
"""``report(component, error, attempt, handling)``: turn a failure into a ``BackendErrorEvent``."""


@attrs.define
class _Utterance:
    """One reply or acknowledgement in flight."""

    id: int
    decision_id: int
    scope: anyio.CancelScope
    playback_end: float
    backchannel: bool = False
    cancel_requested_at: float | None = None
    cancel_decision: int | None = None
    cancel_reason: str = ""
    text: list[str] = attrs.field(factory=list)
    first_output: float | None = None
    deltas: int = 0
    failure: Exception | None = None
    done: bool = False
    held: list[TextDelta] | None = None
    """Text of a reply written ahead, kept back until it is promoted (None once it is released)."""
    released: anyio.Event = attrs.field(factory=anyio.Event)
    """Set once the reply may be heard (at once for an ordinary reply)."""
    discarded: str | None = None
    """Why a reply written ahead was thrown away."""
    paused_at: float | None = None
    """When a decision paused the reply's audio (None while it plays)."""
    playing: anyio.Event = attrs.field(factory=anyio.Event)
    """Set while the reply may play; cleared (replaced) while it is paused."""

    def __attrs_post_init__(self) -> None:
        self.playing.set()

    def cancel(self, *, requested_at: float, reason: str, decision_id: int | None = None) -> None:
        if self.cancel_requested_at is not None or self.done:
            return
        self.cancel_requested_at = requested_at
        self.cancel_reason = reason
        self.cancel_decision = decision_id
        self.scope.cancel()


class ReplyRunner:
    """Runs at most one reply and one acknowledgement at a time, as tasks of the session's task group.

    ``on_reply_ended(reply_id, outcome, said, cancel_reason)`` and
    ``on_backchannel_ended(backchannel_id)`` tell the session, after the terminal event.
    """

    def __init__(
        self,
        responder: Responder,
        config: SessionConfig,
        watch: Stopwatch,
        *,
        emit: Emit,
        report: Report,
        counters: Counters,
        on_reply_ended: Callable[[int, ReplyOutcome, str, str], None],
        on_backchannel_ended: Callable[[int], None],
    ) -> None:
        self._responder = responder
        self._config = config
        self._watch = watch
        self._emit = emit
        self._report = report
        self._counters = counters
        self._on_reply_ended = on_reply_ended
        self._on_backchannel_ended = on_backchannel_ended
        self._group: anyio.abc.TaskGroup | None = None
        self._reply: _Utterance | None = None
        self._speculation: tuple[_Utterance, ResponseRequest] | None = None
        self._backchannel: _Utterance | None = None
        self._acknowledgements: dict[str, AudioDelta | None] = {}
        self._idle: anyio.Event | None = None
        self._floor_free: anyio.Event | None = None
        self._fast = config.pacing is Pacing.FAST
        self._heard = 0.0
        self._progress: anyio.Event | None = None

    def bind(self, group: anyio.abc.TaskGroup) -> None:
        """Run replies in ``group`` (the session's task group, once the loop is running)."""
        self._group = group
        self._idle = anyio.Event()
        self._idle.set()
        self._floor_free = anyio.Event()
        self._floor_free.set()
        self._progress = anyio.Event()

    @property
    def reply_id(self) -> int | None:
        """The reply in flight, if any."""
        return self._reply.id if self._reply is not None else None

    async def wait_floor_free(self) -> None:
        """Wait until no reply is in flight (acknowledgements do not hold the floor)."""
        while self._reply is not None and self._floor_free is not None:
            await self._floor_free.wait()

    async def wait_idle(self) -> None:
        """Wait until no reply, reply written ahead, or acknowledgement is in flight."""
        while self._busy() and self._idle is not None:
            await self._idle.wait()

    def _busy(self) -> bool:
        return self._reply is not None or self._backchannel is not None or self._speculation is not None

    # ------------------------------------------------------------------ pacing with the stream (FAST)

    def advance(self, heard: float) -> None:
        """FAST pacing: the stream has been heard up to ``heard`` (``math.inf``: the input ended)."""
        self._heard = heard
        self._wake()

    async def wait_stream_turn(self, heard: float) -> None:
        """FAST pacing: wait until what plays has played past ``heard`` (or ended, or paused): the stream goes on."""
        while self._fast and any(
            utterance is not None and utterance.paused_at is None and utterance.playback_end <= heard
            for utterance in (self._reply, self._backchannel)
        ):
            await self._changed()

    def _wake(self) -> None:
        if self._progress is not None:
            self._progress.set()
            self._progress = anyio.Event()

    async def _changed(self) -> None:
        assert self._progress is not None
        await self._progress.wait()

    async def _until(self, play_at: float) -> None:
        """Wait until ``play_at``: on the clock, or under FAST pacing until the stream has got there."""
        if not self._fast:
            await self._watch.sleep_until_elapsed(play_at)
            return
        while self._heard < play_at:
            await self._changed()

    def _start_at(self, decision: Decision) -> float:
        """Where an utterance starts to play: now, or under FAST pacing at its decision point in the stream."""
        if self._fast and decision.heard_until is not None:
            return decision.heard_until
        return self._now()

    # ------------------------------------------------------------------ replies

    def start(self, request: ResponseRequest) -> None:
        """Start the reply ``request`` asks for (the turn state allowed it).

        A reply written ahead for the same task and words is used instead of starting
        over (its held output is released now); one that does not match is discarded.
        """
        assert self._group is not None
        if self._speculation is not None:
            ahead, planned = self._speculation
            if _same_reply(planned, request):
                self._promote(ahead, request)
                return
            self.discard("the reply that was decided differs from the one written ahead")
        decision = request.decision
        assert decision.id is not None
        reply = _Utterance(
            id=request.reply_id,
            decision_id=decision.id,
            scope=anyio.CancelScope(),
            playback_end=self._start_at(decision),
        )
        reply.released.set()
        self._take_floor(reply, request)
        self._group.start_soon(self._run_reply, reply, request)

    def speculate(self, request: ResponseRequest) -> None:
        """Start writing ``request``'s reply ahead, holding its output; keep one already matching it."""
        assert self._group is not None
        if self._speculation is not None:
            if _same_reply(self._speculation[1], request):
                return
            self.discard("the prepared reply changed")
        decision = request.decision
        assert decision.id is not None
        ahead = _Utterance(
            id=request.reply_id, decision_id=decision.id, scope=anyio.CancelScope(), playback_end=self._now(), held=[]
        )
        self._speculation = (ahead, request)
        self._idle = anyio.Event()
        self._counters.speculations_started += 1
        self._emit(
            SpeculationStarted(
                reply_id=ahead.id, decision_id=decision.id, task=decision.task, utterance=request.utterance,
                at=self._now(),
            )
        )
        self._group.start_soon(self._run_reply, ahead, request)

    def discard(self, reason: str) -> None:
        """Throw away the reply written ahead, if any; nothing of it was heard."""
        if self._speculation is None:
            return
        ahead, _ = self._speculation
        self._speculation = None
        ahead.discarded = reason
        ahead.cancel(requested_at=self._now(), reason=reason)

    def _promote(self, ahead: _Utterance, request: ResponseRequest) -> None:
        decision = request.decision
        assert decision.id is not None
        self._speculation = None
        ahead.decision_id = decision.id
        ahead.playback_end = self._start_at(decision)
        self._counters.speculations_used += 1
        self._emit(SpeculationEnded(reply_id=ahead.id, used=True, reason="a RESPOND confirmed it", at=self._now()))
        self._take_floor(ahead, request)
        for delta in ahead.held or ():
            self._emit_text(ahead, delta)
        ahead.held = None
        ahead.released.set()

    def _take_floor(self, reply: _Utterance, request: ResponseRequest) -> None:
        self._reply = reply
        self._floor_free = anyio.Event()
        self._idle = anyio.Event()
        self._counters.replies_started += 1
        self._emit(
            ReplyStarted(reply_id=reply.id, decision_id=reply.decision_id, task=request.decision.task, at=self._now())
        )

    def cancel(self, reply_id: int, *, requested_at: float, reason: str, decision_id: int | None = None) -> None:
        """Cancel reply ``reply_id`` (no-op if it already ended); nothing of it is emitted afterwards."""
        if self._reply is not None and self._reply.id == reply_id:
            self._reply.cancel(requested_at=requested_at, reason=reason, decision_id=decision_id)

    def pause(self, *, decision_id: int, reason: str) -> None:
        """Stop the reply in flight after the block now playing, until :meth:`resume` or a cancel."""
        reply = self._reply
        if reply is None or reply.paused_at is not None or reply.cancel_requested_at is not None or reply.done:
            return
        reply.paused_at = self._now()
        reply.playing = anyio.Event()
        self._wake()  # FAST pacing: the stream need not wait for a paused reply
        self._emit(ReplyPaused(reply_id=reply.id, decision_id=decision_id, reason=reason, at=reply.paused_at))

    def resume(self, *, decision_id: int | None) -> None:
        """Let a paused reply play on from where it stopped (a cancelled one stays silent)."""
        reply = self._reply
        if reply is None or reply.paused_at is None:
            return
        now = self._now()
        paused_for, reply.paused_at = now - reply.paused_at, None
        if self._fast and math.isfinite(self._heard):  # the stream went on while it was paused: so does the reply
            reply.playback_end = max(reply.playback_end, self._heard)
        reply.playing.set()
        if reply.cancel_requested_at is None:
            self._emit(ReplyResumed(reply_id=reply.id, decision_id=decision_id, paused_for=paused_for, at=now))

    async def _run_reply(self, reply: _Utterance, request: ResponseRequest) -> None:
        try:
            with reply.scope:
                send, receive = anyio.create_memory_object_stream[AudioDelta](max_buffer_size=_PLAYBACK_BUFFER)
                async with anyio.create_task_group() as group:
                    group.start_soon(self._play_all, reply, receive)
                    async with send:
                        await self._generate(reply, request, send)
                    if reply.failure is not None:
                        group.cancel_scope.cancel()
        finally:
            # runs on every exit, also when the whole session is torn down: exactly one terminal event
            if not reply.done and reply.failure is None and reply.cancel_requested_at is None:
                reply.cancel_requested_at = self._now()
                reply.cancel_reason = SESSION_ENDED
            self._end_reply(reply)

    async def _generate(
        self, reply: _Utterance, request: ResponseRequest, audio_out: anyio.abc.ObjectSendStream[AudioDelta]
    ) -> None:
        policy = self._config.responder_failure
        first_output = self._responder.first_output_timeout or policy.first_output_timeout
        clock = self._watch.clock
        attempts = 0

        async def attempt(budget: float | None) -> None:
            nonlocal attempts
            attempts += 1
            waiting = shortest(first_output, budget)
            try:
                with clock.deadline_scope(policy.timeout), clock.deadline_scope(waiting) as first:
                    async with contextlib.aclosing(self._responder.respond(request)) as stream:  # type: ignore[type-var]
                        async for item in stream:
                            delta: object = item  # checked: backends may break the contract
                            if reply.cancel_requested_at is not None:
                                return
                            await self._take(reply, delta, audio_out)
                            if reply.deltas:
                                first.deadline = math.inf
            except TimeoutError as exc:
                if isinstance(exc, BackendTimeout):
                    raise
                if reply.deltas == 0:
                    msg = f"responder produced no output within {waiting:.3g}s"
                else:
                    msg = f"reply did not finish within {policy.timeout:.3g}s"
                raise BackendTimeout(msg) from exc

        try:
            await call_with_retries(
                attempt,
                policy,
                clock,
                on_retry=lambda error, number: self._report("responder", error, number, "retry"),
                may_retry=lambda: reply.deltas == 0 and reply.cancel_requested_at is None,
            )
        except Exception as exc:  # noqa: BLE001 - every backend failure becomes an event
            self._report("responder", exc, attempts, "skip")
            reply.failure = exc

    async def _take(self, reply: _Utterance, delta: object, audio_out: anyio.abc.ObjectSendStream[AudioDelta]) -> None:
        if isinstance(delta, TextDelta):
            if delta.text:
                reply.deltas += 1
                if reply.held is not None:
                    reply.held.append(delta)
                else:
                    self._emit_text(reply, delta)
        elif isinstance(delta, AudioDelta):
            reply.deltas += 1
            await audio_out.send(delta)
        else:
            msg = f"respond() yielded {type(delta).__name__}, not a TextDelta or AudioDelta"
            raise ContractViolation(msg)

    def _emit_text(self, reply: _Utterance, delta: TextDelta) -> None:
        reply.text.append(delta.text)
        now = self._now()
        if reply.first_output is None:
            reply.first_output = now
        self._emit(ReplyText(reply_id=reply.id, text=delta.text, at=now))

    async def _play_all(self, reply: _Utterance, audio_in: anyio.abc.ObjectReceiveStream[AudioDelta]) -> None:
        async with audio_in:
            await reply.released.wait()  # a reply written ahead plays nothing before it is confirmed
            async for delta in audio_in:
                await self._play(reply, delta)
        await self._until(reply.playback_end)
        reply.done = reply.failure is None

    def _end_reply(self, reply: _Utterance) -> None:
        now = self._now()
        if reply.held is not None:  # written ahead and never confirmed: nothing of it was heard
            if self._speculation is not None and self._speculation[0] is reply:
                self._speculation = None
            reason = reply.discarded or (f"failed: {reply.failure}" if reply.failure else SESSION_ENDED)
            self._counters.speculations_discarded += 1
            self._emit(SpeculationEnded(reply_id=reply.id, used=False, reason=reason, at=now))
            self._settle()
            return
        said = "".join(reply.text)
        if reply.cancel_requested_at is not None:
            outcome = ReplyOutcome.CANCELLED
            self._counters.replies_cancelled += 1
            self._counters.cancel_latency.add(now - reply.cancel_requested_at)
            self._emit(
                ReplyCancelled(
                    reply_id=reply.id,
                    reason=reply.cancel_reason,
                    requested_at=reply.cancel_requested_at,
                    carried_out_at=now,
                    decision_id=reply.cancel_decision,
                )
            )
        elif reply.failure is not None:
            outcome = ReplyOutcome.FAILED
            self._counters.replies_failed += 1
            self._emit(
                ReplyFailed(
                    reply_id=reply.id, error_type=type(reply.failure).__name__, message=str(reply.failure), at=now
                )
            )
        else:
            outcome = ReplyOutcome.FINISHED
            self._counters.replies_finished += 1
            self._emit(
                ReplyFinished(
                    reply_id=reply.id, text=said, at=now, first_output_at=reply.first_output, deltas=reply.deltas
                )
            )
        self._reply = None
        self._settle()
        self._on_reply_ended(reply.id, outcome, said, reply.cancel_reason)

    # ------------------------------------------------------------------ acknowledgements

    def start_backchannel(self, backchannel_id: int, decision: Decision) -> None:
        """Play the next acknowledgement phrase for ``decision`` without taking the floor."""
        assert self._group is not None
        assert decision.id is not None
        phrases = self._config.backchannel.phrases
        text = phrases[backchannel_id % len(phrases)]
        ack = _Utterance(
            id=backchannel_id,
            decision_id=decision.id,
            scope=anyio.CancelScope(),
            playback_end=self._start_at(decision),
            backchannel=True,
        )
        self._backchannel = ack
        self._idle = anyio.Event()
        self._counters.backchannels_started += 1
        self._emit(
            BackchannelStarted(backchannel_id=backchannel_id, decision_id=decision.id, text=text, at=self._now())
        )
        self._group.start_soon(self._run_backchannel, ack, text)

    def cancel_backchannel(self, backchannel_id: int, *, reason: str) -> None:
        """Stop acknowledgement ``backchannel_id`` if it still plays."""
        if self._backchannel is not None and self._backchannel.id == backchannel_id:
            self._backchannel.cancel(requested_at=self._now(), reason=reason)

    async def _run_backchannel(self, ack: _Utterance, text: str) -> None:
        try:
            with ack.scope:
                audio = await self._acknowledgement(text)
                if audio is not None:
                    await self._play(ack, audio)
                    await self._until(ack.playback_end)
                ack.done = ack.cancel_requested_at is None
        finally:
            cancelled = not ack.done
            if cancelled:
                self._counters.backchannels_cancelled += 1
            reason = ack.cancel_reason or (SESSION_ENDED if cancelled else "")
            self._emit(BackchannelEnded(backchannel_id=ack.id, cancelled=cancelled, at=self._now(), reason=reason))
            self._backchannel = None
            self._settle()
            self._on_backchannel_ended(ack.id)

    async def _acknowledgement(self, text: str) -> AudioDelta | None:
        """The phrase in the responder's voice, synthesised once; a failure is reported and not cached."""
        if text in self._acknowledgements:
            return self._acknowledgements[text]
        policy = self._config.responder_failure
        limit = self._responder.first_output_timeout or policy.first_output_timeout
        clock = self._watch.clock
        try:
            audio: object = await bounded(lambda: self._responder.acknowledgement(text), clock, limit, "acknowledging")
        except Exception as exc:  # noqa: BLE001 - a failed acknowledgement is reported; the session goes on
            self._report("responder", exc, 1, "skip")
            return None
        if audio is not None and not isinstance(audio, AudioDelta):
            violation = ContractViolation(f"acknowledgement() returned {type(audio).__name__}, not an AudioDelta")
            self._report("responder", violation, 1, "skip")
            return None
        self._acknowledgements[text] = audio  # one entry per configured phrase: bounded by the config
        return audio

    # ------------------------------------------------------------------ playback

    async def _play(self, utterance: _Utterance, delta: AudioDelta) -> None:
        """Emit audio in blocks at their play time, so a cancel cuts it within one block."""
        block = max(1, round(self._config.audio_block_seconds * delta.sample_rate))
        for start in range(0, delta.samples.size, block):
            samples = delta.samples[start : start + block]
            await self._until(utterance.playback_end)
            await utterance.playing.wait()  # held while a decision pauses the reply
            if utterance.cancel_requested_at is not None:
                return
            now = self._now()
            # back to back while on time (jitter must not add up); a real stall shows as a gap. Under FAST
            # pacing the stream waited for the reply: always back to back.
            on_time = self._fast or now - utterance.playback_end <= _JITTER
            play_at = utterance.playback_end if on_time else now
            duration = samples.size / delta.sample_rate
            utterance.playback_end = round(play_at + duration, 9)  # session times are rounded to the nanosecond
            if utterance.first_output is None:
                utterance.first_output = now if self._fast else play_at
            if self._fast:
                self._wake()  # the stream may go on
            self._emit(
                ReplyAudio(
                    reply_id=utterance.id,
                    play_at=play_at,
                    duration=duration,
                    sample_rate=delta.sample_rate,
                    at=self._now(),
                    samples=samples,
                    backchannel=utterance.backchannel,
                )
            )

    def _settle(self) -> None:
        self._wake()
        if self._reply is None and self._floor_free is not None:
            self._floor_free.set()
        if not self._busy() and self._idle is not None:
            self._idle.set()

    def _now(self) -> float:
        return self._watch.elapsed()


def _same_reply(planned: ResponseRequest, decided: ResponseRequest) -> bool:
    """Whether a reply written ahead answers what was decided: the same task, the same words, the same id."""
    return (
        planned.reply_id == decided.reply_id
        and planned.decision.task == decided.decision.task
        and " ".join(planned.utterance.split()) == " ".join(decided.utterance.split())
    )
