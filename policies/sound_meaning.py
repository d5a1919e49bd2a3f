"""Warn about a sound by its meaning: the nearest covered sound, by sentence embedding, says respond or ignore."""

from __future__ import annotations

import csv
from pathlib import Path

import attrs
import numpy as np

from audiointeract.errors import ConfigurationError
from audiointeract.lru import LruCache
from audiointeract.policies._options import check_non_negative, check_task
from audiointeract.policies.embeddings import MINILM, Matrix, TextEmbedder, shared_embedder
from audiointeract.policies.sound_events import SoundEventPolicy

__all__ = ["SOUND_ACTIONS", "SOUND_EXAMPLES", "SoundMeaningPolicy"]

_DATA = Path(__file__).resolve().parent / "data"
SOUND_ACTIONS = _DATA / "sound_actions.csv"
"""Every class the sound tagger can output with respond / ignore / depends (``depends`` rows are not used)."""
SOUND_EXAMPLES = _DATA / "sound_examples.csv"
"""Worked free-form descriptions with respond / ignore (the training vocabulary's train split)."""
MARGIN = 0.04
"""How much nearer the nearest ignore reference must be than the nearest respond one to stay silent (train split)."""


@attrs.frozen(kw_only=True)
class _References:
    """The covered meanings: texts, their unit embeddings, and whether each calls for a warning."""

    texts: tuple[str, ...]
    rows: Matrix
    respond: np.ndarray


def _read(path: Path, text_column: str) -> list[tuple[str, bool]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            table = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigurationError(f"sound meanings: cannot read {str(path)!r}: {exc.strerror}") from exc
    out = []
    for number, row in enumerate(table, start=2):
        text, action = (row.get(text_column) or "").strip(), (row.get("action") or "").strip()
        if not text or action not in {"respond", "ignore", "depends"}:
            msg = f"{path}:{number}: needs a {text_column} and an action of respond, ignore or depends"
            raise ConfigurationError(msg)
        if action != "depends":  # the standing task decides those, not this table
            out.append((text, action == "respond"))
    return out


_SHARED: dict[tuple[int, Path, Path | None], tuple[TextEmbedder, _References]] = {}


def _references(embedder: TextEmbedder, table: Path, examples: Path | None) -> _References:
    """Embedded once per (embedder, files) for the process: fresh policies share them."""
    key = (id(embedder), table, examples)
    if key in _SHARED:
        return _SHARED[key][1]
    pairs = _read(table, "label") + (_read(examples, "description") if examples is not None else [])
    respond = np.array([flag for _, flag in pairs], dtype=bool)
    if not respond.any() or respond.all():
        raise ConfigurationError("sound meanings need both respond and ignore references")
    texts = tuple(text for text, _ in pairs)
    references = _References(texts=texts, rows=embedder.embed(texts), respond=respond)
    _SHARED[key] = (embedder, references)  # holding the embedder keeps its id from being reused
    return references


class SoundMeaningPolicy(SoundEventPolicy):
    """A :class:`SoundEventPolicy` whose wanted sounds are decided by meaning, not by a list of names.

    Each heard label or caption is embedded (all-MiniLM-L6-v2) and compared with the
    covered meanings: the rows of the 521-class sound-action table (``table``; ``depends``
    rows left to the standing tasks) and worked free-form descriptions (``examples``;
    None: the table only). It warns when the nearest respond reference is at least as near
    as the nearest ignore reference less ``margin``. Warnings go to ``task`` (default
    ``"safety"``) when the session holds it; score threshold, re-arming, holding and
    barge-in are :class:`SoundEventPolicy`'s. A label seen before costs a cache lookup;
    a new one, one embedding.
    """

    name = "sound-meaning"

    def __init__(
        self,
        *,
        table: str | Path = SOUND_ACTIONS,
        examples: str | Path | None = SOUND_EXAMPLES,
        margin: float = MARGIN,
        threshold: float = 0.4,
        task: str | None = "safety",
        rearm: float = 5.0,
        hold: float = 5.0,
        barge_in: bool = False,
        embedder: TextEmbedder | None = None,
    ) -> None:
        self.margin = check_non_negative("SoundMeaningPolicy", "margin", margin)
        self.embedder = embedder if embedder is not None else shared_embedder(MINILM, 384)
        self.references = _references(self.embedder, Path(table), Path(examples) if examples is not None else None)
        labels = [text for text, flag in zip(self.references.texts, self.references.respond, strict=True) if flag]
        super().__init__(labels, ignore=(), threshold=threshold, task=check_task("SoundMeaningPolicy", "task", task),
                         rearm=rearm, hold=hold, barge_in=barge_in)
        self._verdicts: LruCache[str, bool] = LruCache(4096)

    def warns(self, label: str) -> bool:
        """Whether a sound heard as ``label`` calls for a warning (nearest respond vs nearest ignore)."""
        verdict = self._verdicts.get(label)
        if verdict is None:
            refs = self.references
            similarity = refs.rows @ self.embedder.embed([label])[0]
            verdict = bool(similarity[refs.respond].max() >= similarity[~refs.respond].max() - self.margin)
            self._verdicts.put(label, verdict)
        return verdict

    def _wanted(self, label: str) -> str | None:
        return label if self.warns(label) else None
