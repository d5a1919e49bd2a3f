"""check_perceiver checks what it promises about transcript commits: they never repeat."""

from __future__ import annotations

import pytest

from audiointeract.backends.mock import ScriptedPerceiver
from audiointeract.events import TranscriptUpdate, Word
from audiointeract.testing import ConformanceError, check_perceiver


def commit(text: str, start: float, end: float, *, words: bool = True) -> TranscriptUpdate:
    parts = text.split()
    step = (end - start) / len(parts)
    timed = tuple(Word(text=w, start=start + i * step, end=start + (i + 1) * step) for i, w in enumerate(parts))
    return TranscriptUpdate(span_start=start, span_end=end, committed=text, words=timed if words else ())


@pytest.mark.anyio
async def test_commits_of_new_audio_in_order_pass() -> None:
    script = [commit("where are", 0.2, 0.9), commit("my keys", 1.0, 1.6), commit("thanks", 2.0, 2.4, words=False)]
    assert await check_perceiver(lambda: ScriptedPerceiver(script)) == script


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("script", "message"),
    [
        ([commit("where are my keys", 0.2, 1.6), commit("where are my keys", 0.2, 1.6)], "does not follow"),
        ([commit("hello", 0.2, 0.8, words=False), commit("hello", 0.2, 0.8, words=False)], "does not follow"),
        ([commit("my keys", 1.0, 1.6), commit("where are", 0.2, 1.7)], "stream order"),
        (
            [commit("keys", 1.0, 1.6), TranscriptUpdate(span_start=1.2, span_end=2.0, committed="keys now",
                                                        words=(Word(text="keys", start=1.2, end=1.6),
                                                               Word(text="now", start=1.6, end=2.0)))],
            "committed twice",
        ),
    ],
)
async def test_repeated_commits_are_caught(script: list[TranscriptUpdate], message: str) -> None:
    with pytest.raises(ConformanceError, match=message):
        await check_perceiver(lambda: ScriptedPerceiver(script))
