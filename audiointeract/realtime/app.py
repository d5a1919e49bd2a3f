"""The realtime server as an ASGI app (Starlette), and the uvicorn server that runs it.

Routes: the Realtime websocket at ``/v1/realtime`` (where the official ``openai`` client
looks for it: ``base_url`` + ``/realtime``) and ``GET /stats`` (the server's counters as
JSON). Apps add their own routes (a static page at ``/``) through ``routes``.

With an API key, a connection presents it as ``Authorization: Bearer KEY``, or, from a
browser (which cannot set headers on a websocket), as the subprotocol
``openai-insecure-api-key.KEY`` next to ``realtime``; anything else is refused with
HTTP 401 before the websocket opens.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Sequence
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from audiointeract.realtime.backends import BackendPool
from audiointeract.realtime.connection import Connection
from audiointeract.realtime.server import CloseCode, ServerConfig, ServerState

__all__ = ["API_KEY_ENV", "REALTIME_PATH", "create_app", "is_loopback", "uvicorn_server"]

REALTIME_PATH = "/v1/realtime"
API_KEY_ENV = "AUDIOINTERACT_API_KEY"
_KEY_PROTOCOL = "openai-insecure-api-key."


def create_app(pool: BackendPool, config: ServerConfig | None = None, *, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The server app: one session per websocket connection, built from ``pool``.

    ``app.state.realtime`` is the :class:`~audiointeract.realtime.server.ServerState`.
    """
    config = config or ServerConfig()
    state = ServerState(config)

    async def realtime(websocket: WebSocket) -> None:
        if not _authorised(websocket, config.api_key):
            await websocket.send_denial_response(_unauthorised())
            return
        subprotocol = _subprotocol(websocket)
        session_id = state.admit()
        await websocket.accept(subprotocol)
        if session_id is None:
            message = (f"the server is running its maximum of {config.max_sessions} sessions; "
                       "try again later")
            await websocket.send_text(json.dumps({"type": "error", "event_id": "event_0", "error": {
                "type": "server_error", "code": "too_many_sessions", "message": message, "param": None,
                "event_id": None}}))
            await websocket.close(CloseCode.TRY_AGAIN_LATER, "server full")
            return
        try:
            await Connection(websocket, session_id=session_id, pool=pool, config=config, state=state).run()
        finally:
            state.release(session_id)

    async def stats(request: Request) -> Response:
        if not _authorised(request, config.api_key):
            return _unauthorised()
        return JSONResponse(attrs.asdict(state.statistics()))

    app = Starlette(routes=[WebSocketRoute(REALTIME_PATH, realtime), Route("/stats", stats), *routes])
    app.state.realtime = state
    return app


def uvicorn_server(app: Starlette, config: ServerConfig, *, host: str, port: int, log_level: str = "info") -> Any:
    """A ``uvicorn.Server`` for ``app`` with the websocket limits of ``config``.

    A frame over ``max_message_bytes`` closes its connection with 1009.
    """
    import uvicorn  # noqa: PLC0415 - the serve extra

    return uvicorn.Server(uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_level=log_level, ws="websockets-sansio",
        ws_max_size=config.max_message_bytes, ws_per_message_deflate=False, timeout_graceful_shutdown=5,
    ))


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _presented_key(connection: HTTPConnection) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    for protocol in connection.scope.get("subprotocols", []):
        if protocol.startswith(_KEY_PROTOCOL):
            return str(protocol[len(_KEY_PROTOCOL) :])
    return None


def _authorised(connection: HTTPConnection, api_key: str | None) -> bool:
    if api_key is None:
        return True
    presented = _presented_key(connection)
    return presented is not None and hmac.compare_digest(presented.encode(), api_key.encode())


def _subprotocol(websocket: WebSocket) -> str | None:
    """A browser offering subprotocols needs one chosen: ``realtime`` if offered (never the key)."""
    offered = [p for p in websocket.scope.get("subprotocols", []) if not p.startswith(_KEY_PROTOCOL)]
    if "realtime" in offered:
        return "realtime"
    return offered[0] if offered else None


def _unauthorised() -> JSONResponse:
    return JSONResponse(
        {"error": {"type": "invalid_request_error", "code": "invalid_api_key",
                   "message": "missing or wrong API key: send the header 'Authorization: Bearer <key>'"}},
        status_code=401, headers={"WWW-Authenticate": "Bearer"},
    )
