"""Property tests: the rate controls hold for any scene (random sound-event scripts through the real Session)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from audiointeract.backends.mock import ScriptedPerceiver, ScriptedResponder
from audiointeract.config import SessionConfig
from audiointeract.events import Action, Decision, SoundEvent, StandingTask
from audiointeract.policies import RateControlled, SoundEventPolicy
from audiointeract.session import Session
from audiointeract.simulators import run_virtual
from audiointeract.sources import ArraySource
from audiointeract.trace import Trace

SECONDS = 30.0
LABELS = ["Siren", "Fire alarm", "Screaming"]
EPS = 1e-6


@st.composite
def sound_script(draw: st.DrawFn) -> list[SoundEvent]:
    events = []
    for _ in range(draw(st.integers(0, 40))):
        start = draw(st.floats(0.0, SECONDS - 2.0))
        events.append(
            SoundEvent(
                span_start=start,
                span_end=start + draw(st.floats(0.05, 1.5)),
                label=draw(st.sampled_from([*LABELS, "Dog"])),
                score=draw(st.floats(0.0, 1.0)),
            )
        )
    return events


knobs = st.fixed_dictionaries(
    {
        "threshold": st.sampled_from([0.0, 0.3, 0.7]),
        "evidence": st.sampled_from([0.0, 0.5, 1.5, 3.0]),
        "warmup": st.sampled_from([0.0, 2.0, 5.0]),
        "cooldown": st.sampled_from([0.0, 1.0, 4.0, 8.0]),
        "dedupe_window": st.sampled_from([0.0, 3.0, 12.0]),
    }
)


def simulate(script: list[SoundEvent], options: dict[str, float], reply_words: int) -> Trace:
    async def main() -> Trace:
        policy = RateControlled(SoundEventPolicy(LABELS, threshold=0.0, rearm=0.0), **options)
        session = Session(
            ScriptedPerceiver(script),
            policy,
            ScriptedResponder(" ".join(["beep"] * reply_words), tokens_per_second=10.0),
            config=SessionConfig(tasks=(StandingTask(name="safety", instruction="warn me", proactive=True),)),
        )
        return await session.run(ArraySource(np.zeros(int(SECONDS * 16000), dtype=np.float32), 16000))

    return run_virtual(main)


def responds(trace: Trace) -> list[Decision]:
    return [d for d in trace.of_type(Decision) if d.action is Action.RESPOND]


@given(sound_script(), knobs, st.integers(1, 30))
def test_rate_controls_hold_for_any_scene(
    script: list[SoundEvent], options: dict[str, float], reply_words: int
) -> None:
    trace = simulate(script, options, reply_words)
    passed = responds(trace)
    times = [d.heard_until or 0.0 for d in passed]
    # warm-up and threshold
    assert all(t + EPS >= options["warmup"] for t in times)
    assert all(d.score + EPS >= options["threshold"] for d in passed)
    # cooldown: the minimum gap between replies
    assert all(b - a + EPS >= options["cooldown"] for a, b in itertools.pairwise(times))
    # de-duplication: the same task and label never pass twice within the window
    last: dict[tuple[str | None, str], float] = {}
    for d, t in zip(passed, times, strict=True):
        key = (d.task, d.evidence[-1].label)  # type: ignore[attr-defined]
        assert key not in last or t - last[key] + EPS >= options["dedupe_window"]
        last[key] = t
    # evidence resets after each reply: what the decision points since the previous pass offered must reach it
    offered, best_here = 0.0, 0.0
    for record in trace:
        event = record.event
        if isinstance(event, SoundEvent) and event.label in LABELS and event.score + EPS >= options["threshold"]:
            best_here = max(best_here, event.score)
        elif isinstance(event, Decision):
            offered += best_here
            best_here = 0.0
            if event.action is Action.RESPOND:
                assert offered + EPS >= options["evidence"]
                offered = 0.0


@given(sound_script())
def test_without_knobs_nothing_is_held_back(script: list[SoundEvent]) -> None:
    """The wrapper with every knob off passes exactly what the inner policy says (a control for the test above)."""
    trace = simulate(script, {}, 1)
    fired = [
        d
        for d in trace.of_type(Decision)
        if d.action is Action.SILENT and d.reason.startswith(("warm-up", "cooldown", "duplicate", "evidence", "score"))
    ]
    assert fired == []
