"""Hostile clients: each gets an ``error`` event or a close code, and never touches another session.

Every case runs next to a bystander that streams a real question and must get its reply
with no error; afterwards every session that started has ended with its SessionEnded,
and no worker thread, espeak-ng process or task is left behind.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import anyio
import attrs
import pytest
from leaks import child_processes, worker_threads
from realtime.server_kit import (
    QUESTION,
    Client,
    Running,
    b64,
    client,
    mock_pool,
    needs_recordings,
    recording,
    running,
)
from websockets.asyncio.client import connect

from audiointeract.clock import LoopClock
from audiointeract.events import ReplyCancelled, SessionEnded
from audiointeract.realtime.server import CloseCode, ServerConfig

pytestmark = pytest.mark.anyio

CONFIG = ServerConfig(max_sessions=2, idle_timeout=2.0, max_message_bytes=64 * 1024, max_buffered_seconds=1.0)


@pytest.fixture
def anyio_backend() -> str:
    """Real time: these tests talk to a real server over real sockets."""
    return "asyncio"


@attrs.frozen
class Outcome:
    errors: list[str]
    close_code: int | None
    sessions: int
    """Sessions the hostile client started (each must end with a SessionEnded)."""


async def send_then_recover(server: Running, message: str | bytes) -> Outcome:
    """Send one bad message, then prove the connection still works."""
    async with client(server) as peer:
        await peer.send_raw(message)
        await peer.until("error")
        await peer.send("session.update", session={"instructions": "still here"})
        updated = await peer.until("session.updated")
        assert updated["session"]["instructions"] == "still here"
    return Outcome(errors=peer.errors(), close_code=None, sessions=1)  # session.update started a session


async def oversized_frame(server: Running) -> Outcome:
    async with client(server) as peer:
        await peer.send("input_audio_buffer.append", audio="A" * (CONFIG.max_message_bytes + 4))
        with anyio.fail_after(5):
            await peer.ws.wait_closed()
    return Outcome(errors=peer.errors(), close_code=peer.ws.close_code, sessions=0)


async def faster_than_real_time(server: Running) -> Outcome:
    audio = recording(QUESTION, after=1.0)
    async with client(server) as peer:
        for offset in range(0, audio.size, 12000):  # 0.5 s per append, all at once
            await peer.send("input_audio_buffer.append", event_id=f"a{offset}", audio=b64(audio[offset : offset + 12000]))
        await peer.until("error")
        await LoopClock().sleep(0.5)
    return Outcome(errors=sorted(set(peer.errors())), close_code=None, sessions=1)


async def disconnect_mid_reply(server: Running) -> Outcome:
    question = recording(QUESTION, before=0.2, after=0.8)
    async with connect(server.url) as ws:
        peer = Client(ws)
        async with anyio.create_task_group() as group:
            group.start_soon(peer.receive_all)
            await peer.stream(question)
            await peer.until("response.output_audio.delta")
            ws.transport.abort()  # gone without a close frame, mid-reply
    return Outcome(errors=peer.errors(), close_code=None, sessions=1)


async def too_many_sessions(server: Running) -> Outcome:
    async with client(server) as holder:
        await holder.until("session.created")
        async with client(server) as refused:
            with anyio.fail_after(5):
                await refused.ws.wait_closed()
    assert refused.ws.close_reason == "server full"
    return Outcome(errors=refused.errors(), close_code=refused.ws.close_code, sessions=0)


async def idle(server: Running) -> Outcome:
    async with client(server) as peer:
        with anyio.fail_after(CONFIG.idle_timeout + 3):
            await peer.ws.wait_closed()
    return Outcome(errors=peer.errors(), close_code=peer.ws.close_code, sessions=0)


def one_message(message: str | bytes) -> Callable[[Running], Awaitable[Outcome]]:
    return lambda server: send_then_recover(server, message)


CASES: dict[str, tuple[Callable[[Running], Awaitable[Outcome]], list[str], int | None]] = {
    "malformed JSON": (one_message('{"type": "session.update", '), ["invalid_json"], None),
    "unknown event type": (one_message(json.dumps({"type": "input_audio_buffer.explode"})), ["unknown_event"], None),
    "unsupported event": (one_message(json.dumps({"type": "conversation.item.create", "item": {}})),
                          ["unsupported_event"], None),
    "bad base64": (one_message(json.dumps({"type": "input_audio_buffer.append", "audio": "%%%"})), ["invalid_audio"],
                   None),
    "odd PCM bytes": (one_message(json.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"})),
                      ["invalid_audio"], None),
    "binary frame": (one_message(b"\x00\x01\x02"), ["binary_not_supported"], None),
    "oversized frame": (oversized_frame, [], CloseCode.MESSAGE_TOO_BIG),
    "audio faster than real time": (faster_than_real_time, ["input_audio_buffer_overflow"], None),
    "disconnect mid-reply": (disconnect_mid_reply, [], None),
    "too many sessions": (too_many_sessions, ["too_many_sessions"], CloseCode.TRY_AGAIN_LATER),
    "idle": (idle, ["idle_timeout"], CloseCode.IDLE_TIMEOUT),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_hostile_client(case: str) -> None:
    needs_recordings()
    behave, expected_errors, expected_close = CASES[case]
    question = recording(QUESTION, before=0.2, after=1.5)
    tasks_before = len(asyncio.all_tasks())
    async with running(mock_pool("The inbox."), CONFIG) as server:
        async with client(server) as bystander, anyio.create_task_group() as group:
            group.start_soon(bystander.stream, question)
            outcome = await behave(server)
            done = await bystander.until("response.done", timeout=30)
        assert outcome.errors == expected_errors
        assert outcome.close_code == expected_close
        # the bystander never noticed
        assert bystander.errors() == []
        assert done["response"]["status"] == "completed"
        assert bystander.closed is None
        await server.wait_ended(1 + outcome.sessions)
        for ended in server.ended:
            assert isinstance(ended.trace.records[-1].event, SessionEnded), ended.session_id
        await server.wait_closed()
        if case == "disconnect mid-reply":
            hostile = next(e for e in server.ended if e.statistics.replies_cancelled)
            assert hostile.trace.of_type(ReplyCancelled)  # the reply in flight was cut short
            assert hostile.ended is not None
            assert hostile.ended.reason == "stopped: client disconnected"
        if case == "audio faster than real time":
            hostile = next(e for e in server.ended if e.audio.dropped)
            assert hostile.audio.dropped == pytest.approx(hostile.audio.received - 1.0 - 0.5, abs=0.6)
            assert server.state.statistics().audio_dropped_seconds == hostile.audio.dropped
    assert worker_threads() == []
    assert child_processes("espeak-ng") == []
    assert len(asyncio.all_tasks()) == tasks_before
    assert server.state.statistics().sessions_refused == int(case == "too many sessions")
