"""The training loop: generate episodes, build sequences, fit the network, pick thresholds, save.

Seeded end to end (episode generation, teacher rollout, initial weights, batch order)
and deterministic on CPU, so the same config gives the same weights. After every
epoch the weights and optimizer state go to ``<output>/resume/`` (safetensors +
JSON); ``resume=True`` continues from there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch
from safetensors.torch import load_file, save_file

from audiointeract.backends.thread_budget import thread_budget
from audiointeract.errors import CheckpointError
from audiointeract.policies.embeddings import CachedEmbedder, make_embedder
from audiointeract.policies.learned.checkpoint import save_checkpoint
from audiointeract.policies.learned.model import OUTPUTS, DecisionNet
from audiointeract.simulators.scene import Scene, Speech
from audiointeract.training.config import TrainConfig
from audiointeract.training.dataset import Sequences, build_sequences
from audiointeract.training.episodes import generate_episodes
from audiointeract.training.vocabulary import LabelledEvent, decisive_labels, load_events

__all__ = ["TrainResult", "pick_threshold", "train"]

_RESUME = "resume"
CACHE_ROWS = 16_384
"""Embeddings training keeps (the default run embeds about 2,700 distinct texts; an evicted one is embedded again)."""


@attrs.frozen(kw_only=True)
class TrainResult:
    """What a run produced: the checkpoint folder, per-epoch losses, thresholds and validation scores."""

    checkpoint: Path
    losses: tuple[float, ...]
    val_losses: tuple[float, ...]
    thresholds: dict[str, float]
    val_f1: dict[str, float]
    epochs_run: int


def _inputs(seqs: Sequences, rows: np.ndarray[Any, Any], table: torch.Tensor) -> torch.Tensor:
    text = table[torch.from_numpy(seqs.text[rows])]
    sound = table[torch.from_numpy(seqs.sound[rows])]
    task = table[torch.from_numpy(seqs.task[rows])][:, None, :].expand_as(text)
    return torch.cat([text, sound, task, torch.from_numpy(seqs.scalars[rows])], dim=-1)


def _loss(
    net: DecisionNet,
    seqs: Sequences,
    rows: np.ndarray[Any, Any],
    table: torch.Tensor,
    pos_weight: torch.Tensor,
    *,
    noise: float = 0.0,
) -> torch.Tensor:
    x = _inputs(seqs, rows, table)
    if noise > 0:
        blocks = 3 * net.spec.embed_dim  # perturb the embeddings, not the scalars: paraphrase robustness
        x = torch.cat([x[..., :blocks] + noise * torch.randn_like(x[..., :blocks]), x[..., blocks:]], dim=-1)
    logits, _ = net(x)
    labels = torch.from_numpy(seqs.labels[rows])
    mask = torch.from_numpy(seqs.mask[rows])[..., None]
    raw = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, pos_weight=pos_weight, reduction="none")
    return (raw * mask).sum() / (mask.sum() * len(OUTPUTS))


def _probabilities(net: DecisionNet, seqs: Sequences, table: torch.Tensor, batch: int) -> np.ndarray[Any, Any]:
    out = []
    with torch.no_grad():
        for start in range(0, len(seqs), batch):
            rows = np.arange(start, min(len(seqs), start + batch))
            logits, _ = net(_inputs(seqs, rows, table))
            out.append(torch.sigmoid(logits).numpy())
    return np.concatenate(out)


def _runs(flags: np.ndarray[Any, Any]) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, flag in enumerate([*flags.tolist(), False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return runs


def _event_f1(
    probs: np.ndarray[Any, Any], labels: np.ndarray[Any, Any], mask: np.ndarray[Any, Any], threshold: float
) -> float:
    tp = fp = fn = 0
    for p, y, m in zip(probs, labels, mask, strict=True):
        live = m > 0
        fired = (p > threshold) & live
        truth = (y > 0.5) & live
        for a, b in _runs(truth):
            if fired[a:b].any():
                tp += 1
            else:
                fn += 1
        fp += sum(1 for a, b in _runs(fired & ~truth) if not (a > 0 and truth[a - 1]))
    return 2 * tp / max(1, 2 * tp + fp + fn)


def pick_threshold(
    probs: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    mask: np.ndarray[Any, Any],
    *,
    slack: float = 0.0,
    lowest: bool = True,
) -> tuple[float, float]:
    """A decision threshold for event-level F1 on validation sequences, and its F1.

    Among the thresholds whose F1 is within ``slack`` of the best, the lowest (or, with
    ``lowest=False``, the highest). Validation episodes share the training templates,
    so their scores are optimistic and new phrasings score lower: a lower ``respond``
    threshold keeps more of them, while a higher ``interrupt`` threshold keeps replies
    from being cut off by noise.
    """
    grid = [round(float(x), 2) for x in np.arange(0.1, 0.96, 0.05)]
    scores = [(_event_f1(probs, labels, mask, th), th) for th in grid]
    best = max(f1 for f1, _ in scores)
    near = [(th, f1) for f1, th in scores if f1 >= best - slack]
    return min(near) if lowest else max(near)


def _save_resume(
    folder: Path,
    net: DecisionNet,
    optimizer: torch.optim.Optimizer,
    *,
    epoch: int,
    losses: list[float],
    val_losses: list[float],
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"net.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
    state = optimizer.state_dict()
    for index, values in state["state"].items():
        for key, value in values.items():
            tensors[f"opt.{index}.{key}"] = torch.as_tensor(value).contiguous()
    save_file(tensors, str(folder / "state.safetensors"))
    (folder / "state.json").write_text(json.dumps({"epoch": epoch, "losses": losses, "val_losses": val_losses}))


def _load_resume(
    folder: Path, net: DecisionNet, optimizer: torch.optim.Optimizer
) -> tuple[int, list[float], list[float]]:
    try:
        meta = json.loads((folder / "state.json").read_text())
        tensors = load_file(str(folder / "state.safetensors"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot resume from {folder}: {exc}") from exc
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    state = optimizer.state_dict()
    for name, value in tensors.items():
        if name.startswith("opt."):
            _, index, key = name.split(".", 2)
            state["state"].setdefault(int(index), {})[key] = value
    optimizer.load_state_dict(state)
    return int(meta["epoch"]), list(meta["losses"]), list(meta["val_losses"])


def _prototypes(scenes: list[Scene], events: list[LabelledEvent], embedder: CachedEmbedder) -> dict[str, torch.Tensor]:
    """The prototype memory: labelled sound descriptions (and decisive labels) and training utterances."""
    decisive = decisive_labels(events)
    sounds: dict[str, set[str]] = {"sound_respond": set(), "sound_ignore": set()}
    for event in events:
        key = "sound_respond" if event.respond else "sound_ignore"
        sounds[key].add(event.description)
        if event.audioset_label in decisive:
            sounds[key].add(str(event.audioset_label))
    texts: dict[str, set[str]] = {"text_respond": set(), "text_ignore": set()}
    for scene in scenes:
        for segment in scene.segments:
            if isinstance(segment, Speech):
                asked = any(e.task == "answer" for e in segment.expects)
                texts["text_respond" if asked else "text_ignore"].add(segment.text)
    return {name: torch.from_numpy(embedder.embed(sorted(rows))) for name, rows in {**sounds, **texts}.items()}


def _datasets(config: TrainConfig, embedder: CachedEmbedder) -> tuple[Sequences, Sequences, dict[str, torch.Tensor]]:
    events = load_events(config.events, split="train")
    train_scenes = generate_episodes(
        config.train_episodes, seed=config.seed, family="train", events=events, config=config.episodes
    )
    val_scenes = generate_episodes(
        config.val_episodes, seed=config.seed + 1_000_003, family="train", events=events, config=config.episodes
    )
    texts = {seg.label for scene in [*train_scenes, *val_scenes] for seg in scene.segments}
    embedder.embed(sorted(texts))  # one batch, then cached
    train_seqs = build_sequences(
        train_scenes, spec=config.features, embedder=embedder, chunk=config.chunk, seed=config.seed
    )
    val_seqs = build_sequences(
        val_scenes, spec=config.features, embedder=embedder, chunk=config.chunk, seed=config.seed + 1
    )
    built = _prototypes(train_scenes, events, embedder) if config.prototypes else {}
    prototypes = {name: rows for name, rows in built.items() if name in config.prototypes}
    return train_seqs, val_seqs, prototypes


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    embedder: CachedEmbedder | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Run the whole recipe and write the checkpoint to ``config.output``.

    ``progress(step, total, loss)`` is called after every batch (the CLI draws a bar).
    Runs with ``config.threads`` CPU threads in the calling thread only, deterministic
    algorithms and its own random state; torch's global settings are restored afterwards.
    """
    with thread_budget(config.threads), _deterministic(), torch.random.fork_rng(devices=[]):
        return _train(config, resume=resume, embedder=embedder, progress=progress)


