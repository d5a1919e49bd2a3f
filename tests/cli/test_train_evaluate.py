"""`audiointeract train` and `audiointeract evaluate` on a tiny config and tiny sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")

from audiointeract.cli import main
from audiointeract.evaluation import REAL_SCENES
from audiointeract.training import DEFAULT_CONFIG

TINY = """
seed = 3
chunk = 0.4
events = "{events}"
output = "tiny-ckpt"
train_episodes = 12
val_episodes = 4

[features]
embedder = "hashing"
embed_dim = 32

[model]
proj = 8
hidden = 8

[train]
epochs = 2
batch_size = 8
"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    events = (DEFAULT_CONFIG.parent / "../data/events.jsonl").resolve()
    config = folder / "tiny.toml"
    config.write_text(TINY.format(events=events.as_posix()))
    result = CliRunner().invoke(main, ["train", str(config)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    return folder / "tiny-ckpt"


def test_train_writes_a_checkpoint(checkpoint: Path) -> None:
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["features"]["embedder"] == "hashing"
    assert config["meta"]["train"]["seed"] == 3
    assert (checkpoint / "model.safetensors").stat().st_size > 0


def test_train_rejects_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'events = "x.jsonl"\noutput = "o"\n[train]\nepochs = 0\n[features]\nembedder = "hashing"\nembed_dim = 8\n'
    )
    result = CliRunner().invoke(main, ["train", str(bad)])
    assert result.exit_code != 0
    assert "epochs" in result.output


def test_evaluate_compares_policies_on_tiny_sets(checkpoint: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    rows = [
        {"id": "a", "description": "a smoke alarm beeping", "decision": "RESPOND", "path": "clips/a.wav"},
        {"id": "b", "description": "a dog barking in the distance", "decision": "IGNORE"},
        {"id": "c", "description": "glass shattering", "decision": "RESPOND"},
    ]
    events.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "result.json"
    args = ["evaluate", "--policy", str(checkpoint), "--policy", "endpointing", "--set", "events", "--set", "dense",
            "--scenes", "2", "--events", str(events), "--json", str(out), "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "endpointing" in result.output
    assert "F1@.8" in result.output
    data = json.loads(out.read_text())
    assert set(data) >= {"accuracy", "respond_recall", "ignore_accuracy", "policies", "sets"}
    assert data["policy"] == str(checkpoint)
    endpointing = data["policies"]["endpointing"]
    assert endpointing["events"]["respond_recall"] == 0.0  # speech endpointing never warns about sounds
    assert endpointing["dense"]["scenes"] == 2
    assert data["sets"]["events"]["events"] == 3
    assert 0.0 <= data["accuracy"] <= 1.0


def test_evaluate_writes_json_to_stdout_and_tables_to_stderr() -> None:
    args = ["evaluate", "--policy", "keyword", "--set", "dense", "--scenes", "1", "--json", "-"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["policies"]["keyword"]["dense"]["scenes"] == 1
    assert "dense generated scenes" in result.stderr


def test_evaluate_refuses_a_missing_scene_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["evaluate", "--policy", "default", "--set", "real", "--real",
                                       str(tmp_path / "nonexistent")])
    assert result.exit_code != 0
    assert "nonexistent" in result.output
    assert "does not exist" in result.output


def test_evaluate_says_which_scenes_it_skipped(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "scenes"
    shutil.copy(examples / "barge_in.json", tmp_path)
    shutil.copy(REAL_SCENES / "real-07-queue.json", tmp_path)
    args = ["evaluate", "--policy", "default", "--set", "real", "--real", str(tmp_path), "--perception", "oracle",
            "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr
    assert "barge_in.json" in result.stderr
    assert "not built only from real recordings" in result.stderr
    assert "real-recording scenes: 1 scenes" in result.stdout
    only_synthetic = tmp_path / "synthetic"
    only_synthetic.mkdir()
    shutil.copy(examples / "barge_in.json", only_synthetic)
    refused = CliRunner().invoke(main, [*args[:-4], str(only_synthetic), "--perception", "oracle"])
    assert refused.exit_code != 0
    assert "no scene built only from real recordings" in refused.output
