"""Training configuration: one TOML file, validated into frozen values."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.policies.learned.features import FeatureSpec
from audiointeract.policies.learned.model import PROTOTYPES, ModelShape
from audiointeract.training.episodes import EpisodeConfig

__all__ = ["TrainConfig", "load_config"]


@attrs.frozen(kw_only=True)
class TrainConfig:
    """Everything a training run depends on; same config and seed -> same weights.

    ``events`` and ``output`` are resolved against the config file's folder.
    """

    seed: int = 0
    chunk: float = 0.4
    events: Path
    output: Path
    train_episodes: int = 1000
    val_episodes: int = 150
    episodes: EpisodeConfig = attrs.field(factory=EpisodeConfig)
    features: FeatureSpec
    model: ModelShape = attrs.field(factory=ModelShape)
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    embedding_noise: float = 0.0
    threshold_slack: float = 0.0
    prototypes: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    """Prototype sets to build (names from :data:`~audiointeract.policies.learned.model.PROTOTYPES`)."""
    max_pos_weight: float = 20.0
    threads: int = 1

    def __attrs_post_init__(self) -> None:
        if self.train_episodes < 1 or self.val_episodes < 1 or self.epochs < 1 or self.batch_size < 1:
            raise ConfigurationError("train_episodes, val_episodes, epochs and batch_size must be >= 1")
        if not (0.1 <= self.chunk <= 2.0):
            raise ConfigurationError(f"chunk must lie in [0.1, 2] s, got {self.chunk}")
        if set(self.prototypes) - set(PROTOTYPES):
            raise ConfigurationError(f"prototypes must be among {list(PROTOTYPES)}, got {list(self.prototypes)}")
        if self.learning_rate <= 0 or self.threads < 1:
            raise ConfigurationError("learning_rate must be > 0 and threads >= 1")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready provenance (stored in the checkpoint)."""
        out = attrs.asdict(self, recurse=True)
        out["events"] = self.events.name
        out["output"] = self.output.name
        out["features"] = self.features.to_dict()
        return out


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.pop(name, {})
    if not isinstance(value, dict):
        raise ConfigurationError(f"[{name}] must be a table")
    return value


def load_config(path: str | Path, *, output: str | Path | None = None) -> TrainConfig:
    """Read a training TOML (see ``audiointeract/training/configs/default.toml``)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"training config {str(file)!r} does not exist")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{file} is not valid TOML: {exc}") from exc
    base = file.resolve().parent
    try:
        raw: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in _section(data, "episodes").items()}
        episodes = EpisodeConfig(**raw)
        features = FeatureSpec(**_section(data, "features"))
        model = ModelShape(**_section(data, "model"))
        train = _section(data, "train")
        events = (base / str(data.pop("events"))).resolve()
        out = Path(output) if output is not None else (base / str(data.pop("output"))).resolve()
        data.pop("output", None)
        return TrainConfig(
            episodes=episodes, features=features, model=model, events=events, output=out, **data, **train
        )
    except KeyError as exc:
        raise ConfigurationError(f"{file}: missing key {exc}") from exc
    except TypeError as exc:
        raise ConfigurationError(f"{file}: unknown or malformed setting: {exc}") from exc
