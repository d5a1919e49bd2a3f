"""Silero VAD (ONNX from the silero-vad wheel) on real recordings, through the session, in every input format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audiointeract.audio import AudioFormat, FloatArray, resample
from audiointeract.backends.embedded.vad import SileroVad, SileroVadPerceiver
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.config import SessionConfig
from audiointeract.errors import CheckpointError, ConfigurationError, ModelNotFoundError
from audiointeract.events import BackendErrorEvent, SpeechActivity
from audiointeract.session import Session
from audiointeract.simulators.clips import default_bank
from audiointeract.sources import ArraySource
from audiointeract.testing import check_perceiver

pytestmark = pytest.mark.slow

BANK = default_bank()
needs_data = pytest.mark.skipif(
    not (BANK.available("pocketsphinx") and BANK.available("asterisk") and BANK.available("sonic-pi")),
    reason="needs pocketsphinx-testdata, asterisk-core-sounds-en-wav and sonic-pi-samples",
)
SPEECH = ["pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0880", "asterisk:conf-getpin",
          "pocketsphinx:goforward.raw"]
# ambi_drone and ambi_choir (sung vowels) do trigger silero at their onsets; see docs/perception.md
NON_SPEECH = ["sonic-pi:vinyl_hiss", "sonic-pi:loop_3d_printer", "sonic-pi:ambi_sauna", "sonic-pi:misc_crow",
              "sonic-pi:perc_door", "sonic-pi:misc_burp", "sonic-pi:loop_safari", "sonic-pi:guit_em9"]


def at_16k(clip: str) -> FloatArray:
    samples, rate = BANK.load(clip)
    return resample(samples, rate, 16000)


def padded(samples: FloatArray, lead: float = 1.0, tail: float = 1.0) -> FloatArray:
    return np.concatenate([np.zeros(round(lead * 16000), np.float32), samples,
                           np.zeros(round(tail * 16000), np.float32)])


@pytest.fixture(scope="module")
def vad() -> SileroVad:
    return SileroVad()


@needs_data
@pytest.mark.parametrize("clip", SPEECH)
def test_speech_is_marked_from_onset_to_end(vad: SileroVad, clip: str) -> None:
    speech = at_16k(clip)
    vad.reset()
    events = vad.push(padded(speech), 0.0)
    assert [e.speaking for e in events] == [True, False]
    start, end = events
    end_of_clip = 1.0 + speech.size / 16000
    assert 0.95 <= start.span_start <= 1.6  # speech begins inside the clip, near its start
    assert start.span_end - start.span_start == pytest.approx(0.256, abs=0.04)  # min_speech, in 32 ms windows
    assert end.span_start <= end_of_clip  # the silence that ended speech begins within the clip's tail
    assert end.span_end - end.span_start == pytest.approx(0.416, abs=0.04)  # min_silence
    assert end.span_end <= end_of_clip + 0.5


@needs_data
@pytest.mark.parametrize("clip", NON_SPEECH)
def test_real_non_speech_is_not_speech(vad: SileroVad, clip: str) -> None:
    vad.reset()
    assert vad.push(padded(at_16k(clip)), 0.0) == []


def test_digital_silence_and_low_noise_are_not_speech(vad: SileroVad) -> None:
    vad.reset()
    rng = np.random.default_rng(0)
    assert vad.push(np.zeros(16000 * 3, np.float32), 0.0) == []
    assert vad.push((0.01 * rng.standard_normal(16000 * 3)).astype(np.float32), 3.0) == []


@needs_data
def test_windows_split_across_pushes_give_the_same_events(vad: SileroVad) -> None:
    audio = padded(at_16k(SPEECH[0]))
    vad.reset()
    whole = vad.push(audio, 0.0)
    vad.reset()
    pieces = []
    for start in range(0, audio.size, 1234):  # not a multiple of the 512-sample window
        pieces.extend(vad.push(audio[start : start + 1234], start / 16000))
    assert [(e.speaking, e.span_start, e.span_end) for e in pieces] == [
        (e.speaking, pytest.approx(e.span_start), pytest.approx(e.span_end)) for e in whole
    ]


def speech_stream() -> tuple[FloatArray, int]:
    """Two real utterances at their native rates, resampled to 48 kHz, with a non-speech clip between."""
    parts = [np.zeros(16000, np.float32), at_16k(SPEECH[0]), np.zeros(8000, np.float32),
             at_16k("sonic-pi:vinyl_hiss")[: 16000 * 3] * 0.5, np.zeros(8000, np.float32), at_16k(SPEECH[1]),
             np.zeros(16000, np.float32)]
    return resample(np.concatenate(parts), 16000, 48000), 48000


def as_format(samples: FloatArray, rate: int, target: int, *, stereo: bool, int16: bool) -> np.ndarray:
    data: np.ndarray = resample(samples, rate, target)
    if int16:
        data = np.round(data * 32767).astype(np.int16)
    if stereo:
        data = np.stack([data, data], axis=1)
    return data


@needs_data
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("input_rate", "stereo", "int16", "session_rate", "chunk_seconds"),
    [
        (8000, False, True, 16000, 0.1),
        (16000, False, False, 16000, 0.4),
        (22050, True, True, 16000, 2.0),
        (44100, True, False, 16000, 0.25),
        (48000, False, True, 8000, 0.4),
        (44100, False, True, 48000, 1.0),
    ],
)
async def test_session_marks_two_utterances_in_every_format(
    input_rate: int, stereo: bool, int16: bool, session_rate: int, chunk_seconds: float
) -> None:
    samples, rate = speech_stream()
    data = as_format(samples, rate, input_rate, stereo=stereo, int16=int16)
    config = SessionConfig(audio=AudioFormat(sample_rate=session_rate, chunk_seconds=chunk_seconds))
    session = Session(SileroVadPerceiver(offload=False), ScriptedDecider(), ScriptedResponder(), config=config)
    trace = await session.run(ArraySource(data, input_rate, block_seconds=0.37))
    assert not trace.of_type(BackendErrorEvent)
    activity = trace.of_type(SpeechActivity)
    assert [a.speaking for a in activity] == [True, False, True, False]
    first_end = 1.0 + at_16k(SPEECH[0]).size / 16000
    assert activity[0].span_start < first_end < activity[1].span_end < first_end + 0.9
    assert activity[2].span_start > first_end + 3.0  # the hiss between the utterances is not speech
    for a in activity:
        assert a.emitted_at == pytest.approx(np.ceil(a.span_end / chunk_seconds - 1e-9) * chunk_seconds, abs=1e-6)


@needs_data
@pytest.mark.anyio
async def test_silero_perceiver_conforms() -> None:
    audio = padded(at_16k(SPEECH[1]), lead=0.5, tail=0.8)
    found = await check_perceiver(lambda: SileroVadPerceiver(offload=False), audio=audio)
    assert [p.speaking for p in found if isinstance(p, SpeechActivity)] == [True, False]


def test_bad_options_and_missing_model_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        SileroVad(model_path=tmp_path / "silero.onnx")
    (tmp_path / "silero.onnx").write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="silero VAD ONNX"):
        SileroVad(model_path=tmp_path / "silero.onnx")
    with pytest.raises(ConfigurationError, match="threshold"):
        SileroVad(threshold=1.5)
    with pytest.raises(ConfigurationError, match="min_silence"):
        SileroVad(min_silence=0)
