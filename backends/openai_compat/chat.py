"""Replies streamed from an OpenAI-compatible ``/chat/completions`` server (vLLM, transformers serve).

Cancelling the reply closes the HTTP stream, which is how these servers learn to
stop generating: vLLM and ``transformers serve`` abort the request on disconnect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from audiointeract.backends.openai_compat import _options
from audiointeract.backends.openai_compat._client import (
    OpenAICompatClient,
    client_from_options,
    error_from_payload,
)
from audiointeract.backends.openai_compat._sse import is_event_stream, sse_json
from audiointeract.backends.openai_compat._wav import input_audio_part
from audiointeract.backends.prompting import ChatPrompt, PromptTemplate
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
    Server options (``base_url``, ``api_key``, ``model``, timeouts) are
    :class:`ServerConfig` fields; the URL shape is checked here, reachability by
    :meth:`check`. Each request is tried once: retries belong to the session.
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
        transport: httpx.AsyncBaseTransport | None = None,
        **server: Any,
    ) -> None:
        if prompt is not None and not callable(prompt):
            raise ConfigurationError(f"prompt must be a callable prompt template, got {type(prompt).__name__}")
        if extra_body is not None and not isinstance(extra_body, Mapping):
            raise ConfigurationError(f"extra_body must be a JSON object, got {type(extra_body).__name__}")
        self.send_audio = _options.flag("send_audio", send_audio)
        self.max_tokens = _options.integer("max_tokens", max_tokens, minimum=1)
        self.temperature = _options.number("temperature", temperature, minimum=0.0)
        self._client = client_from_options(server, backend=ChatResponder, transport=transport)
        self.prompt: PromptTemplate = prompt or ChatPrompt()
        self.extra_body = dict(extra_body or {})

    @property
    def client(self) -> OpenAICompatClient:
        """The HTTP client (shared config, connection pool)."""
        return self._client

    async def check(self) -> None:
        """Reach the server (``GET /models``) and resolve the model now; raise a one-line error if it is not usable."""
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
        """Stream the reply; leaving early (cancel, barge-in) closes the HTTP stream.

        A server that answers one JSON body instead of a stream is read as a whole
        completion (or its error); a body that is not JSON fails, not retryable.
        """
        body = self.request_body(request, await self._client.model_name())
        finished = False
        async with self._client.stream(PATH, json=body) as response:
            if not is_event_stream(response):
                text = await self._completion_text(response)
                if text:
                    yield TextDelta(text=text)
                return
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

    async def _completion_text(self, response: httpx.Response) -> str:
        """The reply text of a whole (non-streamed) chat completion body."""
        where = self._client.describe(PATH)
        payload = await self._client.read_json(response, PATH)
        if "error" in payload and "choices" not in payload:
            raise error_from_payload(payload, where)
        choices = payload.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(message, dict):
            raise BackendError(f"{where} returned JSON that is not a chat completion: no choices[0].message",
                               retryable=False)
        return str(message.get("content") or "")
