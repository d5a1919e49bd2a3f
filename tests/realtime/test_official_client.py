"""A client no one here wrote: the official ``openai`` package's realtime client against the loopback server.

It streams a real recorded question ("Which folder should I save the message to?") at
real-time pace, then barges in with real read speech while the reply plays. The fast
test runs mock backends (energy VAD, turn-end decisions, a scripted reply spoken by
espeak-ng); the slow one runs the embedded default stack (silero VAD + streaming
faster-whisper + YAMNet, the default policy, SmolLM2 spoken by espeak-ng) and also
checks the transcript.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import anyio
import numpy as np
import pytest
from openai import AsyncOpenAI
from openai.types.realtime import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
    InputAudioBufferSpeechStartedEvent,
    ResponseAudioDeltaEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    SessionUpdatedEvent,
)
from realtime.server_kit import QUESTION, RATE, READING, Running, mock_pool, needs_recordings, recording, running

from audiointeract.clock import LoopClock
from audiointeract.events import ReplyCancelled
from audiointeract.realtime.backends import BackendPool
from audiointeract.realtime.server import ServerConfig

pytestmark = pytest.mark.anyio

API_KEY = "test-key"


@pytest.fixture
def anyio_backend() -> str:
    """Real time: a real server and the official client over real sockets."""
    return "asyncio"


def frames(pcm: np.ndarray, frame: float = 0.1) -> Iterator[str]:
    step = round(frame * RATE)
    for offset in range(0, pcm.size, step):
        yield base64.b64encode(pcm[offset : offset + step].tobytes()).decode()


async def converse(server: Running, *, instructions: str | None = None, settle: float = 8.0) -> list[Any]:
    """Ask the recorded question; barge in with read speech at the first reply audio; return every event."""
    question = recording(QUESTION, before=0.5, after=settle)
    reading = recording(READING)
    client = AsyncOpenAI(base_url=server.base_url, api_key=API_KEY)
    events: list[Any] = []
    clock = LoopClock()
    async with client.realtime.connect(model="audiointeract-default") as connection:
        session: dict[str, Any] = {"type": "realtime", "output_modalities": ["audio"], "audio": {
            "input": {"format": {"type": "audio/pcm", "rate": RATE}, "turn_detection": {"type": "server_vad"}},
            "output": {"format": {"type": "audio/pcm", "rate": RATE}}}}
        if instructions:
            session["instructions"] = instructions
        await connection.session.update(session=session)  # type: ignore[arg-type]
        reply_audio = anyio.Event()

        async def speak() -> None:
            start = clock.now()
            pieces = frames(question)
            for number, piece in enumerate(pieces):  # the question, then silence until the reply plays
                await clock.sleep_until(start + number * 0.1)
                await connection.input_audio_buffer.append(audio=piece)
                if reply_audio.is_set():
                    break
            start = clock.now()
            for number, piece in enumerate(frames(reading)):  # barge in
                await clock.sleep_until(start + number * 0.1)
                await connection.input_audio_buffer.append(audio=piece)

        async with anyio.create_task_group() as group:
            group.start_soon(speak)
            with anyio.fail_after(120):
                async for event in connection:
                    events.append(event)
                    if isinstance(event, ResponseAudioDeltaEvent):
                        reply_audio.set()
                    if isinstance(event, ResponseDoneEvent):
                        break
            group.cancel_scope.cancel()
    return events


def check_conversation(events: list[Any]) -> ResponseDoneEvent:
    """The protocol a client sees: settings applied, the turn heard, a spoken reply, cancelled by the barge-in."""
    assert events[0].type == "session.created"
    assert events[0].session.model == "audiointeract-default"  # the client's ?model=, echoed
    updated = next(e for e in events if isinstance(e, SessionUpdatedEvent))
    assert updated.session.audio.input.format.rate == RATE  # type: ignore[union-attr]
    starts = [i for i, e in enumerate(events) if isinstance(e, InputAudioBufferSpeechStartedEvent)]
    created = next(i for i, e in enumerate(events) if isinstance(e, ResponseCreatedEvent))
    assert starts[0] < created, "the question was heard before the reply"
    audio = [e for e in events if isinstance(e, ResponseAudioDeltaEvent)]
    assert audio, "the reply has audio"
    pcm = np.concatenate([np.frombuffer(base64.b64decode(e.delta), dtype="<i2") for e in audio])
    assert np.abs(pcm).max() > 2000
    barge_in = [i for i in starts if i > created]
    assert barge_in, "the barge-in was heard while the reply played"
    done = events[-1]
    assert isinstance(done, ResponseDoneEvent)
    assert done.response.status == "cancelled"
    assert done.response.status_details is not None
    assert done.response.status_details.reason == "turn_detected"
    transcript = done.response.output[0].content[0].transcript  # type: ignore[union-attr]
    assert transcript
    assert "".join(e.delta for e in events if e.type == "response.output_audio_transcript.delta") == transcript
    return done


async def test_the_official_client_with_mock_backends() -> None:
    needs_recordings()
    async with running(mock_pool(), ServerConfig(api_key=API_KEY)) as server:
        events = await converse(server)
        await server.wait_ended(1)
    check_conversation(events)
    decisions = [e for e in events if e.type == "audiointeract.decision"]
    assert [d.action for d in decisions if d.action != "silent"] == ["respond", "interrupt"]  # type: ignore[attr-defined]
    assert server.ended[0].trace.of_type(ReplyCancelled)[0].reason == "barge-in"


@pytest.mark.slow
async def test_the_official_client_with_the_embedded_default_stack() -> None:
    needs_recordings()
    pool = await anyio.to_thread.run_sync(
        lambda: BackendPool.from_registry(responder="default", options={"responder": {"voice": "espeak-ng"}}))
    try:
        async with running(pool, ServerConfig(api_key=API_KEY)) as server:
            events = await converse(server, instructions="You are a voice mail assistant. Answer in two sentences.")
            await server.wait_ended(1)
    finally:
        await pool.aclose()
    check_conversation(events)
    completed = [e for e in events if isinstance(e, ConversationItemInputAudioTranscriptionCompletedEvent)]
    assert completed
    heard = completed[0].transcript.lower()
    assert "which folder" in heard, heard  # tiny.en hears "Which folder should I say this message too?"
    assert "message" in heard, heard
