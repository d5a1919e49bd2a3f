"""``audiointeract report``: recompute timing metrics from a saved trace."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

import click

from audiointeract.cli._errors import is_stdout, one_line_errors, open_output

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


def write_report_json(result: Report, out: IO[str]) -> None:
    """Write a report as indented JSON to an open output."""
    out.write(json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    out.flush()


@click.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--scene", "scene_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Scene file with the ground truth (default: the scene stored in the trace).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report as JSON ('-': standard output; the table then goes to standard error).")
@click.option("--any-clip-path", is_flag=True,
              help="Let the scene's clips be any file (default: its folder and the clip banks only).")
@click.option("--timeline/--no-timeline", default=False, show_default=True, help="Also print the event timeline.")
def report(
    trace_path: Path, scene_path: Path | None, json_path: Path | None, any_clip_path: bool, timeline: bool
) -> None:
    """Recompute the metrics of a session from its TRACE (JSONL).

    A trace that stops before its session end (a killed writer, a cut file) is scored up
    to where it stops, and the report says so. A trace of a ``run --fast`` session is
    scored on stream time.
    """
    from audiointeract.simulators.files import load_scene
    from audiointeract.simulators.metrics import score
    from audiointeract.trace import Trace

    json_out = open_output(json_path, "--json") if json_path is not None else None
    with one_line_errors():
        trace = Trace.load(trace_path)
        scene = load_scene(scene_path, any_clip_path=any_clip_path) if scene_path else None
        result = score(trace, scene)
    out = sys.stderr if is_stdout(json_path) else sys.stdout
    if timeline:
        print_timeline(trace, out)
        out.write("\n")
    out.write(result.table() + "\n")
    if json_out is not None:
        write_report_json(result, json_out)
        if not is_stdout(json_path):
            json_out.close()
            out.write(f"report written to {json_path}\n")
