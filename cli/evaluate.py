"""``audiointeract evaluate``: compare decision policies on the frozen sets, real perception beside the oracle."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from audiointeract.cli._errors import UsageError, one_line_errors

__all__ = ["evaluate"]

SETS = ("events", "dense", "real", "sparse")
PERCEPTION = ("both", "real", "oracle")
_WIDTH = 170  # columns of the tables when the output is not a terminal (files, pipes)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _timing_cells(timing: dict[str, Any]) -> list[str]:
    return [
        _fmt(timing["precision"]["0.4"]),
        _fmt(timing["recall"]["0.4"]),
        _fmt(timing["f1"]["0.4"]),
        _fmt(timing["f1"]["0.8"]),
        _fmt(timing["f1"]["2"]),
        _fmt(timing["false_triggers_per_hour"], 1),
        f"{_fmt(timing['latency_p50'])}/{_fmt(timing['latency_p95'])}",
    ]


_TIMING_HEAD = ("P@.4", "R@.4", "F1@.4", "F1@.8", "F1@2", "FT/h", "lat p50/p95 s")


def _tables(results: dict[str, dict[str, Any]], sizes: dict[str, Any]) -> list[Any]:
    from rich.table import Table

    tables = []
    names = list(results)
    if any("events" in r for r in results.values()):
        info = sizes["events"]
        table = Table(title=f"label-disjoint events: {info['events']} rows, majority baseline "
                      f"{info['majority_baseline']:.2f}")
        for head in ("policy", "accuracy", "RESPOND recall", "IGNORE acc"):
            table.add_column(head, justify="left" if head == "policy" else "right")
        for name in names:
            scores = results[name]["events"]
            table.add_row(name, _fmt(scores["accuracy"]), _fmt(scores["respond_recall"]),
                          _fmt(scores["ignore_accuracy"]))
        tables.append(table)
    if any("dense" in r for r in results.values()):
        info = sizes["dense"]
        table = Table(title=f"dense generated scenes: {info['scenes']} scenes, {info['audio_hours']:.2f} h, "
                      f"{info['expected']} expected (oracle perception)")
        table.add_column("policy")
        for head in _TIMING_HEAD:
            table.add_column(head, justify="right")
        for name in names:
            table.add_row(name, *_timing_cells(results[name]["dense"]))
        tables.append(table)
    for key, title in (("real", "real-recording scenes"), ("sparse", "sparse real-recording scenes")):
        if not any(key in r for r in results.values()):
            continue
        info = sizes[key]
        compute = info.get("compute")
        caption = (
            f"real = the rendered audio heard by the embedded perceiver; oracle = what the scene file says. "
            f"Times on the stream axis; '+compute' pays the recorded perception compute "
            f"(RTF {compute['real_time_factor']:.2f}, chunk p50/p95 {compute['chunk_p50']:.2f}/"
            f"{compute['chunk_p95']:.2f} s of wall time)." if compute else "oracle perception only."
        )
        table = Table(title=f"{title}: {info['scenes']} scenes, {info['audio_hours']:.2f} h, "
                      f"{info['expected']} expected", caption=caption)
        table.add_column("policy")
        table.add_column("perception")
        for head in (*_TIMING_HEAD, "+compute F1@.8", "+compute lat p50/p95 s"):
            table.add_column(head, justify="right")
        for name in names:
            for perception, timing in results[name][key].items():
                if perception == "real+compute":
                    continue
                extra = ["", ""]
                charged = results[name][key].get("real+compute")
                if perception == "real" and charged is not None:
                    latency = f"{_fmt(charged['latency_p50'])}/{_fmt(charged['latency_p95'])}"
                    extra = [_fmt(charged["f1"]["0.8"]), latency]
                table.add_row(name, perception, *_timing_cells(timing), *extra)
        tables.append(table)
    return tables


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int], Callable[[str], None]]]:
    """Yields ``start(description, total) -> advance(name)``; a rich progress display on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[item]}"), console=console, disable=not enabled, transient=False) as bar:

        def start(description: str, total: int) -> Callable[[str], None]:
            task = bar.add_task(description, total=total, item="")

            def advance(name: str) -> None:
                bar.update(task, advance=1, item=name)

            return advance

        yield start


def _skipped(set_name: str, loaded: Any) -> None:
    for skipped in loaded.skipped:
        click.echo(f"{set_name}: skipped {skipped.path}: {skipped.reason}", err=True)


@click.command()
@click.option("--policy", "policies", multiple=True, metavar="NAME|CHECKPOINT",
              help="Decider registry name or learned-policy checkpoint folder; repeat to compare. "
              "Default: default, learned, sound-meaning, endpointing, keyword, sound-event, semantic.")
@click.option("--set", "sets", multiple=True, type=click.Choice(SETS),
              help="Sets to run (repeatable; default: all four).")
@click.option("--events", "events_path", type=click.Path(dir_okay=False, path_type=Path),
              help="JSONL of {id, description, decision} rows instead of the frozen label-disjoint test events.")
@click.option("--scenes", type=click.IntRange(min=0), default=100, show_default=True,
              help="Number of generated dense scenes.")
@click.option("--real", "real_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Scene folder or file (repeatable) instead of the frozen real-recording scenes; "
              "scenes not built only from real recordings are skipped and listed.")
@click.option("--sparse", "sparse_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Scene folder or file (repeatable) instead of the frozen sparse scenes.")
@click.option("--perception", type=click.Choice(PERCEPTION), default="both", show_default=True,
              help="For the real-recording sets: the embedded perceiver on the rendered audio, the oracle, or both.")
@click.option("--perception-cache", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the real perception of each scene in this folder and reuse it on the next run "
              "(clear it when the perceiver changes).")
