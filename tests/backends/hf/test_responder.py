"""TransformersResponder on tiny random causal LMs built from configs (no download, no real weights).

These test the plumbing: loading and validation, prompt building, token streaming from a
worker thread, cancellation at every stage and the per-reply statistics.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import anyio
import attrs
import numpy as np
import numpy.typing as npt
import pytest
import torch
from leaks import child_processes, worker_threads
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    BertConfig,
    BertModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    WhisperConfig,
)

from audiointeract.backends.hf.prefix_cache import PrefixCache
from audiointeract.backends.hf.responder import TransformersResponder
from audiointeract.backends.mock import ScriptedPerceiver
from audiointeract.backends.prompting import ChatPrompt, SoundWarning, SpokenStyle
from audiointeract.backends.speech import EspeakSynthesizer, PiperSynthesizer, SpeechResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import CheckpointError, ConfigurationError, ModelNotFoundError
from audiointeract.events import (
    Action,
    Decision,
    Event,
    Perception,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyText,
    ResponseRequest,
    SoundEvent,
    StandingTask,
    TextDelta,
    Turn,
)
from audiointeract.interfaces import AudioSource, Decider, DecisionContext, Observer, Responder
from audiointeract.registry import load_backend
from audiointeract.session import Session
from audiointeract.trace import Trace

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)
SPECIAL = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
ROLES = ["system", "user", "assistant"]
CYCLE = ["hello", "there", ",", "cat", ".", "what", "is", "it", "?", "yes", "dog", "sat", "on", "the", "mat", "!"]
SPOKEN = "hello there, cat. what is it? yes dog sat on the mat!"


def _tokenizer() -> PreTrainedTokenizerFast:
    vocab = {token: i for i, token in enumerate(SPECIAL + ROLES + CYCLE)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##")
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", eos_token="<|im_end|>", bos_token="<|im_start|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def save_tiny_lm(folder: Path, *, chat_template: bool = True) -> Path:
    """A 1-layer Llama whose weights make greedy decoding cycle through ``CYCLE`` after "assistant".

    The attention and MLP outputs are zeroed, the embeddings are one-hot and the LM head maps
    each token to its successor, so the real generate() machinery yields a known text.
    """
    tokenizer = _tokenizer()
    if not chat_template:
        tokenizer.chat_template = None
    vocab = tokenizer.get_vocab()
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=16, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=16384, tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    ids = [vocab[word] for word in CYCLE]
    successor = {vocab["assistant"]: ids[0], **dict(zip(ids, ids[1:] + ids[:1], strict=True))}
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.copy_(torch.eye(len(vocab), config.hidden_size))
        model.lm_head.weight.zero_()
        for token, following in successor.items():
            model.lm_head.weight[following, token] = 1.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


def request(text: str = "what time is it ?", reply_id: int = 0) -> ResponseRequest:
    return ResponseRequest(
        reply_id=reply_id,
        decision=Decision(action=Action.RESPOND, task="answer"),
        task=StandingTask(name="answer", instruction="Answer questions."),
        transcript=text,
        history=(Turn(role="user", text=text),),
    )


def fixed_length(tiny_lm: Path, tokens: int, **options: object) -> TransformersResponder:
    """A responder that streams exactly ``tokens`` tokens, raw (the cycling model never emits EOS)."""
    return TransformersResponder(tiny_lm, max_new_tokens=tokens, **{"spoken": None, **options})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- streaming


@pytest.mark.anyio
async def test_streams_text_deltas_from_a_worker_thread_and_records_statistics(tiny_lm: Path) -> None:
    responder = fixed_length(tiny_lm, 2 * len(CYCLE))
    deltas = [delta async for delta in responder.respond(request(reply_id=7))]
    assert len(deltas) > 10
    assert all(isinstance(delta, TextDelta) and delta.text for delta in deltas)
    assert "".join(delta.text for delta in deltas) == f"{SPOKEN} {SPOKEN}"
    stats = responder.last_statistics
    assert stats is not None
    assert stats.reply_id == 7
    assert stats.tokens == 2 * len(CYCLE)
    assert stats.prompt_tokens > 5
    assert stats.time_to_first_token is not None
    assert stats.time_to_first_token >= 0
    assert not stats.stopped_early
    assert worker_threads() == []


@pytest.mark.anyio
async def test_inline_mode_gives_the_same_text_as_the_worker_thread(tiny_lm: Path) -> None:
    threaded = fixed_length(tiny_lm, 10)
    inline = fixed_length(tiny_lm, 10, offload=False)
    first = "".join([d.text async for d in threaded.respond(request()) if isinstance(d, TextDelta)])
    second = "".join([d.text async for d in inline.respond(request()) if isinstance(d, TextDelta)])
    assert first == second == "hello there, cat. what is it? yes"


@pytest.mark.anyio
async def test_prompt_template_is_replaceable(tiny_lm: Path) -> None:
    seen: list[ResponseRequest] = []

    def template(req: ResponseRequest) -> list[dict[str, str]]:
        seen.append(req)
        return [{"role": "user", "content": "hello"}]

    responder = fixed_length(tiny_lm, 3, prompt=template)
    assert responder.messages(request("cat")) == [{"role": "user", "content": "hello"}]
    _ = [d async for d in responder.respond(request("dog"))]
    assert [r.transcript for r in seen] == ["cat", "dog"]
    assert responder.last_statistics is not None
    # <|im_start|> user hello <|im_end|> <|im_start|> assistant
    assert responder.last_statistics.prompt_tokens == 6


@pytest.mark.anyio
async def test_spoken_style_releases_whole_sentences_and_stops_generation_at_the_cap(tiny_lm: Path) -> None:
    responder = TransformersResponder(tiny_lm, max_new_tokens=5000, spoken=SpokenStyle(max_sentences=2))
    deltas = [d async for d in responder.respond(request())]
    assert [d.text for d in deltas if isinstance(d, TextDelta)] == ["hello there, cat.", " what is it?"]
    stats = responder.last_statistics
    assert stats is not None
    assert not stats.stopped_early
    assert stats.tokens <= len(CYCLE)  # generation ended at the cap, not at max_new_tokens
    assert worker_threads() == []


@pytest.mark.anyio
async def test_an_unfinished_sentence_at_the_token_limit_is_not_spoken(tiny_lm: Path) -> None:
    responder = TransformersResponder(tiny_lm, max_new_tokens=7, spoken=SpokenStyle(max_sentences=3))
    text = "".join([d.text async for d in responder.respond(request()) if isinstance(d, TextDelta)])
    assert text == "hello there, cat."  # "what is" was cut by the token limit


@pytest.mark.anyio
async def test_a_sound_is_announced_from_the_template_and_not_below_the_threshold(tiny_lm: Path) -> None:
    responder = TransformersResponder(tiny_lm, max_new_tokens=50, warning=SoundWarning(threshold=0.5))
    phone = SoundEvent(span_start=1.0, span_end=2.0, label="Telephone", score=0.91)
    heard = attrs.evolve(request(), trigger=phone)
    assert [d.text async for d in responder.respond(heard) if isinstance(d, TextDelta)] == [
        "I think I heard a phone ringing. I'm about 90 percent sure."
    ]
    faint = attrs.evolve(request(), trigger=attrs.evolve(phone, score=0.45))
    assert [d async for d in responder.respond(faint)] == []


def prefills(model: torch.nn.Module) -> list[int]:
    """Record the length of every forward pass over more than one token (a prompt, not a decode step)."""
    lengths: list[int] = []

    def hook(module: torch.nn.Module, args: tuple[object, ...], kwargs: dict[str, object], output: object) -> None:
        ids = kwargs.get("input_ids")
        if isinstance(ids, torch.Tensor) and ids.shape[-1] > 1:
            lengths.append(int(ids.shape[-1]))

    model.register_forward_hook(hook, with_kwargs=True)
    return lengths


@pytest.mark.anyio
async def test_the_standing_prompt_is_run_once_and_replies_are_unchanged(tiny_lm: Path) -> None:
    cached = fixed_length(tiny_lm, 6, warmup=False)
    plain = fixed_length(tiny_lm, 6, warmup=False, prefix_cache=False)
    runs = prefills(cached.model)
    texts = []
    for words in ("what is it ?", "the dog sat on the mat"):
        texts.append("".join([d.text async for d in cached.respond(request(words)) if isinstance(d, TextDelta)]))
        assert texts[-1] == "".join([d.text async for d in plain.respond(request(words)) if isinstance(d, TextDelta)])
        stats = cached.last_statistics
        assert stats is not None
        assert 0 < stats.cached_tokens < stats.prompt_tokens
    assert texts == ["hello there, cat. what", "hello there, cat. what"]
    # the system message ran once; each reply ran only its own words and the generation prompt
    assert runs[0] == stats.cached_tokens
    assert len(runs) == 3
    assert runs[2] == stats.prompt_tokens - stats.cached_tokens
    assert plain.last_statistics is not None
    assert plain.last_statistics.cached_tokens == 0


def test_a_prefix_that_does_not_start_the_prompt_is_not_used(tiny_lm: Path) -> None:
    responder = fixed_length(tiny_lm, 1, warmup=False)
    cache = PrefixCache(responder.model)
    prompt = torch.tensor([[4, 5, 6, 7]])
    assert cache.prompt(prompt, torch.tensor([[4, 9]])).cache is None
    assert cache.prompt(prompt, torch.tensor([[4, 5, 6, 7]])).cache is None  # nothing left to run
    with torch.inference_mode():
        used = cache.prompt(prompt, torch.tensor([[4, 5]]))
        again = cache.prompt(prompt, torch.tensor([[4, 5]]))
    assert used.cached_tokens == 2
    assert used.cache.get_seq_length() == again.cache.get_seq_length() == 2
    assert used.cache is not again.cache  # every reply generates from its own copy


def test_generation_runs_within_the_thread_budget_and_leaves_the_thread_as_it_was(tiny_lm: Path) -> None:
    before = torch.get_num_threads()
    responder = fixed_length(tiny_lm, 3, threads=before + 1)
    seen: list[int] = []
    responder._generate(responder.messages(request()), lambda _: seen.append(torch.get_num_threads()),
                        threading.Event())
    assert seen
    assert set(seen) == {before + 1}
    assert torch.get_num_threads() == before
    with pytest.raises(ConfigurationError, match="threads"):
        fixed_length(tiny_lm, 3, threads=0)


# ----------------------------------------------------------------------------- cancellation


@pytest.mark.anyio
async def test_cancel_before_first_token_joins_the_thread(tiny_lm: Path) -> None:
    responder = fixed_length(tiny_lm, 5000)
    with anyio.move_on_after(0):
        async with contextlib.aclosing(responder.respond(request())) as stream:  # type: ignore[type-var]
            async for _ in stream:
                pytest.fail("no delta can arrive before the cancel")
    assert worker_threads() == []
    stats = responder.last_statistics
    assert stats is not None
    assert stats.stopped_early
    assert stats.tokens < 5000


@pytest.mark.anyio
async def test_cancel_mid_stream_stops_generation_within_a_token_and_joins(tiny_lm: Path) -> None:
    responder = fixed_length(tiny_lm, 5000)
    got = 0
    async with contextlib.aclosing(responder.respond(request())) as stream:  # type: ignore[type-var]
        async for _ in stream:
            got += 1
            if got == 3:
                break
    assert worker_threads() == []
    stats = responder.last_statistics
    assert stats is not None
    assert stats.stopped_early
    assert 3 <= stats.tokens < 5000


@pytest.mark.anyio
async def test_a_cancelled_reply_leaves_the_responder_ready_for_the_next(tiny_lm: Path) -> None:
    responder = fixed_length(tiny_lm, 5000)
    async with contextlib.aclosing(responder.respond(request())) as stream:  # type: ignore[type-var]
        async for _ in stream:
            break
    short = fixed_length(tiny_lm, 4)
    deltas = [d async for d in short.respond(request(reply_id=1))]
    assert deltas
    assert short.last_statistics is not None
    assert short.last_statistics.tokens == 4


# ----------------------------------------------------------------------------- configuration


def test_unknown_model_path_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no model checkpoint"):
        TransformersResponder(tmp_path / "nope")
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        TransformersResponder(tmp_path)
    with pytest.raises(ModelNotFoundError, match="no GGUF file"):
        TransformersResponder(tmp_path, gguf_file="model.gguf")


def test_wrong_architecture_is_a_checkpoint_error(tmp_path: Path) -> None:
    encoder = tmp_path / "bert"
    BertModel(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16)).save_pretrained(encoder)
    with pytest.raises(CheckpointError, match=r"BertModel checkpoint, which is not a causal language model"):
        TransformersResponder(encoder)
    speech = tmp_path / "whisper"
    WhisperConfig(architectures=["WhisperForConditionalGeneration"], d_model=8, encoder_layers=1, decoder_layers=1,
                  encoder_attention_heads=2, decoder_attention_heads=2).save_pretrained(speech)
    with pytest.raises(CheckpointError, match="not a causal language model"):
        TransformersResponder(speech)


def test_corrupt_config_is_a_checkpoint_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read the model config"):
        TransformersResponder(tmp_path)


def test_missing_weights_are_a_checkpoint_error(tmp_path: Path, tiny_lm: Path) -> None:
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (tiny_lm / name).exists():
            (tmp_path / name).write_bytes((tiny_lm / name).read_bytes())
    with pytest.raises(CheckpointError, match="cannot load the model weights"):
        TransformersResponder(tmp_path)


def test_tokenizer_without_chat_template_is_a_checkpoint_error(tmp_path: Path) -> None:
    save_tiny_lm(tmp_path, chat_template=False)
    with pytest.raises(CheckpointError, match="no chat template"):
        TransformersResponder(tmp_path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"temperature": -1.0}, "temperature"),
        ({"dtype": "int3"}, "dtype"),
        ({"generate_options": {"no_such_option": 1}}, "unknown generation options"),
        ({"generate_options": {"top_k": 5}}, "invalid generation options"),
    ],
)
def test_bad_options_fail_at_construction(tiny_lm: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TransformersResponder(tiny_lm, **options)  # type: ignore[arg-type]


def test_missing_extra_names_the_pip_command(tiny_lm: Path) -> None:
    script = f"""
