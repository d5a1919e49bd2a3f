from __future__ import annotations

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action
from audiointeract.policies.backchannel import BackchannelPolicy

pytestmark = pytest.mark.anyio


async def test_pause_in_a_long_turn_gets_one_backchannel(tl) -> None:
    script = [
        *tl.speech(0.2, 4.6, "so yesterday I went down to the market and"),
        *tl.speech(5.3, 7.0, "they had no apples at all"),
    ]
    trace = await tl.run(BackchannelPolicy(min_speech=4.0, min_pause=0.2, max_pause=1.0), script, 9.0)
    assert tl.times(trace, Action.BACKCHANNEL) == [4.8]
    assert "pause" in tl.acted(trace, Action.BACKCHANNEL)[0].reason


async def test_no_backchannel_after_short_talk_or_a_finished_sentence(tl) -> None:
    short = await tl.run(BackchannelPolicy(min_speech=4.0), tl.speech(0.2, 2.6, "so I went to the"), 5.0)
    assert tl.acted(short, Action.BACKCHANNEL) == []
    finished = await tl.run(BackchannelPolicy(min_speech=4.0), tl.speech(0.2, 4.6, "I went to the market today."), 7.0)
    assert tl.acted(finished, Action.BACKCHANNEL) == []


async def test_min_gap_between_backchannels(tl) -> None:
    script = [
        *tl.speech(0.2, 4.6, "so I went to the market and"),
        *tl.speech(5.0, 9.4, "then I walked to the station and"),
        *tl.speech(9.8, 14.2, "then I took the train to the"),
    ]
    spaced = await tl.run(BackchannelPolicy(min_speech=4.0, min_gap=0.0), script, 15.0)
    assert tl.times(spaced, Action.BACKCHANNEL) == [4.8, 9.6, 14.4]
    gapped = await tl.run(BackchannelPolicy(min_speech=4.0, min_gap=6.0), script, 15.0)
    assert tl.times(gapped, Action.BACKCHANNEL) == [4.8, 14.4]


async def test_misconfiguration() -> None:
    with pytest.raises(ConfigurationError, match="max_pause"):
        BackchannelPolicy(min_pause=1.0, max_pause=0.5)
    with pytest.raises(ConfigurationError, match="min_gap"):
        BackchannelPolicy(min_gap=float("inf"))
