"""UserTurn: the one tracker of what the user said, driven without an event loop."""

from __future__ import annotations

import pytest

from audiointeract.conversation import UserTurn
from audiointeract.errors import ConfigurationError
from audiointeract.events import SpeechActivity, TranscriptUpdate


def onset(at: float) -> SpeechActivity:
    return SpeechActivity(span_start=at, span_end=at, speaking=True)


def stop(start: float, end: float) -> SpeechActivity:
    return SpeechActivity(span_start=start, span_end=end, speaking=False)


def said(start: float, end: float, committed: str = "", tentative: str = "") -> TranscriptUpdate:
    return TranscriptUpdate(span_start=start, span_end=end, committed=committed, tentative=tentative)


def test_a_vad_turn_opens_at_the_onset_collects_words_and_closes() -> None:
    turn = UserTurn()
    turn.absorb([onset(1.0), said(1.0, 1.6, "what time", tentative="is")])
    assert (turn.open, turn.speaking, turn.onset, turn.run_start) == (True, True, 1.0, 1.0)
    assert turn.text == "what time is"
    turn.absorb([said(1.0, 2.0, " is it?"), stop(1.0, 2.0)])
    assert (turn.speaking, turn.speech_end, turn.text) == (False, 2.0, "what time is it?")
    assert turn.committed_words == ["what", "time", "is", "it?"]
    assert len(turn.evidence) == 4
    turn.close()
    assert (turn.open, turn.onset, turn.text, len(turn.evidence)) == (False, None, "", 0)
    turn.absorb([said(2.0, 2.5, "late words")])
    assert turn.text == ""  # with VAD, words outside a turn are not collected
    assert turn.speech_end == 2.0  # and do not move the end of speech


def test_without_vad_the_words_date_the_end_of_speech() -> None:
    turn = UserTurn()
    turn.absorb([said(0.0, 1.2, "hello there")])
    assert (turn.open, turn.uses_vad, turn.onset, turn.speech_end) == (True, False, 0.0, 1.2)


def test_turn_per_run_judges_each_speech_run_on_its_own() -> None:
    turn = UserTurn(turn_per_run=True)
    turn.absorb([onset(1.0), said(1.0, 1.5, "no wait"), stop(1.0, 1.5)])
    turn.absorb([onset(2.0), said(2.0, 2.6, "mm-hmm")])
    assert (turn.run_start, turn.onset, turn.text) == (2.0, 2.0, "mm-hmm")
    assert turn.speech_end == 1.5  # the last finished run's end until this one stops
    assert [type(p) for p in turn.evidence] == [SpeechActivity, TranscriptUpdate]
    plain = UserTurn()
    plain.absorb([onset(1.0), said(1.0, 1.5, "no wait"), stop(1.0, 1.5), onset(2.0), said(2.0, 2.6, "mm-hmm")])
    assert (plain.onset, plain.text) == (1.0, "no wait mm-hmm")


def test_forget_text_keeps_the_turn_open() -> None:
    turn = UserTurn()
    turn.absorb([onset(0.0), said(0.0, 1.0, "first part")])
    turn.forget_text()
    assert (turn.open, turn.onset, turn.text) == (True, 0.0, "")
    turn.absorb([said(1.0, 2.0, "second part")])
    assert turn.text == "second part"


def test_a_turn_open_from_the_start_counts_every_word() -> None:
    turn = UserTurn(open=True)
    turn.absorb([stop(0.0, 0.5), said(0.5, 1.0, "words after a stray end of speech")])
    assert turn.committed_words == ["words", "after", "a", "stray", "end", "of", "speech"]


def test_the_turn_keeps_its_newest_words() -> None:
    turn = UserTurn(max_words=5)
    turn.absorb([onset(0.0), said(0.0, 1.0, "one two  three"), said(1.0, 2.0, "four five six seven")])
    assert turn.committed_words == ["three", "four", "five", "six", "seven"]
    assert turn.text == "three four five six seven"
    for n in range(1000):
        turn.absorb([said(2.0 + n, 3.0 + n, f"word{n} again")])
    assert turn.committed_words == ["again", "word998", "again", "word999", "again"]
    assert len(turn.committed) == 3  # memory stays bounded however long the turn
    unbounded = UserTurn(max_words=None)
    unbounded.absorb([said(0.0, 1.0, " ".join(["word"] * 2000))])
    assert len(unbounded.committed_words) == 2000


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_max_words_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="max_words"):
        UserTurn(max_words=bad)  # type: ignore[arg-type]
