"""Writes a timeline as PNG, SVG (hover text as ``<title>``) or one self-contained HTML page.

The HTML page inlines the SVG and a few lines of JavaScript that show each mark's
detail (a decision's reason, a reply's text, a miss) next to the pointer; it loads
nothing from anywhere.
"""

from __future__ import annotations

import html
import importlib.util
import io
import re
from pathlib import Path

from audiointeract.errors import BackendUnavailable, ConfigurationError
from audiointeract.plotting.draw import COLOURS, draw
from audiointeract.plotting.timeline import LANES, Timeline

__all__ = ["FORMATS", "check_plot_path", "render_svg", "save_timeline"]

FORMATS = (".png", ".svg", ".html")

_MARK_GROUP = re.compile(r'<g id="(mark-\d+)(-label)?">')


def render_svg(timeline: Timeline, *, width: float = 14.0, headline: bool = True) -> str:
    """The timeline as SVG text; every mark's group carries its detail as a ``<title>``."""
    from matplotlib import rc_context  # noqa: PLC0415 - draw() already said how to install matplotlib

    figure, details = draw(timeline, width=width, headline=headline)
    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "audiointeract"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})

    def titled(match: re.Match[str]) -> str:
        detail = details.get(match.group(1), "")
        return f"{match.group(0)}<title>{html.escape(detail, quote=False)}</title>"

    return _MARK_GROUP.sub(titled, buffer.getvalue())


def check_plot_path(path: str | Path) -> Path:
    """Say now, before a session runs, if a plot could not be written to ``path`` (format, folder, matplotlib)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ConfigurationError(f"cannot plot to {str(path)!r}: the file name must end in one of {', '.join(FORMATS)}")
    if not path.parent.is_dir():
        raise ConfigurationError(f"cannot write {str(path)!r}: folder does not exist")
    if importlib.util.find_spec("matplotlib") is None:
        raise BackendUnavailable("plot", "plot", "matplotlib")
    return path


def save_timeline(timeline: Timeline, path: str | Path, *, width: float = 14.0, dpi: int = 100) -> Path:
    """Write ``timeline`` to ``path``; the suffix (``.png``, ``.svg``, ``.html``) picks the format."""
    path = check_plot_path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        figure, _ = draw(timeline, width=width)
        figure.savefig(path, format="png", dpi=dpi, metadata={"Software": None})
    elif suffix == ".svg":
        path.write_text(render_svg(timeline, width=width), encoding="utf-8")
    else:
        path.write_text(_page(timeline, render_svg(timeline, width=width, headline=False)), encoding="utf-8")
    return path


def _page(timeline: Timeline, svg: str) -> str:
    inline = svg[svg.index("<svg") :]
    rows = "\n".join(
        f'<tr><td>{mark.start:.2f}</td><td>{LANES[mark.lane]}</td>'
        f'<td><span class="dot" style="background:{COLOURS.get(mark.kind.removesuffix("_ignored"), "#444")}">'
        f"</span>{html.escape(mark.kind.replace('_', ' '))}</td><td>{html.escape(mark.detail)}</td></tr>"
        for mark in sorted(timeline.marks, key=lambda m: (m.start, m.lane))
        if mark.lane in ("decisions", "replies", "truth") and mark.kind not in ("silent", "audio")
    )
    title = html.escape(timeline.title)
    return _TEMPLATE.format(title=title, summary=html.escape(timeline.summary), svg=inline, rows=rows)


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; color: #111; }}
h1 {{ font-size: 1.2em; margin: 0; }}
svg {{ max-width: 100%; height: auto; }}
g[id^="mark-"] {{ cursor: help; }}
g[id^="mark-"]:hover {{ opacity: 0.6; }}
#tip {{ position: fixed; display: none; pointer-events: none; max-width: 36em; padding: 4px 8px;
        background: #222; color: #fff; border-radius: 4px; font-size: 13px; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
td, th {{ text-align: left; padding: 2px 10px 2px 0; vertical-align: top; }}
.dot {{ display: inline-block; width: 0.7em; height: 0.7em; border-radius: 50%; margin-right: 0.4em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{summary}. Hover over a mark for its details.</p>
{svg}
<div id="tip" role="tooltip"></div>
<table>
<thead><tr><th>s</th><th>lane</th><th>what</th><th>details</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<script>
const tip = document.getElementById("tip");
for (const group of document.querySelectorAll('svg g[id^="mark-"]')) {{
  const title = group.querySelector(":scope > title");
  if (!title) continue;
  group.dataset.tip = title.textContent;
  title.remove();  // the page shows its own tooltip at once instead of the browser's late one
  group.addEventListener("mousemove", (event) => {{
    tip.textContent = group.dataset.tip;
    tip.style.display = "block";
    tip.style.left = `${{event.clientX + 14}}px`;
    tip.style.top = `${{event.clientY + 14}}px`;
  }});
  group.addEventListener("mouseleave", () => {{ tip.style.display = "none"; }});
}}
</script>
</body>
</html>
"""
