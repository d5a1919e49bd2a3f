"""``audiointeract simulate``: run a scene on virtual time and print the timeline and metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from audiointeract.cli._options import parse_backend_options
from audiointeract.cli.report import print_timeline, write_report_json

__all__ = ["simulate"]

_COST_FIELDS = ("fixed", "per_audio_second", "per_token", "spread")


def _parse_costs(values: tuple[str, ...]) -> dict[str, dict[str, float]]:
    costs: dict[str, dict[str, float]] = {"perceiver": {}, "decider": {}, "responder": {}}
    for item in values:
        target, sep, raw = item.partition("=")
        kind, dot, field = target.partition(".")
        if not sep or not dot or kind not in costs or field not in _COST_FIELDS:
            msg = f"cost {item!r} must look like KIND.FIELD=SECONDS, KIND in {sorted(costs)}, FIELD in {_COST_FIELDS}"
            raise click.BadParameter(msg, param_hint="--cost")
        try:
            costs[kind][field] = float(raw)
        except ValueError as exc:
            raise click.BadParameter(f"cost {item!r}: {raw!r} is not a number", param_hint="--cost") from exc
    return costs


def _parse_fault(item: str) -> dict[str, Any]:
    """``COMPONENT:KIND[:START[-END]][:key=value...]``, e.g. ``perceiver:raise:2-4:retryable=false``."""
    parts = item.split(":")
    if len(parts) < 2:
        raise click.BadParameter(f"fault {item!r} must look like COMPONENT:KIND[:START-END]", param_hint="--fault")
    fault: dict[str, Any] = {"component": parts[0], "kind": parts[1]}
    try:
        for part in parts[2:]:
            key, sep, value = part.partition("=")
            if sep:
                fault[key] = json.loads(value) if value in ("true", "false") else float(value)
            else:
                start, _, end = part.partition("-")
                fault["start"] = float(start)
                fault["end"] = float(end) if end else None
    except ValueError as exc:
        raise click.BadParameter(f"fault {item!r}: {exc}", param_hint="--fault") from exc
    return fault


@click.command()
@click.argument("scene_path", metavar="SCENE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of rendering and sampled costs.")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the trace (JSONL).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the report as JSON.")
@click.option("--perceiver", default="oracle", show_default=True,
              help="'oracle' (perfect perception of the scene) or a perceiver registry name.")
@click.option("--decider", default="rules", show_default=True,
              help="'rules' (answer questions, warn about sounds) or a decider registry name.")
@click.option("--responder", default="speaking", show_default=True,
              help="'speaking' (text + synthetic speech) or a responder registry name.")
@click.option("--option", "-o", "options", multiple=True, metavar="KIND.KEY=VALUE",
              help="Backend option for a registry backend (values parse as JSON when they can).")
@click.option("--cost", "costs", multiple=True, metavar="KIND.FIELD=SECONDS",
              help="Compute cost, e.g. --cost perceiver.per_audio_second=1.2 --cost decider.fixed=0.05.")
@click.option("--compute-aware/--compute-unaware", default=True, show_default=True,
              help="Charge the compute costs on the virtual clock, or not (the policy's own latency).")
@click.option("--fault", "faults", multiple=True, metavar="COMPONENT:KIND[:START-END][:KEY=VALUE]",
              help="Inject a fault, e.g. perceiver:raise:2-4:retryable=false or responder:hang:0-9:seconds=5.")
@click.option("--timeout", type=float, default=None, help="Per-call backend timeout in seconds (all backends).")
@click.option("--chunk-seconds", type=float, default=0.4, show_default=True, help="Chunk duration (0.1-2 s).")
@click.option("--half-duplex", is_flag=True, help="No decisions while a reply is in flight (the paper's scheduler).")
@click.option("--cooldown", type=float, default=0.0, show_default=True, help="Seconds of quiet after each reply.")
@click.option("--timeline/--no-timeline", default=True, show_default=True, help="Print the event timeline.")
@click.option("--wav", "wav_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the rendered scene audio (16 kHz), e.g. to replay it with `audiointeract run`.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw the session (.png, .svg or .html), as `audiointeract plot` does.")
def simulate(
    scene_path: Path,
    seed: int,
    trace_path: Path | None,
    json_path: Path | None,
    perceiver: str,
    decider: str,
    responder: str,
    options: tuple[str, ...],
    costs: tuple[str, ...],
    compute_aware: bool,
    faults: tuple[str, ...],
    timeout: float | None,
    chunk_seconds: float,
    half_duplex: bool,
    cooldown: float,
    timeline: bool,
    wav_path: Path | None,
    plot_path: Path | None,
) -> None:
    """Simulate SCENE (a .json/.toml scene file) on virtual time; print the timeline and metrics."""
    from audiointeract import AudioFormat, FailurePolicy, SessionConfig
    from audiointeract.errors import AudioInteractError
    from audiointeract.registry import load_backend
    from audiointeract.simulators.compute import ComputeCosts, CostModel
    from audiointeract.simulators.faults import FaultPlan
    from audiointeract.simulators.files import load_scene
    from audiointeract.simulators.run import run_simulation
    from audiointeract.turns import TurnConfig

    backend_options = parse_backend_options(options)
    cost_fields = _parse_costs(costs)
    try:
        scene = load_scene(scene_path)
        policy = FailurePolicy(timeout=timeout)
        config = SessionConfig(
            audio=AudioFormat(chunk_seconds=chunk_seconds),
            half_duplex=half_duplex,
            turn=TurnConfig(reply_cooldown=cooldown),
            perceiver_failure=policy,
            decider_failure=policy,
            responder_failure=FailurePolicy(max_retries=1, timeout=timeout),
        )
        backends: dict[str, Any] = {}
        for kind, name, builtin in (
            ("perceiver", perceiver, "oracle"),
            ("decider", decider, "rules"),
            ("responder", responder, "speaking"),
        ):
            if name != builtin:
                backends[kind] = load_backend(kind, name, **backend_options[kind])  # type: ignore[arg-type]
        result = run_simulation(
            scene,
            seed=seed,
            config=config,
            costs=ComputeCosts(**{kind: CostModel(**fields) for kind, fields in cost_fields.items()}),
            compute_aware=compute_aware,
            faults=FaultPlan.from_dicts([_parse_fault(item) for item in faults]),
            **backends,
        )
    except AudioInteractError as exc:
        raise click.ClickException(str(exc)) from exc
    out = sys.stdout
    if timeline:
        print_timeline(result.trace, out)
        out.write("\n")
    out.write(result.report.table() + "\n")
    if wav_path:
        import soundfile

        from audiointeract.simulators.render import render

        soundfile.write(str(wav_path), render(scene, seed=seed), 16000, subtype="PCM_16")
        out.write(f"scene audio written to {wav_path}\n")
    if trace_path:
        result.trace.save(trace_path)
        out.write(f"trace written to {trace_path}\n")
    if json_path:
        write_report_json(result.report, json_path)
        out.write(f"report written to {json_path}\n")
    if plot_path:
        from audiointeract.cli.plot import write_plot

        try:
            out.write(write_plot(result.trace, plot_path) + "\n")
        except AudioInteractError as exc:
            raise click.ClickException(str(exc)) from exc
