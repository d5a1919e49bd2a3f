"""Turn-taking as a pure state machine (sans-IO): decisions and reply endings in, actions out.

The session feeds it every decision and every reply ending with the current session
time, and carries out the actions it returns. Nothing here reads a clock, awaits or
does I/O, so every rule is testable with plain values.
"""

from __future__ import annotations

import enum
import math

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision

__all__ = [
    "CancelBackchannel",
    "CancelReply",
    "Ignore",
    "Phase",
    "ReplyOutcome",
    "StartBackchannel",
    "StartReply",
    "TurnAction",
    "TurnConfig",
    "TurnState",
    "on_backchannel_ended",
    "on_close",
    "on_decision",
    "on_reply_ended",
]


class Phase(enum.Enum):
    """Where the conversation is."""

    LISTENING = "listening"
    RESPONDING = "responding"
    INTERRUPTING = "interrupting"
    CLOSED = "closed"
    """The session is ending: nothing new starts."""


class ReplyOutcome(enum.Enum):
    """How a reply ended."""

    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be a number >= 0, got {value!r}")


def _flag(instance: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be True or False, got {value!r}")


@attrs.frozen(kw_only=True)
class TurnConfig:
    """Session-level turn rules, applied whatever the decider says.

    ``reply_cooldown``: no new reply within this many seconds after a reply ended.
    ``interrupt_cooldown``: the same, after a reply was cancelled by barge-in.
    ``allow_barge_in``: whether INTERRUPT decisions cancel the reply in flight.
    ``allow_backchannel``: whether BACKCHANNEL decisions play an acknowledgement.
    """

    reply_cooldown: float = attrs.field(default=0.0, validator=_non_negative)
    interrupt_cooldown: float = attrs.field(default=0.0, validator=_non_negative)
    allow_barge_in: bool = attrs.field(default=True, validator=_flag)
    allow_backchannel: bool = attrs.field(default=True, validator=_flag)


@attrs.frozen(kw_only=True)
class TurnState:
    """The turn-taking state; replace it with what :func:`on_decision` returns."""

    phase: Phase = Phase.LISTENING
    reply_id: int | None = None
    next_reply_id: int = 0
    last_reply_end: float | None = None
    last_reply_cut: bool = False
    """Whether the newest reply was cancelled before it finished (barge-in)."""
    quiet_until: float = -math.inf
    queued: Decision | None = None
    """A RESPOND decided while a cancel was being carried out; it starts right after."""
    backchannel_id: int | None = None
    """The acknowledgement playing now, if any (it does not take the floor)."""
    next_backchannel_id: int = 0


@attrs.frozen(kw_only=True)
class StartReply:
    """Start reply ``reply_id`` for ``decision``."""

    reply_id: int
    decision: Decision


@attrs.frozen(kw_only=True)
class CancelReply:
    """Cancel reply ``reply_id`` because of ``decision`` (barge-in), or because the session ends (None)."""

    reply_id: int
    decision: Decision | None


@attrs.frozen(kw_only=True)
class StartBackchannel:
    """Play acknowledgement ``backchannel_id`` for ``decision`` without taking the floor."""

    backchannel_id: int
    decision: Decision


@attrs.frozen(kw_only=True)
class CancelBackchannel:
    """Stop acknowledgement ``backchannel_id`` (the agent takes the floor, or the user barged in)."""

    backchannel_id: int


@attrs.frozen(kw_only=True)
class Ignore:
    """Do not carry out ``decision``; ``reason`` says why."""

    decision: Decision
    reason: str


TurnAction = StartReply | CancelReply | StartBackchannel | CancelBackchannel | Ignore


def on_decision(  # noqa: PLR0911 - one return per rule reads best
    state: TurnState, decision: Decision, now: float, config: TurnConfig
) -> tuple[TurnState, tuple[TurnAction, ...]]:
    """Apply one decision at session time ``now``."""
    action = decision.action
    if action is Action.SILENT:
        return state, ()
    if state.phase is Phase.CLOSED:
        return state, (Ignore(decision=decision, reason="session ended"),)
    if action is Action.RESPOND:
        if state.phase is Phase.INTERRUPTING and state.queued is None:
            # a policy that interrupts to say something else (a warning) gets to say it next
            return attrs.evolve(state, queued=decision), ()
        if state.phase is not Phase.LISTENING:
            return state, (Ignore(decision=decision, reason=f"reply {state.reply_id} in flight"),)
        if now < state.quiet_until:
            return state, (Ignore(decision=decision, reason=f"cooldown until {state.quiet_until:.3f}s"),)
        reply_id = state.next_reply_id
        new = attrs.evolve(
            state, phase=Phase.RESPONDING, reply_id=reply_id, next_reply_id=reply_id + 1, backchannel_id=None
        )
        return new, (*_stop_backchannel(state), StartReply(reply_id=reply_id, decision=decision))
    if action is Action.INTERRUPT:
        if state.phase is Phase.LISTENING and state.backchannel_id is not None:
            return attrs.evolve(state, backchannel_id=None), _stop_backchannel(state)
        if state.phase is not Phase.RESPONDING or state.reply_id is None:
            return state, (Ignore(decision=decision, reason="no reply to interrupt"),)
        if not config.allow_barge_in:
            return state, (Ignore(decision=decision, reason="barge-in disabled"),)
        new = attrs.evolve(state, phase=Phase.INTERRUPTING)
        return new, (CancelReply(reply_id=state.reply_id, decision=decision),)
    if not config.allow_backchannel:
        return state, (Ignore(decision=decision, reason="backchannels are turned off"),)
    if state.phase is not Phase.LISTENING:
        return state, (Ignore(decision=decision, reason="no backchannel while the agent speaks"),)
    if state.backchannel_id is not None:
        return state, (Ignore(decision=decision, reason=f"backchannel {state.backchannel_id} playing"),)
    backchannel_id = state.next_backchannel_id
    new = attrs.evolve(state, backchannel_id=backchannel_id, next_backchannel_id=backchannel_id + 1)
    return new, (StartBackchannel(backchannel_id=backchannel_id, decision=decision),)


def _stop_backchannel(state: TurnState) -> tuple[TurnAction, ...]:
    if state.backchannel_id is None:
        return ()
    return (CancelBackchannel(backchannel_id=state.backchannel_id),)


def on_backchannel_ended(state: TurnState, backchannel_id: int) -> TurnState:
    """Forget acknowledgement ``backchannel_id`` once it finished or was cancelled."""
    if state.backchannel_id != backchannel_id:
        return state
    return attrs.evolve(state, backchannel_id=None)


def on_close(state: TurnState) -> tuple[TurnState, tuple[TurnAction, ...]]:
    """The session is ending: cancel what plays (with no reason for a new one to start) and start nothing."""
    actions: list[TurnAction] = list(_stop_backchannel(state))
    if state.reply_id is not None and state.phase in (Phase.RESPONDING, Phase.INTERRUPTING):
        actions.append(CancelReply(reply_id=state.reply_id, decision=None))
    return attrs.evolve(state, phase=Phase.CLOSED, queued=None, backchannel_id=None), tuple(actions)


def on_reply_ended(
    state: TurnState, reply_id: int, outcome: ReplyOutcome, now: float, config: TurnConfig
) -> tuple[TurnState, tuple[TurnAction, ...]]:
    """Return to listening after reply ``reply_id`` ended at ``now``.

    A RESPOND queued while the reply was being cancelled starts at once (the cooldown
    after an interrupt is for the user's turn, not for a reply the policy already chose).
    """
    if state.reply_id != reply_id:
        return state, ()
    cut = outcome is ReplyOutcome.CANCELLED
    if state.phase is Phase.CLOSED:
        return attrs.evolve(state, reply_id=None, last_reply_end=now, last_reply_cut=cut), ()
    gap = config.interrupt_cooldown if cut else config.reply_cooldown
    listening = attrs.evolve(
        state,
        phase=Phase.LISTENING,
        reply_id=None,
        last_reply_end=now,
        last_reply_cut=cut,
        quiet_until=now + gap,
        queued=None,
    )
    if state.queued is None:
        return listening, ()
    next_id = listening.next_reply_id
    started = attrs.evolve(listening, phase=Phase.RESPONDING, reply_id=next_id, next_reply_id=next_id + 1)
    return started, (StartReply(reply_id=next_id, decision=state.queued),)
