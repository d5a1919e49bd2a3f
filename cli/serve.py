"""``audiointeract serve``: a realtime websocket server speaking the OpenAI Realtime API."""

from __future__ import annotations

import importlib.util
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import click

from audiointeract.cli._errors import UsageError, one_line_errors
from audiointeract.cli._options import parse_backend_options, parse_tasks
from audiointeract.cli.malloc import tune_malloc

__all__ = ["serve"]

_SERVE_MODULES = ("starlette", "uvicorn", "websockets")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --api-key.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="TCP port.")
@click.option("--perceiver", default="default", show_default=True, help="Perceiver by registry name.")
@click.option("--decider", default="default", show_default=True, help="Decider by registry name.")
@click.option("--responder", default="default", show_default=True, help="Responder by registry name.")
@click.option("--option", "-o", "options", multiple=True, metavar="KIND.KEY=VALUE",
              help="Backend option, e.g. -o responder.reply='Hello'. Values parse as JSON when they can.")
@click.option("--task", "tasks", multiple=True, metavar="NAME:INSTRUCTION",
              help="Default standing task (repeatable; clients may set their own); prefix NAME with '!' "
                   "for a proactive one.")
@click.option("--voice", default=None, metavar="NAME",
              help="Speak a text-only responder's replies with this synthesizer (espeak-ng, piper).")
@click.option("--chunk-seconds", type=float, default=0.4, show_default=True, help="Chunk duration (0.1-2 s).")
@click.option("--api-key", envvar="AUDIOINTERACT_API_KEY", default=None, show_envvar=True,
              help="Require this bearer token on every connection.")
@click.option("--max-sessions", type=click.IntRange(min=1), default=16, show_default=True,
              help="Concurrent sessions; more are refused with close code 1013.")
@click.option("--idle-timeout", type=float, default=60.0, show_default=True,
              help="Close a connection after this many seconds without a client event (close code 4408).")
@click.option("--max-message-bytes", type=click.IntRange(min=1024), default=1 << 20, show_default=True,
              help="Largest client message; a bigger one closes the connection (close code 1009).")
@click.option("--max-buffered-seconds", type=float, default=10.0, show_default=True,
              help="Audio that may wait to be heard; audio sent faster than real time beyond it is dropped.")
@click.option("--trace-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Stream each session's trace to DIR/<session id>.jsonl as it happens.")
@click.option("--echo/--no-echo", default=False, show_default=True,
              help="Remove the agent's voice from each client's audio on the server (clients that play the reply "
                   "usually cancel their own echo, as browsers do).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="warning", show_default=True, help="uvicorn's log level.")
def serve(
    host: str,
    port: int,
    perceiver: str,
    decider: str,
    responder: str,
    options: tuple[str, ...],
    tasks: tuple[str, ...],
    voice: str | None,
    chunk_seconds: float,
    api_key: str | None,
    max_sessions: int,
    idle_timeout: float,
    max_message_bytes: int,
    max_buffered_seconds: float,
    trace_dir: Path | None,
    echo: bool,
    log_level: str,
) -> None:
    """Serve the OpenAI Realtime API at ws://HOST:PORT/v1/realtime, one session per connection."""
    tune_malloc()
    missing = [name for name in _SERVE_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise click.ClickException(f"audiointeract serve needs {', '.join(missing)}; "
                                   "install them with: pip install 'audiointeract[serve]'")
    from audiointeract.realtime.app import is_loopback

    if api_key is None and not is_loopback(host):
        raise UsageError(f"refusing to listen on {host} without an API key: set --api-key or "
                         "$AUDIOINTERACT_API_KEY, or listen on 127.0.0.1")
    _can_listen(host, port)

    import anyio

    from audiointeract import AudioFormat, SessionConfig
    from audiointeract.config import DEFAULT_TASKS
    from audiointeract.echo import EchoConfig
    from audiointeract.realtime.app import REALTIME_PATH, create_app, uvicorn_server
    from audiointeract.realtime.backends import BackendPool
    from audiointeract.realtime.server import ServerConfig, SessionSummary

    def summary(ended: SessionSummary) -> None:
        stats = ended.statistics
        reason = ended.ended.reason if ended.ended else "no end event"
        click.echo(f"{ended.session_id} ended ({reason}): heard {stats.heard_until:.1f} s, "
                   f"{stats.replies_started} replies ({stats.replies_cancelled} cancelled), max perceiver lag "
                   f"{stats.max_perceiver_lag:.2f} s, input dropped {ended.audio.dropped:.2f} s")

    with one_line_errors():
        config = ServerConfig(
            session=SessionConfig(audio=AudioFormat(chunk_seconds=chunk_seconds),
                                  tasks=parse_tasks(tasks) or DEFAULT_TASKS, echo=EchoConfig() if echo else None),
            api_key=api_key, max_sessions=max_sessions, idle_timeout=idle_timeout,
            max_message_bytes=max_message_bytes, max_buffered_seconds=max_buffered_seconds,
            trace_dir=trace_dir, on_session_end=summary,
        )
        if trace_dir is not None:
            trace_dir.mkdir(parents=True, exist_ok=True)
        click.echo(f"loading backends (perceiver {perceiver}, decider {decider}, responder {responder})...",
                   err=True)
        backend_options: dict[str, Any] = parse_backend_options(options)
        pool = BackendPool.from_registry(perceiver=perceiver, decider=decider, responder=responder,
                                         options=backend_options, voice=voice)
        anyio.run(pool.check)

    access = ("API key required (Authorization: Bearer)" if api_key is not None
              else "no API key: loopback connections only")
    click.echo(f"audiointeract serve: ws://{host}:{port}{REALTIME_PATH} (talk to it at http://{host}:{port}/)"
               " — loaded once: "
               f"{', '.join(pool.shared) or 'nothing'}; at most {max_sessions} sessions; {access}")
    sys.stdout.flush()
    from audiointeract.realtime.page import page_routes

    app = create_app(pool, config, routes=page_routes())
    server = uvicorn_server(app, config, host=host, port=port, log_level=log_level)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal: end quietly with status 0
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        anyio.run(pool.aclose)


def _exit_quietly(signum: int, frame: object) -> None:  # noqa: ARG001 - the signal handler signature
    raise SystemExit(0)


def _can_listen(host: str, port: int) -> None:
    """Say now, before the backends load, if HOST:PORT cannot be listened on (unknown host, port in use)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise click.ClickException(f"cannot listen on {host}:{port}: {reason}") from exc