import sys, json
sys.modules["transformers"] = None
from audiointeract.errors import BackendUnavailable
from audiointeract.registry import load_backend
out = {{}}
try:
    load_backend("responder", "transformers", model={str(tiny_lm)!r})
except BackendUnavailable as exc:
    out["registry"] = exc.install_hint
try:
    import audiointeract.backends.hf.responder
except BackendUnavailable as exc:
    out["module"] = exc.install_hint
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    hints = json.loads(result.stdout.strip().splitlines()[-1])
    assert hints == {
        "registry": "pip install 'audiointeract[transformers]'",
        "module": "pip install 'audiointeract[transformers]'",
    }


def test_registry_builds_it_by_name(tiny_lm: Path) -> None:
    responder = load_backend("responder", "transformers", model=str(tiny_lm), max_new_tokens=4, prompt=ChatPrompt())
    assert isinstance(responder, TransformersResponder)


# ----------------------------------------------------------------------------- barge-in through the session


class Silence(AudioSource):
    """Endless silence in 0.1 s blocks; the test stops the session when the reply has ended."""

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        while True:
            yield np.zeros(1600, dtype=np.float32), 16000


class BargeIn(Observer, Decider):
    """RESPOND at once; INTERRUPT once ``after_pieces`` audio pieces of the reply have been played.

    As an observer it counts reply audio and stops the session when the reply has ended.
    """

    def __init__(self, after_pieces: int) -> None:
        self.after_pieces = after_pieces
        self.pieces = 0
        self.responded = False
        self.session: Session | None = None

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio):
            self.pieces += 1
        if isinstance(event, (ReplyCancelled, ReplyFinished, ReplyFailed)) and self.session is not None:
            self.session.stop()

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        if not self.responded:
            self.responded = True
            return Decision(action=Action.RESPOND, task="answer", reason="test: answer now")
        if context.agent_speaking and self.pieces >= self.after_pieces:
            return Decision(action=Action.INTERRUPT, task="answer", reason="test: user speaks over the reply")
        return Decision.silent()


