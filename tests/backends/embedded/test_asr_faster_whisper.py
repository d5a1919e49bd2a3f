"""Streaming faster-whisper tiny.en (real weights) on real recordings through the session loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import jiwer
import numpy as np
import pytest
from whisper_normalizer.english import EnglishTextNormalizer

from audiointeract.audio import AudioChunk, AudioFormat, FloatArray, resample
from audiointeract.backends.embedded.asr import FasterWhisperPerceiver, load_faster_whisper
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import AudioFormatError, CheckpointError, ModelNotFoundError
from audiointeract.events import BackendErrorEvent, InputWarning, SessionEnded, SpeechActivity, TranscriptUpdate
from audiointeract.interfaces import AudioSource
from audiointeract.session import Session
from audiointeract.simulators.clips import default_bank
from audiointeract.sources import ArraySource, FileSource
from audiointeract.testing import check_perceiver
from audiointeract.trace import Trace

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (default_bank().available("pocketsphinx") and default_bank().available("asterisk")
             and default_bank().available("sonic-pi")),
        reason="needs pocketsphinx-testdata, asterisk-core-sounds-en-wav and sonic-pi-samples",
    ),
]

BANK = default_bank()
LIBRIVOX = "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0870"
SHORT = "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0880"
PROMPT = "asterisk:conf-getpin"
NORMALISE = EnglishTextNormalizer()


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(NORMALISE(reference), NORMALISE(hypothesis) or "<empty>"))


def clip_16k(clip: str) -> FloatArray:
    samples, rate = BANK.load(clip)
    return resample(samples, rate, 16000)


def silence(seconds: float, rate: int = 16000) -> FloatArray:
    return np.zeros(round(seconds * rate), np.float32)


@pytest.fixture(scope="module")
def model() -> object:
    return load_faster_whisper()


def perceiver(model: object, **options: object) -> FasterWhisperPerceiver:
    return FasterWhisperPerceiver(model=model, offload=False, **options)  # type: ignore[arg-type]


async def run(p: FasterWhisperPerceiver, source: AudioSource, **config: object) -> Trace:
    session = Session(p, ScriptedDecider(), ScriptedResponder(), config=SessionConfig(**config))  # type: ignore[arg-type]
    return await session.run(source)


def transcript(trace: Trace) -> str:
    return " ".join(u.committed for u in trace.of_type(TranscriptUpdate) if u.committed)


@pytest.mark.anyio
async def test_real_speech_is_transcribed_through_the_session(model: object) -> None:
    clips = [LIBRIVOX, PROMPT]
    audio = np.concatenate([silence(0.7), clip_16k(LIBRIVOX), silence(1.5), clip_16k(PROMPT), silence(1.0)])
    trace = await run(perceiver(model), ArraySource(audio, 16000))
    assert not trace.of_type(BackendErrorEvent)
    reference = " ".join(BANK.transcript(c) or "" for c in clips)
    assert wer(reference, transcript(trace)) <= 0.15
    activity = trace.of_type(SpeechActivity)
    assert [a.speaking for a in activity] == [True, False, True, False]
    # virtual time, compute inline: each perception is emitted as soon as its chunk is heard
    updates = trace.of_type(TranscriptUpdate)
    assert all(u.emitted_at is not None and u.span_end <= u.emitted_at + 1e-6 for u in updates)
    words = [w for u in updates for w in u.words]
    assert all(0 <= w.start <= w.end <= 0.7 + 7.1 + 0.5 for w in words[:5])
    delays = sorted(u.emitted_at - w.end for u in updates for w in u.words if u.emitted_at is not None)
    assert delays[len(delays) // 2] <= 2.0  # median commit delay at the default 1 s cadence (about 1.6 s)


@pytest.mark.anyio
async def test_streaming_agrees_with_offline_decoding(model: object) -> None:
    for clip in (LIBRIVOX,):
        speech = clip_16k(clip)
        segments, _ = model.transcribe(speech, language="en", beam_size=1, temperature=0.0)  # type: ignore[attr-defined]
        offline = " ".join(s.text for s in segments)
        trace = await run(perceiver(model, decode_every=0.8), ArraySource(np.concatenate([silence(0.5), speech, silence(1)]), 16000))
        assert wer(offline, transcript(trace)) <= 0.15, (offline, transcript(trace))


@pytest.mark.anyio
async def test_real_non_speech_recording_gives_no_transcript(model: object) -> None:
    p = perceiver(model)
    for clip in ("sonic-pi:loop_safari", "sonic-pi:vinyl_hiss"):
        trace = await run(p, FileSource(BANK.path(clip)))  # 44.1 kHz stereo files, converted by the session
        assert not trace.of_type(TranscriptUpdate)
        assert not trace.of_type(SpeechActivity)
        assert not trace.of_type(BackendErrorEvent)
        await p.reset()
    assert p.statistics().decodes == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("rate", "stereo", "int16", "chunk_seconds", "session_rate"),
    [(8000, False, True, 0.1, 16000), (44100, True, False, 2.0, 16000), (48000, False, True, 0.4, 8000)],
)
async def test_input_formats_and_chunk_sizes(  # noqa: PLR0917 - one parameter per format axis
    model: object, rate: int, stereo: bool, int16: bool, chunk_seconds: float, session_rate: int
) -> None:
    native, native_rate = BANK.load(PROMPT)  # an 8 kHz studio prompt
    audio = np.concatenate([silence(0.5, native_rate), native, silence(1.0, native_rate)])
    data: np.ndarray = resample(audio, native_rate, rate)
    if int16:
        data = np.round(data * 32767).astype(np.int16)
    if stereo:
        data = np.stack([data, data * 0.5], axis=1)
    config = {"audio": AudioFormat(sample_rate=session_rate, chunk_seconds=chunk_seconds)}
    trace = await run(perceiver(model), ArraySource(data, rate), **config)
    assert not trace.of_type(BackendErrorEvent)
    assert wer(BANK.transcript(PROMPT) or "", transcript(trace)) <= 0.2


class Blocks(AudioSource):
    def __init__(self, blocks: Sequence[tuple[object, int]]) -> None:
        self._blocks = blocks

    async def blocks(self) -> AsyncIterator[tuple[object, int]]:
        for block in self._blocks:
            yield block


@pytest.mark.anyio
async def test_bad_input_never_crashes_the_session(model: object) -> None:
    speech = clip_16k(SHORT)
    nan = np.full(800, np.nan, np.float32)
    blocks = [(silence(0.5), 16000), (nan, 16000), (np.zeros(0, np.float32), 16000), (speech, 16000),
              (np.zeros((3, 2, 2), np.float32), 16000), (silence(1.0), 16000)]
    trace = await run(perceiver(model), Blocks(blocks), pacing=Pacing.FAST)
    errors = trace.of_type(BackendErrorEvent)
    assert {e.error_type for e in errors} == {"AudioFormatError"}
    assert all(e.component == "source" and e.handling == "skip" for e in errors)
    assert len(errors) == 1  # the 3-D block; an empty block is no error
    (warning,) = trace.of_type(InputWarning)  # the NaN block is repaired without moving time
    assert warning.code == "non_finite_samples"
    # the good audio still counts (tiny.en hears "ill disposed" as "old-sposed" offline too)
    assert wer(BANK.transcript(SHORT) or "", transcript(trace)) <= 0.3
    ended = trace.ended
    assert isinstance(ended, SessionEnded)
    assert ended.reason == "source_exhausted"


@pytest.mark.anyio
async def test_silence_only_and_wrong_rate_without_resampling_give_empty_results(model: object) -> None:
    trace = await run(perceiver(model), ArraySource(silence(5.0), 16000))
    assert not trace.of_type(TranscriptUpdate)
    assert not trace.of_type(BackendErrorEvent)
    trace = await run(perceiver(model), ArraySource(resample(clip_16k(SHORT), 16000, 44100), 44100),
                      allow_resample=False)
    errors = trace.of_type(BackendErrorEvent)
    assert errors
    assert all(e.error_type == "AudioFormatError" and "resampling is not allowed" in e.message for e in errors)
    assert not trace.of_type(TranscriptUpdate)
    assert trace.ended is not None


@pytest.mark.anyio
async def test_nan_chunk_is_rejected_by_the_perceiver(model: object) -> None:
    bad = silence(0.4)
    bad[10] = np.inf
    with pytest.raises(AudioFormatError, match="NaN or infinite"):
        await perceiver(model).perceive(AudioChunk(samples=bad, sample_rate=16000, start_sample=0, index=0))


@pytest.mark.anyio
async def test_faster_whisper_perceiver_conforms(model: object) -> None:
    audio = np.concatenate([silence(0.5), clip_16k(PROMPT), silence(0.8)])
    found = await check_perceiver(lambda: perceiver(model), audio=audio)
    text = " ".join(p.committed for p in found if isinstance(p, TranscriptUpdate))
    assert wer(BANK.transcript(PROMPT) or "", text) <= 0.2


def test_missing_and_broken_checkpoints_are_clear_errors(tmp_path: object) -> None:
    folder = Path(str(tmp_path))
    with pytest.raises(ModelNotFoundError, match=r"model\.bin"):
        load_faster_whisper(folder / "nowhere")
    (folder / "model.bin").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="faster-whisper"):
        load_faster_whisper(folder)
