"""A realtime websocket server speaking a subset of the OpenAI Realtime API, one session per connection.

The protocol parts are sans-IO and tested without a network: :mod:`.protocol` (client
events in), :mod:`.translator` (session events out), :mod:`.source` (the bounded,
push-fed audio source), :mod:`.controls` (what the client steers). :mod:`.connection` and
:mod:`.app` are the thin Starlette/uvicorn layer (``pip install 'audiointeract[serve]'``).
"""

from __future__ import annotations

from audiointeract._lazy import lazy_exports

__all__ = [
    "BackendPool",
    "CloseCode",
    "PushSource",
    "ServerConfig",
    "ServerStatistics",
    "SessionSettings",
    "SessionSummary",
    "Translator",
    "create_app",
    "uvicorn_server",
]

# public name -> module that defines it; imported on first access (the app needs the serve extra)
_LAZY = {
    "BackendPool": "audiointeract.realtime.backends",
    "CloseCode": "audiointeract.realtime.server",
    "PushSource": "audiointeract.realtime.source",
    "ServerConfig": "audiointeract.realtime.server",
    "ServerStatistics": "audiointeract.realtime.server",
    "SessionSettings": "audiointeract.realtime.protocol",
    "SessionSummary": "audiointeract.realtime.server",
    "Translator": "audiointeract.realtime.translator",
    "create_app": "audiointeract.realtime.app",
    "uvicorn_server": "audiointeract.realtime.app",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
