"""Audio-LLM perceiver and decider on a tiny random Qwen2-Audio built from configs (no hub access)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    ASTConfig,
    ASTForAudioClassification,
    PreTrainedTokenizerFast,
    Qwen2AudioConfig,
    Qwen2AudioEncoderConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    Qwen2Config,
    WhisperFeatureExtractor,
)

from audiointeract.audio import AudioChunk, AudioFormat, FloatArray, Rechunker
from audiointeract.backends.hf import AudioLMDecider, AudioLMPerceiver
from audiointeract.backends.hf.audio_lm import AudioLanguageModel
from audiointeract.backends.mock import EnergyPerceiver, ScriptedResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import CheckpointError, ConfigurationError, ModelNotFoundError
from audiointeract.events import Action, Decision, ReplyStarted, SoundEvent, TranscriptUpdate
from audiointeract.interfaces import DecisionContext
from audiointeract.session import Session
from audiointeract.sources import ArraySource
from audiointeract.testing import check_decider, check_perceiver

SPECIAL = ["<unk>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"]
WORDS = ["system", "user", "assistant", "respond", "silent", "dog", "alarm", "yes", "no"]
VOCAB = {token: index for index, token in enumerate(SPECIAL + WORDS)}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Qwen2-Audio with a word-level tokenizer and the Qwen2-Audio chat template."""
    folder = tmp_path_factory.mktemp("qwen2_audio")
    tokenizer = Tokenizer(models.WordLevel(vocab=VOCAB, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    fast_class: Any = PreTrainedTokenizerFast
    fast = fast_class(tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<unk>",
                      eos_token="<|im_end|>", additional_special_tokens=SPECIAL[1:])
    extractor: Any = WhisperFeatureExtractor
    processor_class: Any = Qwen2AudioProcessor
    processor = processor_class(feature_extractor=extractor(feature_size=128), tokenizer=fast)
    audio = Qwen2AudioEncoderConfig(num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32,
                                    d_model=16, max_source_positions=1500)
    text = Qwen2Config(vocab_size=len(VOCAB), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096)
    torch.manual_seed(0)
    model: Any = Qwen2AudioForConditionalGeneration(
        Qwen2AudioConfig(audio_config=audio.to_dict(), text_config=text.to_dict(), audio_token_index=VOCAB["<|AUDIO|>"])
    )
    model.generation_config.eos_token_id = VOCAB["<|im_end|>"]
    model.generation_config.pad_token_id = VOCAB["<unk>"]
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def forced(checkpoint: Path, word: str) -> AudioLanguageModel:
    """The checkpoint with its output layer replaced so that ``word`` is always the next token."""
    lm = AudioLanguageModel(checkpoint)
    head = torch.nn.Linear(16, len(VOCAB), bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(-5.0)
        head.bias[VOCAB[word]] = 10.0
    lm.model.set_output_embeddings(head)
    return lm


def tone(seconds: float, rate: int = 16000, amplitude: float = 0.2) -> FloatArray:
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def chunks(audio: FloatArray, fmt: AudioFormat | None = None) -> list[AudioChunk]:
    rechunker = Rechunker(fmt or AudioFormat())
    return [*rechunker.push(audio), *rechunker.flush()]


def context(heard_until: float, *, agent_speaking: bool = False, audio: FloatArray | None = None) -> DecisionContext:
    return DecisionContext(now=heard_until, heard_until=heard_until, agent_speaking=agent_speaking,
                           active_reply=None, tasks=SessionConfig().tasks, transcript="", history=(),
                           user_speaking=False, last_speech_end=None, last_reply_end=None, pending_chunks=0,
                           audio=audio)


def test_the_prompt_carries_the_audio_and_the_text(checkpoint: Path) -> None:
    lm = AudioLanguageModel(checkpoint)
    inputs = lm.inputs(tone(2.0, 8000), 8000, "dog alarm")
    assert int(inputs["feature_attention_mask"].sum()) == 200  # 2 s at 100 frames/s, resampled to 16 kHz
    ids = inputs["input_ids"][0].tolist()
    assert ids.count(VOCAB["<|AUDIO|>"]) == 50  # conv stride 2, then pooling 2
    assert VOCAB["dog"] in ids
    assert VOCAB["alarm"] in ids


@pytest.mark.anyio
async def test_perceiver_answers_per_segment_and_skips_silence(checkpoint: Path) -> None:
    perceiver = AudioLMPerceiver(forced(checkpoint, "dog"), segment_seconds=2.0, max_new_tokens=3, offload=False)
    audio = np.concatenate([tone(4.0), np.zeros(32000, np.float32), tone(1.0)])
    out = [p for c in chunks(audio) for p in await perceiver.perceive(c)] + list(await perceiver.finish())
    assert all(isinstance(p, TranscriptUpdate) for p in out)
    assert [(p.span_start, p.span_end, p.committed) for p in out if isinstance(p, TranscriptUpdate)] == [
        (0.0, 2.0, "dog dog dog"), (2.0, 4.0, "dog dog dog"), (6.0, 7.2, "dog dog dog")]


@pytest.mark.anyio
async def test_perceiver_conformance(checkpoint: Path) -> None:
    lm = AudioLanguageModel(checkpoint)
    await check_perceiver(lambda: AudioLMPerceiver(lm, segment_seconds=1.0, max_new_tokens=2, offload=False))


@pytest.mark.anyio
@pytest.mark.parametrize(("word", "action"), [("respond", Action.RESPOND), ("silent", Action.SILENT)])
async def test_decider_reads_the_answer_probability(checkpoint: Path, word: str, action: Action) -> None:
    decider = AudioLMDecider(forced(checkpoint, word), offload=False)
    sound = SoundEvent(span_start=0.5, span_end=1.5, label="Dog", score=0.9)
    decision = await decider.decide(context(2.0, audio=tone(2.0)), [sound])
    assert decision.action is action
    assert decision.score > 0.99
    if action is Action.RESPOND:
        assert decision.evidence == (sound,)
        assert decision.task == SessionConfig().tasks[0].name


@pytest.mark.anyio
async def test_decider_without_audio_and_while_replying(checkpoint: Path) -> None:
    decider = AudioLMDecider(forced(checkpoint, "respond"), offload=False)
    assert (await decider.decide(context(1.0), [])).reason == "nothing new heard"
    # without context.audio (request_audio_seconds=0) the question is asked in text alone
    sound = SoundEvent(span_start=0.5, span_end=1.0, label="Dog", score=0.9)
    assert (await decider.decide(context(1.0), [sound])).action is Action.RESPOND
    assert (await decider.decide(context(1.0, agent_speaking=True, audio=tone(1.0)), [])).action is Action.SILENT
    assert (await decider.decide(context(1.0, audio=tone(1.0)), [])).action is Action.RESPOND


@pytest.mark.anyio
async def test_decider_passes_the_session_rate_and_keeps_the_last_30_s(checkpoint: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    lm = forced(checkpoint, "respond")
    heard: list[tuple[FloatArray | None, int]] = []
    answer = lm.answer_distribution

    def spy(audio: FloatArray | None, rate: int, *rest: Any) -> tuple[list[float], str]:
        heard.append((audio, rate))
        return answer(audio, rate, *rest)  # resamples to the model's 16 kHz

    monkeypatch.setattr(lm, "answer_distribution", spy)
    decider = AudioLMDecider(lm, sample_rate=8000, offload=False)
    long = tone(40.0, 8000) * np.linspace(0.1, 1.0, 320000, dtype=np.float32)
    assert (await decider.decide(context(40.0, audio=long), [])).action is Action.RESPOND
    ((audio, rate),) = heard
    assert rate == 8000
    np.testing.assert_array_equal(audio, long[-240000:])


def test_decider_prompt_names_tasks_transcript_and_perceptions(checkpoint: Path) -> None:
    decider = AudioLMDecider(checkpoint, offload=False)
    system, text = decider.prompt(context(2.0), [SoundEvent(span_start=0.5, span_end=1.5, label="Dog", score=0.9)])
    assert SessionConfig().tasks[0].instruction in system
    assert system.startswith(decider.system_prompt)
    assert "sound 'Dog' (score 0.90)" in text
    assert text.endswith(decider.question)


@pytest.mark.anyio
async def test_decider_hears_the_session_audio(checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a real Session, ``request_audio_seconds`` gives the decider the last second heard at each decision point."""
    lm = forced(checkpoint, "respond")
    heard: list[FloatArray | None] = []
    answer = lm.answer_distribution

    def spy(audio: FloatArray | None, *rest: Any) -> tuple[list[float], str]:
        heard.append(audio)
        return answer(audio, *rest)

    monkeypatch.setattr(lm, "answer_distribution", spy)
    source = tone(2.0) * np.linspace(0.1, 1.0, 32000, dtype=np.float32)  # every tail differs
    session = Session(EnergyPerceiver(), AudioLMDecider(lm, offload=False), ScriptedResponder("Yes?"),
                      config=SessionConfig(pacing=Pacing.FAST, request_audio_seconds=1.0, half_duplex=True))
    trace = await session.run(ArraySource(source, 16000))
    assert trace.of_type(ReplyStarted)
    asked = [d for d in trace.of_type(Decision) if d.reason.startswith("P(respond)")]
    assert asked
    assert len(heard) == len(asked)
    for decision, audio in zip(asked, heard, strict=True):
        assert audio is not None
        end = round((decision.heard_until or 0.0) * 16000)
        np.testing.assert_array_equal(audio, source[end - audio.size : end])  # the tail heard so far
        assert min(end, 16000) <= audio.size <= min(end, 16000 + 6400)  # whole 0.4 s chunks


@pytest.mark.anyio
async def test_decider_conformance(checkpoint: Path) -> None:
    lm = AudioLanguageModel(checkpoint)
    await check_decider(lambda: AudioLMDecider(lm, offload=False))


def test_missing_path_wrong_architecture_and_bad_options(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        AudioLMPerceiver(tmp_path / "absent")
    ASTForAudioClassification(ASTConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                        intermediate_size=32, max_length=100, num_mel_bins=16)).save_pretrained(
        tmp_path / "ast")
    with pytest.raises(CheckpointError, match="not an audio-language model"):
        AudioLMDecider(tmp_path / "ast")
    lm = AudioLanguageModel(checkpoint)
    with pytest.raises(ConfigurationError, match="maybe"):
        AudioLMDecider(lm, respond_word="maybe")
    with pytest.raises(ConfigurationError, match="segment_seconds"):
        AudioLMPerceiver(lm, segment_seconds=60.0)
    with pytest.raises(ConfigurationError, match="threshold"):
        AudioLMDecider(lm, threshold=2.0)
    with pytest.raises(ConfigurationError, match="sample_rate"):
        AudioLMDecider(lm, sample_rate=-1)
