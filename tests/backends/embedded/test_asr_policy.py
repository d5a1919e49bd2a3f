"""The streaming ASR policy (LocalAgreement-2, gating, trimming) with a fake recogniser on virtual time.

The fake recogniser reads words straight out of the audio: each word is a run of one
constant amplitude (its index in VOCAB), silence is zeros. A run that touches the end
of the decoded audio is an unfinished word and comes back garbled, as Whisper's last
word often does, so only LocalAgreement decides what is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import anyio
import numpy as np
import pytest

from audiointeract.audio import AudioChunk, AudioFormat, FloatArray
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.backends.streaming_asr import (
    LocalAgreement,
    StreamingAsrPerceiver,
    StreamingConfig,
)
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import AudioFormatError, BackendError, ConfigurationError
from audiointeract.events import BackendErrorEvent, SpeechActivity, TranscriptUpdate, Word
from audiointeract.session import Session
from audiointeract.sources import ArraySource
from audiointeract.testing import check_perceiver

RATE = 16000
VOCAB = [f"w{k}" for k in range(60)]
WORD_S, GAP_S = 0.3, 0.1


def level(k: int) -> float:
    return 0.05 + 0.01 * k


class FakeRecogniser:
    """Words from amplitude runs; counts calls and the audio it was asked to decode."""

    def __init__(self, *, sentence_every: int = 0) -> None:
        self.calls = 0
        self.decoded_seconds = 0.0
        self.sentence_every = sentence_every

    def __call__(self, audio: FloatArray, prompt: str) -> Sequence[Word]:
        self.calls += 1
        self.decoded_seconds += audio.size / RATE
        loud = np.abs(audio) > 1e-6
        edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
        words = []
        for begin, end in zip(edges[::2], edges[1::2], strict=True):
            k = round((float(np.median(audio[begin:end])) - 0.05) / 0.01)
            text = VOCAB[k]
            if self.sentence_every and (k + 1) % self.sentence_every == 0:
                text += "."
            if end == audio.size:  # unfinished word: garbled differently each time
                text = f"{text[:1]}~{end - begin}"
            words.append(Word(text=text, start=begin / RATE, end=end / RATE))
        return words


def render(utterances: Sequence[Sequence[int]], *, lead: float = 0.5, pause: float = 1.0) -> tuple[FloatArray, list[Word]]:
    """Audio of utterances (lists of VOCAB indices) and the true word timings."""
    parts = [np.zeros(round(lead * RATE), np.float32)]
    truth, t = [], lead
    for utterance in utterances:
        for k in utterance:
            parts.append(np.full(round(WORD_S * RATE), level(k), np.float32))
            truth.append(Word(text=VOCAB[k], start=t, end=t + WORD_S))
            parts.append(np.zeros(round(GAP_S * RATE), np.float32))
            t += WORD_S + GAP_S
        parts.append(np.zeros(round(pause * RATE), np.float32))
        t += pause
    return np.concatenate(parts), truth


class FakeGate:
    """Speech starts at the first loud 10 ms frame and ends after 0.3 s of zeros, stamped at the audio."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.speaking = False
        self.onset = 0.0
        self.quiet_since: float | None = None

    @property
    def pause_start(self) -> float | None:
        return self.quiet_since if self.speaking else None

    def end_now(self, heard: float) -> SpeechActivity | None:
        if not self.speaking:
            return None
        end = SpeechActivity(span_start=self.onset, span_end=self.quiet_since or heard, speaking=False)
        self.reset()
        return end

    def push(self, samples: FloatArray, start_time: float) -> list[SpeechActivity]:
        events, frame = [], RATE // 100
        for offset in range(0, samples.size, frame):
            t = start_time + offset / RATE
            loud = bool(np.any(np.abs(samples[offset : offset + frame]) > 1e-6))
            if loud and not self.speaking:
                self.speaking, self.quiet_since, self.onset = True, None, t
                events.append(SpeechActivity(span_start=t, span_end=t + frame / RATE, speaking=True))
            elif self.speaking and loud:
                self.quiet_since = None
            elif self.speaking:
                self.quiet_since = t if self.quiet_since is None else self.quiet_since
                if t + frame / RATE - self.quiet_since >= 0.3 - 1e-9:
                    self.speaking = False
                    events.append(SpeechActivity(span_start=self.onset, span_end=self.quiet_since, speaking=False))
        return events


