"""Properties of the real session loop over random scenes, costs and faults, on virtual time.

The session's guarantees hold whatever decides: each property runs with the simulator's
TaskRuleDecider and with the shipped default policy; the learned policy (torch and MiniLM)
runs all of them on one trace per example in a slower test of its own.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audiointeract.config import FailurePolicy, SessionConfig
from audiointeract.events import (
    Action,
    AudioReceived,
    ChunkDropped,
    Decision,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyStarted,
    ReplyText,
    SessionEnded,
    SpeculationEnded,
    SpeculationStarted,
    StandingTask,
    TranscriptUpdate,
)
from audiointeract.interfaces import Decider
from audiointeract.policies import default_policy
from audiointeract.simulators import (
    ComputeCosts,
    CostModel,
    Expect,
    FaultPlan,
    Scene,
    Silence,
    Speech,
    TaskRuleDecider,
    render,
    reply_spans,
    run_simulation,
)
from audiointeract.testing.strategies import compute_costs, fault_plans, scenes, times
from audiointeract.turns import TurnConfig

# hangs end at the timeout, so every random session finishes
TIMEOUTS = {
    "perceiver_failure": FailurePolicy(timeout=2.0),
    "decider_failure": FailurePolicy(timeout=2.0),
    "responder_failure": FailurePolicy(max_retries=1, timeout=2.0),
}


def config(**changes: object) -> SessionConfig:
    return SessionConfig(**{**TIMEOUTS, **changes})


def reply_lifetimes(trace) -> list[tuple[int, float, float, str]]:
    return [(s.reply_id, s.started_at, s.ended_at, s.outcome) for s in reply_spans(trace)]


EPS = 1e-6
AUDIO_BLOCK = SessionConfig().audio_block_seconds
seeds = st.integers(0, 2**16)
DECIDERS: dict[str, Callable[[], Decider]] = {
    "rules": TaskRuleDecider,
    "default": lambda: default_policy(offload=False),
}
deciders = pytest.mark.parametrize("decider", sorted(DECIDERS))


@cache
def learned() -> Callable[[], Decider]:
    """Fresh learned deciders on the shipped checkpoint (loaded once), inline for virtual time."""
    module = pytest.importorskip("audiointeract.policies.learned")
    checkpoint = module.LearnedDecider.default().checkpoint
    return lambda: module.LearnedDecider(checkpoint, offload=False)


@given(scenes(), seeds, compute_costs(max_seconds=0.3, max_rtf=1.2), fault_plans(max_faults=2))
def test_same_seed_gives_the_same_trace(scene: Scene, seed: int, costs: ComputeCosts, faults: FaultPlan) -> None:
    first = run_simulation(scene, seed=seed, costs=costs, faults=faults, config=config())
    second = run_simulation(scene, seed=seed, costs=costs, faults=faults, config=config())
    assert first.trace.to_jsonl() == second.trace.to_jsonl()
    assert render(scene, seed=seed).tobytes() == render(scene, seed=seed).tobytes()


@deciders
@given(scenes(), seeds, compute_costs(max_seconds=0.3, max_rtf=1.5), fault_plans(max_faults=3))
def test_causality(decider: str, scene: Scene, seed: int, costs: ComputeCosts, faults: FaultPlan) -> None:
    """No perception precedes its audio; no decision rests on audio not yet heard."""
    trace = run_simulation(scene, seed=seed, costs=costs, faults=faults, config=config(),
                           decider=DECIDERS[decider]()).trace
    check_causality(trace)


def check_causality(trace) -> None:
    for record in trace:
        event = record.event
        if isinstance(event, Perception):
            assert event.span_end <= record.heard + EPS
            assert event.emitted_at is not None
            assert event.emitted_at >= event.span_end - EPS  # real-time pacing: session time = stream time
        elif isinstance(event, Decision):
            assert event.heard_until is not None
            assert event.decided_at is not None
            assert event.heard_until <= record.heard + EPS
            assert event.decided_at >= event.heard_until - EPS
            for evidence in event.evidence:
                assert evidence.span_end <= event.heard_until + EPS


@deciders
@given(scenes(), seeds, compute_costs(max_seconds=0.3), fault_plans(max_faults=3))
def test_every_interval_ends_after_it_starts(
    decider: str, scene: Scene, seed: int, costs: ComputeCosts, faults: FaultPlan
) -> None:
    result = run_simulation(scene, seed=seed, costs=costs, faults=faults, config=config(), decider=DECIDERS[decider]())
    check_intervals(result.trace)
    for expectation in scene.expectations():
        assert expectation.window_end > expectation.window_start
        assert expectation.reference >= expectation.evidence_end - EPS


def check_intervals(trace) -> None:
    ats = [r.at for r in trace]
    heards = [r.heard for r in trace]
    assert ats == sorted(ats)
    assert heards == sorted(heards)
    for record in trace:
        event = record.event
        if isinstance(event, Perception):
            assert event.span_end >= event.span_start
        if isinstance(event, TranscriptUpdate):
            assert all(w.end >= w.start for w in event.words)
        if isinstance(event, AudioReceived | ChunkDropped):
            assert event.span_end > event.span_start
        if isinstance(event, ReplyAudio):
            assert event.duration > 0
        if isinstance(event, ReplyCancelled):
            assert event.carried_out_at >= event.requested_at
    for _, started, ended, _ in reply_lifetimes(trace):
        assert ended >= started


def _question(start: float) -> Speech:
    return Speech(start=start, duration=0.3, text="the?", expects=(Expect(task="answer", within=2.0),))


# found once: a reply that played to its end while the user spoke again was taken for a cut one
FINISHED_UNDER_SPEECH = Scene(
    segments=(Silence(start=0.0, duration=0.3), _question(0.3), _question(2.45), _question(2.75)),
    tasks=(
        StandingTask(name="answer", instruction="Answer the questions the user asks you."),
        StandingTask(name="warn", instruction="Warn me when an alarm or a siren sounds.", proactive=True),
    ),
    tail=0.5,
)


@deciders
@given(scenes(), seeds, fault_plans(max_faults=2))
@example(scene=FINISHED_UNDER_SPEECH, seed=0, faults=FaultPlan(faults=[]))
def test_at_most_one_reply_per_trigger(decider: str, scene: Scene, seed: int, faults: FaultPlan) -> None:
    trace = run_simulation(scene, seed=seed, faults=faults, config=config(), decider=DECIDERS[decider]()).trace
    check_one_reply_per_trigger(trace)
    if decider == "rules":  # the rule decider names exactly the perception it answers, once
        decisions = {d.id: d for d in trace.of_type(Decision)}
        evidence = [decisions[s.decision_id].evidence for s in trace.of_type(ReplyStarted)]
        assert all(len(e) == 1 for e in evidence)
        assert len({(e[0].kind, e[0].span_start, e[0].span_end) for e in evidence}) == len(evidence)


def check_one_reply_per_trigger(trace) -> None:
    """Each reply comes from its own decision; a perception backs a later reply only if the earlier one was cut.

    The default policy picks a turn up again as one when the user goes on over its answer:
    the cancelled answer's words and evidence come with the continuation. Any other repeat
    is a second reply to one trigger.
    """
    started = trace.of_type(ReplyStarted)
    assert len({s.decision_id for s in started}) == len(started)
    decisions = {d.id: d for d in trace.of_type(Decision)}
    outcome = {span.reply_id: span.outcome for span in reply_spans(trace)}
    backed: dict[tuple[str, float, float], list[int]] = {}
    for s in started:
        for e in decisions[s.decision_id].evidence:
            backed.setdefault((e.kind, e.span_start, e.span_end), []).append(s.reply_id)
    for replies in backed.values():
        assert all(outcome[reply] == "cancelled" for reply in replies[:-1]), (replies, outcome)


@deciders
@given(scenes(), seeds, times(0.0, 4.0), times(0.0, 4.0))
def test_cooldown_is_respected(decider: str, scene: Scene, seed: int, cooldown: float, after_cancel: float) -> None:
    turn = TurnConfig(reply_cooldown=cooldown, interrupt_cooldown=after_cancel)
    trace = run_simulation(scene, seed=seed, config=config(turn=turn), decider=DECIDERS[decider]()).trace
    lifetimes = reply_lifetimes(trace)
    for (_, _, ended, outcome), (_, next_start, _, _) in itertools.pairwise(lifetimes):
        gap = after_cancel if outcome == "cancelled" else cooldown
        assert next_start >= ended + gap - EPS


def test_a_reply_written_ahead_when_the_input_ends_is_discarded_and_the_session_ends() -> None:
    """Found by the cooldown property: a question at the very end, its RESPOND ignored by the cooldown.

    The default policy prepares the answer, no decision can confirm it after the input ends,
    and the session used to wait for that held reply forever.
    """
    ask = (Expect(task="answer"),)
    scene = Scene(
        segments=(Speech(start=1.0, duration=0.3, text="the?", expects=ask),
                  Speech(start=3.5, duration=0.75, text="time?", expects=ask)),
        tasks=(StandingTask(name="answer", instruction="Answer the user."),),
        tail=0.5,
    )
    turn = TurnConfig(reply_cooldown=1.6)
    trace = run_simulation(scene, seed=1, config=config(turn=turn), decider=DECIDERS["default"]()).trace
    assert len(trace.of_type(SpeculationStarted)) == len(trace.of_type(SpeculationEnded)) >= 1
    assert trace.of_type(SpeculationEnded)[-1].reason == "the input ended before a decision confirmed it"
    assert [e.reason for e in trace.of_type(SessionEnded)] == ["source_exhausted"]


@deciders
@given(scenes(), seeds, compute_costs(max_seconds=0.3), fault_plans(max_faults=2))
def test_nothing_of_a_reply_starts_after_its_cancel_is_requested(
    decider: str, scene: Scene, seed: int, costs: ComputeCosts, faults: FaultPlan
) -> None:
    trace = run_simulation(scene, seed=seed, costs=costs, faults=faults, config=config(),
                           decider=DECIDERS[decider]()).trace
    check_cancels(trace)


def check_cancels(trace) -> None:
    """Measured from the cancel's request (the INTERRUPT's decided_at), not from when it was carried out.

    No text of the reply is emitted after the request and no audio block starts after it;
    a block already playing runs at most one audio block past it.
    """
    requested = {c.reply_id: c.requested_at for c in trace.of_type(ReplyCancelled)}
    for record in trace:
        event = record.event
        if isinstance(event, ReplyText) and event.reply_id in requested:
            assert event.at <= requested[event.reply_id] + EPS
        if isinstance(event, ReplyAudio):
            assert event.duration <= AUDIO_BLOCK + EPS
            if event.reply_id in requested:
                assert event.play_at <= requested[event.reply_id] + EPS
                assert event.play_at + event.duration <= requested[event.reply_id] + AUDIO_BLOCK + EPS


@deciders
@given(scenes(), seeds, compute_costs(max_seconds=0.3), fault_plans(max_faults=2))
def test_no_two_replies_overlap(decider: str, scene: Scene, seed: int, costs: ComputeCosts, faults: FaultPlan) -> None:
    trace = run_simulation(scene, seed=seed, costs=costs, faults=faults, config=config(),
                           decider=DECIDERS[decider]()).trace
    check_no_overlap(trace)


def check_no_overlap(trace) -> None:
    lifetimes = reply_lifetimes(trace)
    assert len(lifetimes) == len(trace.of_type(ReplyStarted))  # every reply ended exactly once
    for (_, _, ended, _), (_, next_start, _, _) in itertools.pairwise(lifetimes):
        assert next_start >= ended - EPS
    spans = sorted((a.play_at, a.play_at + a.duration) for a in trace.of_type(ReplyAudio))
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - EPS


@deciders
@given(scenes(max_segments=4), seeds, st.integers(1, 6), times(0.4, 1.5))
def test_bounded_queues_stay_bounded_and_every_drop_is_counted(
    decider: str, scene: Scene, seed: int, capacity: int, chunk_cost: float
) -> None:
    costs = ComputeCosts(perceiver=CostModel(fixed=chunk_cost))
    result = run_simulation(scene, seed=seed, costs=costs, config=config(chunk_queue=capacity),
                            decider=DECIDERS[decider]())
    stats = result.statistics
    assert stats.chunk_queue.max_depth <= capacity + 1  # + the end-of-stream marker
    assert stats.chunk_queue.capacity == capacity
    drops = result.trace.of_type(ChunkDropped)
    assert len(drops) == stats.chunk_queue.dropped == result.report.counts["chunks_dropped"]
    assert stats.chunks_received == stats.chunks_perceived + stats.chunk_queue.dropped
    assert len({d.index for d in drops}) == len(drops)


@deciders
@given(scenes(), seeds, compute_costs(max_seconds=0.5, max_rtf=3.0))
def test_compute_unaware_decisions_have_no_lag(decider: str, scene: Scene, seed: int, costs: ComputeCosts) -> None:
    result = run_simulation(scene, seed=seed, decider=DECIDERS[decider](), costs=costs, compute_aware=False,
                            config=config())
    for decision in result.trace.of_type(Decision):
        assert decision.decided_at is not None
        assert decision.heard_until is not None
        assert decision.decided_at - decision.heard_until <= EPS
    assert result.report.stall_rate == 0.0


@given(scenes(), seeds, times(0.0, 1.0), times(0.0, 3.0), compute_costs(max_seconds=0.5, max_rtf=3.0))
def test_compute_unaware_decision_latency_is_within_the_policy_bound(
    scene: Scene, seed: int, hold: float, expire: float, costs: ComputeCosts
) -> None:
    decider = TaskRuleDecider(hold=hold, expire=expire)
    result = run_simulation(scene, seed=seed, decider=decider, costs=costs, compute_aware=False, config=config())
    chunk = result.report.chunk_seconds
    bound = hold + expire + chunk
    for decision in result.trace.of_type(Decision):
        assert decision.decided_at is not None
        assert decision.heard_until is not None
        assert decision.decided_at - decision.heard_until <= EPS  # compute is free: no lag at all
        if decision.action is Action.RESPOND:
            (evidence,) = decision.evidence
            assert decision.decided_at - evidence.span_end <= bound + EPS
    assert result.report.stall_rate == 0.0


@deciders
@given(scenes(max_segments=4), seeds, st.floats(1.2, 3.0))
def test_compute_aware_lag_of_a_slow_perceiver_is_reported(decider: str, scene: Scene, seed: int, rtf: float) -> None:
    costs = ComputeCosts(perceiver=CostModel(per_audio_second=rtf))
    result = run_simulation(scene, seed=seed, costs=costs, config=config(chunk_queue=4096), decider=DECIDERS[decider]())
    chunk = result.report.chunk_seconds
    heard = result.statistics.heard_until
    # when the last chunk arrives at `heard`, at most heard / rtf seconds can have been perceived
    expected_lag = heard * (1 - 1 / rtf) - chunk
    assert result.statistics.max_perceiver_lag >= expected_lag - EPS
    assert result.report.decision_lag.max is not None
    assert result.report.decision_lag.max >= expected_lag - EPS
    if heard > 2 * chunk:
        assert result.report.stall_rate is not None
        assert result.report.stall_rate > 0
    assert math.isfinite(result.report.first_chunk_latency.max or 0.0)


@pytest.mark.slow
@settings(max_examples=8)
@given(scenes(), seeds, compute_costs(max_seconds=0.3), fault_plans(max_faults=2))
def test_the_learned_policy_keeps_the_session_guarantees(
    scene: Scene, seed: int, costs: ComputeCosts, faults: FaultPlan
) -> None:
    trace = run_simulation(scene, seed=seed, costs=costs, faults=faults, config=config(), decider=learned()()).trace
    check_causality(trace)
    check_intervals(trace)
    check_one_reply_per_trigger(trace)
    check_cancels(trace)
    check_no_overlap(trace)
