"""WhisperPerceiver over HF checkpoints: tiny random Whisper built from a config, and real tiny.en from CT2."""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertModel,
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)
from whisper_normalizer.english import EnglishTextNormalizer

from audiointeract.audio import AudioFormat, resample
from audiointeract.backends.embedded.asr import default_whisper_model, load_faster_whisper
from audiointeract.backends.hf.convert_ct2 import convert_ct2_whisper, read_ct2
from audiointeract.backends.hf.whisper import WhisperPerceiver
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.config import SessionConfig
from audiointeract.errors import CheckpointError, ModelNotFoundError
from audiointeract.events import BackendErrorEvent, SpeechActivity, TranscriptUpdate
from audiointeract.session import Session
from audiointeract.simulators.clips import default_bank
from audiointeract.sources import ArraySource
from audiointeract.testing import check_perceiver, probe_audio

EOT, SOT = 50256, 50257
NORMALISE = EnglishTextNormalizer()
BANK = default_bank()


def tokenizer() -> WhisperTokenizer:
    special = "<|endoftext|>"
    return WhisperTokenizer(tokenizer_file=str(default_whisper_model() / "tokenizer.json"), eos_token=special,
                            bos_token=special, unk_token=special, pad_token=special)


def tiny_random_whisper(folder: Path, *, alignment_heads: bool) -> Path:
    """A 3.5 M-parameter random Whisper with the real English vocabulary, saved as a checkpoint."""
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=51864, num_mel_bins=80, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
        max_source_positions=1500, max_target_positions=64, pad_token_id=EOT, bos_token_id=EOT,
        eos_token_id=EOT, decoder_start_token_id=SOT,
    )
    model = WhisperForConditionalGeneration(config)
    heads = {"alignment_heads": [[1, 0], [1, 1]]} if alignment_heads else {}
    model.generation_config = GenerationConfig(
        decoder_start_token_id=SOT, eos_token_id=EOT, pad_token_id=EOT, bos_token_id=EOT,
        no_timestamps_token_id=50362, is_multilingual=False, max_length=64, **heads,
    )
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer()).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", params=[True, False], ids=["aligned", "unaligned"])
def random_checkpoint(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_random_whisper(tmp_path_factory.mktemp("tiny-whisper"), alignment_heads=request.param)


@pytest.mark.anyio
async def test_random_checkpoint_streams_through_the_session(random_checkpoint: Path) -> None:
    perceiver = WhisperPerceiver(random_checkpoint, vad=False, max_new_tokens=6, decode_every=1.0, offload=False)
    audio = probe_audio(seconds=3.0)
    trace = await Session(perceiver, ScriptedDecider(), ScriptedResponder()).run(ArraySource(audio, 16000))
    assert not trace.of_type(BackendErrorEvent)
    updates = trace.of_type(TranscriptUpdate)
    assert updates  # random weights say random words, but they come as valid, timed updates
    for update in updates:
        assert update.span_end <= 3.2 + 1e-6
        assert all(0 <= w.start <= w.end <= update.span_end + 1e-6 for w in update.words)
    assert perceiver.statistics().decodes >= 3


@pytest.mark.anyio
async def test_random_checkpoint_conforms(random_checkpoint: Path) -> None:
    await check_perceiver(lambda: WhisperPerceiver(random_checkpoint, max_new_tokens=6, offload=False))


def test_tokens_are_grouped_into_timed_words(random_checkpoint: Path) -> None:
    perceiver = WhisperPerceiver(random_checkpoint, vad=False, offload=False)
    ids = [843, 1770, 13, 1757, 16189, 3822, EOT]  # " And", " Mr", ".", " John", " Dash", "wood", <eot>
    words = perceiver._words(ids, [0.0, 0.5, 0.8, 1.0, 1.4, 1.6, 1.9], duration=2.0)
    assert [(w.text.strip(), w.start, w.end) for w in words] == [
        ("And", 0.0, 0.5), ("Mr.", 0.5, 1.0), ("John", 1.0, 1.4), ("Dashwood", 1.4, 1.9)
    ]
    # the last word ends at the hypothesis' speaking rate (1 s for 6 characters), not at the audio's end
    words = perceiver._words(ids[:4], [0.0, 0.5, 0.8, 1.0], duration=8.0)
    assert words[-1].text.strip() == "John"
    assert words[-1].end == pytest.approx(1.0 + 4 * 1.0 / 6)


def test_missing_path_and_wrong_architecture_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        WhisperPerceiver(tmp_path / "absent")
    bert = tmp_path / "bert"
    BertModel(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(bert)
    with pytest.raises(CheckpointError, match="'bert' checkpoint"):
        WhisperPerceiver(bert)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    with pytest.raises(CheckpointError, match="cannot load"):
        WhisperPerceiver(broken)


def test_ct2_reader_reads_the_real_file_and_rejects_others(tmp_path: Path) -> None:
    model = read_ct2(default_whisper_model() / "model.bin")
    assert model.spec.startswith("WhisperSpec")
    assert model.variables["encoder/conv1/weight"].shape == (384, 80, 3)
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    with pytest.raises(ModelNotFoundError):
        read_ct2(tmp_path / "model.bin")
    (tmp_path / "model.bin").write_bytes(b"\x06\x00")
    with pytest.raises(CheckpointError, match="ends early"):
        read_ct2(tmp_path / "model.bin")


# ---------------------------------------------------------------------------- real tiny.en weights


@pytest.fixture(scope="session")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return convert_ct2_whisper(tmp_path_factory.mktemp("tiny-en-hf"))


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(NORMALISE(reference), NORMALISE(hypothesis) or "<empty>"))


@pytest.mark.slow
@pytest.mark.anyio
@pytest.mark.skipif(not BANK.available("asterisk") or not BANK.available("pocketsphinx"),
                    reason="needs asterisk-core-sounds-en-wav and pocketsphinx-testdata")
async def test_converted_tiny_en_transcribes_real_speech_like_faster_whisper(converted: Path) -> None:
    clips = ["pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0870", "asterisk:conf-getpin"]
    parts = [np.zeros(8000, np.float32)]
    for clip in clips:
        samples, rate = BANK.load(clip)
        parts += [resample(samples, rate, 16000), np.zeros(16000, np.float32)]
    audio = np.concatenate(parts)
    perceiver = WhisperPerceiver(converted, offload=False, decode_every=2.0, threads=1)
    config = SessionConfig(audio=AudioFormat(chunk_seconds=0.4))
    trace = await Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config).run(ArraySource(audio, 16000))
    assert not trace.of_type(BackendErrorEvent)
    text = " ".join(u.committed for u in trace.of_type(TranscriptUpdate) if u.committed)
    reference = " ".join(BANK.transcript(c) or "" for c in clips)
    assert wer(reference, text) <= 0.15
    assert [a.speaking for a in trace.of_type(SpeechActivity)] == [True, False, True, False]
    # the same weights in CTranslate2 (int8) hear the same words offline
    segments, _ = load_faster_whisper().transcribe(audio, language="en", beam_size=1, temperature=0.0)
    assert wer(" ".join(s.text for s in segments), text) <= 0.15
