"""The labelled event vocabulary: sound descriptions the proactive policy must respond to or ignore."""

from __future__ import annotations

import json
from pathlib import Path

import attrs

from audiointeract.errors import ConfigurationError

__all__ = ["LabelledEvent", "decisive_labels", "load_events"]

_DECISIONS = ("RESPOND", "IGNORE")


@attrs.frozen(kw_only=True)
class LabelledEvent:
    """One row of an events JSONL file: a description and whether an assistant should speak up."""

    id: str
    description: str
    decision: str = attrs.field(validator=attrs.validators.in_(_DECISIONS))
    category: str = ""
    criterion: str = ""
    audioset_label: str | None = None
    split: str = "test"

    @property
    def respond(self) -> bool:
        """Whether the expected decision is RESPOND."""
        return self.decision == "RESPOND"


def load_events(path: str | Path, *, split: str | None = None) -> list[LabelledEvent]:
    """Read a JSONL of ``{"id", "description", "decision", ...}`` rows (optionally one split)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"events file {str(file)!r} does not exist")
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            event = LabelledEvent(**data)
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"{file}:{number}: not a labelled event row: {exc}") from exc
        if not event.description.strip():
            raise ConfigurationError(f"{file}:{number}: empty description")
        rows.append(event)
    if not rows:
        raise ConfigurationError(f"events file {str(file)!r} holds no rows")
    return [row for row in rows if split is None or row.split == split]


def decisive_labels(events: list[LabelledEvent]) -> set[str]:
    """AudioSet labels whose every description carries the same decision (safe to use as a stand-in)."""
    decisions: dict[str, set[str]] = {}
    for event in events:
        if event.audioset_label:
            decisions.setdefault(event.audioset_label, set()).add(event.decision)
    return {label for label, seen in decisions.items() if len(seen) == 1}
