"""The server on loopback with mock backends: turns, replies, manual mode, cancels, settings, auth, stats.

Real sockets on real time; real recordings go in, espeak-ng speaks the scripted reply.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
import httpx
import numpy as np
import pytest
from realtime.server_kit import (
    QUESTION,
    REPLY,
    client,
    mock_pool,
    needs_recordings,
    recording,
    running,
    silence,
)
from realtime.wire import check_server_event
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from audiointeract.audio import AudioChunk
from audiointeract.backends.mock import EnergyPerceiver, TurnEndDecider
from audiointeract.backends.prompting import ChatPrompt
from audiointeract.config import FailureAction, FailurePolicy, SessionConfig
from audiointeract.errors import BackendError
from audiointeract.events import (
    Action,
    Decision,
    Perception,
    ReplyAudio,
    ReplyFinished,
    ResponseDelta,
    ResponseRequest,
    SessionEnded,
    TextDelta,
)
from audiointeract.interfaces import Decider, Responder
from audiointeract.realtime.backends import BackendPool
from audiointeract.realtime.controls import CLIENT_CREATE, InstructionsPrompt
from audiointeract.realtime.server import CloseCode, ServerConfig

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Real time: these tests talk to a real server over real sockets."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _recordings() -> None:
    needs_recordings()


def pcm_of(deltas: list[dict[str, Any]]) -> np.ndarray:
    return np.concatenate([np.frombuffer(base64.b64decode(d["delta"]), dtype="<i2") for d in deltas])


async def test_a_spoken_question_gets_a_spoken_reply() -> None:
    async with running(mock_pool()) as server, client(server) as peer:
        question = recording(QUESTION, before=0.5, after=1.0)
        await peer.stream(question)
        done = await peer.until("response.done")
        for event in peer.events:
            check_server_event(event)
        kinds = [event["type"] for event in peer.events]
        assert kinds[0] == "session.created"
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index("input_audio_buffer.speech_stopped")
        assert kinds.index("input_audio_buffer.speech_stopped") < kinds.index("response.created")
        started = peer.of("input_audio_buffer.speech_started")[0]["audio_start_ms"]
        assert 300 <= started <= 800  # the question starts 500 ms into the client's audio
        assert done["response"]["status"] == "completed"
        assert done["response"]["output"][0]["content"][0]["transcript"] == REPLY
        audio = pcm_of(peer.of("response.output_audio.delta"))
        assert audio.size / 24000 > 2.0
        assert np.abs(audio).max() > 3000
        decisions = peer.of("audiointeract.decision")
        assert [d["action"] for d in decisions].count("respond") == 1
        sent_ms = question.size / 24
        ends = [d["audio_end_ms"] for d in decisions if d["audio_end_ms"] < sent_ms - 400]
        assert ends == list(range(400, 400 * (len(ends) + 1), 400))  # one decision per 400 ms chunk of client audio
    await server.wait_ended(1)
    trace = server.ended[0].trace
    assert trace.ended is not None
    assert trace.of_type(ReplyFinished)[0].text == REPLY
    await server.wait_closed()


async def test_16_khz_in_and_out() -> None:
    async with running(mock_pool()) as server, client(server) as peer:
        await peer.send("session.update", session={"type": "realtime", "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": 16000}},
            "output": {"format": {"type": "audio/pcm", "rate": 16000}}}})
        updated = await peer.until("session.updated")
        assert updated["session"]["audio"]["output"]["format"]["rate"] == 16000
        await peer.stream(recording(QUESTION, rate=16000, before=0.3, after=1.0), rate=16000)
        await peer.until("response.done")
        audio = pcm_of(peer.of("response.output_audio.delta"))
    await server.wait_ended(1)
    played = sum(event.duration for event in server.ended[0].trace.of_type(ReplyAudio))
    assert audio.size / 16000 == pytest.approx(played, abs=0.01)  # every sample the session played, at 16 kHz


async def test_without_turn_detection_the_client_commits_and_asks() -> None:
    async with running(mock_pool()) as server, client(server) as peer:
        await peer.send("session.update", session={"type": "realtime", "audio": {"input": {"turn_detection": None}}})
        await peer.until("session.updated")
        await peer.stream(recording(QUESTION, before=0.3, after=1.0))
        await anyio.sleep(0.5)
        assert not peer.of("response.created")  # the policy's RESPOND is not carried out
        assert not peer.of("input_audio_buffer.speech_started")
        assert any("turn detection does not create responses" in d["reason"]
                   for d in peer.of("audiointeract.decision"))
        await peer.send("input_audio_buffer.commit", event_id="c1")
        committed = await peer.until("input_audio_buffer.committed")
        await peer.send("response.create")
        done = await peer.until("response.done")
        assert done["response"]["status"] == "completed"
        completed = await peer.until("conversation.item.input_audio_transcription.completed")
        assert completed["item_id"] == committed["item_id"]
        responds = [d for d in peer.of("audiointeract.decision") if d["action"] == "respond"]
        assert [d["reason"] for d in responds] == [CLIENT_CREATE]


async def test_response_cancel_stops_the_reply_and_says_so() -> None:
    async with running(mock_pool()) as server, client(server) as peer:
        await peer.send("response.cancel", event_id="x0")
        await peer.until("error")
        await peer.send("response.create")
        created = await peer.until("response.created")
        await peer.send("response.create", event_id="twice")
        await peer.until("response.output_audio.delta")
        await peer.send("response.cancel", response_id=created["response"]["id"])
        done = await peer.until("response.done")
        assert done["response"]["status"] == "cancelled"
        assert done["response"]["status_details"]["reason"] == "client_cancelled"
        assert peer.errors() == ["response_cancel_not_active", "conversation_already_has_active_response"]
        assert [e["error"]["event_id"] for e in peer.of("error")] == ["x0", "twice"]
        heard = pcm_of(peer.of("response.output_audio.delta")).size / 24000
        assert heard < 2.0  # the reply is about 4 s long when it plays out


async def test_settings_errors_and_tasks() -> None:
    async with running(mock_pool()) as server, client(server) as peer:
        await peer.send("input_audio_buffer.commit")
        tasks = [{"name": "alarm", "instruction": "Warn me about alarms.", "proactive": True}]
        await peer.send("session.update", session={"audiointeract": {"tasks": tasks}})
        await peer.until("session.updated")
        await peer.stream(silence(0.4))
        await peer.send("session.update", event_id="late", session={"audiointeract": {"tasks": tasks}})
        await peer.send("session.update", session={"output_modalities": ["sound"]})
        await peer.until("error", count=3)
        assert peer.errors() == ["input_audio_buffer_commit_empty", "session_started", "invalid_value"]
        assert peer.of("error")[1]["error"]["param"] == "session.audiointeract.tasks"
    await server.wait_ended(1)
    meta = server.ended[0].trace.meta
    assert [task["name"] for task in meta["tasks"]] == ["alarm"]


class PromptEcho(Responder):
    """Replies with the system prompt its template built: shows which instructions reached the shared responder."""

    name = "prompt-echo"

    def __init__(self) -> None:
        self.prompt = InstructionsPrompt(ChatPrompt(persona="Default persona."))

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        yield TextDelta(text=self.prompt(request)[0]["content"])


async def test_each_session_replies_with_its_own_instructions() -> None:
    pool = BackendPool(perceiver=EnergyPerceiver, decider=TurnEndDecider, responder=PromptEcho())
    async with running(pool) as server, client(server) as cook, client(server) as plain:
        await cook.send("session.update", session={"instructions": "You are a cook.", "output_modalities": ["text"]})
        await plain.send("session.update", session={"output_modalities": ["text"]})
        for peer in (cook, plain):
            await peer.until("session.updated")
            await peer.send("response.create")
        replies = [(await peer.until("response.done"))["response"]["output"][0]["content"][0]["text"]
                   for peer in (cook, plain)]
        assert replies == ["You are a cook.", "Default persona."]
        await cook.send("response.create", response={"instructions": "Just this once."})
        await cook.until("response.done", count=2)
        assert [d["delta"] for d in cook.of("response.output_text.delta")] == ["You are a cook.", "Just this once."]


async def test_an_api_key_is_required_as_a_bearer_token_or_subprotocol() -> None:
    async with running(mock_pool(), ServerConfig(api_key="s3cret")) as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(server.url, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 401
            assert b"Authorization: Bearer" in refused.value.response.body
        async with client(server, additional_headers={"Authorization": "Bearer s3cret"}) as peer:
            await peer.until("session.created")
        async with client(server, subprotocols=["realtime", "openai-insecure-api-key.s3cret"]) as browser:  # type: ignore[list-item]
            await browser.until("session.created")
            assert browser.ws.subprotocol == "realtime"
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{server.port}/stats")).status_code == 401
            stats = await http.get(f"http://127.0.0.1:{server.port}/stats", headers={"Authorization": "Bearer s3cret"})
        assert stats.json()["sessions_refused"] == 0
        assert stats.json()["max_sessions"] == 16


async def test_a_session_keeps_hearing_time_pass_while_the_client_is_quiet() -> None:
    config = ServerConfig(fill_after=0.3)
    async with running(mock_pool(), config) as server, client(server) as peer:
        await peer.stream(silence(0.2))
        await anyio.sleep(2.0)
        assert peer.of("audiointeract.decision")[-1]["audio_end_ms"] == 200  # client time stands still
        assert len(peer.of("audiointeract.decision")) >= 4
    await server.wait_ended(1)
    assert server.ended[0].audio.filled > 1.0
    stats = server.state.statistics()
    assert stats.audio_filled_seconds == server.ended[0].audio.filled
    decisions = server.ended[0].trace.of_type(Decision)
    assert all(d.action is Action.SILENT for d in decisions)
    assert isinstance(server.ended[0].trace.records[-1].event, SessionEnded)


class Broken(EnergyPerceiver):
    """Hears one chunk, then fails for good."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks = 0

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        self.chunks += 1
        if self.chunks > 1:
            raise BackendError("the microphone model is gone", retryable=False)
        return await super().perceive(chunk)


