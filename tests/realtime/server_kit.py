"""A real server on loopback for the tests, real recordings as PCM16, and a plain websocket client.

The server is uvicorn in the test's own event loop on a free port (real time, real sockets).
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import attrs
import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from audiointeract.audio import resample
from audiointeract.backends.mock import EnergyPerceiver, ScriptedResponder, TurnEndDecider
from audiointeract.backends.speech import EspeakSynthesizer, SpeechResponder
from audiointeract.clock import LoopClock
from audiointeract.realtime.app import create_app, uvicorn_server
from audiointeract.realtime.backends import BackendPool
from audiointeract.realtime.server import ServerConfig, ServerState, SessionSummary
from audiointeract.simulators.clips import default_bank

QUESTION = "asterisk:vm-savefolder"  # "Which folder should I save the message to?"
READING = "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0870"  # 7 s of read speech
REPLY = "Your message goes to the inbox folder, which is the first one on the list."
RATE = 24000


def needs_recordings() -> None:
    bank = default_bank()
    if not (bank.available("asterisk") and bank.available("pocketsphinx")):
        pytest.skip("needs the asterisk-core-sounds-en-wav and pocketsphinx-testdata Debian packages")


def recording(clip: str, *, rate: int = RATE, before: float = 0.0, after: float = 0.0) -> np.ndarray:
    """A real recording as int16 PCM at ``rate``, with silence around it."""
    samples, source_rate = default_bank().load(clip)
    audio = resample(samples, source_rate, rate)
    audio = np.concatenate([np.zeros(round(before * rate), np.float32), audio,
                            np.zeros(round(after * rate), np.float32)])
    return np.asarray(np.round(np.clip(audio, -1, 1) * 32767), dtype="<i2")


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(round(seconds * rate), dtype="<i2")


def b64(pcm: np.ndarray) -> str:
    return base64.b64encode(pcm.astype("<i2").tobytes()).decode()


def mock_pool(reply: str = REPLY) -> BackendPool:
    """Energy VAD, turn-end decisions, a scripted reply spoken by espeak-ng: real audio, no model weights."""
    return BackendPool(perceiver=EnergyPerceiver, decider=TurnEndDecider,
                       responder=SpeechResponder(ScriptedResponder(reply), EspeakSynthesizer()))


@attrs.frozen
class Running:
    port: int
    state: ServerState
    ended: list[SessionSummary]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def wait_ended(self, count: int, timeout: float = 20.0) -> None:  # noqa: ASYNC109 - a test helper
        """Wait until ``count`` sessions have ended."""
        with anyio.fail_after(timeout):
            while len(self.ended) < count:
                await LoopClock().sleep(0.02)

    async def wait_closed(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109 - a test helper
        """Wait until every connection has been served to its end."""
        with anyio.fail_after(timeout):
            while self.state.statistics().active_sessions:
                await LoopClock().sleep(0.02)


@contextlib.asynccontextmanager
async def running(pool: BackendPool, config: ServerConfig | None = None) -> AsyncIterator[Running]:
    ended: list[SessionSummary] = []
    config = attrs.evolve(config or ServerConfig(), on_session_end=ended.append)
    app = create_app(pool, config)
    server = uvicorn_server(app, config, host="127.0.0.1", port=0, log_level="critical")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        async with anyio.create_task_group() as group:
            group.start_soon(server._serve, [sock])  # _serve: without serve()'s process signal handlers
            while not server.started:
                await LoopClock().sleep(0.005)
            try:
                yield Running(port=sock.getsockname()[1], state=app.state.realtime, ended=ended)
            finally:
                server.should_exit = True


class Client:
    """A plain websocket client that keeps every server event it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.closed: ConnectionClosed | None = None

    async def send(self, kind: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": kind, **fields}))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def stream(self, pcm: np.ndarray, *, rate: int = RATE, frame: float = 0.1, realtime: bool = True) -> None:
        """Append ``pcm`` in ``frame``-second pieces, at real-time pace unless told otherwise."""
        clock = LoopClock()
        step = round(frame * rate)
        start = clock.now()
        for number, offset in enumerate(range(0, pcm.size, step)):
            if realtime:
                await clock.sleep_until(start + number * frame)
            await self.send("input_audio_buffer.append", audio=b64(pcm[offset : offset + step]))

    async def receive_all(self) -> None:
        """Collect events until the server closes the connection."""
        try:
            async for message in self.ws:
                self.events.append(json.loads(message))
        except ConnectionClosed as closed:
            self.closed = closed
        else:
            self.closed = None

    async def until(self, kind: str, *, count: int = 1, timeout: float = 20.0) -> dict[str, Any]:  # noqa: ASYNC109
        """Wait until ``count`` events of ``kind`` arrived (the receive loop must be running); return the last."""
        with anyio.fail_after(timeout):
            while len(self.of(kind)) < count:
                await LoopClock().sleep(0.01)
        return self.of(kind)[-1]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] == kind]

    def errors(self) -> list[str]:
        return [event["error"]["code"] for event in self.of("error")]


@contextlib.asynccontextmanager
async def client(server: Running, **options: Any) -> AsyncIterator[Client]:
    """A connected :class:`Client` whose events are collected in the background."""
    async with connect(server.url, **options) as ws:
        peer = Client(ws)
        async with anyio.create_task_group() as group:
            group.start_soon(peer.receive_all)
            yield peer
            group.cancel_scope.cancel()
