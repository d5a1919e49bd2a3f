"""Hypothesis strategies for simulation: scenes, speech scripts, latency models, fault plans.

Public so apps and backend authors can property-test their own policies on random
scenes (needs ``hypothesis``, extra ``testing``)::

    from hypothesis import given
    from audiointeract.testing.strategies import scenes

    @given(scenes())
    def test_my_policy(scene): ...

Times are multiples of 0.05 s so failing examples read well; every scene renders
synthetically (no clip bank needed).
"""

from __future__ import annotations

from hypothesis import strategies as st

from audiointeract.events import StandingTask
from audiointeract.simulators.compute import ComputeCosts, CostModel
from audiointeract.simulators.faults import Fault, FaultPlan
from audiointeract.simulators.scene import Anchor, Expect, NoiseBed, Scene, Silence, Sound, Speech

__all__ = [
    "ANSWER",
    "WARN",
    "compute_costs",
    "cost_models",
    "fault_plans",
    "faults",
    "questions",
    "scenes",
    "speech_scripts",
    "statements",
    "times",
]

ANSWER = StandingTask(name="answer", instruction="Answer the questions the user asks you.")
WARN = StandingTask(name="warn", instruction="Warn me when an alarm or a siren sounds.", proactive=True)
_WORDS = ("the", "kettle", "is", "on", "where", "did", "I", "put", "my", "keys", "we", "need", "milk", "today",
          "what", "time", "does", "train", "leave", "can", "you", "turn", "lights", "off", "please")
_ALARMS = ("Alarm", "Smoke alarm", "Siren")
_DISTRACTORS = ("Door", "Crow", "Dishes", "Typing")
_STEP = 0.05


def times(low: float, high: float) -> st.SearchStrategy[float]:
    """Seconds in ``[low, high]`` on a 0.05 s grid."""
    return st.integers(round(low / _STEP), round(high / _STEP)).map(lambda n: round(n * _STEP, 6))


def statements(max_words: int = 8) -> st.SearchStrategy[str]:
    """Speech that asks nothing (no trailing "?")."""
    return st.lists(st.sampled_from(_WORDS), min_size=1, max_size=max_words).map(" ".join)


def questions(max_words: int = 8) -> st.SearchStrategy[str]:
    """Speech that asks something (ends with "?")."""
    return statements(max_words).map(lambda text: text + "?")


@st.composite
def speech_scripts(
    draw: st.DrawFn,
    *,
    max_turns: int = 4,
    start: float = 0.2,
    max_gap: float = 4.0,
    speaker: str = "user",
) -> tuple[Speech, ...]:
    """Non-overlapping user turns in time order; questions expect an answer within 2 s."""
    turns: list[Speech] = []
    cursor = start
    for _ in range(draw(st.integers(1, max_turns))):
        cursor = round(cursor + draw(times(0.0, max_gap)), 6)
        duration = draw(times(0.3, 3.0))
        asks = draw(st.booleans())
        text = draw(questions() if asks else statements())
        expects = (Expect(task=ANSWER.name),) if asks else ()
        turns.append(Speech(start=cursor, duration=duration, text=text, speaker=speaker, expects=expects))
        cursor = round(cursor + duration, 6)
    return tuple(turns)


@st.composite
def scenes(
    draw: st.DrawFn,
    *,
    max_segments: int = 6,
    max_gap: float = 3.0,
    noise: bool = True,
    sounds: bool = True,
) -> Scene:
    """Random scenes with tasks ``answer`` and ``warn``.

    Questions, statements, alarms (warn within 1.5 s of onset), distractor sounds
    and silence follow one another with random gaps, over a noise bed or not.
    """
    segments: list[Speech | Sound | Silence] = []
    cursor = 0.0
    kinds = ["question", "statement", "silence", *(["alarm", "distractor"] if sounds else [])]
    for _ in range(draw(st.integers(1, max_segments))):
        cursor = round(cursor + draw(times(0.0, max_gap)), 6)
        kind = draw(st.sampled_from(kinds))
        duration = draw(times(0.3, 3.0))
        if kind == "question":
            segment: Speech | Sound | Silence = Speech(
                start=cursor, duration=duration, text=draw(questions()), expects=(Expect(task=ANSWER.name),)
            )
        elif kind == "statement":
            segment = Speech(start=cursor, duration=duration, text=draw(statements()))
        elif kind == "alarm":
            segment = Sound(
                start=cursor,
                duration=duration,
                label=draw(st.sampled_from(_ALARMS)),
                synth=draw(st.sampled_from(("alarm", "tone", "chirp"))),
                expects=(Expect(task=WARN.name, anchor=Anchor.ONSET, within=1.5),),
            )
        elif kind == "distractor":
            segment = Sound(start=cursor, duration=duration, label=draw(st.sampled_from(_DISTRACTORS)), synth="noise")
        else:
            segment = Silence(start=cursor, duration=duration)
        segments.append(segment)
        cursor = round(cursor + duration, 6)
    beds = (NoiseBed(snr_db=draw(times(5.0, 30.0)), color=draw(st.sampled_from(("white", "pink", "brown")))),)
    return Scene(
        segments=segments,
        tasks=(ANSWER, WARN),
        noise=beds if noise and draw(st.booleans()) else (),
        name="random",
        tail=draw(times(0.5, 2.0)),
    )


def cost_models(*, max_seconds: float = 0.5, max_rtf: float = 2.0) -> st.SearchStrategy[CostModel]:
    """Latency models: fixed, per-second-of-audio, per-token, optionally log-normal spread."""
    return st.builds(
        CostModel,
        fixed=times(0.0, max_seconds),
        per_audio_second=times(0.0, max_rtf),
        per_token=times(0.0, 0.1),
        spread=st.sampled_from((0.0, 0.0, 0.1, 0.3)),
    )


def compute_costs(**options: float) -> st.SearchStrategy[ComputeCosts]:
    """Cost models for the perceiver, decider and responder."""
    return st.builds(
        ComputeCosts, perceiver=cost_models(**options), decider=cost_models(**options),
        responder=cost_models(**options),
    )


@st.composite
def faults(draw: st.DrawFn, *, max_time: float = 20.0) -> Fault:
    """One fault of any component and kind over a random span."""
    start = draw(times(0.0, max_time))
    return Fault(
        component=draw(st.sampled_from(("perceiver", "decider", "responder"))),
        kind=draw(st.sampled_from(("raise", "hang", "garbage", "slow"))),
        start=start,
        end=round(start + draw(times(0.4, 5.0)), 6),
        retryable=draw(st.booleans()),
        seconds=draw(times(0.05, 3.0)),
    )


def fault_plans(*, max_faults: int = 3, max_time: float = 20.0) -> st.SearchStrategy[FaultPlan]:
    """Up to ``max_faults`` faults."""
    return st.lists(faults(max_time=max_time), max_size=max_faults).map(lambda items: FaultPlan(faults=items))
