"""One websocket connection: the client's events in, one session's events out.

Three tasks share a connection. The receive loop parses client events and acts on them
(settings, audio into the :class:`~audiointeract.realtime.source.PushSource`, the
client's controls); the session task runs the :class:`~audiointeract.Session` and turns
its events into server events; the send loop is the only writer to the socket. The
session starts with the client's first ``session.update``, audio or ``response.create``
(so that first ``session.update`` can set the standing tasks). Its clock starts then,
when the first of those arrives (not after the backends are built), so real-time pacing
never holds audio that is already due.

However the connection ends (the client leaves or idles out), the session is stopped with
that reason: what was heard is still decided, the reply in flight is cut short, and the
session ends with its ``SessionEnded`` (within the session's ``stop_grace``); its own
backends are closed. A session that fails on its own closes the connection with 1011.
"""

from __future__ import annotations

import json

import anyio
import anyio.abc
import attrs
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from audiointeract.clock import Clock, LoopClock
from audiointeract.realtime.backends import BackendPool, SessionBackends
from audiointeract.realtime.controls import ClientControls, ControlledDecider
from audiointeract.realtime.protocol import (
    AppendAudio,
    CancelResponse,
    ClearAudio,
    ClientCommand,
    CommitAudio,
    CreateResponse,
    ProtocolError,
    SessionSettings,
    UpdateSession,
    parse_client_event,
)
from audiointeract.realtime.server import CloseCode, ServerConfig, ServerState
from audiointeract.realtime.source import PushSource
from audiointeract.realtime.translator import Message, Translator
from audiointeract.recording import JsonlRecorder
from audiointeract.session import Session

__all__ = ["Connection"]

_OUTBOX = 256


@attrs.frozen
class _Close:
    code: int
    reason: str


class _Fatal(Exception):
    """Ends the receive loop: the connection closes with ``close``."""

    def __init__(self, close: _Close) -> None:
        super().__init__(close.reason)
        self.close = close