async def test_a_failing_session_closes_its_connection_with_1011() -> None:
    stop = FailurePolicy(max_retries=0, on_exhausted=FailureAction.STOP)
    pool = BackendPool(perceiver=Broken, decider=TurnEndDecider, responder=mock_pool().responder)
    async with running(pool, ServerConfig(session=SessionConfig(perceiver_failure=stop))) as server, \
            client(server) as peer:
        await peer.stream(silence(0.8))  # the second chunk fails
        with anyio.fail_after(10):
            await peer.ws.wait_closed()
        assert peer.ws.close_code == CloseCode.SESSION_FAILED
        assert peer.errors() == ["backend_error", "session_failed"]
        assert "the microphone model is gone" in peer.of("error")[-1]["error"]["message"]


def unbuildable() -> Decider:
    msg = "no such policy file"
    raise FileNotFoundError(msg)


async def test_backends_that_cannot_be_built_close_the_connection_with_1011() -> None:
    pool = BackendPool(perceiver=EnergyPerceiver, decider=unbuildable, responder=mock_pool().responder)
    async with running(pool) as server, client(server) as peer:
        await peer.send("session.update", session={"instructions": "hello"})
        with anyio.fail_after(10):
            await peer.ws.wait_closed()
        assert peer.ws.close_code == CloseCode.SESSION_FAILED
        assert peer.errors() == ["session_failed"]
        assert "FileNotFoundError: no such policy file" in peer.of("error")[0]["error"]["message"]
