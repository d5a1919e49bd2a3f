"""Respond-or-stay-silent decisions from an audio LLM behind an OpenAI-compatible server.

At each decision point the model gets the standing tasks, the transcript, what was
just heard and (through :meth:`AudioLMDecider.tap`) the recent audio as a WAV
``input_audio`` part, and answers one word. The probability of "respond" comes from
the first token's ``top_logprobs`` when the server returns them, else from the text.
"""

from __future__ import annotations

import math
import string
from collections import deque
from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from audiointeract.audio import AudioChunk, FloatArray
from audiointeract.backends.openai_compat._client import OpenAICompatClient, client_from_options
from audiointeract.backends.openai_compat._wav import input_audio_part
from audiointeract.clock import Clock
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, SoundEvent, SpeechActivity, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext, Perceiver

__all__ = ["DEFAULT_QUESTION", "DEFAULT_SYSTEM_PROMPT", "AudioLMDecider", "answer_probability", "describe_perception"]

PATH = "chat/completions"
DEFAULT_SYSTEM_PROMPT = (
    "You listen to a live audio stream for a voice assistant and decide whether the assistant "
    "should speak right now."
)
DEFAULT_QUESTION = "Should the assistant speak now? Answer with one word: respond or silent."
_KEEP_EXTRA_SECONDS = 10.0
_TRANSCRIPT_CHARS = 1000


def describe_perception(perception: Perception) -> str:
    """A short plain-words description of what was heard, with its stream time."""
    when = f"at {perception.span_start:.1f}-{perception.span_end:.1f} s"
    if isinstance(perception, SoundEvent):
        return f"sound '{perception.label}' (score {perception.score:.2f}) {when}"
    if isinstance(perception, TranscriptUpdate):
        return f"speech {when}: \"{f'{perception.committed} {perception.tentative}'.strip()}\""
    if isinstance(perception, SpeechActivity):
        return f"speech {'started' if perception.speaking else 'ended'} at {perception.span_end:.1f} s"
    return f"{perception.kind} {when}"


def _word(token: str) -> str:
    return token.strip().strip(string.punctuation).lower()


def _matches(token: str, word: str) -> bool:
    return bool(token) and (word.startswith(token) or token.startswith(word))


def _answer_text(payload: dict[str, Any]) -> str:
    choices = payload.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    return str((choice.get("message") or {}).get("content") or "")


def answer_probability(payload: dict[str, Any], respond_word: str, silent_word: str) -> tuple[float, str] | None:
    """P(respond) from a chat completion and how it was read (``logprobs`` or ``text``); None if unreadable.

    With logprobs, the probability mass of first tokens that start (or are a prefix
    of) each answer word is compared; otherwise the first word of the text decides.
    """
    choices = payload.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    content = ((choice.get("logprobs") or {}).get("content")) or []
    if content and isinstance(content[0], dict):
        first = content[0]
        candidates = [first, *(first.get("top_logprobs") or [])]
        seen: dict[str, float] = {}
        for item in candidates:
            if isinstance(item, dict) and "token" in item and "logprob" in item:
                seen[str(item["token"])] = float(item["logprob"])
        mass = {respond_word: 0.0, silent_word: 0.0}
        for token, logprob in seen.items():
            for word in mass:
                if _matches(_word(token), word):
                    mass[word] += math.exp(logprob)
        total = mass[respond_word] + mass[silent_word]
        if total > 0:
            return mass[respond_word] / total, "logprobs"
    words = _answer_text(payload).split()
    first_word = _word(words[0]) if words else ""
    if _matches(first_word, respond_word) or first_word == "yes":
        return 1.0, "text"
    if _matches(first_word, silent_word) or first_word == "no":
        return 0.0, "text"
    return None


class _AudioTap(Perceiver):
    """Passes chunks to ``inner`` and records them for the decider."""

    def __init__(self, inner: Perceiver, decider: AudioLMDecider) -> None:
        self.name = f"{inner.name}+audio"
        self._inner = inner
        self._decider = decider

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        self._decider.hear(chunk)
        return await self._inner.perceive(chunk)

    async def finish(self) -> Sequence[Perception]:
        return await self._inner.finish()

    async def reset(self) -> None:
        await self._inner.reset()

    async def aclose(self) -> None:
        await self._inner.aclose()