class Connection:
    """Serves one accepted websocket until it closes; see the module docstring."""

    def __init__(
        self, websocket: WebSocket, *, session_id: str, pool: BackendPool, config: ServerConfig, state: ServerState,
        clock: Clock | None = None,
    ) -> None:
        self.session_id = session_id
        self._ws = websocket
        self._pool = pool
        self._config = config
        self._state = state
        self._clock = clock or LoopClock()
        self.settings = SessionSettings(tasks=config.session.tasks,
                                        model=(websocket.query_params.get("model") or "audiointeract")[:200])
        self.controls = ClientControls()
        self.translator = Translator(session_id=session_id, settings=self.settings)
        self.source: PushSource | None = None
        self.session: Session | None = None
        self._outbox, self._outbox_out = anyio.create_memory_object_stream[Message | _Close](_OUTBOX)
        self._group: anyio.abc.TaskGroup | None = None
        self._receive_scope = anyio.CancelScope()
        self._session_done = anyio.Event()
        self._stopping = False
        self._failure: _Close | None = None
        self._appended = False
        self._apply_settings(self.settings)

    async def run(self) -> None:
        """Serve the connection until it ends; return once the session has wound down."""
        self.controls.activate()  # the shared responder's prompt reads this session's instructions
        async with anyio.create_task_group() as group:
            self._group = group
            group.start_soon(self._send_loop)
            async with self._outbox:
                await self._put(*self.translator.session_created())
                close, why = await self._receive_loop()
                await self._wind_down(why)
                close = close or self._failure
                if close is not None:
                    await self._outbox.send(close)

    # ------------------------------------------------------------------ client -> session

    async def _receive_loop(self) -> tuple[_Close | None, str]:
        """Serve client events until the connection ends; return the close to send and why it ended."""
        idle = self._config.idle_timeout
        with self._receive_scope:
            while True:
                try:
                    with self._clock.deadline_scope(idle):
                        message = await self._ws.receive()
                except TimeoutError:
                    await self._put(self.translator.server_error(
                        "idle_timeout", f"no event from the client for {idle:g} s; closing the connection"))
                    return _Close(CloseCode.IDLE_TIMEOUT, "idle timeout"), "idle timeout"
                if message["type"] == "websocket.disconnect":
                    return None, "client disconnected"
                data = message.get("text")
                try:
                    command = parse_client_event(data if data is not None else message.get("bytes") or b"")
                    await self._apply(command)
                except ProtocolError as exc:
                    await self._put(self.translator.error(exc))
                except _Fatal as fatal:
                    return fatal.close, fatal.close.reason
        return None, "session failed"  # cancelled by a failing session; run() closes with its code

    async def _apply(self, command: ClientCommand) -> None:
        if isinstance(command, UpdateSession):
            self._apply_settings(self.settings.updated(command.session, started=self.session is not None,
                                                       event_id=command.event_id))
            await self._put(*self.translator.session_updated())
            await self._started()
        elif isinstance(command, AppendAudio):
            source = await self._started()
            dropped = source.push(command.samples, self.settings.input_rate)
            self._appended = True
            if dropped:
                total = source.statistics().dropped
                raise ProtocolError(
                    f"audio arrives faster than real time: dropped the oldest {dropped:.2f} s waiting "
                    f"({total:.2f} s so far); at most {self._config.max_buffered_seconds:g} s may wait to be heard, "
                    "so send audio at real-time pace", code="input_audio_buffer_overflow", event_id=command.event_id)
        elif isinstance(command, CommitAudio):
            if not self._appended:
                raise ProtocolError("no audio was appended since the last commit", event_id=command.event_id,
                                    code="input_audio_buffer_commit_empty")
            source = await self._started()
            chunk = self._config.session.audio.chunk_seconds
            await self._put(*self.translator.committed(source.pad_to(chunk, extra=chunk)))
            self._appended = False
        elif isinstance(command, ClearAudio):
            if self.source is not None:
                self.source.clear()
            self._appended = False
            await self._put(*self.translator.cleared())
        elif isinstance(command, CreateResponse):
            if self.translator.response_active or self.controls.create_requested:
                raise ProtocolError("a response is already in progress; cancel it or wait for response.done",
                                    code="conversation_already_has_active_response", event_id=command.event_id)
            await self._started()
            self.controls.request_response(command.instructions)
        else:
            assert isinstance(command, CancelResponse)
            active = self.translator.response_id
            if active is None and not self.controls.create_requested:
                raise ProtocolError("there is no response to cancel", code="response_cancel_not_active",
                                    event_id=command.event_id)
            if command.response_id is not None and active is not None and command.response_id != active:
                raise ProtocolError(f"response {command.response_id!r} is not the one in progress ({active!r})",
                                    code="invalid_value", param="response_id", event_id=command.event_id)
            self.controls.request_cancel()

    def _apply_settings(self, settings: SessionSettings) -> None:
        self.settings = settings
        self.translator.settings = settings
        detection = settings.turn_detection
        self.controls.create_response = detection is not None and detection.create_response
        self.controls.interrupt_response = detection is not None and detection.interrupt_response
        self.controls.instructions = settings.instructions

    async def _started(self) -> PushSource:
        """The session's source, starting the session on first use."""
        if self.source is not None:
            return self.source
        heard_from = self._clock.now()  # stream time starts now, not after the backends are built
        try:
            backends = await anyio.to_thread.run_sync(self._pool.build)
        except Exception as exc:
            await self._put(self.translator.server_error("session_failed", f"cannot build the session's backends: "
                                                         f"{type(exc).__name__}: {exc}"))
            raise _Fatal(_Close(CloseCode.SESSION_FAILED, "session failed to start")) from exc
        source = PushSource(max_buffered=self._config.max_buffered_seconds, fill_after=self._config.fill_after,
                            clock=self._clock)
        config = attrs.evolve(self._config.session, tasks=self.settings.tasks)
        trace_dir = self._config.trace_dir
        self.session = Session(backends.perceiver, ControlledDecider(backends.decider, self.controls),
                               backends.responder, config=config, clock=self._clock,
                               recorder=JsonlRecorder(trace_dir / f"{self.session_id}.jsonl") if trace_dir else None,
                               meta={"transport": "realtime", "session_id": self.session_id})
        self.source = source
        self.translator.timeline = source.timeline
        self._state.session_started(self.session_id, self.session, source)
        assert self._group is not None
        self._group.start_soon(self._run_session, self.session, source, backends, heard_from)
        return source

    # ------------------------------------------------------------------ session -> client

    async def _run_session(
        self, session: Session, source: PushSource, backends: SessionBackends, heard_from: float
    ) -> None:
        failed = False
        try:
            async with session.start(source, heard_from=heard_from) as events:
                seen_drops = 0
                async for event in events:
                    await self._put(*self.translator.on_event(event))
                    if events.dropped > seen_drops:
                        await self._put(self.translator.server_error(
                            "events_dropped", f"{events.dropped - seen_drops} session event(s) were dropped: "
                            "the connection reads too slowly"))
                        seen_drops = events.dropped
            failed = session.ended is not None and not session.ended.normal and not self._stopping
        except Exception as exc:  # noqa: BLE001 - a backend check failing before audio: the client is told
            await self._put(self.translator.server_error("session_failed", f"{type(exc).__name__}: {exc}"))
            failed = True
        finally:
            with anyio.CancelScope(shield=True):
                await backends.aclose()
            self._state.session_ended(self.session_id, session, source)
            self._session_done.set()
        if failed:
            self._failure = _Close(CloseCode.SESSION_FAILED, "session failed")
            self._receive_scope.cancel()

    async def _wind_down(self, why: str) -> None:
        """Stop the session (if it runs) because of ``why``, and wait until it has ended."""
        if self.session is None:
            return
        self._stopping = True
        self.session.stop(why)
        await self._session_done.wait()

    # ------------------------------------------------------------------ the socket

    async def _put(self, *messages: Message) -> None:
        for message in messages:
            await self._outbox.send(message)

    async def _send_loop(self) -> None:
        connected = True
        async with self._outbox_out:
            async for item in self._outbox_out:
                if not connected:
                    continue  # drain, so the session never waits on a socket that is gone
                try:
                    if isinstance(item, _Close):
                        await self._ws.close(item.code, item.reason)
                        connected = False
                    else:
                        await self._ws.send_text(json.dumps(item))
                except (WebSocketDisconnect, WebSocketDisconnected, OSError):
                    connected = False