async def run_barge_in(responder: Responder, after_pieces: int) -> Trace:
    decider = BargeIn(after_pieces)
    session = Session(ScriptedPerceiver(), decider, responder, config=SessionConfig(pacing=Pacing.REALTIME),
                      observers=[decider])
    decider.session = session
    return await session.run(Silence())


def assert_reply_stopped(trace: Trace, *, piece_seconds: float) -> ReplyCancelled:
    """Nothing of the reply follows the cancel, and its audio ends within one piece of the decision."""
    records = list(trace)
    cancelled = [i for i, record in enumerate(records) if isinstance(record.event, ReplyCancelled)]
    assert len(cancelled) == 1
    cancel = records[cancelled[0]].event
    assert isinstance(cancel, ReplyCancelled)
    assert cancel.reason == "barge-in"
    assert not [r for r in records[cancelled[0]:] if isinstance(r.event, (ReplyText, ReplyAudio))]
    audio = trace.of_type(ReplyAudio)
    assert audio
    assert all(piece.at <= cancel.carried_out_at for piece in audio)
    assert max(piece.play_at + piece.duration for piece in audio) <= cancel.requested_at + piece_seconds + 1e-9
    return cancel


@pytest.mark.slow
@pytest.mark.anyio
async def test_barge_in_on_virtual_time_stops_text_and_audio_at_once(tiny_lm: Path) -> None:
    """Inline compute (offload=False) keeps virtual time exact: the cancel takes no session time."""
    model = TransformersResponder(tiny_lm, max_new_tokens=60, offload=False, spoken=None)
    responder = SpeechResponder(model, PiperSynthesizer(offload=False), piece_seconds=0.1)
    trace = await run_barge_in(responder, after_pieces=5)
    cancel = assert_reply_stopped(trace, piece_seconds=0.1)
    assert cancel.carried_out_at - cancel.requested_at <= 0.15
    assert cancel.carried_out_at == pytest.approx(cancel.requested_at)
    assert worker_threads() == []


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # real time: espeak and the LM thread run beside the clock
async def test_barge_in_during_speech_frees_the_generation_thread_and_espeak(tiny_lm: Path) -> None:
    model = TransformersResponder(tiny_lm, max_new_tokens=8000, spoken=None)
    responder = SpeechResponder(model, EspeakSynthesizer(), piece_seconds=0.1)
    trace = await run_barge_in(responder, after_pieces=3)
    assert_reply_stopped(trace, piece_seconds=0.1)
    stats = model.last_statistics
    assert stats is not None
    assert stats.stopped_early
    assert stats.tokens < 8000
    assert responder.last_statistics is not None
    assert responder.last_statistics.stopped_early
    assert worker_threads() == []
    assert child_processes("espeak-ng") == []


def test_setting_the_stop_flag_ends_generation_within_one_token_step(tiny_lm: Path) -> None:
    responder = fixed_length(tiny_lm, 500)
    stop = threading.Event()
    tokens: list[int] = []

    def emit(piece: object) -> None:
        tokens.append(piece.tokens)  # type: ignore[attr-defined]
        if sum(tokens) == 5:
            stop.set()

    responder._generate(responder.messages(request()), emit, stop)
    # the flag is checked after each token: at most the step already under way finishes
    assert 5 <= sum(tokens) <= 6