@contextmanager
def _deterministic() -> Iterator[None]:
    """Deterministic torch algorithms for the block; the caller's setting afterwards."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(mode=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def _train(
    config: TrainConfig,
    *,
    resume: bool,
    embedder: CachedEmbedder | None,
    progress: Callable[[int, int, float], None] | None,
) -> TrainResult:
    torch.manual_seed(config.seed)
    emb = embedder or make_embedder(config.features.embedder, config.features.embed_dim, max_rows=CACHE_ROWS)
    train_seqs, val_seqs, prototypes = _datasets(config, emb)
    shape = attrs.evolve(config.model, prototypes={name: int(rows.shape[0]) for name, rows in prototypes.items()})
    net = DecisionNet(config.features, shape, prototypes)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    positives = (train_seqs.labels * train_seqs.mask[..., None]).sum(axis=(0, 1))
    negatives = train_seqs.mask.sum() - positives
    pos_weight = torch.tensor(
        np.minimum(config.max_pos_weight, np.sqrt(negatives / np.maximum(positives, 1.0))), dtype=torch.float32
    )
    train_table = torch.from_numpy(train_seqs.table)
    val_table = torch.from_numpy(val_seqs.table)
    resume_dir = config.output / _RESUME
    start, losses, val_losses = 0, list[float](), list[float]()
    if resume and (resume_dir / "state.json").is_file():
        start, losses, val_losses = _load_resume(resume_dir, net, optimizer)
    batches = -(-len(train_seqs) // config.batch_size)
    total = config.epochs * batches
    for epoch in range(start, config.epochs):
        torch.manual_seed(config.seed * 1_000 + epoch)  # per-epoch seed: a resumed run draws the same noise
        net.train()
        order = np.random.default_rng(config.seed + epoch).permutation(len(train_seqs))
        running = 0.0
        for number in range(batches):
            rows = np.sort(order[number * config.batch_size : (number + 1) * config.batch_size])
            optimizer.zero_grad()
            loss = _loss(net, train_seqs, rows, train_table, pos_weight, noise=config.embedding_noise)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            running += float(loss.detach())
            if progress is not None:
                progress(epoch * batches + number + 1, total, float(loss.detach()))
        net.eval()
        with torch.no_grad():
            val = float(_loss(net, val_seqs, np.arange(len(val_seqs)), val_table, pos_weight))
        losses.append(running / batches)
        val_losses.append(val)
        _save_resume(resume_dir, net, optimizer, epoch=epoch + 1, losses=losses, val_losses=val_losses)
    net.eval()
    probs = _probabilities(net, val_seqs, val_table, config.batch_size)
    thresholds, f1 = {}, {}
    for k, name in enumerate(OUTPUTS):
        thresholds[name], f1[name] = pick_threshold(
            probs[..., k],
            val_seqs.labels[..., k],
            val_seqs.mask,
            slack=config.threshold_slack if name == "respond" else 0.0,
            lowest=name == "respond",
        )
    meta = {"train": config.to_dict(), "losses": losses, "val_losses": val_losses, "val_event_f1": f1}
    folder = save_checkpoint(config.output, net, thresholds=thresholds, meta=meta)
    shutil.rmtree(resume_dir, ignore_errors=True)
    return TrainResult(
        checkpoint=folder,
        losses=tuple(losses),
        val_losses=tuple(val_losses),
        thresholds=thresholds,
        val_f1=f1,
        epochs_run=config.epochs - start,
    )
