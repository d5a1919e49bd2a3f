"""``audiointeract run``: a live session on a file or raw PCM from stdin.

Output paths are opened before the session starts; the trace is streamed as events
happen and the reply WAV is written as it plays, so every ending keeps what was heard.
SIGINT and SIGTERM stop the session gracefully (a second one cuts it short at once).
Exit codes: 0 the input ended (or the session was stopped as asked), 1 the session
failed, 2 a usage error, 128+N stopped by signal N. ``--trace -`` streams the trace to
standard output (the timeline then goes to standard error).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from audiointeract.cli._errors import UsageError, is_stdout, one_line_errors
from audiointeract.cli._options import parse_backend_options, parse_tasks
from audiointeract.cli.malloc import tune_malloc
from audiointeract.options import one_line

if TYPE_CHECKING:
    from audiointeract.session import Session

__all__ = ["run"]

T = TypeVar("T")

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@click.command()
@click.argument("source", required=False)
@click.option("--mic", is_flag=True, help="Listen to the microphone instead of SOURCE (needs audiointeract[audio-io]).")
@click.option("--device", metavar="NAME_OR_INDEX", help="Microphone to use with --mic (see `audiointeract devices`).")
@click.option("--perceiver", default="default", show_default=True, help="Perceiver by registry name.")
@click.option("--decider", default="default", show_default=True, help="Decider by registry name.")
@click.option("--responder", default="default", show_default=True, help="Responder by registry name.")
@click.option("--option", "-o", "options", multiple=True, metavar="KIND.KEY=VALUE",
              help="Backend option, e.g. -o responder.reply='Hello'. Values parse as JSON when they can.")
@click.option("--task", "tasks", multiple=True, metavar="NAME:INSTRUCTION",
              help="Standing task (repeatable); prefix NAME with '!' for a proactive one.")
@click.option("--realtime/--fast", default=True, show_default=True,
              help="Feed audio at real-time pace, or as fast as the session takes it.")
@click.option("--chunk-seconds", type=float, default=0.4, show_default=True, help="Chunk duration (0.1-2 s).")
@click.option("--first-token-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Seconds a reply may take to produce its first output before it fails (and is retried once).")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Stream the trace (JSONL) to this file as events happen ('-': standard output).")
@click.option("--out-wav", type=click.Path(dir_okay=False, path_type=Path), help="Write reply audio to a WAV file.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw the session when it ends (.png, .svg or .html), as `audiointeract plot` does.")
@click.option("--pcm-out", is_flag=True, help="Write reply audio as raw int16 PCM to stdout (timeline goes to stderr).")
@click.option("--play", is_flag=True, help="Play reply audio on the sound card (needs audiointeract[audio-out]).")
@click.option("--rate", type=int, default=16000, show_default=True,
              help="Sample rate of raw PCM on stdin (4000-384000 Hz).")
@click.option("--channels", type=int, default=1, show_default=True, help="Channels of raw PCM on stdin.")
@click.option("--dtype", type=click.Choice(["int16", "int32", "float32"]), default="int16", show_default=True,
              help="Sample type of raw PCM on stdin.")
def run(
    source: str | None,
    mic: bool,
    device: str | None,
    perceiver: str,
    decider: str,
    responder: str,
    options: tuple[str, ...],
    tasks: tuple[str, ...],
    realtime: bool,
    chunk_seconds: float,
    first_token_timeout: float,
    trace_path: Path | None,
    out_wav: Path | None,
    plot_path: Path | None,
    pcm_out: bool,
    play: bool,
    rate: int,
    channels: int,
    dtype: str,
) -> None:
    """Run a session on SOURCE (a WAV/FLAC/OGG/MP3 file, - for raw PCM on stdin, or --mic) with a live timeline."""
    tune_malloc()
    import anyio
    import attrs

    from audiointeract import AudioFormat, Pacing, Session, SessionConfig
    from audiointeract.config import DEFAULT_TASKS
    from audiointeract.errors import AudioInteractError
    from audiointeract.interfaces import AudioSource, Observer
    from audiointeract.queues import Overflow
    from audiointeract.recording import JsonlRecorder, Recorder
    from audiointeract.registry import load_backend
    from audiointeract.sinks import ConsoleTimeline, PcmSink, SoundCardSink, WavSink
    from audiointeract.sources import FileSource, MicrophoneSource, PcmStreamSource

    if (source is None) == (not mic) or (device is not None and not mic):
        raise click.UsageError("give either SOURCE or --mic (with --device, if not the default microphone)")
    if mic and not realtime:
        raise click.BadParameter("a microphone is live: it cannot be read --fast", param_hint="--fast")
    backend_options = parse_backend_options(options)
    if play and not realtime:
        raise click.BadParameter("playing on the sound card needs real-time pacing; drop --fast", param_hint="--play")
    trace_out = is_stdout(trace_path)
    if trace_out and pcm_out:
        raise UsageError("--trace - and --pcm-out both write to standard output; give --trace a file")
    if trace_out and plot_path:
        raise UsageError("--plot draws the trace, which --trace - sends away; give --trace a file or leave it out")
    if is_stdout(out_wav):
        raise UsageError("--out-wav needs a file (its header is rewritten as it grows); use --pcm-out for stdout")
    out = sys.stderr if pcm_out or trace_out else sys.stdout
    with one_line_errors():
        if plot_path:
            from audiointeract.plotting import check_plot_path

            _output(lambda: check_plot_path(plot_path), "--plot")
        audio_source: AudioSource
        if source is None:  # --mic
            audio_source = MicrophoneSource(device)
            source = f"microphone {audio_source.device.name!r}"
        elif source == "-":
            audio_source = PcmStreamSource(sys.stdin.buffer, sample_rate=rate, channels=channels, dtype=dtype)
        else:
            audio_source = FileSource(source)
        base = SessionConfig()
        config = SessionConfig(
            audio=AudioFormat(chunk_seconds=chunk_seconds),
            tasks=parse_tasks(tasks) or DEFAULT_TASKS,
            pacing=Pacing.REALTIME if realtime else Pacing.FAST,
            chunk_overflow=Overflow.DROP_OLDEST if realtime else Overflow.BLOCK,
            responder_failure=attrs.evolve(base.responder_failure, first_output_timeout=first_token_timeout),
        )
        recorder: Recorder | None = None
        if trace_path is not None:
            recorder = JsonlRecorder(sys.stdout) if trace_out else _output(lambda: JsonlRecorder(trace_path), "--trace")
        observers: list[Observer] = [ConsoleTimeline(out)]
        wav = _output(lambda: WavSink(out_wav), "--out-wav") if out_wav else None
        if wav:
            observers.append(wav)
        if pcm_out:
            observers.append(PcmSink())
        if play:
            observers.append(SoundCardSink())
        built: dict[str, Any] = {
            "perceiver": load_backend("perceiver", perceiver, **backend_options["perceiver"]),
            "decider": load_backend("decider", decider, **backend_options["decider"]),
            "responder": load_backend("responder", responder, **backend_options["responder"]),
        }

    session = Session(
        built["perceiver"],
        built["decider"],
        built["responder"],
        config=config,
        observers=observers,
        recorder=recorder,
        meta={"input": source},
    )
    stopped_by: list[signal.Signals] = []
    failed: list[AudioInteractError] = []

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(_stop_on_signals, session, group.cancel_scope, stopped_by)
            try:
                await session.run(audio_source)
            except AudioInteractError as exc:  # a backend's check() failed: nothing was heard
                failed.append(exc)
            finally:
                group.cancel_scope.cancel()
                with anyio.CancelScope(shield=True):
                    for backend in built.values():
                        await backend.aclose()

    anyio.run(main)
    if failed and not stopped_by:  # a signal while a backend started: the stop is what the user asked for
        with one_line_errors():
            raise failed[0]
    _report(session, out, None if trace_out else trace_path, wav)
    if plot_path:
        from audiointeract.cli.plot import write_plot

        try:
            out.write(write_plot(session.trace, plot_path) + "\n")
        except AudioInteractError as exc:
            click.echo(f"Error: cannot draw the plot: {one_line(exc)}", err=True)
    code = _exit_code(session, stopped_by)
    if code:
        ended = session.ended
        reason = ended.reason if ended is not None else "the session was cut short before it could end"
        click.echo(f"Error: session did not end normally: {reason}", err=True)
        sys.exit(code)


def _output(open_it: Callable[[], T], option: str) -> T:
    """Open an output before the session starts; a path that cannot be written is a usage error."""
    from audiointeract.errors import ConfigurationError

    try:
        return open_it()
    except ConfigurationError as exc:
        raise UsageError(f"{option}: {exc}") from exc


async def _stop_on_signals(session: Session, scope: Any, stopped_by: list[signal.Signals]) -> None:
    """First SIGINT/SIGTERM: stop gracefully; a second one: cut everything short."""
    import anyio

    with anyio.open_signal_receiver(*_SIGNALS) as signals:
        async for number in signals:
            received = signal.Signals(number)
            if stopped_by:
                scope.cancel()
                return
            stopped_by.append(received)
            session.stop(reason=received.name)


def _exit_code(session: Session, stopped_by: list[signal.Signals]) -> int:
    if stopped_by:
        return 128 + int(stopped_by[0])
    ended = session.ended
    return 0 if ended is not None and ended.normal else 1


def _report(session: Session, out: TextIO, trace_path: Path | None, wav: Any) -> None:
    from audiointeract.summary import summarize

    stats = session.statistics()
    out.write(
        f"heard {stats.heard_until:.1f}s; decisions {dict(stats.decisions)}; replies "
        f"{stats.replies_started} started / {stats.replies_finished} finished / {stats.replies_cancelled} cancelled / "
        f"{stats.replies_failed} failed; dropped chunks {stats.chunk_queue.dropped}; "
        f"max perceiver lag {stats.max_perceiver_lag:.2f}s\n"
    )
    out.write(summarize(session.trace) + "\n")
    if trace_path:
        out.write(f"trace written to {trace_path}\n")
    if wav:
        out.write(f"reply audio written to {wav.path} ({wav.seconds_written:.1f}s)\n")
