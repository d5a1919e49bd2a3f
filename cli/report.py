"""``audiointeract report``: recompute timing metrics from a saved trace."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from audiointeract.simulators.metrics import Report
    from audiointeract.trace import Trace

__all__ = ["print_timeline", "report", "write_report_json"]


def print_timeline(trace: Trace, out: TextIO) -> None:
    """Replay a trace's notable events as a ``[session | stream]`` timeline."""
    from audiointeract.sinks import ConsoleTimeline

    timeline = ConsoleTimeline(out)
    for record in trace:
        timeline.on_event(record.event, at=record.at, heard=record.heard)
    timeline.close()


def write_report_json(result: Report, path: Path) -> None:
    """Write a report as indented JSON."""
    path.write_text(json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scene", "scene_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Scene file with the ground truth (default: the scene stored in the trace).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the report as JSON.")
@click.option("--timeline/--no-timeline", default=False, show_default=True, help="Also print the event timeline.")
def report(trace_path: Path, scene_path: Path | None, json_path: Path | None, timeline: bool) -> None:
    """Recompute the metrics of a simulated session from its TRACE (JSONL)."""
    from audiointeract.errors import AudioInteractError
    from audiointeract.simulators.files import load_scene
    from audiointeract.simulators.metrics import score
    from audiointeract.trace import Trace

    try:
        trace = Trace.load(trace_path)
        scene = load_scene(scene_path) if scene_path else None
        result = score(trace, scene)
    except AudioInteractError as exc:
        raise click.ClickException(str(exc)) from exc
    out = sys.stdout
    if timeline:
        print_timeline(trace, out)
        out.write("\n")
    out.write(result.table() + "\n")
    if json_path:
        write_report_json(result, json_path)
        out.write(f"report written to {json_path}\n")
