"""Property tests: endpointing never answers before ``min_delay`` of silence, and always within ``max_delay``."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from audiointeract.backends.mock import ScriptedPerceiver, ScriptedResponder
from audiointeract.events import Action, Decision, Perception, SpeechActivity, TranscriptUpdate
from audiointeract.policies import EndpointingPolicy
from audiointeract.session import Session
from audiointeract.simulators import run_virtual
from audiointeract.sources import ArraySource

CHUNK = 0.4
EPS = 1e-6
TEXTS = ["What time is it?", "my number is four five", "Turn on the lights.", "so I was thinking about", "Hello there."]


@st.composite
def utterances(draw: st.DrawFn) -> list[tuple[float, float, str]]:
    out, t = [], draw(st.floats(0.2, 2.0))
    for _ in range(draw(st.integers(1, 6))):
        duration = draw(st.floats(0.3, 3.0))
        out.append((t, t + duration, draw(st.sampled_from(TEXTS))))
        t += duration + draw(st.floats(0.1, 4.0))
    return out


def script(turns: list[tuple[float, float, str]]) -> list[Perception]:
    out: list[Perception] = []
    for start, end, text in turns:
        out += [
            SpeechActivity(span_start=start, span_end=start, speaking=True),
            TranscriptUpdate(span_start=start, span_end=end, committed=text),
            SpeechActivity(span_start=start, span_end=end, speaking=False),
        ]
    return out


@given(utterances(), st.sampled_from([0.0, 0.4, 0.7]), st.sampled_from([1.0, 2.0]))
def test_answers_fall_between_min_and_max_delay(turns, min_delay: float, max_delay: float) -> None:
    seconds = turns[-1][1] + max_delay + 2.0

    async def main():
        session = Session(
            ScriptedPerceiver(script(turns)),
            EndpointingPolicy(min_delay=min_delay, max_delay=max_delay),
            ScriptedResponder("Ok.", first_token_delay=0.0),
        )
        return await session.run(ArraySource(np.zeros(round(seconds * 16000), dtype=np.float32), 16000))

    trace = run_virtual(main)
    answers = [d.heard_until or 0.0 for d in trace.of_type(Decision) if d.action is Action.RESPOND]
    for t in answers:
        # never while the user speaks, never before min_delay of silence
        assert not any(start <= t < end for start, end, _ in turns)
        last_end = max(end for _, end, _ in turns if end <= t + EPS)
        assert t - last_end + EPS >= min_delay
    # every pause longer than max_delay plus a chunk ends a turn that gets exactly one answer in time
    for index, (_, end, _) in enumerate(turns):
        following = turns[index + 1][0] if index + 1 < len(turns) else seconds
        if following - end > max_delay + CHUNK + EPS:
            in_window = [t for t in answers if end + min_delay - EPS <= t <= end + max_delay + CHUNK + EPS]
            assert len(in_window) == 1