@click.option("--seed", type=int, default=None, help="Seed of the dense scenes (default: the frozen one).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              help="Write every result as JSON ('-': to stdout; the tables then go to stderr).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True,
              help="CPU threads torch may use; this command sets torch's process-wide count "
              "(the models are small: one thread avoids oversubscribing shared CPUs).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress on stderr.")
def evaluate(
    policies: tuple[str, ...],
    sets: tuple[str, ...],
    events_path: Path | None,
    scenes: int,
    real_dirs: tuple[Path, ...],
    sparse_dirs: tuple[Path, ...],
    perception: str,
    perception_cache: Path | None,
    seed: int | None,
    json_path: Path | None,
    threads: int,
    progress: bool,
) -> None:
    """Run policies on label-disjoint events, dense generated scenes, and real-recording scenes (dense and sparse).

    Prints accuracy / RESPOND recall / IGNORE accuracy on the events, and for the scenes
    precision, recall and F1 at 0.4, 0.8 and 2.0 s, false triggers per hour and decision
    latency p50/p95; on real recordings with real perception and with oracle perception.
    """
    try:
        from rich.console import Console
    except ImportError as exc:
        msg = "evaluate renders its tables with rich: pip install 'audiointeract[evaluate]'"
        raise click.ClickException(msg) from exc

    from audiointeract.evaluation import (
        DENSE_SEED,
        SHIPPED_POLICIES,
        ComputeSummary,
        dense_scenes,
        evaluation_bank,
        held_out_events,
        load_scenes,
        policy_factory,
        real_scenes,
        record_perception,
        score_events,
        score_scenes,
        sparse_scenes,
    )
    from audiointeract.training.vocabulary import load_events

    try:
        import torch
    except ImportError:  # rule policies and oracle perception need no torch
        pass
    else:
        torch.set_num_threads(threads)  # an application may set the process-wide count; library code never does
    chosen = sets or SETS
    names = policies or SHIPPED_POLICIES
    to_stdout = json_path is not None and str(json_path) == "-"
    results: dict[str, dict[str, Any]] = {name: {} for name in names}
    sizes: dict[str, Any] = {}
    with one_line_errors():
        events = (load_events(events_path) if events_path else held_out_events()) if "events" in chosen else []
        dense = dense_scenes(scenes, seed=DENSE_SEED if seed is None else seed) if "dense" in chosen else []
        loaded = {}
        if "real" in chosen:
            loaded["real"] = load_scenes(*real_dirs) if real_dirs else real_scenes()
        if "sparse" in chosen:
            loaded["sparse"] = load_scenes(*sparse_dirs) if sparse_dirs else sparse_scenes()
        for key, scene_set in loaded.items():
            _skipped(key, scene_set)
            if not scene_set.scenes:
                raise UsageError(f"the {key} set has no scene built only from real recordings")
        factories = {name: policy_factory(name) for name in names}
        with _progress(progress) as start:
            heard = {}
            if perception != "oracle":
                bank = evaluation_bank()
                for key, scene_set in loaded.items():
                    advance = start(f"perceiving {key} scenes", len(scene_set.scenes))
                    heard[key] = record_perception(
                        scene_set.scenes, bank=bank, cache=perception_cache, progress=advance
                    )
            for name, factory in factories.items():
                if events:
                    results[name]["events"] = score_events(
                        events, factory, progress=start(f"{name}: events", len(events))
                    ).to_dict()
                if dense:
                    results[name]["dense"] = score_scenes(
                        dense, factory, progress=start(f"{name}: dense", len(dense))
                    ).to_dict()
                for key, scene_set in loaded.items():
                    runs: dict[str, Any] = {}
                    group = scene_set.scenes
                    if key in heard:
                        runs["real"] = score_scenes(group, factory, perception=heard[key],
                                                    progress=start(f"{name}: {key}, real", len(group)))
                        runs["real+compute"] = score_scenes(group, factory, perception=heard[key], charge_compute=True)
                    if perception != "real":
                        advance = start(f"{name}: {key}, oracle", len(group))
                        runs["oracle"] = score_scenes(group, factory, progress=advance)
                    results[name][key] = {k: v.to_dict() for k, v in runs.items()}
    first = results[names[0]]
    if events:
        sizes["events"] = {"events": len(events), "majority_baseline": first["events"]["majority_baseline"]}
    if dense:
        sizes["dense"] = {"scenes": len(dense), "audio_hours": first["dense"]["audio_hours"],
                          "expected": first["dense"]["expected"], "seed": DENSE_SEED if seed is None else seed}
    for key, scene_set in loaded.items():
        some = next(iter(first[key].values()))
        sizes[key] = {"scenes": len(scene_set.scenes), "names": [s.name for s in scene_set.scenes],
                      "skipped": [{"path": str(s.path), "reason": s.reason} for s in scene_set.skipped],
                      "audio_hours": some["audio_hours"], "expected": some["expected"]}
        if key in heard:
            sizes[key]["compute"] = _summary(ComputeSummary.of(list(heard[key].values())))
    stream = sys.stderr if to_stdout else sys.stdout
    console = Console(stderr=to_stdout, width=None if stream.isatty() else _WIDTH)
    for table in _tables(results, sizes):
        console.print(table)
    if json_path is not None:
        out: dict[str, Any] = {"sets": sizes, "policies": results}
        if events:
            out.update({"policy": names[0], **{k: first["events"][k] for k in
                        ("accuracy", "respond_recall", "ignore_accuracy", "majority_baseline")}})
        text = json.dumps(out, indent=2) + "\n"
        if to_stdout:
            sys.stdout.write(text)
        else:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(text)
            click.echo(f"wrote {json_path}", err=True)


def _summary(summary: Any) -> dict[str, float]:
    import attrs

    result: dict[str, float] = attrs.asdict(summary)
    return result

