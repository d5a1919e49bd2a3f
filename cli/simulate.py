"""``audiointeract simulate``: run a scene on virtual time and print the timeline and metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from audiointeract.cli._errors import UsageError, is_stdout, one_line_errors, open_binary_output, open_output
from audiointeract.cli._options import parse_backend_options
from audiointeract.cli.report import print_timeline, write_report_json

if TYPE_CHECKING:
    from audiointeract.simulators.scene import Scene

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
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of rendering and sampled costs.")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the trace (JSONL; '-': standard output).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report as JSON ('-': standard output).")
@click.option("--perceiver", default="oracle", show_default=True,
              help="'oracle' (perfect perception of the scene; option sound_hop) or a perceiver registry name.")
@click.option("--decider", default="rules", show_default=True,
              help="'rules' (answer questions, warn about sounds; options of TaskRuleDecider) "
              "or a decider registry name.")
@click.option("--responder", default="speaking", show_default=True,
              help="'speaking' (text + synthetic speech; options first_token_delay, word_seconds) "
              "or a responder registry name.")
@click.option("--option", "-o", "options", multiple=True, metavar="KIND.KEY=VALUE",
              help="Backend option, for the built-in backends too (values parse as JSON when they can). "
              "Registry backends run their compute inline (offload=false): virtual time does not wait for threads.")
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
@click.option("--any-clip-path", is_flag=True,
              help="Let the scene's clips be any file (default: its folder and the clip banks only).")
@click.option("--timeline/--no-timeline", default=True, show_default=True, help="Print the event timeline.")
@click.option("--wav", "wav_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the rendered scene audio (16 kHz WAV; '-': standard output), "
              "e.g. to replay it with `audiointeract run`.")
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
    any_clip_path: bool,
    timeline: bool,
    wav_path: Path | None,
    plot_path: Path | None,
) -> None:
    """Simulate SCENE (a .json/.toml scene file) on virtual time; print the timeline and metrics.

    Whatever goes to standard output (``-`` for --trace, --json or --wav) goes there
    alone; the timeline and the table then go to standard error.
    """
    from audiointeract import AudioFormat, FailurePolicy, SessionConfig
    from audiointeract.simulators.compute import ComputeCosts, CostModel
    from audiointeract.simulators.faults import FaultPlan
    from audiointeract.simulators.files import load_scene
    from audiointeract.simulators.run import run_simulation
    from audiointeract.turns import TurnConfig

    backend_options = parse_backend_options(options)
    cost_fields = _parse_costs(costs)
    piped = [path for path in (trace_path, json_path, wav_path) if is_stdout(path)]
    if len(piped) > 1:
        raise UsageError("only one of --trace, --json and --wav can be '-' (standard output)")
    trace_out = open_output(trace_path, "--trace") if trace_path else None
    json_out = open_output(json_path, "--json") if json_path else None
    wav_out = open_binary_output(wav_path, "--wav") if wav_path else None
    with one_line_errors():
        if plot_path:
            from audiointeract.plotting import check_plot_path

            check_plot_path(plot_path)
        scene = load_scene(scene_path, any_clip_path=any_clip_path)
        policy = FailurePolicy(timeout=timeout)
        config = SessionConfig(
            audio=AudioFormat(chunk_seconds=chunk_seconds),
            half_duplex=half_duplex,
            turn=TurnConfig(reply_cooldown=cooldown),
            perceiver_failure=policy,
            decider_failure=policy,
            responder_failure=FailurePolicy(max_retries=1, timeout=timeout),
        )
        backends = {
            kind: _backend(kind, name, builtin, backend_options[kind], scene)
            for kind, name, builtin in (
                ("perceiver", perceiver, "oracle"),
                ("decider", decider, "rules"),
                ("responder", responder, "speaking"),
            )
        }
        result = run_simulation(
            scene,
            seed=seed,
            config=config,
            costs=ComputeCosts(**{kind: CostModel(**fields) for kind, fields in cost_fields.items()}),
            compute_aware=compute_aware,
            faults=FaultPlan.from_dicts([_parse_fault(item) for item in faults]),
            **backends,
        )
    out = sys.stderr if piped else sys.stdout
    if timeline:
        print_timeline(result.trace, out)
        out.write("\n")
    out.write(result.report.table() + "\n")
    if wav_out is not None:
        _write_wav(scene, seed, wav_out)
        _done(wav_path, wav_out, "scene audio", out)
    if trace_out is not None:
        trace_out.write(result.trace.to_jsonl())
        _done(trace_path, trace_out, "trace", out)
    if json_out is not None:
        write_report_json(result.report, json_out)
        _done(json_path, json_out, "report", out)
    if plot_path:
        from audiointeract.cli.plot import write_plot

        with one_line_errors():
            out.write(write_plot(result.trace, plot_path, trusted=True) + "\n")


def _backend(kind: str, name: str, builtin: str, options: dict[str, Any], scene: Scene) -> Any:
    """A registry backend, or the built-in one with the options given to it (None: the default)."""
    from audiointeract.options import build
    from audiointeract.registry import backend_options, find_backend, load_backend

    if name == builtin:
        return build(f"the simulator's {kind} {builtin!r}", _builtin(kind, scene), options) if options else None
    takes = {option.name for option in backend_options(find_backend(kind, name))}  # type: ignore[arg-type]
    if "offload" in takes:
        if options.get("offload", False) is not False:
            raise UsageError(
                f"-o {kind}.offload=true runs {name!r} on a thread, which virtual time does not wait for "
                f"(every event would land at the scene's end); drop it: simulate runs the model inline"
            )
        options = {**options, "offload": False}
    return load_backend(kind, name, **options)  # type: ignore[arg-type]


def _builtin(kind: str, scene: Scene) -> Any:
    from audiointeract.backends.mock import ScriptedPerceiver
    from audiointeract.simulators.agents import SpeakingResponder, TaskRuleDecider
    from audiointeract.simulators.oracle import oracle_perceptions
    from audiointeract.simulators.run import DEFAULT_SOUND_HOP

    def oracle(*, sound_hop: float | None = DEFAULT_SOUND_HOP) -> ScriptedPerceiver:
        return ScriptedPerceiver(oracle_perceptions(scene, sound_hop=sound_hop))

    return {"perceiver": oracle, "decider": TaskRuleDecider, "responder": SpeakingResponder}[kind]


def _write_wav(scene: Scene, seed: int, out: Any) -> None:
    import io

    import soundfile

    from audiointeract.simulators.render import render

    buffer = io.BytesIO()  # a WAV header needs the length: write it whole, also to a pipe
    soundfile.write(buffer, render(scene, seed=seed), 16000, subtype="PCM_16", format="WAV")
    out.write(buffer.getvalue())
    out.flush()


def _done(path: Path | None, stream: Any, what: str, out: Any) -> None:
    if is_stdout(path):
        stream.flush()
        return
    stream.close()
    out.write(f"{what} written to {path}\n")
