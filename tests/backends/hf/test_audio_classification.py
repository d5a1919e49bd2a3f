"""AudioClassificationPerceiver on a tiny random AST built from a config (no hub access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification, Qwen2Config, Qwen2ForCausalLM

from audiointeract.audio import AudioFormat, FloatArray, Rechunker
from audiointeract.backends.hf import AudioClassificationPerceiver
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import CheckpointError, ConfigurationError, ModelNotFoundError
from audiointeract.events import SoundEvent
from audiointeract.session import Session
from audiointeract.sources import ArraySource
from audiointeract.testing import check_perceiver

LABELS = {0: "Siren", 1: "Speech", 2: "Dog"}


def _save_ast(folder: Path, *, bias: tuple[float, float, float] | None, problem_type: Any = None) -> Path:
    torch.manual_seed(0)
    config = ASTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                       max_length=100, num_mel_bins=16, id2label=LABELS,
                       label2id={v: k for k, v in LABELS.items()}, problem_type=problem_type)
    model: Any = ASTForAudioClassification(config)
    model.eval()
    if bias is not None:
        with torch.no_grad():
            model.classifier.dense.weight.zero_()
            model.classifier.dense.bias.copy_(torch.tensor(bias))
    model.save_pretrained(folder)
    extractor: Any = ASTFeatureExtractor
    extractor(num_mel_bins=16, max_length=100).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def constant_ast(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Siren and Speech always score sigmoid(4) = 0.98, Dog sigmoid(-4) = 0.02."""
    return _save_ast(tmp_path_factory.mktemp("ast_constant"), bias=(4.0, 4.0, -4.0))


@pytest.fixture(scope="module")
def random_ast(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_ast(tmp_path_factory.mktemp("ast_random"), bias=None)


def noise(seconds: float, rate: int = 16000) -> FloatArray:
    return (0.1 * np.random.default_rng(1).standard_normal(round(seconds * rate))).astype(np.float32)


async def stream(perceiver: AudioClassificationPerceiver, audio: FloatArray, fmt: AudioFormat) -> list[SoundEvent]:
    rechunker = Rechunker(fmt)
    events: list[SoundEvent] = []
    for chunk in [*rechunker.push(audio), *rechunker.flush()]:
        events += [p for p in await perceiver.perceive(chunk) if isinstance(p, SoundEvent)]
    return events + [p for p in await perceiver.finish() if isinstance(p, SoundEvent)]


@pytest.mark.anyio
async def test_a_sounding_label_is_one_event_and_speech_is_denied(constant_ast: Path) -> None:
    perceiver = AudioClassificationPerceiver(constant_ast, offload=False)
    assert perceiver.activation == "sigmoid"
    events = await stream(perceiver, noise(4.0), AudioFormat())
    assert [(e.label, e.span_start, e.span_end) for e in events] == [("Siren", 0.0, 1.0)]
    assert events[0].score == pytest.approx(1 / (1 + np.exp(-4.0)), abs=1e-4)
    assert events[0].source == "transformers-audio-classification"


@pytest.mark.anyio
async def test_event_score_is_the_max_of_the_model_over_the_windows_of_the_chunk(random_ast: Path) -> None:
    perceiver = AudioClassificationPerceiver(random_ast, allow={"Dog"}, threshold=1e-6, offload=False)
    audio = noise(2.0)
    events = await stream(perceiver, audio, AudioFormat(chunk_seconds=2.0))
    windows = np.stack([audio[0:16000], audio[8000:24000], audio[16000:32000]])
    inputs = perceiver.extractor(list(windows), sampling_rate=16000, return_tensors="pt")
    with torch.inference_mode():
        direct = torch.sigmoid(perceiver.model(**inputs).logits)[:, 2].numpy()
    assert [(e.label, e.span_start, e.span_end) for e in events] == [("Dog", 0.0, 2.0)]
    assert events[0].score == pytest.approx(float(direct.max()), abs=1e-5)


@pytest.mark.anyio
async def test_softmax_for_single_label_checkpoints(tmp_path: Path) -> None:
    folder = _save_ast(tmp_path, bias=(4.0, 0.0, 0.0), problem_type="single_label_classification")
    perceiver = AudioClassificationPerceiver(folder, offload=False)
    assert perceiver.activation == "softmax"
    events = await stream(perceiver, noise(1.5), AudioFormat())
    expected = np.exp(4.0) / (np.exp(4.0) + 2)
    assert [e.label for e in events] == ["Siren"]
    assert events[0].score == pytest.approx(expected, abs=1e-4)


@pytest.mark.anyio
async def test_through_the_session_loop_at_48k_stereo_with_offload(constant_ast: Path) -> None:
    audio = noise(3.0, 48000)
    session = Session(AudioClassificationPerceiver(constant_ast), ScriptedDecider(), ScriptedResponder(),
                      config=SessionConfig(pacing=Pacing.FAST))
    trace = await session.run(ArraySource(np.stack([audio, audio], axis=1), 48000))
    assert [event.label for event in trace.of_type(SoundEvent)] == ["Siren"]


@pytest.mark.anyio
async def test_conformance(random_ast: Path) -> None:
    await check_perceiver(lambda: AudioClassificationPerceiver(random_ast, threshold=0.4, offload=False))


def test_missing_path_and_wrong_architecture_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        AudioClassificationPerceiver(tmp_path / "absent")
    Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, num_key_value_heads=1)).save_pretrained(tmp_path / "lm")
    with pytest.raises(CheckpointError, match=r"no audio-classification head"):
        AudioClassificationPerceiver(tmp_path / "lm")


def test_bad_options(constant_ast: Path) -> None:
    with pytest.raises(ConfigurationError, match="activation"):
        AudioClassificationPerceiver(constant_ast, activation="relu")
    with pytest.raises(ConfigurationError, match="Cat"):
        AudioClassificationPerceiver(constant_ast, allow={"Cat"})
    with pytest.raises(ConfigurationError, match="hop_seconds"):
        AudioClassificationPerceiver(constant_ast, hop_seconds=2.0)
