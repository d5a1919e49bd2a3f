"""Draws a :class:`~audiointeract.plotting.timeline.Timeline` with matplotlib (extra ``plot``).

One row for the waveform, one per lane, all on the same time axis. Every mark worth
hovering over is drawn as its own artists with the ids ``mark-N`` (and ``mark-N-label`` for
its text); :func:`draw` returns the text hovering over ``mark-N`` should show, which the
SVG and HTML writers attach.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from audiointeract.errors import BackendUnavailable
from audiointeract.plotting.timeline import LANES, Mark, Timeline, Waveform

__all__ = ["COLOURS", "draw"]

COLOURS: dict[str, str] = {
    "speaking": "#4c8fd6",
    "word": "#4c8fd6",
    "sound": "#e08a1e",
    "silent": "#c8c8c8",
    "respond": "#1f6fd1",
    "interrupt": "#d62728",
    "backchannel": "#8e44ad",
    "reply": "#2e9d4f",
    "audio": "#2e9d4f",
    "acknowledgement": "#8e44ad",
    "cancelled": "#d62728",
    "failed": "#222222",
    "truth_speech": "#9a9a9a",
    "truth_sound": "#b5651d",
    "window": "#2e9d4f",
    "late_window": "#a8d8b4",
    "error": "#d62728",
    "dropped": "#e08a1e",
    "warning": "#e08a1e",
    "hit": "#2e9d4f",
    "miss": "#d62728",
    "false_trigger": "#d62728",
}
"""Colour of each mark kind (an ignored decision keeps its action's colour, drawn hollow)."""

_LANE_HEIGHT = 0.5
_WAVE_HEIGHT = 1.3
_WORDS_HEIGHT = 0.8


def _matplotlib() -> Any:
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise BackendUnavailable("plot", "plot", "matplotlib") from exc
    return Figure


def figure_inches(timeline: Timeline, width: float) -> tuple[float, float]:
    """The figure size for ``timeline``: ``width`` wide, as tall as its rows need."""
    rows = sum(_WORDS_HEIGHT if lane == "words" else _LANE_HEIGHT for lane in timeline.lanes())
    wave = _WAVE_HEIGHT if timeline.waveform is not None else 0.0
    return width, round(rows + wave + 1.2, 2)


def draw(timeline: Timeline, *, width: float = 14.0, headline: bool = True) -> tuple[Any, dict[str, str]]:
    """A matplotlib ``Figure`` of ``timeline`` and the hover text of each ``mark-N`` artist id.

    ``headline`` draws the title and summary on the figure (a page that shows them itself leaves it out).
    """
    figure_class = _matplotlib()
    lanes = timeline.lanes()
    heights = ([_WAVE_HEIGHT] if timeline.waveform is not None else []) + [
        _WORDS_HEIGHT if lane == "words" else _LANE_HEIGHT for lane in lanes
    ]
    figure = figure_class(figsize=figure_inches(timeline, width), layout="constrained")
    axes = figure.subplots(len(heights), 1, sharex=True, squeeze=False,
                           gridspec_kw={"height_ratios": heights, "hspace": 0.02})[:, 0]
    if headline:
        figure.suptitle(f"{timeline.title}\n{timeline.summary}", fontsize=10, x=0.01, ha="left")
    rows = list(axes)
    if timeline.waveform is not None:
        _draw_waveform(rows.pop(0), timeline.waveform)
    details: dict[str, str] = {}
    for ax, lane in zip(rows, lanes, strict=True):
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        ax.set_ylabel(LANES[lane], rotation=0, ha="right", va="center", fontsize=9)
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        marks = timeline.on(lane)
        silent = [m.start for m in marks if m.kind == "silent"]
        if silent:  # one artist for the many SILENT decisions: they are context, not events
            ax.vlines(silent, 0.3, 0.7, colors=COLOURS["silent"], linewidth=0.6)
        row = 0
        for mark in marks:
            if mark.kind == "silent":
                continue
            gid = f"mark-{len(details)}"
            details[gid] = mark.detail
            row = 1 - row if mark.kind == "word" else 0
            _draw_mark(ax, mark, gid, row)
    _legend(figure, timeline)
    bottom = axes[-1]
    bottom.set_xlim(0, timeline.duration)
    bottom.set_xlabel("seconds of audio")
    return figure, details


_LEGEND = {
    "respond": ("v", "respond"),
    "interrupt": ("v", "interrupt"),
    "backchannel": ("v", "backchannel"),
    "silent": ("|", "silent"),
    "audio": ("s", "reply audio"),
    "acknowledgement": ("s", "acknowledgement"),
    "cancelled": ("X", "cancelled"),
    "window": ("_", "expected reply"),
    "late_window": ("_", "late (tolerance)"),
    "hit": ("o", "hit"),
    "miss": ("s", "miss"),
    "false_trigger": ("X", "false trigger"),
    "error": ("X", "backend error"),
}


def _legend(figure: Any, timeline: Timeline) -> None:
    """A one-line key of the kinds this timeline shows, top right."""
    from matplotlib.lines import Line2D  # noqa: PLC0415

    present = {m.kind.removesuffix("_ignored") for m in timeline.marks}
    handles = [
        Line2D([], [], marker=marker, linestyle="none", color=COLOURS[kind], markersize=7, markeredgewidth=2,
               label=text)
        for kind, (marker, text) in _LEGEND.items()
        if kind in present
    ]
    if handles:
        figure.legend(handles=handles, loc="upper right", ncols=len(handles), fontsize=7, frameon=False,
                      handletextpad=0.2, columnspacing=1.0)


def _draw_waveform(ax: Any, waveform: Waveform) -> None:
    """A min/max envelope (about one column per pixel), so hours of audio draw as fast as seconds."""
    samples = waveform.samples
    columns = min(samples.size, 1500)
    edges = np.linspace(0, samples.size, columns + 1).astype(int)
    lows = np.minimum.reduceat(samples, edges[:-1])
    highs = np.maximum.reduceat(samples, edges[:-1])
    times = edges[:-1] / waveform.sample_rate
    ax.fill_between(times, lows, highs, color="#555555", linewidth=0, step="post")
    peak = float(max(np.abs(samples).max(initial=0.0), 1e-3))
    ax.set_ylim(-peak * 1.05, peak * 1.05)
    ax.set_yticks([])
    ax.set_ylabel("audio", rotation=0, ha="right", va="center", fontsize=9)


def _draw_mark(ax: Any, mark: Mark, gid: str, row: int) -> None:
    kind = mark.kind.removesuffix("_ignored")
    colour = COLOURS.get(kind, "#444444")
    span = mark.end - mark.start
    label = f"{gid}-label"
    if kind == "word":
        y = 0.08 + 0.45 * row
        ax.broken_barh([(mark.start, span)], (y, 0.08), facecolors=colour, alpha=0.5, gid=gid)
        ax.text(mark.start, y + 0.12, mark.label, fontsize=7, va="bottom", clip_on=True, gid=label)
    elif kind in ("speaking", "sound", "truth_speech", "truth_sound", "audio", "acknowledgement"):
        low, high = {"audio": (0.15, 0.35), "acknowledgement": (0.15, 0.35)}.get(
            kind, (0.22, 0.5) if kind.startswith("truth") else (0.2, 0.6)
        )
        ax.broken_barh([(mark.start, span)], (low, high), facecolors=colour, alpha=0.75, gid=gid)
        if mark.label:
            ax.text(mark.start + 0.03, low + high / 2, mark.label, fontsize=7, va="center", clip_on=True,
                    color="#111111", gid=label)
    elif kind in ("window", "late_window", "dropped"):
        ax.axvspan(mark.start, mark.end, ymin=0.0, ymax=0.14, color=colour, alpha=0.6, gid=gid)
    elif kind == "reply":
        ax.broken_barh([(mark.start, max(span, 0.02))], (0.55, 0.35), facecolors="none", edgecolors=colour,
                       linewidth=1.2, gid=gid)
        if mark.label:
            ax.text(mark.start + 0.03, 0.72, mark.label, fontsize=7, va="center", clip_on=True, gid=label)
    elif kind in ("respond", "interrupt", "backchannel"):
        hollow = mark.kind.endswith("_ignored")
        ax.plot([mark.start], [0.5], marker="v", markersize=9, color=colour,
                markerfacecolor="none" if hollow else colour, linestyle="none", gid=gid)
        ax.text(mark.start + 0.05, 0.5, mark.label + (" (ignored)" if hollow else ""), fontsize=7, va="center",
                color=colour, gid=label)
    else:  # instants: hit, miss, false trigger, cancelled, failed, error, warning
        marker = {"hit": "o", "miss": "s"}.get(kind, "X")
        y = {"cancelled": 0.3, "failed": 0.3}.get(kind, 0.86 if mark.lane == "truth" else 0.4)
        ax.plot([mark.start], [y], marker=marker, markersize=7, color=colour, linestyle="none", gid=gid)
        if kind in ("error", "warning"):  # bursts: the label goes above the row of markers
            ax.text(mark.start, 0.85, mark.label, fontsize=7, va="center", color=colour, gid=label)
        elif kind != "hit":
            ax.text(mark.start + 0.05, y, mark.label, fontsize=7, va="center", color=colour, gid=label)
