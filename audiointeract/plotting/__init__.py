"""A picture of a session: waveform, perception, decisions and replies on one time axis.

:func:`plot_trace` writes PNG, SVG or a self-contained HTML page (needs the ``plot``
extra, matplotlib); :func:`build_timeline` gives the marks without drawing.
"""

from __future__ import annotations

from pathlib import Path

from audiointeract.plotting.export import FORMATS, check_plot_path, render_svg, save_timeline
from audiointeract.plotting.timeline import LANES, Mark, Timeline, Waveform, build_timeline
from audiointeract.simulators.scene import Scene
from audiointeract.trace import Trace

__all__ = [
    "FORMATS",
    "LANES",
    "Mark",
    "Timeline",
    "Waveform",
    "build_timeline",
    "check_plot_path",
    "load_waveform",
    "plot_trace",
    "render_svg",
    "save_timeline",
]


def load_waveform(path: str | Path) -> Waveform:
    """An audio file (any format soundfile reads) as a mono waveform for the plot."""
    import soundfile  # noqa: PLC0415 - only needed with audio

    from audiointeract.audio import to_mono_float32  # noqa: PLC0415
    from audiointeract.errors import AudioFormatError, ConfigurationError  # noqa: PLC0415

    if not Path(path).is_file():
        raise ConfigurationError(f"audio file {str(path)!r} does not exist")
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except RuntimeError as exc:
        raise AudioFormatError(f"cannot read {str(path)!r} as audio: {exc}") from exc
    return Waveform(samples=to_mono_float32(samples), sample_rate=int(rate))


def plot_trace(
    trace: Trace,
    path: str | Path,
    *,
    scene: Scene | None = None,
    waveform: Waveform | None = None,
    width: float = 14.0,
) -> Path:
    """Draw ``trace`` (with the ``scene``'s truth and the ``waveform`` when given) to ``path`` (.png/.svg/.html)."""
    return save_timeline(build_timeline(trace, scene=scene, waveform=waveform), path, width=width)
