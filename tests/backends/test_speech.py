"""Speech output: sentence splitting, the espeak-ng and piper synthesizers, and SpeechResponder."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from leaks import child_processes, worker_threads

from audiointeract.backends.mock import ScriptedResponder
from audiointeract.backends.speech import (
    ESPEAK_ENV,
    EspeakSynthesizer,
    PiperSynthesizer,
    SentenceSplitter,
    SpeechResponder,
    make_synthesizer,
    speakable,
)
from audiointeract.errors import ConfigurationError, ModelNotFoundError
from audiointeract.events import Action, AudioDelta, Decision, ResponseRequest, TextDelta

LONG_TEXT = " ".join(["This sentence is long enough to keep the speech engine busy for a while."] * 40)


def request() -> ResponseRequest:
    return ResponseRequest(reply_id=3, decision=Decision(action=Action.RESPOND), task=None, transcript="hi")


def test_splitter_emits_each_sentence_when_it_is_complete() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("Hello there") == []
    assert splitter.push(". How are") == ["Hello there."]
    assert splitter.push(" you? I am") == ["How are you?"]
    assert splitter.push(" fine!\nNew line") == ["I am fine!"]
    assert splitter.flush() == ["New line"]
    assert splitter.flush() == []


def test_splitter_ends_a_sentence_at_once_after_a_word_but_waits_after_a_number() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("The capital is Paris.") == ["The capital is Paris."]
    assert splitter.push(" It costs 3.") == []
    assert splitter.push("5 euros. Ok.") == ["It costs 3.5 euros."]
    assert splitter.push(" Bye") == ["Ok."]


def test_splitter_cuts_the_first_segment_at_a_clause_once_it_is_long_enough() -> None:
    splitter = SentenceSplitter(first_clause_words=4)
    assert splitter.push("Well, that is ") == []
    assert splitter.push("a good question, and the answer, surely, ") == ["Well, that is a good question,"]
    # after the first segment only sentence ends cut
    assert splitter.push("is yes. ") == ["and the answer, surely, is yes."]


def test_splitter_cuts_long_sentences_at_clauses_and_at_the_word_limit() -> None:
    splitter = SentenceSplitter(first_clause_words=3, clause_words=4, max_words=6)
    assert splitter.push("Yes, I think so, because the weather, as you ") == ["Yes, I think so,"]
    assert splitter.push("know, is warm. ") == ["because the weather, as you know,", "is warm."]
    assert splitter.push("one two three four five six seven") == ["one two three four five six"]
    assert splitter.sentences == 1
    assert splitter.flush() == ["seven"]


def test_splitter_cuts_the_first_segment_after_its_word_limit() -> None:
    splitter = SentenceSplitter(first_words=3, max_words=5)
    assert splitter.push("one two") == []
    assert splitter.push(" three four") == ["one two three"]  # "three" is complete once the space follows
    assert splitter.push(" five six seven eight nine ") == ["four five six seven eight"]
    assert splitter.push("ten.") == ["nine ten."]


def test_splitter_keeps_closing_quotes_and_cuts_at_newlines() -> None:
    splitter = SentenceSplitter()
    assert splitter.push('He said "stop." Then\nleft') == ['He said "stop."', "Then"]
    assert splitter.flush() == ["left"]


def test_speakable_drops_markup_and_empty_text() -> None:
    assert speakable("**Paris** is   the _capital_.") == "Paris is the capital ."
    assert speakable(" ... ") == ""
    assert speakable("`#`") == ""


# ----------------------------------------------------------------------------- espeak-ng


@pytest.mark.anyio
async def test_espeak_speaks_a_sentence() -> None:
    synth = EspeakSynthesizer()
    blocks = [block async for block in synth.synthesize("Hello, how are you today?")]
    assert blocks
    assert {block.sample_rate for block in blocks} == {22050}
    audio = np.concatenate([block.samples for block in blocks])
    assert 0.8 < audio.size / 22050 < 4.0
    assert float(np.sqrt(np.mean(audio**2))) > 0.01
    assert child_processes("espeak-ng") == []


@pytest.mark.anyio
async def test_closing_espeak_early_kills_the_process() -> None:
    synth = EspeakSynthesizer()
    async with contextlib.aclosing(synth.synthesize(LONG_TEXT)) as blocks:
        async for _ in blocks:
            assert child_processes("espeak-ng"), "espeak-ng should still be speaking the long text"
            break
    assert child_processes("espeak-ng") == []


def test_espeak_missing_program_fails_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ESPEAK_ENV, "no-such-espeak-program")
    with pytest.raises(ConfigurationError, match="apt-get install espeak-ng"):
        EspeakSynthesizer()
    with pytest.raises(ConfigurationError, match="words_per_minute"):
        EspeakSynthesizer(words_per_minute=10, executable="espeak-ng")
    with pytest.raises(ConfigurationError, match="cannot use voice 'zzqx'"):
        EspeakSynthesizer(voice="zzqx", executable="espeak-ng")


def test_make_synthesizer_by_name() -> None:
    assert isinstance(make_synthesizer("espeak"), EspeakSynthesizer)
    with pytest.raises(ConfigurationError, match="unknown voice"):
        make_synthesizer("robot")


# ----------------------------------------------------------------------------- piper


@pytest.fixture(scope="module")
def piper() -> PiperSynthesizer:
    return PiperSynthesizer()


@pytest.mark.slow
@pytest.mark.anyio
async def test_piper_speaks_with_the_joe_voice(piper: PiperSynthesizer) -> None:
    blocks = [block async for block in piper.synthesize("The capital of France is Paris.")]
    audio = np.concatenate([block.samples for block in blocks])
    assert piper.sample_rate == 22050
    assert 1.0 < audio.size / 22050 < 4.0
    assert float(np.sqrt(np.mean(audio**2))) > 0.01
    assert worker_threads() == []


@pytest.mark.slow
@pytest.mark.anyio
async def test_closing_piper_early_joins_its_thread(piper: PiperSynthesizer) -> None:
    async with contextlib.aclosing(piper.synthesize(LONG_TEXT[:400])) as blocks:
        async for _ in blocks:
            break
    assert worker_threads() == []


def test_piper_voice_files_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no piper voice file"):
        PiperSynthesizer(model_path=tmp_path / "voice.onnx")
    with pytest.raises(ConfigurationError, match="threads"):
        PiperSynthesizer(threads=0)


@pytest.mark.slow
def test_piper_runs_on_its_thread_budget_without_spinning(piper: PiperSynthesizer) -> None:
    options = piper._voice.session.get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


# ----------------------------------------------------------------------------- SpeechResponder


@pytest.mark.anyio
async def test_speech_responder_speaks_each_sentence_after_its_text() -> None:
    inner = ScriptedResponder("Hello there. The answer is forty two. Bye", tokens_per_second=50)
    responder = SpeechResponder(inner, EspeakSynthesizer(), piece_seconds=0.1)
    deltas = [delta async for delta in responder.respond(request())]
    text = "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert text == "Hello there. The answer is forty two. Bye"
    audio = [d for d in deltas if isinstance(d, AudioDelta)]
    assert [d.text for d in audio if d.text] == ["Hello there.", "The answer is forty two.", "Bye"]
    assert all(d.duration <= 0.1 + 1e-9 for d in audio)
    # each sentence's audio comes after the text that completed it
    order = ["T" if isinstance(d, TextDelta) else ("A" if d.text else "a") for d in deltas]
    first_audio = order.index("A")
    assert "".join(d.text for d in deltas[:first_audio] if isinstance(d, TextDelta)).startswith("Hello there.")
    stats = responder.last_statistics
    assert stats is not None
    assert stats.segments == 3
    assert stats.audio_seconds == pytest.approx(sum(d.duration for d in audio))
    assert not stats.stopped_early
    assert child_processes("espeak-ng") == []


@pytest.mark.anyio
async def test_acknowledgements_are_spoken_in_the_responder_voice() -> None:
    responder = SpeechResponder(ScriptedResponder("unused"), EspeakSynthesizer())
    ack = await responder.acknowledgement("mm-hm")
    assert ack is not None
    assert ack.text == "mm-hm"
    assert ack.sample_rate == 22050
    assert 0.2 < ack.duration < 2.0
    assert float(np.abs(ack.samples).max()) > 0.05
    assert await responder.acknowledgement("...") is None
    assert child_processes("espeak-ng") == []


@pytest.mark.anyio
async def test_closing_the_speech_responder_mid_sentence_stops_everything() -> None:
    inner = ScriptedResponder(LONG_TEXT, tokens_per_second=1000)
    responder = SpeechResponder(inner, EspeakSynthesizer())
    pieces = 0
    async with contextlib.aclosing(responder.respond(request())) as stream:  # type: ignore[type-var]
        async for delta in stream:
            pieces += isinstance(delta, AudioDelta)
            if pieces == 3:
                break
    assert responder.last_statistics is not None
    assert responder.last_statistics.stopped_early
    assert child_processes("espeak-ng") == []
    assert worker_threads() == []


@pytest.mark.anyio
async def test_max_sentences_ends_the_reply_and_closes_the_inner_responder() -> None:
    inner = ScriptedResponder("One two three. Four five six. Seven eight nine.", tokens_per_second=50)
    responder = SpeechResponder(inner, EspeakSynthesizer(), max_sentences=2, first_clause_words=0)
    deltas = [delta async for delta in responder.respond(request())]
    text = "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert text == "One two three. Four five six."
    assert [d.text for d in deltas if isinstance(d, AudioDelta) and d.text] == ["One two three.", "Four five six."]
    assert responder.last_statistics is not None
    assert not responder.last_statistics.stopped_early


def test_splitter_counts_sentences_not_clauses() -> None:
    splitter = SentenceSplitter(first_clause_words=2)
    assert splitter.push("Well, you see, it is late. Go") == ["Well, you see,", "it is late."]
    assert splitter.sentences == 1
    assert splitter.flush() == ["Go"]
    assert splitter.sentences == 2


def test_speech_responder_validates_options() -> None:
    with pytest.raises(ConfigurationError, match="piece_seconds"):
        SpeechResponder(ScriptedResponder(), EspeakSynthesizer(), piece_seconds=0)
    with pytest.raises(ConfigurationError, match="max_sentences"):
        SpeechResponder(ScriptedResponder(), EspeakSynthesizer(), max_sentences=0)
    with pytest.raises(ConfigurationError, match="max_words"):
        SpeechResponder(ScriptedResponder(), EspeakSynthesizer(), max_words=-1)