class AudioLMDecider(Decider):
    """Asks the model "respond or silent?" per decision point; RESPOND when P(respond) >= ``threshold``.

    Wrap the session's perceiver with :meth:`tap` so the decider hears the last
    ``audio_seconds`` of audio; without it the question carries text only. While a
    reply is in flight no question is asked (SILENT). ``logprobs`` asks the server for
    the first token's ``top_logprobs`` (vLLM returns them; some servers ignore the
    field, and then the text answer is used). ``task`` names the standing task a
    RESPOND serves (default: the first). Server options are :class:`ServerConfig` fields.
    """

    name = "vllm"

    def __init__(
        self,
        *,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        question: str = DEFAULT_QUESTION,
        respond_word: str = "respond",
        silent_word: str = "silent",
        threshold: float = 0.5,
        send_audio: bool = True,
        audio_seconds: float = 4.0,
        logprobs: bool = True,
        top_logprobs: int = 10,
        max_tokens: int = 3,
        task: str | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **server: Any,
    ) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise ConfigurationError(f"threshold must be in [0, 1], got {threshold}")
        if audio_seconds <= 0 or max_tokens < 1 or top_logprobs < 1:
            raise ConfigurationError("audio_seconds must be > 0, max_tokens and top_logprobs >= 1")
        if _word(respond_word) in ("", _word(silent_word)):
            raise ConfigurationError(f"respond_word {respond_word!r} and silent_word {silent_word!r} must differ")
        self._client = client_from_options(server, clock=clock, transport=transport)
        self.system_prompt = system_prompt
        self.question = question
        self.respond_word = _word(respond_word)
        self.silent_word = _word(silent_word)
        self.threshold = threshold
        self.send_audio = send_audio
        self.audio_seconds = audio_seconds
        self.logprobs = logprobs
        self.top_logprobs = top_logprobs
        self.max_tokens = max_tokens
        self.task = task
        self._audio: deque[AudioChunk] = deque()

    @property
    def client(self) -> OpenAICompatClient:
        """The HTTP client."""
        return self._client

    async def check(self) -> str:
        """Reach the server and resolve the model now; returns the model name."""
        return await self._client.check()

    def tap(self, perceiver: Perceiver) -> Perceiver:
        """``perceiver``, wrapped so that every chunk it perceives is also heard by this decider."""
        return _AudioTap(perceiver, self)

    def hear(self, chunk: AudioChunk) -> None:
        """Record a chunk of stream audio (the tap calls this)."""
        self._audio.append(chunk)
        while self._audio and self._audio[0].end_time < chunk.end_time - self.audio_seconds - _KEEP_EXTRA_SECONDS:
            self._audio.popleft()

    def request_body(self, context: DecisionContext, perceptions: Sequence[Perception], model: str) -> dict[str, Any]:
        """The JSON body of the question for this decision point."""
        tasks = "\n".join(f"- {task.instruction}" for task in context.tasks)
        heard = "; ".join(describe_perception(p) for p in perceptions) or "(nothing new)"
        text = (
            f"Transcript so far: {context.transcript[-_TRANSCRIPT_CHARS:] or '(nothing yet)'}\n"
            f"Just heard: {heard}\n{self.question}"
        )
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        audio = self._recent_audio(context.heard_until)
        if audio is not None:
            content.append(input_audio_part(*audio))
        body: dict[str, Any] = {
            "model": model,
            "messages": [
                {"role": "system", "content": f"{self.system_prompt}\nIts standing tasks:\n{tasks}"},
                {"role": "user", "content": content},
            ],
            "max_tokens": 1 if self.logprobs else self.max_tokens,
            "temperature": 0.0,
        }
        if self.logprobs:
            body |= {"logprobs": True, "top_logprobs": self.top_logprobs}
        return body

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Ask the model; SILENT without asking while a reply is in flight or nothing new was heard."""
        if context.agent_speaking:
            return Decision.silent("a reply is in flight")
        if not perceptions and self._recent_audio(context.heard_until) is None:
            return Decision.silent("nothing new heard")
        body = self.request_body(context, perceptions, await self._client.model_name())
        payload = await self._client.post_json(PATH, body)
        read = answer_probability(payload, self.respond_word, self.silent_word)
        if read is None:
            answer = _answer_text(payload)[:80]
            return Decision(action=Action.SILENT, score=0.5, reason=f"unreadable answer {answer!r}")
        probability, how = read
        reason = f"P({self.respond_word})={probability:.2f} from {how}"
        if probability < self.threshold:
            return Decision(action=Action.SILENT, score=1.0 - probability, reason=reason)
        task = self.task or (context.tasks[0].name if context.tasks else None)
        return Decision(action=Action.RESPOND, task=task, evidence=tuple(perceptions), score=probability, reason=reason)

    async def reset(self) -> None:
        """Forget the recorded audio."""
        self._audio.clear()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def _recent_audio(self, heard_until: float) -> tuple[FloatArray, int] | None:
        if not self.send_audio:
            return None
        oldest = heard_until - self.audio_seconds
        chunks = [c for c in self._audio if oldest < c.end_time <= heard_until + 1e-9]
        if not chunks:
            return None
        return np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate
