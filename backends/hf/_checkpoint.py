"""Reading a local Hugging Face checkpoint's ``model_type`` before loading it, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from audiointeract.errors import CheckpointError, ModelNotFoundError

__all__ = ["checkpoint_model_type"]


def checkpoint_model_type(path: str | Path) -> tuple[Path, object]:
    """Return ``(folder, model_type)`` of the checkpoint at ``path``.

    Raises :class:`ModelNotFoundError` when there is no ``config.json`` and
    :class:`CheckpointError` when it cannot be read; callers check the type themselves.
    """
    folder = Path(path)
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ModelNotFoundError(f"no Hugging Face checkpoint (config.json) at {str(folder)!r}")
    try:
        model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type")
    except (OSError, json.JSONDecodeError, AttributeError) as exc:
        raise CheckpointError(f"cannot read {str(config_file)!r}: {exc}") from exc
    return folder, model_type
