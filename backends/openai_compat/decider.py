"""Respond-or-stay-silent decisions from an audio LLM behind an OpenAI-compatible server.

At each decision point the model gets the standing tasks, the transcript, what was
just heard and the session's recent audio (``context.audio``, present when the session
sets ``SessionConfig(request_audio_seconds=...)``) as a WAV ``input_audio`` part, and
answers one word. The probability of "respond" comes from the first token's
``top_logprobs`` when the server returns them, else from the text.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from typing import Any

import httpx

from audiointeract.audio import FloatArray
from audiointeract.backends.audio_lm_prompt import (
    DEFAULT_QUESTION,
    DEFAULT_SYSTEM_PROMPT,
    decision_from_probability,
    decision_prompt,
    respond_probability,
    skip_reason,
)
from audiointeract.backends.openai_compat import _options
from audiointeract.backends.openai_compat._client import OpenAICompatClient, client_from_options
from audiointeract.backends.openai_compat._wav import input_audio_part
from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception
from audiointeract.interfaces import Decider, DecisionContext

__all__ = ["AudioLMDecider", "answer_probability"]

PATH = "chat/completions"


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
        probability = respond_probability(mass[respond_word], mass[silent_word])
        if probability is not None:
            return probability, "logprobs"
    words = _answer_text(payload).split()
    first_word = _word(words[0]) if words else ""
    if _matches(first_word, respond_word) or first_word == "yes":
        return 1.0, "text"
    if _matches(first_word, silent_word) or first_word == "no":
        return 0.0, "text"
    return None


class AudioLMDecider(Decider):
    """Asks the model "respond or silent?" per decision point; RESPOND when P(respond) >= ``threshold``.

    The audio it sends is ``context.audio``: set ``SessionConfig(request_audio_seconds=...)``
    (e.g. 4.0) so the session provides it, and ``sample_rate`` to the session's rate. With
    that setting at 0 (the default) or ``send_audio=False``, the question carries text only.
    While a reply is in flight no question is asked (SILENT). ``logprobs`` asks the server
    for the first token's ``top_logprobs`` (vLLM returns them; some servers ignore the field,
    and then the text answer is used). ``task`` names the standing task a RESPOND serves
    (default: the first). Server options are :class:`ServerConfig` fields.
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
        sample_rate: int = 16000,
        logprobs: bool = True,
        top_logprobs: int = 10,
        max_tokens: int = 3,
        task: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **server: Any,
    ) -> None:
        self.system_prompt = _options.text("system_prompt", system_prompt, empty=True)
        self.question = _options.text("question", question, empty=True)
        self.respond_word = _word(_options.text("respond_word", respond_word))
        self.silent_word = _word(_options.text("silent_word", silent_word))
        if self.respond_word in ("", self.silent_word):
            raise ConfigurationError(f"respond_word {respond_word!r} and silent_word {silent_word!r} must differ")
        self.threshold = _options.number("threshold", threshold, minimum=0.0, maximum=1.0)
        self.send_audio = _options.flag("send_audio", send_audio)
        self.sample_rate = _options.integer("sample_rate", sample_rate, minimum=1)
        self.logprobs = _options.flag("logprobs", logprobs)
        self.top_logprobs = _options.integer("top_logprobs", top_logprobs, minimum=1)
        self.max_tokens = _options.integer("max_tokens", max_tokens, minimum=1)
        self.task = _options.optional_text("task", task)
        self._client = client_from_options(server, backend=AudioLMDecider, transport=transport)

    @property
    def client(self) -> OpenAICompatClient:
        """The HTTP client."""
        return self._client

    async def check(self) -> None:
        """Reach the server (``GET /models``) and resolve the model now; raise a one-line error if it is not usable."""
        await self._client.check()

    def request_body(self, context: DecisionContext, perceptions: Sequence[Perception], model: str) -> dict[str, Any]:
        """The JSON body of the question for this decision point."""
        system, text = decision_prompt(context, perceptions, system_prompt=self.system_prompt, question=self.question)
        content: list[dict[str, Any]] = [{"type": "text", "text": text}]
        audio = self._audio(context)
        if audio is not None:
            content.append(input_audio_part(audio, self.sample_rate))
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": content}],
            "max_tokens": 1 if self.logprobs else self.max_tokens,
            "temperature": 0.0,
        }
        if self.logprobs:
            body |= {"logprobs": True, "top_logprobs": self.top_logprobs}
        return body

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Ask the model; SILENT without asking while a reply is in flight or with neither audio nor news."""
        if (skip := skip_reason(context, perceptions, self._audio(context))) is not None:
            return Decision.silent(skip)
        body = self.request_body(context, perceptions, await self._client.model_name())
        payload = await self._client.post_json(PATH, body)
        read = answer_probability(payload, self.respond_word, self.silent_word)
        if read is None:
            answer = _answer_text(payload)[:80]
            return Decision(action=Action.SILENT, score=0.5, reason=f"unreadable answer {answer!r}")
        probability, how = read
        return decision_from_probability(probability, threshold=self.threshold, context=context,
                                         perceptions=perceptions, task=self.task,
                                         reason=f"P({self.respond_word})={probability:.2f} from {how}")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def _audio(self, context: DecisionContext) -> FloatArray | None:
        if not self.send_audio or context.audio is None or not context.audio.size:
            return None
        return context.audio
