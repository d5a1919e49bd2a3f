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


def energy_bounds(samples: FloatArray, floor_db: float = -35.0) -> tuple[float, float]:
    """First and last 10 ms frame within ``floor_db`` of the loudest one (clean studio prompts only)."""
    frames = samples[: samples.size - samples.size % 160].reshape(-1, 160)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() + floor_db)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


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
    assert start.span_end - start.span_start == pytest.approx(5 * 0.032)  # confirmed after min_speech (5 frames)
    assert end.span_start == start.span_start  # an end spans the whole stretch of speech
    assert start.span_end < end.span_end <= end_of_clip


@needs_data
@pytest.mark.parametrize("clip", ["asterisk:conf-getpin", "asterisk:agent-pass", "asterisk:vm-goodbye",
                                  "asterisk:auth-thankyou", "asterisk:conf-onlyperson"])
def test_start_and_end_are_stamped_at_the_audio_not_at_confirmation(vad: SileroVad, clip: str) -> None:
    audio = padded(at_16k(clip))
    onset, offset = energy_bounds(audio)  # these studio prompts are digital silence around the voice
    vad.reset()
    events = vad.push(audio, 0.0)
    start, end = events[0], events[-1]
    assert start.speaking
    assert not end.speaking
    assert -0.02 <= start.span_start - onset <= 0.07
    # silero's probability decays a little after the voice: 40-190 ms late on 35 Asterisk prompts (median 70)
    assert 0.0 <= end.span_end - offset <= 0.2


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
    assert activity[0].span_start < activity[1].span_end < first_end
    assert activity[2].span_start > first_end + 3.0  # the hiss between the utterances is not speech
    for a in activity:  # known at the end of the chunk holding the frame that confirmed it
        confirmed = a.span_end if a.speaking else a.span_end + 6 * 0.032
        assert a.emitted_at == pytest.approx(np.ceil(confirmed / chunk_seconds - 1e-6) * chunk_seconds, abs=1e-6)


def stamps(trace_activity: list[SpeechActivity]) -> list[tuple[bool, float, float]]:
    return [(a.speaking, round(a.span_start, 6), round(a.span_end, 6)) for a in trace_activity]


@needs_data
@pytest.mark.anyio
async def test_stamps_do_not_depend_on_the_decision_chunk() -> None:
    """Frames are the model's 32 ms whatever the session's chunk; only when they are known changes."""
    samples, rate = speech_stream()
    seen = []
    for chunk_seconds in (0.1, 0.4, 2.0):
        config = SessionConfig(audio=AudioFormat(sample_rate=16000, chunk_seconds=chunk_seconds))
        session = Session(SileroVadPerceiver(offload=False), ScriptedDecider(), ScriptedResponder(), config=config)
        trace = await session.run(ArraySource(resample(samples, rate, 16000), 16000))
        seen.append(stamps(trace.of_type(SpeechActivity)))
    assert seen[0] == seen[1] == seen[2]


@needs_data
@pytest.mark.anyio
async def test_a_longer_hangover_confirms_later_but_stamps_the_same_end() -> None:
    audio = padded(at_16k("asterisk:conf-getpin"))
    config = SessionConfig(audio=AudioFormat(sample_rate=16000, chunk_seconds=0.1))
    ends = []
    for hangover in (0.2, 0.6):
        perceiver = SileroVadPerceiver(min_silence=hangover, offload=False)
        trace = await Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config).run(
            ArraySource(audio, 16000))
        ends.append(next(a for a in trace.of_type(SpeechActivity) if not a.speaking))
    assert ends[0].span_end == ends[1].span_end
    assert ends[0].emitted_at is not None
    assert ends[1].emitted_at is not None
    assert ends[1].emitted_at - ends[0].emitted_at == pytest.approx(0.4, abs=0.1)  # 19 frames against 6
    assert ends[0].emitted_at - ends[0].span_end <= 0.192 + 0.1 + 1e-6  # the hangover plus one chunk


def test_onset_confirmation_is_configurable_in_frames() -> None:
    assert SileroVad(min_speech=0.1).speech_frames == 3
    assert SileroVad().speech_frames == 5  # 0.16 s, short enough for barge-in
    assert SileroVad().silence_frames == 6  # 0.192 s
    assert SileroVad(min_speech=0).speech_frames == 1


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
