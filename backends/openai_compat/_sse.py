"""Server-sent events as OpenAI-compatible servers stream them: ``data: {json}`` events ending in ``[DONE]``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from audiointeract.backends.openai_compat._client import OpenAICompatClient, error_from_payload
from audiointeract.errors import BackendError

__all__ = ["is_event_stream", "sse_json"]

_DONE = "[DONE]"


def _decode(payload: str, where: str) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise BackendError(f"{where} streamed invalid JSON: {payload[:200]!r}", retryable=False) from exc
    if not isinstance(event, dict):
        raise BackendError(f"{where} streamed {type(event).__name__}, not an object", retryable=False)
    if "error" in event and "choices" not in event:
        raise error_from_payload(event, where)
    return event


def is_event_stream(response: httpx.Response) -> bool:
    """Whether the server answered with server-sent events (else the body is one JSON document)."""
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


async def sse_json(client: OpenAICompatClient, response: httpx.Response, path: str) -> AsyncIterator[dict[str, Any]]:
    """Yield each event's JSON object until ``data: [DONE]`` or the end of the body.

    Some servers (``transformers serve``) end without ``[DONE]``, so callers check
    that they saw their terminal event. A connection that breaks mid-stream raises a
    retryable BackendError; ``{"error": ...}`` events raise the server's error.
    """
    where = client.describe(path)
    data: list[str] = []
    try:
        async for line in response.aiter_lines():
            if line:
                field, _, value = line.partition(":")
                if field == "data":
                    data.append(value.removeprefix(" "))
                continue
            if not data:
                continue
            payload = "\n".join(data)
            data = []
            if payload == _DONE:
                return
            yield _decode(payload, where)
    except httpx.HTTPError as exc:
        raise client.transport_error(exc, path) from exc
    if data:
        payload = "\n".join(data)
        if payload == _DONE:
            return
        yield _decode(payload, where)
