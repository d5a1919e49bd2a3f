"""The browser page ``audiointeract serve`` shows at ``/``: talk to a session from any browser.

Plain HTML and JavaScript shipped in the package (``audiointeract/realtime/web``), no
build step: the page captures the microphone with an AudioWorklet, streams 24 kHz PCM16
to the server's ``/v1/realtime`` websocket, plays the reply audio, stops it the moment
the user talks over it, and draws the transcript, sound events, decisions with their
reasons, and replies as they come.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["page_routes"]


def page_routes() -> list[BaseRoute]:
    """``/`` (the page) and ``/web/...`` (its script and audio worklet), for ``create_app(routes=...)``."""
    html = resources.files("audiointeract.realtime").joinpath("web", "index.html").read_text(encoding="utf-8")

    async def index(_request: Request) -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    return [
        Route("/", index),
        Mount("/web", StaticFiles(packages=[("audiointeract.realtime", "web")]), name="web"),
    ]
