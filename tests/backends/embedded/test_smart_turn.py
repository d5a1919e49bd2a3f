"""Smart Turn v3.2: the shipped model file, our log-mel front end, and end-of-turn estimates on real speech."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from audiointeract.audio import AudioFormat, FloatArray, resample
from audiointeract.backends.embedded.smart_turn import SmartTurnPerceiver
from audiointeract.backends.embedded.smart_turn_model import (
    DATA_DIR,
    MODEL_NAME,
    SmartTurnModel,
    extract_from_wheel,
    log_mel,
)
from audiointeract.backends.embedded.vad import SileroVadPerceiver, default_silero_model
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.config import SessionConfig
from audiointeract.errors import AudioFormatError, CheckpointError, ConfigurationError, ModelNotFoundError
from audiointeract.events import SpeechActivity, TurnEndEstimate, event_from_dict, event_to_dict
from audiointeract.session import Session
from audiointeract.simulators.clips import default_bank
from audiointeract.sources import ArraySource
from audiointeract.testing import check_perceiver

WHEELS = Path(os.environ.get("AUDIOINTERACT_WHEELS", Path.home() / ".cache" / "audiointeract" / "wheels"))
PIPECAT_WHEEL = WHEELS / "pipecat_ai-1.14.0-py3-none-any.whl"
BANK = default_bank()
needs_speech = pytest.mark.skipif(not BANK.available("asterisk"), reason="needs asterisk-core-sounds-en-wav")
RATE = 16000


@pytest.fixture(scope="module")
def model() -> SmartTurnModel:
    return SmartTurnModel()


def at_16k(clip: str) -> FloatArray:
    samples, rate = BANK.load(clip)
    return resample(samples, rate, RATE)


def silence(seconds: float) -> FloatArray:
    return np.zeros(round(seconds * RATE), np.float32)


@pytest.mark.slow
def test_extracting_from_the_wheel_reproduces_the_shipped_file_byte_for_byte(tmp_path: Path) -> None:
    if not PIPECAT_WHEEL.is_file():
        message = f"{PIPECAT_WHEEL} is missing: run scripts/setup.sh (pip download --no-deps pipecat-ai==1.14.0)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    extracted = extract_from_wheel(PIPECAT_WHEEL, tmp_path)
    assert extracted.read_bytes() == (DATA_DIR / MODEL_NAME).read_bytes()


def test_the_shipped_model_comes_with_its_notice_and_licence() -> None:
    digest = hashlib.sha256((DATA_DIR / MODEL_NAME).read_bytes()).hexdigest()
    notice = (DATA_DIR / "SMART_TURN_NOTICE.txt").read_text(encoding="utf-8")
    assert digest in notice
    assert "BSD 2-Clause" in notice
    assert "Copyright (c) 2024" in (DATA_DIR / "SMART_TURN_LICENSE.txt").read_text(encoding="utf-8")


def test_bad_wheels_and_models_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"pip download --no-deps pipecat-ai==1\.14\.0"):
        extract_from_wheel(tmp_path / "absent.whl", tmp_path)
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("something/else.txt", "x")
    with pytest.raises(CheckpointError, match=r"not the pipecat-ai==1\.14\.0 wheel"):
        extract_from_wheel(other, tmp_path)
    with pytest.raises(ModelNotFoundError, match="extract_smart_turn"):
        SmartTurnModel(tmp_path / "absent.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="Smart Turn ONNX"):
        SmartTurnModel(tmp_path / "bad.onnx")
    with pytest.raises(CheckpointError, match=r"input_features \[N, 80, 800\]"):
        SmartTurnModel(default_silero_model())  # a valid ONNX model, but not this one
    with pytest.raises(ConfigurationError, match="threads"):
        SmartTurnModel(threads=0)


def test_the_window_is_the_last_8_s_zero_padded_at_the_start(model: SmartTurnModel) -> None:
    short = np.ones(RATE, np.float32)
    window = model.window(short)
    assert window.size == 8 * RATE
    assert not window[: 7 * RATE].any()
    assert window[7 * RATE :].all()
    long = np.arange(10 * RATE, dtype=np.float32)
    assert np.array_equal(model.window(long), long[2 * RATE :])
    with pytest.raises(AudioFormatError, match="128000"):
        log_mel(short)
    with pytest.raises(AudioFormatError):
        model.probability(np.zeros(0, np.float32))


@pytest.mark.slow
@needs_speech
def test_log_mel_matches_transformers_whisper_features(model: SmartTurnModel) -> None:
    from transformers import WhisperFeatureExtractor  # noqa: PLC0415 - reference implementation, slow import

    window = model.window(np.concatenate([at_16k("asterisk:conf-getpin"), silence(0.25)]))
    reference = WhisperFeatureExtractor(feature_size=80, chunk_length=8)(
        window, sampling_rate=RATE, do_normalize=True, return_tensors="np").input_features[0]
    ours = log_mel(window)
    assert ours.shape == reference.shape == (80, 800)
    assert np.abs(ours - reference).max() < 1e-4


# prompts cut mid-sentence: after "Please enter the" / "... followed by" (faster-whisper word ends)
CUTS = {"asterisk:conf-getpin": 1.30, "asterisk:agent-pass": 2.44}
COMPLETE = ["asterisk:agent-pass", "asterisk:conf-onlyperson"]  # "... the pound key." / "... in this conference."


@pytest.mark.slow
@needs_speech
@pytest.mark.parametrize("clip", COMPLETE)
def test_complete_prompts_score_high(model: SmartTurnModel, clip: str) -> None:
    assert model.probability(np.concatenate([at_16k(clip), silence(0.2)])) > 0.8


@pytest.mark.slow
@needs_speech
@pytest.mark.parametrize("clip", sorted(CUTS))
def test_prompts_cut_mid_sentence_score_low(model: SmartTurnModel, clip: str) -> None:
    assert model.probability(np.concatenate([at_16k(clip)[: round(CUTS[clip] * RATE)], silence(0.2)])) < 0.2


def test_estimates_validate_their_span_and_round_trip() -> None:
    estimate = TurnEndEstimate(span_start=0.5, span_end=3.2, probability=0.93, speech_end=3.0, source="smart-turn")
    assert event_from_dict(event_to_dict(estimate)) == estimate
    with pytest.raises(ConfigurationError, match="speech_end"):
        TurnEndEstimate(span_start=0.5, span_end=3.2, probability=0.9, speech_end=3.5)
    with pytest.raises(ConfigurationError, match="probability"):
        TurnEndEstimate(span_start=0.5, span_end=3.2, probability=1.5, speech_end=3.0)


def two_turns() -> FloatArray:
    """A prompt cut mid-sentence ("Please enter the"), a 0.6 s pause, then a whole prompt."""
    fragment = at_16k("asterisk:conf-getpin")[: round(CUTS["asterisk:conf-getpin"] * RATE)]
    return np.concatenate([silence(0.5), fragment, silence(0.6), at_16k("asterisk:agent-pass"), silence(1.0)])


@pytest.mark.slow
@needs_speech
@pytest.mark.anyio
@pytest.mark.parametrize("chunk_seconds", [0.1, 0.4])
async def test_the_perceiver_estimates_at_each_end_of_speech(chunk_seconds: float) -> None:
    stream = two_turns()
    config = SessionConfig(audio=AudioFormat(sample_rate=RATE, chunk_seconds=chunk_seconds))
    runs = []
    for perceiver in (SmartTurnPerceiver(offload=False), SileroVadPerceiver(offload=False)):
        session = Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config)
        runs.append(await session.run(ArraySource(stream, RATE)))
    estimates = runs[0].of_type(TurnEndEstimate)
    ends = [a for a in runs[1].of_type(SpeechActivity) if not a.speaking]
    # the whole prompt has a 0.2 s breath after "password": the VAD ends speech there too
    assert len(estimates) == len(ends) == 3
    for estimate, end in zip(estimates, ends, strict=True):
        assert estimate.speech_end == pytest.approx(end.span_end)
        assert estimate.emitted_at == pytest.approx(end.emitted_at)  # known together with the end of speech
        assert estimate.span_end == pytest.approx(end.span_end)  # the turn up to the end of speech
    first, second, last = estimates
    assert first.probability < 0.5 < last.probability
    assert first.span_start == pytest.approx(ends[0].span_start - 0.5)  # half a second before the speech
    assert second.span_start == first.span_start  # judged incomplete: the next estimate hears the whole turn


@pytest.mark.slow
@needs_speech
@pytest.mark.anyio
async def test_a_turn_judged_complete_closes_and_the_next_one_starts_fresh() -> None:
    stream = np.concatenate([silence(0.5), at_16k(COMPLETE[0]), silence(0.8), at_16k(COMPLETE[1]), silence(1.0)])
    config = SessionConfig(audio=AudioFormat(sample_rate=RATE, chunk_seconds=0.2))
    session = Session(SmartTurnPerceiver(offload=False), ScriptedDecider(), ScriptedResponder(), config=config)
    first, second = (await session.run(ArraySource(stream, RATE))).of_type(TurnEndEstimate)
    assert first.probability > 0.5
    assert second.probability > 0.5
    assert second.span_start > first.speech_end  # the second turn's audio starts after the first turn's speech


@pytest.mark.slow
@needs_speech
@pytest.mark.anyio
async def test_smart_turn_perceiver_conforms() -> None:
    stream = two_turns()
    found = await check_perceiver(lambda: SmartTurnPerceiver(offload=False), audio=stream)
    assert [type(p) for p in found] == [TurnEndEstimate] * 3  # the fragment, a breath, the prompt's end


def test_bad_perceiver_options_are_clear_errors() -> None:
    with pytest.raises(ConfigurationError, match="pre_speech"):
        SmartTurnPerceiver(pre_speech=-1.0)
    with pytest.raises(ConfigurationError, match="complete_at"):
        SmartTurnPerceiver(complete_at=0.0)
