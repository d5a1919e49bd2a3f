"""The learned decider: checkpoint validation, and running inside a Session on virtual time."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

torch = pytest.importorskip("torch")

from audiointeract.errors import CheckpointError, ConfigurationError, ModelNotFoundError  # noqa: E402
from audiointeract.events import Action, Decision, StandingTask  # noqa: E402
from audiointeract.policies import LearnedDecider  # noqa: E402
from audiointeract.policies.learned import DEFAULT_CHECKPOINT  # noqa: E402
from audiointeract.policies.learned.checkpoint import Checkpoint, load_checkpoint, save_checkpoint  # noqa: E402
from audiointeract.policies.learned.features import FeatureSpec  # noqa: E402
from audiointeract.policies.learned.model import DecisionNet, ModelShape  # noqa: E402
from audiointeract.registry import load_backend  # noqa: E402
from audiointeract.simulators.run import simulate  # noqa: E402
from audiointeract.simulators.scene import Anchor, Expect, Scene, Sound, Speech  # noqa: E402
from audiointeract.training import DEFAULT_CONFIG  # noqa: E402
from audiointeract.training.config import load_config  # noqa: E402
from audiointeract.training.loop import train  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_config(DEFAULT_CONFIG, output=tmp_path_factory.mktemp("learned") / "ckpt")
    config = attrs.evolve(
        config,
        features=FeatureSpec(embedder="hashing", embed_dim=64),
        train_episodes=16,
        val_episodes=4,
        epochs=2,
        batch_size=8,
    )
    return train(config).checkpoint


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("config.json", "model.safetensors"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def test_mismatched_feature_spec_names_the_problem(tiny: Path, tmp_path: Path) -> None:
    bad = _copy(tiny, tmp_path / "bad")
    config = json.loads((bad / "config.json").read_text())
    config["features"]["scalars"] = ["user_speaking", "loudness"]
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="scalars"):
        LearnedDecider.from_pretrained(bad)
    config["features"] = {**json.loads((tiny / "config.json").read_text())["features"], "embed_dim": 32}
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(bad)


def test_corrupt_or_missing_files_fail_clearly(tiny: Path, tmp_path: Path) -> None:
    corrupt = _copy(tiny, tmp_path / "corrupt")
    (corrupt / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="safetensors"):
        load_checkpoint(corrupt)
    (corrupt / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(corrupt)
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        load_checkpoint(tmp_path / "nowhere")


def test_nan_weights_and_bad_thresholds_are_refused(tmp_path: Path) -> None:
    net = DecisionNet(FeatureSpec(embedder="hashing", embed_dim=16), ModelShape(proj=4, hidden=4))
    with torch.no_grad():
        net.head.bias.fill_(float("nan"))
    save_checkpoint(tmp_path / "nan", net, thresholds={"respond": 0.5, "interrupt": 0.5})
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(tmp_path / "nan")
    with torch.no_grad():
        net.head.bias.zero_()
    save_checkpoint(tmp_path / "th", net, thresholds={"respond": 1.5, "interrupt": 0.5})
    with pytest.raises(CheckpointError, match="thresholds"):
        load_checkpoint(tmp_path / "th")
    with pytest.raises(ConfigurationError, match="thresholds"):
        LearnedDecider(_ok(net, tmp_path), threshold=0.0)


def _ok(net: DecisionNet, tmp_path: Path) -> Checkpoint:
    save_checkpoint(tmp_path / "ok", net, thresholds={"respond": 0.5, "interrupt": 0.5})
    return load_checkpoint(tmp_path / "ok")


@pytest.mark.anyio
async def test_runs_in_a_session_on_virtual_time(tiny: Path) -> None:
    scene = Scene(
        segments=[
            Speech(
                start=0.5,
                duration=2.0,
                text="hey assistant, what time is it?",
                expects=[Expect(task="answer", within=2.0)],
            ),
            Sound(
                start=4.0,
                duration=2.0,
                label="Smoke detector, smoke alarm",
                expects=[Expect(task="safety", anchor=Anchor.ONSET, within=2.0)],
            ),
        ],
        tasks=[
            StandingTask(name="answer", instruction="Answer questions addressed to you."),
            StandingTask(name="safety", instruction="Warn me about danger.", proactive=True),
        ],
    )
    decider = LearnedDecider.from_pretrained(tiny, offload=False)
    result = await simulate(scene, decider=decider, compute_aware=False)
    decisions = result.trace.of_type(Decision)
    assert len(decisions) >= int(scene.duration / 0.4) - 1
    assert all(d.task in (None, "answer", "safety") for d in decisions)
    await decider.reset()


@pytest.mark.slow
@pytest.mark.anyio
async def test_default_checkpoint_answers_warns_and_ignores() -> None:
    decider = load_backend("decider", "learned", offload=False)
    assert isinstance(decider, LearnedDecider)
    assert decider.checkpoint.spec.embedder == "all-MiniLM-L6-v2"
    assert (DEFAULT_CHECKPOINT / "config.json").is_file()
    scene = Scene(
        segments=[
            Speech(start=0.5, duration=2.4, text="Tom, did you remember to buy bread?", speaker="other"),
            Speech(
                start=4.5,
                duration=2.2,
                text="hey assistant, how many grams are in a kilogram?",
                expects=[Expect(task="answer", within=2.0)],
            ),
            Sound(start=9.0, duration=1.5, label="a door closing", synth="noise"),
            Sound(
                start=12.0,
                duration=3.0,
                label="Smoke detector, smoke alarm",
                expects=[Expect(task="safety", anchor=Anchor.ONSET, within=2.0)],
            ),
        ],
        tasks=[
            StandingTask(name="answer", instruction="Answer questions and requests addressed to you."),
            StandingTask(name="safety", instruction="Warn me about emergencies and dangerous sounds.", proactive=True),
        ],
    )
    result = await simulate(scene, decider=decider, compute_aware=False)
    responds = [d for d in result.trace.of_type(Decision) if d.action is Action.RESPOND]
    assert [d.task for d in responds] == ["answer", "safety"]
    f1 = next(t for t in result.report.tolerances if t.tolerance == 0.8).f1
    assert f1 == 1.0
