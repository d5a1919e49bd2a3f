"""`audiointeract simulate` and `audiointeract report` on the bundled example scenes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiointeract.cli import main
from audiointeract.simulators import default_bank
from audiointeract.trace import Trace

EXAMPLES = Path(__file__).parents[2] / "examples" / "scenes"
BANK = default_bank()
needs_banks = pytest.mark.skipif(
    not all(BANK.available(b) for b in ("asterisk", "pocketsphinx", "sonic-pi")), reason="clip banks not installed"
)


@needs_banks
def test_simulate_real_scene_prints_timeline_and_metrics_and_writes_files(tmp_path: Path) -> None:
    trace_path, json_path = tmp_path / "t.jsonl", tmp_path / "r.json"
    result = CliRunner().invoke(
        main, ["simulate", str(EXAMPLES / "kitchen_real.toml"), "--seed", "1", "--trace", str(trace_path),
               "--json", str(json_path)],
    )
    assert result.exit_code == 0, result.output
    assert "heard: 'Which folder should I save the message to?'" in result.output
    assert "decide RESPOND task=warn" in result.output
    for tolerance in ("0.0s", "0.4s", "0.8s", "2.0s"):
        assert tolerance in result.output
    report = json.loads(json_path.read_text())
    assert report["counts"]["expected"] == 3
    assert report["tolerances"][-1]["f1"] == 1.0
    assert Trace.load(trace_path).meta["seed"] == 1

    again = CliRunner().invoke(main, ["report", str(trace_path), "--json", str(tmp_path / "r2.json")])
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "r2.json").read_text()) == report


def test_simulate_with_costs_faults_and_registry_decider(tmp_path: Path) -> None:
    scene = str(EXAMPLES / "barge_in.json")
    result = CliRunner().invoke(
        main, ["simulate", scene, "--no-timeline", "--cost", "perceiver.per_audio_second=1.5",
               "--fault", "decider:raise:0-1:retryable=false", "--decider", "turn-end", "--json", str(tmp_path / "r.json")],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["backend_errors"]["decider"] >= 1
    assert report["decision_lag"]["max"] > 1.0
    assert report["stall_rate"] > 0


def test_compute_unaware_flag_and_barge_in(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["simulate", str(EXAMPLES / "barge_in.json"), "--compute-unaware", "--cost", "perceiver.fixed=5"],
    )
    assert result.exit_code == 0, result.output
    assert "cancelled (barge-in)" in result.output
    assert "stall rate 0.0%" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cost", "perceiver.speed=2"], "KIND.FIELD=SECONDS"),
        (["--cost", "perceiver.fixed=x"], "not a number"),
        (["--fault", "perceiver"], "COMPONENT:KIND"),
        (["--fault", "perceiver:raise:a-b"], "could not convert"),
        (["--fault", "perceiver:explode"], "Fault.kind must be one of"),
        (["--decider", "nope"], "unknown decider 'nope'"),
    ],
)
def test_bad_options_are_reported(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["simulate", str(EXAMPLES / "barge_in.json"), *args])
    assert result.exit_code != 0
    assert message in result.output


def test_report_without_scene_in_trace_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    Trace(records=[], meta={}).save(path)
    result = CliRunner().invoke(main, ["report", str(path)])
    assert result.exit_code != 0
    assert "no scene" in result.output
    ok = CliRunner().invoke(main, ["report", str(path), "--scene", str(EXAMPLES / "barge_in.json"), "--timeline"])
    assert ok.exit_code == 0, ok.output
    assert "recall" in ok.output
