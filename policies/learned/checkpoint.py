"""Checkpoints: ``config.json`` (feature spec, sizes, thresholds) + ``model.safetensors``.

A checkpoint is a folder; the weights are safetensors, never pickle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from audiointeract.errors import CheckpointError, ModelNotFoundError
from audiointeract.policies.learned.features import FeatureSpec
from audiointeract.policies.learned.model import OUTPUTS, DecisionNet, ModelShape

__all__ = ["CONFIG_NAME", "FORMAT", "WEIGHTS_NAME", "Checkpoint", "load_checkpoint", "save_checkpoint"]

FORMAT = "audiointeract-learned-decider"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@attrs.frozen(kw_only=True, eq=False)
class Checkpoint:
    """A loaded policy: the network in eval mode, its feature spec and decision thresholds."""

    net: DecisionNet
    spec: FeatureSpec
    thresholds: dict[str, float]
    meta: dict[str, Any]


def save_checkpoint(
    path: str | Path, net: DecisionNet, *, thresholds: Mapping[str, float], meta: Mapping[str, Any] | None = None
) -> Path:
    """Write ``net`` to the folder ``path`` (created if needed); returns the folder."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "features": net.spec.to_dict(),
        "model": attrs.asdict(net.shape),
        "outputs": list(OUTPUTS),
        "thresholds": dict(thresholds),
        "meta": dict(meta or {}),
    }
    tensors = {name: tensor.detach().contiguous().cpu() for name, tensor in net.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_NAME), metadata={"format": FORMAT})
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return folder


def _read_config(folder: Path) -> dict[str, Any]:
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{folder / CONFIG_NAME} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(
            f"{folder / CONFIG_NAME} is not an {FORMAT} config (format={config.get('format')!r})"
            if isinstance(config, dict)
            else f"{folder / CONFIG_NAME} must hold a JSON object"
        )
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint format version {config.get('format_version')} is not {FORMAT_VERSION}")
    if tuple(config.get("outputs", ())) != OUTPUTS:
        raise CheckpointError(f"checkpoint outputs {config.get('outputs')} do not match {list(OUTPUTS)}")
    return config


def _thresholds(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict) or set(raw) != set(OUTPUTS):
        raise CheckpointError(f"checkpoint thresholds must name exactly {list(OUTPUTS)}, got {raw!r}")
    out = {str(k): float(v) for k, v in raw.items()}
    if not all(math.isfinite(v) and 0.0 < v < 1.0 for v in out.values()):
        raise CheckpointError(f"checkpoint thresholds must lie in (0, 1), got {out}")
    return out


def load_checkpoint(path: str | Path, *, expected: FeatureSpec | None = None) -> Checkpoint:
    """Load the checkpoint folder ``path``.

    Raises :class:`~audiointeract.errors.ModelNotFoundError` when files are missing and
    :class:`~audiointeract.errors.CheckpointError` when they are corrupt, or when the
    stored feature spec differs from ``expected`` or from what this code computes.
    """
    folder = Path(path)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (folder / name).is_file():
            raise ModelNotFoundError(f"no {name} in checkpoint folder {folder}")
    config = _read_config(folder)
    spec = FeatureSpec.from_dict(config.get("features") or {})
    if expected is not None and spec != expected:
        raise CheckpointError(f"checkpoint feature spec {spec} does not match the expected {expected}")
    net = DecisionNet(spec, ModelShape.from_dict(config.get("model") or {}))
    try:
        tensors = load_file(str(folder / WEIGHTS_NAME))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / WEIGHTS_NAME} is not a readable safetensors file: {exc}") from exc
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {folder / WEIGHTS_NAME} do not fit the feature spec/model: {exc}") from exc
    if not all(torch.isfinite(t).all() for t in tensors.values()):
        raise CheckpointError(f"{folder / WEIGHTS_NAME} holds NaN or infinite weights")
    net.eval()
    meta = config.get("meta")
    return Checkpoint(
        net=net,
        spec=spec,
        thresholds=_thresholds(config.get("thresholds")),
        meta=meta if isinstance(meta, dict) else {},
    )
