"""Replies streamed from an OpenAI-compatible ``/chat/completions`` server (vLLM, transformers serve).

Cancelling the reply closes the HTTP stream, which is how these servers learn to
stop generating: vLLM and ``transformers serve`` abort the request on disconnect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from audiointeract.backends.openai_compat._client import OpenAICompatClient, client_from_options
from audiointeract.backends.openai_compat._sse import sse_json
from audiointeract.backends.openai_compat._wav import input_audio_part
from audiointeract.backends.prompting import ChatPrompt, PromptTemplate
from audiointeract.clock import Clock
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import ResponseDelta, ResponseRequest, TextDelta
from audiointeract.interfaces import Responder

__all__ = ["ChatResponder"]

PATH = "chat/completions"


class ChatResponder(Responder):
    """Streams ``choices[0].delta.content`` of a streamed chat completion as text deltas.

    ``prompt`` builds the chat messages from the request (default
    :class:`~audiointeract.backends.prompting.ChatPrompt`). When the request carries
    audio and ``send_audio`` is true, it is appended to the last user message as a
    base64 WAV ``input_audio`` part (for audio LLMs such as Qwen2-Audio or Ultravox on
    vLLM). ``extra_body`` is merged into every request (e.g. ``{"top_p": 0.9}``).
    Server options (``base_url``, ``api_key``, ``model``, timeouts, retries) are
    :class:`ServerConfig` fields; the URL shape is checked here, reachability by
    :meth:`check`.
    """

    name = "vllm"

    def __init__(
        self,
        *,
        prompt: PromptTemplate | None = None,
        send_audio: bool = True,
        max_tokens: int = 128,
        temperature: float = 0.7,
        extra_body: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **server: Any,
    ) -> None:
        if max_tokens < 1:
            raise ConfigurationError(f"max_tokens must be >= 1, got {max_tokens}")
        self._client = client_from_options(server, clock=clock, transport=transport)
        self.prompt: PromptTemplate = prompt or ChatPrompt()
        self.send_audio = send_audio
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})

    @property
    def client(self) -> OpenAICompatClient:
        """The HTTP client (shared config, retries, connection pool)."""
        return self._client

    async def check(self) -> None:
        """Reach the server and resolve the model now; raise a clear error if it is not usable."""
        await self._client.check()

    def request_body(self, request: ResponseRequest, model: str) -> dict[str, Any]:
        """The JSON body sent for ``request``."""
        messages: list[dict[str, Any]] = [dict(message) for message in self.prompt(request)]
        if self.send_audio and request.audio is not None and request.audio.size:
            last = messages[-1]
            last["content"] = [
                {"type": "text", "text": last["content"]},
                input_audio_part(request.audio, request.sample_rate),
            ]
        return {
            "model": model,
            "messages": messages,
            "stream": True,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            **self.extra_body,
        }

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        """Stream the reply; leaving early (cancel, barge-in) closes the HTTP stream."""
        body = self.request_body(request, await self._client.model_name())
        finished = False
        async with self._client.stream(PATH, json=body) as response:
            async for event in sse_json(self._client, response, PATH):
                for choice in event.get("choices") or ():
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield TextDelta(text=content)
                    finished = finished or bool(choice.get("finish_reason"))
        if not finished:
            raise BackendError(f"the stream from {self._client.describe(PATH)} ended mid-reply", retryable=True)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
