from __future__ import annotations

import math

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision
from audiointeract.turns import (
    CancelBackchannel,
    CancelReply,
    Ignore,
    Phase,
    ReplyOutcome,
    StartBackchannel,
    StartReply,
    TurnConfig,
    TurnState,
    on_backchannel_ended,
    on_close,
    on_decision,
    on_reply_ended,
)

CFG = TurnConfig(reply_cooldown=1.0, interrupt_cooldown=2.0)


def d(action: Action, ident: int = 0) -> Decision:
    return Decision(action=action, id=ident)


def test_silent_changes_nothing() -> None:
    state = TurnState()
    assert on_decision(state, d(Action.SILENT), 0.0, CFG) == (state, ())


def test_respond_starts_a_reply_and_blocks_a_second_one() -> None:
    state, actions = on_decision(TurnState(), d(Action.RESPOND), 1.0, CFG)
    assert state.phase is Phase.RESPONDING
    assert actions == (StartReply(reply_id=0, decision=d(Action.RESPOND)),)
    state2, actions2 = on_decision(state, d(Action.RESPOND, 1), 1.5, CFG)
    assert state2 == state
    assert isinstance(actions2[0], Ignore)
    assert "in flight" in actions2[0].reason


def test_cooldown_after_a_reply_and_longer_after_an_interrupt() -> None:
    state, _ = on_decision(TurnState(), d(Action.RESPOND), 0.0, CFG)
    state, _ = on_reply_ended(state, 0, ReplyOutcome.FINISHED, 5.0, CFG)
    assert (state.phase, state.last_reply_end, state.quiet_until) == (Phase.LISTENING, 5.0, 6.0)
    _, early = on_decision(state, d(Action.RESPOND), 5.5, CFG)
    assert isinstance(early[0], Ignore)
    assert "cooldown" in early[0].reason
    state, late = on_decision(state, d(Action.RESPOND), 6.0, CFG)
    assert isinstance(late[0], StartReply)
    assert late[0].reply_id == 1
    state, cancel = on_decision(state, d(Action.INTERRUPT), 6.5, CFG)
    assert cancel == (CancelReply(reply_id=1, decision=d(Action.INTERRUPT)),)
    assert state.phase is Phase.INTERRUPTING
    state, _ = on_reply_ended(state, 1, ReplyOutcome.CANCELLED, 6.6, CFG)
    assert math.isclose(state.quiet_until, 8.6)


def test_interrupt_needs_a_reply_and_barge_in_enabled() -> None:
    _, actions = on_decision(TurnState(), d(Action.INTERRUPT), 0.0, CFG)
    assert isinstance(actions[0], Ignore)
    state, _ = on_decision(TurnState(), d(Action.RESPOND), 0.0, CFG)
    _, actions = on_decision(state, d(Action.INTERRUPT), 0.5, TurnConfig(allow_barge_in=False))
    assert isinstance(actions[0], Ignore)
    assert actions[0].reason == "barge-in disabled"


def test_backchannel_only_while_listening() -> None:
    _, actions = on_decision(TurnState(), d(Action.BACKCHANNEL), 0.0, CFG)
    assert isinstance(actions[0], StartBackchannel)
    state, _ = on_decision(TurnState(), d(Action.RESPOND), 0.0, CFG)
    _, actions = on_decision(state, d(Action.BACKCHANNEL), 0.1, CFG)
    assert isinstance(actions[0], Ignore)


def test_ending_an_unknown_reply_is_ignored() -> None:
    state, _ = on_decision(TurnState(), d(Action.RESPOND), 0.0, CFG)
    assert on_reply_ended(state, 99, ReplyOutcome.FINISHED, 1.0, CFG) == (state, ())


def test_negative_cooldown_is_rejected() -> None:
    with pytest.raises(ConfigurationError):
        TurnConfig(reply_cooldown=-1)


def test_a_respond_decided_during_a_cancel_starts_right_after_it() -> None:
    state, _ = on_decision(TurnState(), d(Action.RESPOND, 0), 0.0, CFG)
    state, _ = on_decision(state, d(Action.INTERRUPT, 1), 1.0, CFG)
    state, actions = on_decision(state, d(Action.RESPOND, 2), 1.1, CFG)
    assert actions == ()
    assert state.queued == d(Action.RESPOND, 2)
    _, second = on_decision(state, d(Action.RESPOND, 3), 1.2, CFG)
    assert isinstance(second[0], Ignore)
    state, started = on_reply_ended(state, 0, ReplyOutcome.CANCELLED, 1.3, CFG)
    assert started == (StartReply(reply_id=1, decision=d(Action.RESPOND, 2)),)
    assert (state.phase, state.reply_id, state.queued) == (Phase.RESPONDING, 1, None)


def test_a_backchannel_does_not_take_the_floor_and_a_respond_cuts_it_short() -> None:
    state, actions = on_decision(TurnState(), d(Action.BACKCHANNEL), 0.0, CFG)
    (start,) = actions
    assert isinstance(start, StartBackchannel)
    assert state.phase is Phase.LISTENING
    assert state.backchannel_id == start.backchannel_id
    _, again = on_decision(state, d(Action.BACKCHANNEL), 0.1, CFG)
    assert isinstance(again[0], Ignore)  # one at a time
    state, actions = on_decision(state, d(Action.RESPOND), 0.2, CFG)
    assert [type(a) for a in actions] == [CancelBackchannel, StartReply]
    assert state.backchannel_id is None


def test_an_interrupt_stops_a_backchannel_and_backchannels_can_be_turned_off() -> None:
    state, _ = on_decision(TurnState(), d(Action.BACKCHANNEL), 0.0, CFG)
    state, actions = on_decision(state, d(Action.INTERRUPT), 0.1, CFG)
    assert [type(a) for a in actions] == [CancelBackchannel]
    assert on_backchannel_ended(state, 0) == state
    off = TurnConfig(allow_backchannel=False)
    _, actions = on_decision(TurnState(), d(Action.BACKCHANNEL), 0.0, off)
    assert isinstance(actions[0], Ignore)
    assert actions[0].reason == "backchannels are turned off"


def test_closing_cancels_what_plays_and_nothing_starts_afterwards() -> None:
    state, _ = on_decision(TurnState(), d(Action.RESPOND), 0.0, CFG)
    state, _ = on_decision(state, d(Action.INTERRUPT), 1.0, CFG)
    state, _ = on_decision(state, d(Action.RESPOND), 1.1, CFG)  # queued behind the cancel
    assert state.queued is not None
    closed, actions = on_close(state)
    assert closed.phase is Phase.CLOSED
    assert closed.queued is None
    assert [type(a) for a in actions] == [CancelReply]
    assert actions[0].decision is None  # the session ends: no decision asked for it
    after, started = on_reply_ended(closed, 0, ReplyOutcome.CANCELLED, 2.0, CFG)
    assert started == ()
    assert after.phase is Phase.CLOSED
    for action in Action:
        _, ignored = on_decision(after, d(action), 3.0, CFG)
        assert ignored == () if action is Action.SILENT else ignored[0].reason == "session ended"
