"""``audiointeract evaluate``: compare decision policies on held-out, real-recording and labelled-event sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from audiointeract.cli._errors import one_line_errors

__all__ = ["evaluate"]

_DEFAULT_REAL = Path("examples") / "scenes"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _row(name: str, result: dict[str, Any]) -> list[str]:
    a, b, c = result.get("heldout"), result.get("real"), result["events"]
    cells = [name]
    for timing in (a, b):
        if timing is None:
            cells += ["-"] * 7
            continue
        cells += [
            _fmt(timing["precision"]["0.4"]),
            _fmt(timing["recall"]["0.4"]),
            _fmt(timing["f1"]["0.4"]),
            _fmt(timing["f1"]["0.8"]),
            _fmt(timing["f1"]["2"]),
            _fmt(timing["false_triggers_per_hour"], 1),
            f"{_fmt(timing['latency_p50'])}/{_fmt(timing['latency_p95'])}",
        ]
    cells += [_fmt(c["accuracy"]), _fmt(c["respond_recall"]), _fmt(c["ignore_accuracy"])]
    return cells


def _table(results: dict[str, dict[str, Any]], majority: float) -> str:
    head = ["policy"]
    for tag in ("a", "b"):
        head += [
            f"{tag}:P@.4",
            f"{tag}:R@.4",
            f"{tag}:F1@.4",
            f"{tag}:F1@.8",
            f"{tag}:F1@2",
            f"{tag}:FT/h",
            f"{tag}:lat p50/p95",
        ]
    head += ["c:acc", "c:resp-rec", "c:ign-acc"]
    rows = [head, *(_row(name, result) for name, result in results.items())]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(
        f"(a) held-out generated scenes, (b) real-recording scenes, (c) labelled events "
        f"(majority-class baseline accuracy {majority:.2f}); oracle perception, virtual time."
    )
    return "\n".join(lines)


@click.command()
@click.option(
    "--policy",
    "policies",
    multiple=True,
    metavar="NAME|CHECKPOINT",
    help="Decider registry name or checkpoint folder; repeat to compare. "
    "Default: every rule policy, the semantic policy and the learned policy.",
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL of {id, description, decision} rows (default: the vocabulary's test split).",
)
@click.option(
    "--scenes",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Number of held-out generated scenes (0 skips set a).",
)
@click.option(
    "--real",
    "real_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of scene files (repeatable); those built only from real recordings form set b. "
    "Default: the packaged real-recording scenes and ./examples/scenes.",
)
@click.option("--seed", type=int, default=None, help="Seed of the held-out scenes (default: a fixed one).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write results as JSON.")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="CPU threads torch may use; this command sets torch's process-wide count "
    "(the models are small: one thread avoids oversubscribing shared CPUs).",
)
def evaluate(
    policies: tuple[str, ...],
    events_path: Path | None,
    scenes: int,
    real_dirs: tuple[Path, ...],
    seed: int | None,
    json_path: Path | None,
    threads: int,
) -> None:
    """Run policies on (a) held-out generated scenes, (b) real-recording scenes and (c) labelled events.

    Prints timing precision/recall/F1 at 0.4, 0.8 and 2.0 s, false triggers per hour, decision
    latency p50/p95 and event accuracy, one row per policy. The JSON's top-level
    ``accuracy``, ``respond_recall`` and ``ignore_accuracy`` are set (c) for the first policy.
    """
    import torch

    from audiointeract.training import EVENTS_FILE, REAL_SCENES
    from audiointeract.training.evaluation import (
        HELDOUT_SEED,
        RULE_POLICIES,
        heldout_scenes,
        load_event_file,
        policy_factory,
        real_scenes,
        score_events,
        score_scenes,
    )
    from audiointeract.training.vocabulary import load_events

    torch.set_num_threads(threads)  # an application may set the process-wide count; library code never does
    names = policies or ("learned", *RULE_POLICIES)
    with one_line_errors():
        vocabulary = load_events(EVENTS_FILE)
        events = load_event_file(events_path) if events_path else [e for e in vocabulary if e.split == "test"]
        set_a = heldout_scenes(scenes, events=vocabulary, seed=HELDOUT_SEED if seed is None else seed)
        folders = real_dirs or (REAL_SCENES, _DEFAULT_REAL)
        set_b = [scene for folder in folders if folder.is_dir() for scene in real_scenes(folder)]
        results: dict[str, dict[str, Any]] = {}
        for name in names:
            click.echo(f"evaluating {name} ...", err=True)
            factory = policy_factory(name)
            results[name] = {
                "heldout": score_scenes(set_a, factory).to_dict() if set_a else None,
                "real": score_scenes(set_b, factory).to_dict() if set_b else None,
                "events": _events_dict(score_events(events, factory)),
            }
    majority = results[names[0]]["events"]["majority_baseline"]
    click.echo(_table(results, majority))
    if json_path is not None:
        first = results[names[0]]["events"]
        out = {
            "policy": names[0],
            "accuracy": first["accuracy"],
            "respond_recall": first["respond_recall"],
            "ignore_accuracy": first["ignore_accuracy"],
            "majority_baseline": majority,
            "sets": {"heldout_scenes": len(set_a), "real_scenes": [s.name for s in set_b], "events": len(events)},
            "policies": results,
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(out, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


def _events_dict(scores: Any) -> dict[str, Any]:
    import attrs

    result: dict[str, Any] = attrs.asdict(scores)
    return result
