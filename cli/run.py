"""``audiointeract run``: a live session on a file or raw PCM from stdin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from audiointeract.cli._options import parse_backend_options, parse_tasks

__all__ = ["run"]


@click.command()
@click.argument("source")
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
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the trace (JSONL).")
@click.option("--out-wav", type=click.Path(dir_okay=False, path_type=Path), help="Write reply audio to a WAV file.")
@click.option("--pcm-out", is_flag=True, help="Write reply audio as raw int16 PCM to stdout (timeline goes to stderr).")
@click.option("--play", is_flag=True, help="Play reply audio on the sound card (needs audiointeract[audio-out]).")
@click.option("--rate", type=int, default=16000, show_default=True, help="Sample rate of raw PCM on stdin.")
@click.option("--channels", type=int, default=1, show_default=True, help="Channels of raw PCM on stdin.")
@click.option("--dtype", type=click.Choice(["int16", "int32", "float32"]), default="int16", show_default=True,
              help="Sample type of raw PCM on stdin.")
def run(
    source: str,
    perceiver: str,
    decider: str,
    responder: str,
    options: tuple[str, ...],
    tasks: tuple[str, ...],
    realtime: bool,
    chunk_seconds: float,
    trace_path: Path | None,
    out_wav: Path | None,
    pcm_out: bool,
    play: bool,
    rate: int,
    channels: int,
    dtype: str,
) -> None:
    """Run a session on SOURCE (a WAV/FLAC/OGG/MP3 file, or - for raw PCM on stdin) and print a live timeline."""
    import anyio

    from audiointeract import AudioFormat, Pacing, Session, SessionConfig
    from audiointeract.config import DEFAULT_TASKS
    from audiointeract.errors import AudioInteractError
    from audiointeract.interfaces import AudioSource, Observer
    from audiointeract.queues import Overflow
    from audiointeract.registry import load_backend
    from audiointeract.sinks import ConsoleTimeline, PcmSink, SoundCardSink, WavSink
    from audiointeract.sources import FileSource, PcmStreamSource

    backend_options = parse_backend_options(options)
    try:
        audio_source: AudioSource = (
            PcmStreamSource(sys.stdin.buffer, sample_rate=rate, channels=channels, dtype=dtype)
            if source == "-"
            else FileSource(source)
        )
        config = SessionConfig(
            audio=AudioFormat(chunk_seconds=chunk_seconds),
            tasks=parse_tasks(tasks) or DEFAULT_TASKS,
            pacing=Pacing.REALTIME if realtime else Pacing.FAST,
            chunk_overflow=Overflow.DROP_OLDEST if realtime else Overflow.BLOCK,
        )
        observers: list[Observer] = [ConsoleTimeline(sys.stderr if pcm_out else sys.stdout)]
        wav = WavSink(out_wav) if out_wav else None
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
    except AudioInteractError as exc:
        raise click.ClickException(str(exc)) from exc

    session = Session(built["perceiver"], built["decider"], built["responder"], config=config, observers=observers)

    async def main() -> None:
        try:
            await session.run(audio_source)
        finally:
            for backend in built.values():
                await backend.aclose()

    anyio.run(main)
    stats = session.statistics()
    out = sys.stderr if pcm_out else sys.stdout
    out.write(
        f"heard {stats.heard_until:.1f}s; decisions {dict(stats.decisions)}; replies "
        f"{stats.replies_started} started / {stats.replies_finished} finished / {stats.replies_cancelled} cancelled / "
        f"{stats.replies_failed} failed; dropped chunks {stats.chunk_queue.dropped}; "
        f"max perceiver lag {stats.max_perceiver_lag:.2f}s\n"
    )
    if trace_path:
        session.trace.save(trace_path)
        out.write(f"trace written to {trace_path}\n")
    if wav:
        out.write(f"reply audio written to {wav.path} ({wav.seconds_written:.1f}s)\n")
