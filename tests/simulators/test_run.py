"""Running scenes on virtual time: determinism, compute costs, faults, barge-in, stalls."""

from __future__ import annotations

import pytest

from audiointeract.config import FailureAction, FailurePolicy, SessionConfig
from audiointeract.events import (
    BackendErrorEvent,
    Decision,
    ReplyCancelled,
    ReplyFailed,
    ReplyStarted,
    StandingTask,
)
from audiointeract.queues import Overflow
from audiointeract.simulators import (
    ComputeCosts,
    CostModel,
    Expect,
    Fault,
    FaultPlan,
    NoiseBed,
    Scene,
    Sound,
    Speech,
    run_simulation,
)

TASKS = [StandingTask(name="answer", instruction="Answer."),
         StandingTask(name="warn", instruction="Warn me about alarms.", proactive=True)]


def scene() -> Scene:
    return Scene(
        segments=[
            Speech(start=0.5, duration=1.5, text="what is it?", expects=[Expect(task="answer")]),
            Speech(start=3.0, duration=1.0, text="never mind"),  # barges in on the answer
            Sound(start=6.0, duration=2.0, label="Alarm", expects=[Expect(task="warn", anchor="onset", within=1.5)]),
            Sound(start=9.0, duration=0.5, label="Crow"),
            Speech(start=10.0, duration=1.0, text="is it done?", expects=[Expect(task="answer")]),
        ],
        tasks=TASKS,
        noise=[NoiseBed(snr_db=15.0)],
    )


def test_same_seed_gives_byte_identical_traces() -> None:
    costs = ComputeCosts(perceiver=CostModel(per_audio_second=0.5, spread=0.3), responder=CostModel(fixed=0.1))
    first = run_simulation(scene(), seed=3, costs=costs).trace.to_jsonl()
    second = run_simulation(scene(), seed=3, costs=costs).trace.to_jsonl()
    assert first == second
    assert run_simulation(scene(), seed=4, costs=costs).trace.to_jsonl() != first


def test_default_agents_answer_warn_and_yield_to_barge_in() -> None:
    result = run_simulation(scene())
    trace = result.trace
    assert [s.task for s in trace.of_type(ReplyStarted)] == ["answer", "warn", "answer"]
    (cancel,) = trace.of_type(ReplyCancelled)
    assert cancel.reason == "barge-in"
    assert result.report.at(2.0).f1 == 1.0
    assert result.report.barge_in_latency.p50 == pytest.approx(0.2)  # speech at 3.0, heard with the chunk ending 3.2
    assert result.report.overlap_seconds == pytest.approx(0.2)
    assert result.report.cancel_latency.max == pytest.approx(0.0)
    assert result.trace.meta["scene"]["name"] == "scene"


def test_compute_unaware_ignores_costs_and_aware_shows_lag() -> None:
    slow = ComputeCosts(perceiver=CostModel(per_audio_second=1.5))
    unaware = run_simulation(scene(), costs=slow, compute_aware=False)
    aware = run_simulation(scene(), costs=slow, compute_aware=True)
    assert unaware.statistics.max_perceiver_lag == 0.0
    assert unaware.report.stall_rate == 0.0
    # 1.5x real time over 12 s of audio: when the last chunk arrives only ~8 s are perceived
    assert aware.statistics.max_perceiver_lag >= 3.5
    assert aware.report.decision_lag.max >= 3.5
    assert aware.report.stall_rate > 0.5
    assert aware.report.first_chunk_latency.p95 > 3.0


def test_bounded_queue_drops_are_counted() -> None:
    config = SessionConfig(chunk_queue=2, chunk_overflow=Overflow.DROP_OLDEST)
    result = run_simulation(scene(), config=config, costs=ComputeCosts(perceiver=CostModel(fixed=1.0)))
    dropped = result.report.counts["chunks_dropped"]
    assert dropped > 0
    assert dropped == result.statistics.chunk_queue.dropped
    assert result.statistics.chunk_queue.max_depth <= 2


def test_retryable_fault_is_retried_then_skipped() -> None:
    plan = FaultPlan(faults=[Fault(component="perceiver", kind="raise", start=1.0, end=1.5)])
    trace = run_simulation(scene(), faults=plan).trace
    handling = [e.handling for e in trace.of_type(BackendErrorEvent)]
    assert handling == ["retry", "retry", "skip"]


def test_non_retryable_fault_with_stop_ends_the_session() -> None:
    plan = FaultPlan(faults=[Fault(component="decider", kind="raise", start=4.0, retryable=False)])
    config = SessionConfig(decider_failure=FailurePolicy(on_exhausted=FailureAction.STOP))
    trace = run_simulation(scene(), faults=plan, config=config).trace
    assert [e.handling for e in trace.of_type(BackendErrorEvent)] == ["stop"]
    assert trace.ended is not None
    assert trace.ended.reason.startswith("failed")


def test_hang_past_timeout_becomes_backend_timeout() -> None:
    plan = FaultPlan(faults=[Fault(component="responder", kind="hang", start=0.0, end=3.0, seconds=30.0)])
    config = SessionConfig(responder_failure=FailurePolicy(max_retries=0, timeout=1.0))
    trace = run_simulation(scene(), faults=plan, config=config).trace
    (error,) = [e for e in trace.of_type(BackendErrorEvent) if e.component == "responder"]
    assert error.error_type == "BackendTimeout"
    (failed,) = trace.of_type(ReplyFailed)
    assert failed.error_type == "BackendTimeout"


@pytest.mark.parametrize(
    ("component", "end", "kinds"),
    [
        ("perceiver", 2.5, {"ContractViolation", "ConfigurationError"}),  # unheard audio / non-perception; NaN score
        ("decider", 2.5, {"ContractViolation", "ConfigurationError"}),  # non-Decision / unheard evidence; NaN score
        ("responder", 11.0, {"ContractViolation", "AudioFormatError"}),  # non-delta after empty text; NaN audio
    ],
)
def test_garbage_is_reported_not_passed_on(component: str, end: float, kinds: set[str]) -> None:
    plan = FaultPlan(faults=[Fault(component=component, kind="garbage", start=0.0, end=end)])
    trace = run_simulation(scene(), faults=plan).trace
    errors = [e for e in trace.of_type(BackendErrorEvent) if e.component == component]
    assert {e.error_type for e in errors} == kinds
    assert all(not e.retryable for e in errors)
    for record in trace:
        if hasattr(record.event, "span_end") and hasattr(record.event, "emitted_at"):
            assert record.event.span_end <= record.heard


def test_slow_span_delays_decisions_only_inside_it() -> None:
    plan = FaultPlan(faults=[Fault(component="decider", kind="slow", start=6.0, end=7.0, seconds=0.3)])
    trace = run_simulation(scene(), faults=plan).trace
    late = [d.decided_at - d.heard_until for d in trace.of_type(Decision)]
    assert max(late) == pytest.approx(0.3)
    assert sum(1 for x in late if x > 0.01) == 3  # heard_until 6.0, 6.4, 6.8