def chunks_of(audio: FloatArray, seconds: float) -> list[AudioChunk]:
    n = round(seconds * RATE)
    return [
        AudioChunk(samples=np.pad(audio[i : i + n], (0, max(0, i + n - audio.size))), sample_rate=RATE,
                   start_sample=i, index=i // n)
        for i in range(0, audio.size, n)
    ]


def committed_words(updates: Sequence[TranscriptUpdate]) -> list[Word]:
    return [w for u in updates for w in u.words]


# ---------------------------------------------------------------------------- the sans-IO policy


def test_local_agreement_commits_only_what_two_hypotheses_agree_on() -> None:
    audio, truth = render([[1, 2, 3, 4]], lead=0.0, pause=0.0)
    policy = LocalAgreement(FakeRecogniser(), StreamingConfig(decode_every=0.2))
    committed: list[Word] = []
    step = 0.2
    for i in range(0, audio.size, round(step * RATE)):
        policy.insert(audio[i : i + round(step * RATE)], i / RATE)
        result = policy.process()
        # nothing is committed that the current audio does not show as a finished word
        assert all(w.end <= policy.buffer_end + 1e-9 for w in result.committed)
        committed.extend(result.committed)
        if i / RATE < WORD_S:
            assert not committed
    committed.extend(policy.finish().committed)
    assert [w.text for w in committed] == [w.text for w in truth]
    for got, want in zip(committed, truth, strict=True):
        assert got.start == pytest.approx(want.start, abs=1e-3)
        assert got.end == pytest.approx(want.end, abs=1e-3)
    assert policy.buffer_seconds == 0


def test_policy_commits_the_previous_hypothesis_on_finish_without_new_audio() -> None:
    audio, _ = render([[5, 6]], lead=0.0, pause=0.0)
    policy = LocalAgreement(FakeRecogniser(), StreamingConfig(decode_every=0))
    policy.insert(audio, 3.0)
    first = policy.process()
    assert not first.committed
    assert [w.text for w in first.tentative] == ["w5", "w6"]
    assert first.tentative[0].start == pytest.approx(3.0)
    assert [w.text for w in policy.finish().committed] == ["w5", "w6"]


def test_long_speech_keeps_the_buffer_bounded_and_commits_every_word_once() -> None:
    words = [k % 50 for k in range(150)]  # one minute of continuous speech
    audio, truth = render([words], lead=0.0, pause=0.0)
    recogniser = FakeRecogniser(sentence_every=7)
    config = StreamingConfig(decode_every=0.5, trim_after=6.0, max_buffer=12.0)
    policy = LocalAgreement(recogniser, config)
    committed: list[Word] = []
    longest = 0.0
    for i in range(0, audio.size, RATE // 2):
        policy.insert(audio[i : i + RATE // 2], i / RATE)
        committed.extend(policy.process().committed)
        longest = max(longest, policy.buffer_seconds)
    committed.extend(policy.finish().committed)
    assert longest <= config.max_buffer + 0.5
    assert [w.text.rstrip(".") for w in committed] == [w.text for w in truth]
    # the decoder only ever sees the bounded buffer, so total compute grows linearly
    assert recogniser.decoded_seconds <= recogniser.calls * (config.max_buffer + 0.5)


def test_buffer_that_never_agrees_is_force_committed_before_whisper_limit() -> None:
    rng = np.random.default_rng(0)

    def unstable(audio: FloatArray, prompt: str) -> list[Word]:
        n = audio.size / RATE
        return [Word(text=f"x{rng.integers(1_000_000)}", start=t, end=t + 0.2) for t in np.arange(0, n - 0.2, 0.5)]

    config = StreamingConfig(decode_every=0.5, trim_after=5.0, max_buffer=8.0)
    policy = LocalAgreement(unstable, config)
    committed = []
    for i in range(60):
        policy.insert(np.full(RATE // 2, 0.1, np.float32), i * 0.5)
        committed.extend(policy.process().committed)
        assert policy.buffer_seconds <= config.max_buffer + 0.5
    assert committed  # forced commits, never silent loss
    starts = [w.start for w in committed]
    assert starts == sorted(starts)


def test_overlap_with_committed_words_is_not_committed_twice() -> None:
    hypotheses = iter([["a", "b"], ["a", "b", "c"], ["b", "c", "d"], ["b", "c", "d", "e"]])

    def repeating(audio: FloatArray, prompt: str) -> list[Word]:
        texts = next(hypotheses)
        # the decoder re-emits "b" starting at the same time as the committed "b"
        offset = 0 if texts[0] == "a" else 1
        return [Word(text=t, start=0.5 * (i + offset), end=0.5 * (i + offset) + 0.4) for i, t in enumerate(texts)]

    policy = LocalAgreement(repeating, StreamingConfig(decode_every=0, min_context=0))
    texts = []
    for i in range(4):
        policy.insert(np.zeros(RATE, np.float32), float(i))
        texts.extend(w.text for w in policy.process().committed)
    texts.extend(w.text for w in policy.finish().committed)
    assert texts == ["a", "b", "c", "d", "e"]


def test_config_rejects_buffers_whisper_cannot_see() -> None:
    with pytest.raises(ConfigurationError):
        StreamingConfig(max_buffer=40.0)
    with pytest.raises(ConfigurationError):
        StreamingConfig(trim_after=10.0, max_buffer=5.0)


# ---------------------------------------------------------------------------- the perceiver


def run_perceiver_sync(perceiver: StreamingAsrPerceiver, chunks: Sequence[AudioChunk]) -> list[object]:
    async def main() -> list[object]:
        out: list[object] = []
        for chunk in chunks:
            got = await perceiver.perceive(chunk)
            assert all(p.span_end <= chunk.end_time + 1e-9 for p in got)
            out.extend(got)
        out.extend(await perceiver.finish())
        return out

    return anyio.run(main)


@pytest.mark.parametrize("chunk_seconds", [0.1, 0.4, 1.0, 2.0])
def test_gated_perceiver_transcribes_each_utterance_and_skips_silence(chunk_seconds: float) -> None:
    utterances = [[1, 2, 3], [10, 11, 12, 13, 14], [20]]
    audio, truth = render(utterances, lead=1.0, pause=2.0)
    recogniser = FakeRecogniser()
    perceiver = StreamingAsrPerceiver(recogniser, gate=FakeGate(), streaming=StreamingConfig(decode_every=0),
                                      speech_pad=0.05, offload=False)
    out = run_perceiver_sync(perceiver, chunks_of(audio, chunk_seconds))
    activity = [p for p in out if isinstance(p, SpeechActivity)]
    assert [a.speaking for a in activity] == [True, False] * len(utterances)
    updates = [p for p in out if isinstance(p, TranscriptUpdate)]
    words = committed_words(updates)
    assert [w.text for w in words] == [w.text for w in truth]
    assert " ".join(u.committed for u in updates if u.committed).split() == [w.text for w in truth]
    for got, want in zip(words, truth, strict=True):
        assert got.start == pytest.approx(want.start, abs=0.011)
    stats = perceiver.statistics()
    speech = sum(len(u) * (WORD_S + GAP_S) for u in utterances)
    assert stats.speech_seconds < speech + len(utterances) * 0.5  # silence between utterances is never decoded
    assert stats.audio_seconds == pytest.approx(len(chunks_of(audio, chunk_seconds)) * chunk_seconds)
    # each utterance is committed before (in the same result as) its speech end
    ends = [i for i, p in enumerate(out) if isinstance(p, SpeechActivity) and not p.speaking]
    last_commit = [i for i, p in enumerate(out) if isinstance(p, TranscriptUpdate) and p.committed]
    assert last_commit[-1] < ends[-1]


def test_every_chunk_cadence_commits_words_within_a_second_of_their_end() -> None:
    audio, truth = render([list(range(12))], lead=0.5, pause=1.0)
    perceiver = StreamingAsrPerceiver(FakeRecogniser(), gate=FakeGate(), streaming=StreamingConfig(decode_every=0),
                                      offload=False)
    out = run_perceiver_sync(perceiver, chunks_of(audio, 0.2))
    committed = [(u.span_end - w.end, w) for u in out if isinstance(u, TranscriptUpdate) for w in u.words]
    assert len(committed) == len(truth)
    # once the buffer holds min_context (2 s, counting the 0.5 s pre-roll) words commit within 0.8 s
    assert all(delay <= 0.8 + 1e-9 for delay, w in committed if w.start >= truth[0].start + 1.5)
    assert max(delay for delay, _ in committed) <= 2.0


def test_short_buffers_only_give_tentative_words() -> None:
    audio, _ = render([[1, 2, 3, 4, 5, 6]], lead=0.0, pause=0.0)
    policy = LocalAgreement(FakeRecogniser(), StreamingConfig(decode_every=0, min_context=1.5))
    first_commit = None
    for i in range(0, audio.size, RATE // 5):
        policy.insert(audio[i : i + RATE // 5], i / RATE)
        step = policy.process()
        if step.committed and first_commit is None:
            first_commit = policy.buffer_seconds
        if policy.buffer_seconds < 1.5:
            assert not step.committed
            assert step.tentative or policy.buffer_seconds < WORD_S
    assert first_commit is not None
    assert first_commit >= 1.5 + 0.2  # two hypotheses with enough context


def test_slower_cadence_decodes_less() -> None:
    audio, _ = render([list(range(20))], lead=0.5, pause=1.0)
    counts = []
    for every in (0.0, 1.0, 2.0):
        recogniser = FakeRecogniser()
        perceiver = StreamingAsrPerceiver(recogniser, gate=FakeGate(), streaming=StreamingConfig(decode_every=every),
                                          offload=False)
        out = run_perceiver_sync(perceiver, chunks_of(audio, 0.4))
        assert len(committed_words([p for p in out if isinstance(p, TranscriptUpdate)])) == 20
        counts.append(recogniser.calls)
    assert counts[0] > counts[1] > counts[2]


def test_stream_ending_in_speech_is_flushed_by_finish() -> None:
    audio, truth = render([[1, 2, 3]], lead=0.2, pause=0.0)
    perceiver = StreamingAsrPerceiver(FakeRecogniser(), gate=FakeGate(), offload=False)
    out = run_perceiver_sync(perceiver, chunks_of(audio, 0.4))
    assert isinstance(out[-1], SpeechActivity)
    assert not out[-1].speaking
    assert [w.text for w in committed_words([p for p in out if isinstance(p, TranscriptUpdate)])] == ["w1", "w2", "w3"]
    assert len(truth) == 3


def test_a_decode_at_the_start_of_a_pause_is_committed_at_the_end_of_speech_without_another() -> None:
    audio, truth = render([[1, 2, 3, 4]], lead=0.5, pause=1.0)
    recogniser = FakeRecogniser()
    perceiver = StreamingAsrPerceiver(recogniser, gate=FakeGate(), offload=False,
                                      streaming=StreamingConfig(decode_every=10.0, pause_decode_after=0.3))
    out = run_perceiver_sync(perceiver, chunks_of(audio, 0.1))
    assert recogniser.calls == 4  # 0.1 s into each pause after a word; the end of speech reuses the last
    updates = [p for p in out if isinstance(p, TranscriptUpdate)]
    assert [w.text for w in committed_words(updates)] == [w.text for w in truth]
    end = next(p for p in out if isinstance(p, SpeechActivity) and not p.speaking)
    assert end.span_end == pytest.approx(truth[-1].end)  # stamped where the speech ended
    assert updates[-1].span_end == pytest.approx(end.span_end + 0.3, abs=0.1)  # known at its confirmation

    recogniser = FakeRecogniser()
    perceiver = StreamingAsrPerceiver(recogniser, gate=FakeGate(), offload=False,
                                      streaming=StreamingConfig(decode_every=10.0, pause_decode_after=None))
    run_perceiver_sync(perceiver, chunks_of(audio, 0.1))
    assert recogniser.calls == 1  # without pause decodes, the one decode comes at the end of speech instead


def test_pre_roll_never_reaches_back_into_speech_already_committed() -> None:
    audio, truth = render([[1, 2, 3], [4, 5, 6]], lead=0.5, pause=0.35)  # a pause shorter than the 0.5 s pre-roll
    perceiver = StreamingAsrPerceiver(FakeRecogniser(), gate=FakeGate(), offload=False)
    out = run_perceiver_sync(perceiver, chunks_of(audio, 0.1))
    assert [p.speaking for p in out if isinstance(p, SpeechActivity)] == [True, False, True, False]
    words = committed_words([p for p in out if isinstance(p, TranscriptUpdate)])
    assert [w.text for w in words] == [w.text for w in truth]


def test_nan_chunk_is_a_clear_error() -> None:
    perceiver = StreamingAsrPerceiver(FakeRecogniser(), gate=FakeGate(), offload=False)
    bad = np.zeros(1600, np.float32)
    bad[3] = np.nan
    with pytest.raises(AudioFormatError, match="NaN"):
        run_perceiver_sync(perceiver, [AudioChunk(samples=bad, sample_rate=RATE, start_sample=0, index=0)])


def test_recogniser_failure_becomes_a_backend_error() -> None:
    def broken(audio: FloatArray, prompt: str) -> list[Word]:
        raise RuntimeError("decoder exploded")

    perceiver = StreamingAsrPerceiver(broken, gate=None, streaming=StreamingConfig(decode_every=0), offload=False)
    with pytest.raises(BackendError, match="decoder exploded"):
        run_perceiver_sync(perceiver, chunks_of(np.full(RATE, 0.1, np.float32), 0.5))


# ---------------------------------------------------------------------------- through the session


@pytest.mark.anyio
@pytest.mark.parametrize("offload", [False, True])
async def test_session_over_the_fake_commits_the_whole_transcript(offload: bool) -> None:
    audio, truth = render([[1, 2, 3, 4], [7, 8]], lead=0.6, pause=1.2)
    perceiver = StreamingAsrPerceiver(FakeRecogniser(), gate=FakeGate(), streaming=StreamingConfig(decode_every=0.4),
                                      offload=offload)
    config = SessionConfig(audio=AudioFormat(chunk_seconds=0.4), pacing=Pacing.REALTIME if not offload else Pacing.FAST)
    trace = await Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config).run(ArraySource(audio, RATE))
    assert not trace.of_type(BackendErrorEvent)
    updates = trace.of_type(TranscriptUpdate)
    assert [w.text for w in committed_words(updates)] == [w.text for w in truth]
    if not offload:  # virtual time, compute takes none: every update is emitted when its audio is heard
        assert all(u.emitted_at == pytest.approx(u.span_end, abs=1e-6) for u in updates)


@pytest.mark.anyio
async def test_fake_perceiver_conforms() -> None:
    audio, _ = render([[1, 2, 3]], lead=0.5, pause=0.6)
    await check_perceiver(
        lambda: StreamingAsrPerceiver(FakeRecogniser(), gate=FakeGate(), offload=False), audio=audio
    )


@pytest.mark.anyio
async def test_a_recogniser_slower_than_real_time_skips_re_decodes_to_keep_up_and_loses_no_audio() -> None:
    audio, truth = render([list(range(30))], lead=0.5, pause=1.0)
    recogniser = FakeRecogniser()

    def slow(samples: FloatArray, prompt: str) -> Sequence[Word]:
        asyncio.get_running_loop().advance(0.6)  # type: ignore[attr-defined] # 0.6 s of compute per decode
        return recogniser(samples, prompt)

    perceiver = StreamingAsrPerceiver(slow, gate=FakeGate(), streaming=StreamingConfig(decode_every=0),
                                      offload=False)
    config = SessionConfig(audio=AudioFormat(chunk_seconds=0.4), chunk_queue=1000)
    session = Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config)
    trace = await session.run(ArraySource(audio, RATE))
    stats = perceiver.statistics()
    # 0.6 s per decode on every 0.4 s chunk would fall further and further behind (over 5 s by the end);
    # a chunk that arrives late is fed without a re-decode, so the lag stays within one decode
    assert stats.max_lag <= 0.6 + 1e-6
    assert recogniser.calls < len(audio) / RATE / 0.4 / 2
    assert stats.compute_seconds == pytest.approx(0.6 * recogniser.calls)
    # inline compute blocks the loop, so the session itself cannot see this lag: the perceiver reports it
    assert session.statistics().chunks_perceived == session.statistics().chunks_received
    assert stats.audio_seconds == pytest.approx(audio.size / RATE, abs=0.4)  # every chunk was processed
    assert [w.text for w in committed_words(trace.of_type(TranscriptUpdate))] == [w.text for w in truth]
