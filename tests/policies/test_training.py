"""Training smoke tests: the loss falls, training is reproducible and resumable, checkpoints round-trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from audiointeract.errors import CheckpointError  # noqa: E402
from audiointeract.evaluation import TEST_EVENTS  # noqa: E402
from audiointeract.events import StandingTask  # noqa: E402
from audiointeract.policies.embeddings import make_embedder  # noqa: E402
from audiointeract.policies.learned.checkpoint import load_checkpoint  # noqa: E402
from audiointeract.policies.learned.features import FeatureSpec  # noqa: E402
from audiointeract.simulators.scene import Anchor, Expect, Scene, Sound, Speech  # noqa: E402
from audiointeract.training import DEFAULT_CONFIG, EVENTS_FILE  # noqa: E402
from audiointeract.training.config import TrainConfig, load_config  # noqa: E402
from audiointeract.training.dataset import SOUND_HOPS, build_sequences  # noqa: E402
from audiointeract.training.episodes import generate_episodes  # noqa: E402
from audiointeract.training.loop import TrainResult, train  # noqa: E402
from audiointeract.training.vocabulary import decisive_labels, load_events  # noqa: E402


def tiny_config(output: Path, **changes: Any) -> TrainConfig:
    config = load_config(DEFAULT_CONFIG, output=output)
    features = FeatureSpec(embedder="hashing", embed_dim=64)
    base = attrs.evolve(config, features=features, train_episodes=24, val_episodes=6, epochs=4, batch_size=8)
    return attrs.evolve(base, **changes)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, TrainResult]:
    config = tiny_config(tmp_path_factory.mktemp("ckpt") / "tiny")
    return config, train(config)


def test_vocabulary_is_balanced_and_labelled() -> None:
    events = load_events(EVENTS_FILE)
    assert len(events) >= 250  # the training side of the label-disjoint split
    assert len({e.id for e in events}) == len(events)
    respond = [e for e in events if e.respond]
    assert 0.3 < len(respond) / len(events) < 0.5
    assert {e.split for e in events} == {"train"}  # the test split is frozen in audiointeract.evaluation
    assert "Smoke detector, smoke alarm" in decisive_labels(events)
    assert "Thunder" not in decisive_labels(events)  # distant thunder is IGNORE, a thunderclap overhead RESPOND


def test_episodes_are_seeded_and_templates_disjoint() -> None:
    events = load_events(EVENTS_FILE, split="train")
    first = generate_episodes(3, seed=5, family="train", events=events)
    again = generate_episodes(3, seed=5, family="train", events=events)
    assert [s.to_dict() for s in first] == [s.to_dict() for s in again]
    held = generate_episodes(3, seed=5, family="heldout", events=load_events(TEST_EVENTS))
    train_speech = generate_episodes(40, seed=1, family="train", events=events)
    train_texts = {seg.label for s in train_speech for seg in s.segments if isinstance(seg, Speech)}
    held_texts = {seg.label for s in held for seg in s.segments if isinstance(seg, Speech)}
    assert held_texts
    assert not (train_texts & held_texts)


def test_labels_cover_windows_up_to_the_teacher_response() -> None:
    events = load_events(EVENTS_FILE, split="train")
    scenes = generate_episodes(4, seed=3, family="train", events=events)
    spec = FeatureSpec(embedder="hashing", embed_dim=32)
    seqs = build_sequences(scenes, spec=spec, embedder=make_embedder("hashing", 32), chunk=0.4, seed=0)
    assert len(seqs) == sum(len(s.tasks) for s in scenes)
    expected = sum(len(s.expectations()) for s in scenes)
    respond = seqs.labels[..., 0] * seqs.mask
    runs = int(((respond[:, 1:] > 0) & (respond[:, :-1] == 0)).sum() + (respond[:, 0] > 0).sum())
    assert 0 < runs <= expected
    assert respond.sum() >= runs  # every run has at least one chunk
    assert np.all(seqs.mask.sum(axis=1) > 0)


def test_loss_falls_and_checkpoint_round_trips(trained: tuple[TrainConfig, TrainResult]) -> None:
    config, result = trained
    assert result.losses[-1] < result.losses[0]
    assert result.val_losses[-1] < result.val_losses[0]
    loaded = load_checkpoint(result.checkpoint, expected=config.features)
    assert loaded.spec == config.features
    assert set(loaded.thresholds) == {"respond", "interrupt"}
    again = load_checkpoint(result.checkpoint)
    for key, value in loaded.net.state_dict().items():
        assert torch.equal(value, again.net.state_dict()[key])
    assert not (result.checkpoint / "resume").exists()
    with pytest.raises(CheckpointError, match="feature spec"):
        load_checkpoint(result.checkpoint, expected=attrs.evolve(config.features, buffer_words=3))


def test_same_seed_same_weights_and_resume_matches(trained: tuple[TrainConfig, TrainResult], tmp_path: Path) -> None:
    config, result = trained
    reference = (result.checkpoint / "model.safetensors").read_bytes()
    rng, threads = torch.random.get_rng_state(), torch.get_num_threads()
    twin = train(attrs.evolve(config, output=tmp_path / "twin"))
    assert (twin.checkpoint / "model.safetensors").read_bytes() == reference

    class Stop(Exception):
        pass

    def interrupt(step: int, total: int, loss: float) -> None:
        if step == total // 2 + 1:
            raise Stop

    resumed_config = attrs.evolve(config, output=tmp_path / "resumed")
    with pytest.raises(Stop):
        train(resumed_config, progress=interrupt)
    assert (resumed_config.output / "resume" / "state.json").is_file()
    resumed = train(resumed_config, resume=True)
    assert resumed.epochs_run < config.epochs
    assert (resumed.checkpoint / "model.safetensors").read_bytes() == reference
    # training, finished or interrupted, leaves torch's process-wide settings as it found them
    assert torch.equal(torch.random.get_rng_state(), rng)
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


def test_warning_labels_start_when_the_sound_can_be_heard() -> None:
    scene = Scene(
        segments=[
            Sound(
                start=2.0,
                duration=3.0,
                label="Smoke detector, smoke alarm",
                expects=[Expect(task="safety", anchor=Anchor.ONSET, within=2.0)],
            )
        ],
        tasks=[StandingTask(name="safety", instruction="Warn me about danger.", proactive=True)],
    )
    spec = FeatureSpec(embedder="hashing", embed_dim=16)
    seqs = build_sequences([scene], spec=spec, embedder=make_embedder("hashing", 16), chunk=0.4, seed=0)
    positive = np.flatnonzero(seqs.labels[0, :, 0])
    assert positive.size > 0
    first_heard = (positive[0] + 1) * 0.4
    assert first_heard >= 2.0 + min(SOUND_HOPS) - 1e-9  # not before the tagger's first frame
    assert first_heard <= 2.0 + max(SOUND_HOPS) + 0.4 + 1e-9
