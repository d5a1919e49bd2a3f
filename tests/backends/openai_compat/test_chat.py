"""ChatResponder and the shared client against the fake vLLM server (wire shapes, cancel, errors, check, hangs)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import anyio
import numpy as np
import pytest

from audiointeract.backends.openai_compat import ChatResponder
from audiointeract.backends.openai_compat._client import ServerConfig
from audiointeract.backends.prompting import DEFAULT_PERSONA
from audiointeract.errors import BackendError, BackendTimeout, ConfigurationError
from audiointeract.events import Action, Decision, ResponseRequest, StandingTask, TextDelta, Turn
from audiointeract.registry import load_backend

pytestmark = pytest.mark.anyio


def request(audio: np.ndarray | None = None) -> ResponseRequest:
    return ResponseRequest(
        reply_id=0,
        decision=Decision(action=Action.RESPOND, task="answer"),
        task=StandingTask(name="answer", instruction="Answer questions."),
        transcript="what time is it",
        history=(Turn(role="user", text="what time is it"),),
        audio=audio,
    )


def responder(fake: Any, **options: Any) -> ChatResponder:
    return ChatResponder(base_url=fake.base_url, trust_env=False, **options)


def busy_connections(chat: ChatResponder) -> int:
    pool = chat.client.http._transport._pool
    return sum(1 for connection in pool.connections if not connection.is_idle())


async def collect(chat: ChatResponder, req: ResponseRequest, into: list[str] | None = None) -> list[str]:
    texts = [] if into is None else into
    async with contextlib.aclosing(chat.respond(req)) as stream:
        async for delta in stream:
            assert isinstance(delta, TextDelta)
            texts.append(delta.text)
    return texts


async def test_fake_vllm_chat_stream_shapes(fake_vllm: Any) -> None:
    chat = responder(fake_vllm, api_key="sk-test", max_tokens=7, extra_body={"top_p": 0.9})
    try:
        texts = await collect(chat, request())
    finally:
        await chat.aclose()
    assert "".join(texts) == "".join(fake_vllm.tokens)
    body = fake_vllm.bodies("chat")[0]
    assert body["model"] == "fake-audio-llm"  # first of GET /models
    assert body["stream"] is True
    assert body["max_tokens"] == 7
    assert body["top_p"] == 0.9
    roles = [m["role"] for m in body["messages"]]
    assert roles[0] == "system"
    assert roles[-1] == "user"
    assert body["messages"][0]["content"].startswith(DEFAULT_PERSONA)  # the shared ChatPrompt template
    assert body["messages"][-1]["content"] == "what time is it"
    assert all(h["authorization"] == "Bearer sk-test" for h in fake_vllm.headers)


async def test_fake_vllm_chat_input_audio_part(fake_vllm: Any) -> None:
    audio = (0.1 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    chat = responder(fake_vllm)
    try:
        await collect(chat, request(audio))
    finally:
        await chat.aclose()
    content = fake_vllm.bodies("chat")[0]["messages"][-1]["content"]
    assert [part["type"] for part in content] == ["text", "input_audio"]
    assert content[1]["input_audio"]["format"] == "wav"
    assert fake_vllm.audio == [(16000, 8000)]


async def test_fake_vllm_chat_audio_not_sent_when_disabled(fake_vllm: Any) -> None:
    chat = responder(fake_vllm, send_audio=False)
    try:
        await collect(chat, request(np.zeros(1600, dtype=np.float32)))
    finally:
        await chat.aclose()
    assert isinstance(fake_vllm.bodies("chat")[0]["messages"][-1]["content"], str)
    assert fake_vllm.audio == []


@pytest.mark.parametrize("stage", ["before_headers", "before_first_token", "mid_stream"])
async def test_fake_vllm_cancel_closes_the_stream(fake_vllm: Any, stage: str) -> None:
    fake_vllm.hold_before_headers = stage == "before_headers"
    fake_vllm.hold_after_tokens = {"before_first_token": 0, "mid_stream": 2}.get(stage)
    chat = responder(fake_vllm)
    got: list[str] = []
    two_tokens = anyio.Event()
    try:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:

                async def consume() -> None:
                    async with contextlib.aclosing(chat.respond(request())) as stream:
                        async for delta in stream:
                            got.append(delta.text)
                            if len(got) == 2:
                                two_tokens.set()

                group.start_soon(consume)
                await fake_vllm.received.wait()
                if stage == "mid_stream":
                    await two_tokens.wait()
                else:
                    await anyio.sleep(0.05)
                scope.cancel()
        with anyio.fail_after(5):
            await fake_vllm.disconnected.wait()  # the server saw the client leave
        assert busy_connections(chat) == 0
        assert len(got) == (2 if stage == "mid_stream" else 0)
        assert fake_vllm.completed == 0
    finally:
        await chat.aclose()


async def test_fake_vllm_consumer_leaving_early_closes_the_stream(fake_vllm: Any) -> None:
    fake_vllm.token_delay = 0.05
    chat = responder(fake_vllm)
    try:
        async with contextlib.aclosing(chat.respond(request())) as stream:
            async for _ in stream:
                break
        assert busy_connections(chat) == 0  # closed at once, not later by a garbage-collector hook
        with anyio.fail_after(5):
            await fake_vllm.disconnected.wait()
    finally:
        await chat.aclose()


async def test_fake_vllm_server_dying_mid_stream_is_a_retryable_backend_error(fake_vllm: Any) -> None:
    fake_vllm.drop_after = 2
    chat = responder(fake_vllm)
    got: list[str] = []
    try:
        with pytest.raises(BackendError) as caught:
            await collect(chat, request(), into=got)
    finally:
        await chat.aclose()
    assert got == fake_vllm.tokens[:2]
    assert caught.value.retryable
    assert "broke" in str(caught.value)


@pytest.mark.parametrize(("error", "retryable"), [({"message": "out of KV cache", "code": 503}, True), ("bad", False)])
async def test_fake_vllm_error_event_in_stream(fake_vllm: Any, error: Any, retryable: bool) -> None:
    fake_vllm.stream_error = error
    chat = responder(fake_vllm)
    got: list[str] = []
    try:
        with pytest.raises(BackendError) as caught:
            await collect(chat, request(), into=got)
    finally:
        await chat.aclose()
    assert got == fake_vllm.tokens[:1]
    assert caught.value.retryable is retryable
    assert (error["message"] if isinstance(error, dict) else error) in str(caught.value)


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_fake_vllm_retryable_status_is_tried_once_and_left_to_the_caller(fake_vllm: Any, status: int) -> None:
    fake_vllm.fail_statuses = [status]
    chat = responder(fake_vllm)
    try:
        with pytest.raises(BackendError) as caught:
            await collect(chat, request())
        assert fake_vllm.count("chat") == 1  # no retry hidden in the client
        texts = await collect(chat, request())  # the caller's retry is answered
    finally:
        await chat.aclose()
    assert caught.value.retryable
    assert f"HTTP {status}" in str(caught.value)
    assert f"scripted failure {status}" in str(caught.value)
    assert "".join(texts) == "".join(fake_vllm.tokens)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_fake_vllm_client_errors_are_not_retried(fake_vllm: Any, status: int) -> None:
    fake_vllm.fail_statuses = [status]
    chat = responder(fake_vllm)
    try:
        with pytest.raises(BackendError) as caught:
            await collect(chat, request())
    finally:
        await chat.aclose()
    assert fake_vllm.count("chat") == 1
    assert not caught.value.retryable
    assert f"scripted failure {status}" in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)


async def test_fake_vllm_read_timeout_is_backend_timeout(fake_vllm: Any) -> None:
    fake_vllm.hold_after_tokens = 1
    chat = responder(fake_vllm, read_timeout=0.2)
    try:
        with pytest.raises(BackendTimeout) as caught:
            await collect(chat, request())
    finally:
        await chat.aclose()
    assert caught.value.retryable


async def test_hanging_server_fails_within_read_timeout_then_answers(hanging_vllm: Any) -> None:
    """A server that accepts and never answers: one BackendTimeout after read_timeout, no hidden retry."""
    chat = responder(hanging_vllm, model="fake-audio-llm", read_timeout=0.3)
    try:
        started = anyio.current_time()
        with pytest.raises(BackendTimeout) as caught:
            await collect(chat, request())
        waited = anyio.current_time() - started
        with anyio.fail_after(5):
            await hanging_vllm.disconnected.wait()  # the client hung up on the hanging request
        texts = await collect(chat, request())  # the next request is answered normally
    finally:
        await chat.aclose()
    assert 0.3 <= waited < 1.0
    assert caught.value.retryable
    assert "read_timeout=0.3 s" in str(caught.value)
    assert hanging_vllm.hung == 1
    assert hanging_vllm.count("chat") == 2
    assert "".join(texts) == "".join(hanging_vllm.tokens)


@pytest.mark.parametrize(
    ("content_type", "body", "match", "expected"),
    [
        ("application/json", "{not json at all", "returned invalid JSON", None),
        ("text/html", "<html>\n<body>Bad gateway</body>\n</html>", "returned invalid JSON", None),
        ("application/json", '{"error": {"message": "model crashed", "code": 500}}', "model crashed", None),
        ("application/json", '{"object": "list", "data": []}', "not a chat completion", None),
        ("application/json", '{"choices": [{"message": {"content": "Whole reply."}}]}', None, "Whole reply."),
    ],
)
async def test_fake_vllm_json_body_instead_of_a_stream(
    fake_vllm: Any, content_type: str, body: str, match: str | None, expected: str | None
) -> None:
    fake_vllm.chat_answer = (content_type, body)
    chat = responder(fake_vllm)
    try:
        if match is None:
            assert await collect(chat, request()) == [expected]  # a server that ignored stream=true
            return
        with pytest.raises(BackendError, match=match) as caught:
            await collect(chat, request())
    finally:
        await chat.aclose()
    assert "ended mid-reply" not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.retryable is ("code" in body)  # garbage is not retried; a reported 500 is
    assert fake_vllm.count("chat") == 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_unreachable_base_url_fails_check_clearly() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    chat = ChatResponder(base_url=url, model="my-model", trust_env=False)
    try:
        with pytest.raises(BackendError) as caught:
            await chat.check()  # model= is set, and check() still reaches the server
    finally:
        await chat.aclose()
    assert str(caught.value).startswith(f"OpenAI-compatible server at {url} is not usable: cannot connect to {url}")
    assert "\n" not in str(caught.value)
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("setup", "error", "match"),
    [
        ({"models_answer": (500, "text/html", "<html>\n <h1>Internal\nServer Error</h1>\n</html>")},
         BackendError, "HTTP 500: <html> <h1>Internal Server Error</h1> </html>"),
        ({"models_answer": (200, "application/json", "{garbage")}, BackendError, "returned invalid JSON"),
        ({"models_answer": (200, "application/json", '{"data": 3}')}, BackendError, "no 'data' list"),
        ({"hang_models": True}, BackendTimeout, "nothing received for read_timeout=0.3 s"),
        ({"served_models": ["served-a", "served-b"]}, ConfigurationError,
         "model 'my-model' is not served at .*; it serves 'served-a', 'served-b'"),
    ],
)
async def test_fake_vllm_check_failures_are_one_line(
    fake_vllm: Any, setup: dict[str, Any], error: type[Exception], match: str
) -> None:
    for name, value in setup.items():
        setattr(fake_vllm, name, value)
    chat = responder(fake_vllm, model="my-model", read_timeout=0.3)
    try:
        with pytest.raises(error, match=match) as caught:
            await chat.check()
    finally:
        await chat.aclose()
    assert "\n" not in str(caught.value)
    assert fake_vllm.count("models") == 1


async def test_fake_vllm_check_resolves_model(fake_vllm: Any) -> None:
    chat = responder(fake_vllm)
    try:
        await chat.check()
        await chat.check()
        assert await chat.client.model_name() == "fake-audio-llm"
    finally:
        await chat.aclose()
    assert fake_vllm.count("models") == 2  # every check() reaches the server; model_name() remembers


@pytest.mark.parametrize("served", [["a", "my-model"], []])
async def test_fake_vllm_check_accepts_a_served_or_unlisted_model(fake_vllm: Any, served: list[str]) -> None:
    fake_vllm.served_models = served  # a server that lists nothing is taken at its word
    chat = responder(fake_vllm, model="my-model")
    try:
        await chat.check()
        await collect(chat, request())
    finally:
        await chat.aclose()
    assert fake_vllm.count("models") == 1
    assert fake_vllm.bodies("chat")[0]["model"] == "my-model"


async def test_fake_vllm_check_without_models_asks_for_model(fake_vllm: Any) -> None:
    fake_vllm.served_models = []
    chat = responder(fake_vllm)
    try:
        with pytest.raises(ConfigurationError, match="lists no models; set model="):
            await chat.check()
    finally:
        await chat.aclose()


async def test_fake_vllm_configured_model_skips_listing(fake_vllm: Any) -> None:
    chat = responder(fake_vllm, model="my-model")
    try:
        await collect(chat, request())
    finally:
        await chat.aclose()
    assert fake_vllm.count("models") == 0
    assert fake_vllm.bodies("chat")[0]["model"] == "my-model"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"base_url": "localhost:8000"}, "http"),
        ({"base_url": "ftp://host/v1"}, "http"),
        ({"base_url": "http://"}, "base_url"),
        ({"base_url": "http://host/v1?x=1"}, "query"),
        ({"base_url": 5}, "base_url must be a string"),
        ({"read_timeout": 0}, "read_timeout must be a number > 0, got 0"),
        ({"read_timeout": "abc"}, "read_timeout must be a number > 0, got str 'abc'"),
        ({"connect_timeout": True}, "connect_timeout must be a number"),
        ({"trust_env": "maybe"}, "trust_env must be true or false"),
        ({"model": 5}, "model must be a non-empty string, got int 5"),
        ({"api_key": ""}, "api_key must be a non-empty string"),
        ({"bogus": 1}, "unknown option.s. bogus; ChatResponder takes extra_body, max_tokens, .* and the server options"),
        ({"max_retries": 2}, "unknown option.s. max_retries"),  # retries belong to the session
        ({"backoff": 0.1}, "unknown option.s. backoff"),
        ({"max_tokens": 0}, "max_tokens must be an integer >= 1, got 0"),
        ({"max_tokens": "abc"}, "max_tokens must be an integer >= 1, got str 'abc'"),
        ({"temperature": "hot"}, "temperature must be a number >= 0"),
        ({"send_audio": "yes"}, "send_audio must be true or false"),
        ({"extra_body": "top_p=1"}, "extra_body must be a JSON object"),
        ({"prompt": "hi"}, "prompt must be a callable"),
    ],
)
def test_bad_config_fails_at_construction(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as caught:
        ChatResponder(**options)
    assert "\n" not in str(caught.value)


def test_base_url_is_normalised() -> None:
    assert ServerConfig(base_url="http://127.0.0.1:9/v1/").base_url == "http://127.0.0.1:9/v1"


def test_registry_builds_the_vllm_backends() -> None:
    chat = load_backend("responder", "vllm", base_url="http://127.0.0.1:9/v1", model="m")
    assert isinstance(chat, ChatResponder)
    assert chat.client.config.model == "m"
    assert type(load_backend("perceiver", "vllm")).__name__ == "TranscriptionPerceiver"
    assert type(load_backend("decider", "vllm")).__name__ == "AudioLMDecider"
