"""``audiointeract plot``: a picture of a session (PNG, SVG or an HTML page with hover details)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from audiointeract.cli._errors import one_line_errors

__all__ = ["plot", "write_plot"]


def write_plot(
    trace: Any, out: Path, *, scene: Any = None, audio: Path | None = None, width: float = 14.0, trusted: bool = False
) -> str:
    """Draw ``trace`` to ``out``; returns a line saying where the waveform came from.

    The waveform is ``audio`` if given, else the scene rendered again (a simulation's
    trace holds its scene and seed), else the input file named in the trace, if it exists.
    A trace is data from elsewhere: its scene is rendered only from clip banks unless
    ``trusted`` (the trace was made here), so it cannot make us read a file it names.
    """
    from audiointeract.plotting import Waveform, load_waveform, plot_trace
    from audiointeract.simulators.scene import Scene

    waveform: Waveform | None = None
    origin = "no audio"
    stored = trace.meta.get("scene")
    source = trace.meta.get("input")
    if audio is not None:
        waveform, origin = load_waveform(audio), f"audio from {audio}"
    elif scene is None and isinstance(stored, dict):
        from audiointeract.simulators.render import render

        stored_scene = Scene.from_dict(stored)
        if not trusted and _clip_files(stored_scene):
            origin = "no audio: the trace's scene names clip files; give --audio"
        else:
            rate = int(trace.meta.get("sample_rate", 16000))
            samples = render(stored_scene, seed=int(trace.meta.get("seed", 0)), sample_rate=rate)
            waveform, origin = Waveform(samples=samples, sample_rate=rate), "audio rendered from the trace's scene"
    elif isinstance(source, str) and Path(source).is_file():
        waveform, origin = load_waveform(source), f"audio from {source}"
    plot_trace(trace, out, scene=scene, waveform=waveform, width=width)
    return f"plot written to {out} ({origin})"


@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "-o", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file: .png, .svg, or .html (hover over a mark for its details).")
@click.option("--scene", "scene_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Scene (.json/.toml) whose expected responses to mark (default: the one the trace holds).")
@click.option("--audio", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Audio the session heard, for the waveform (e.g. the input file or `simulate --wav`).")
@click.option("--width", type=click.FloatRange(min=2.0, max=500.0), default=14.0, show_default=True,
              callback=lambda _, __, value: _finite(value), help="Width in inches (100 pixels each).")
def plot(trace_path: Path, out: Path, scene_path: Path | None, audio: Path | None, width: float) -> None:
    """Draw TRACE on one time axis: audio, speech, words, sounds, decisions (with reasons), replies, and misses."""
    from audiointeract.plotting import check_plot_path
    from audiointeract.simulators.files import load_scene
    from audiointeract.trace import Trace

    with one_line_errors():
        check_plot_path(out)
        trace = Trace.load(trace_path)
        scene = load_scene(scene_path) if scene_path else None
        click.echo(write_plot(trace, out, scene=scene, audio=audio, width=width))


def _clip_files(scene: Any) -> list[str]:
    """The clips of ``scene`` named by file path (not ``<bank>:<name>``)."""
    from audiointeract.simulators.clips import DEFAULT_ROOTS

    clips = [item.clip for item in (*scene.segments, *scene.noise) if item.clip is not None]
    return [clip for clip in clips if clip.partition(":")[0] not in (*DEFAULT_ROOTS, "tts")]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number of inches", param_hint="'--width'")
    return value
