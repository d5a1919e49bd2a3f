"""The labelled event vocabulary: sound descriptions the proactive policy must respond to or ignore."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import attrs

from audiointeract.errors import ConfigurationError

__all__ = ["LabelledEvent", "decisive_labels", "load_events", "sound_labels"]

_DECISIONS = ("RESPOND", "IGNORE")


@attrs.frozen(kw_only=True)
class LabelledEvent:
    """One row of an events JSONL file: a description and whether an assistant should speak up.

    ``family`` names the kind of sound (near-synonym labels merged): a label-disjoint
    split keeps every family on one side.
    """

    id: str
    description: str
    decision: str = attrs.field(validator=attrs.validators.in_(_DECISIONS))
    category: str = ""
    criterion: str = ""
    audioset_label: str | None = None
    family: str = ""
    split: str = "test"

    @property
    def respond(self) -> bool:
        """Whether the expected decision is RESPOND."""
        return self.decision == "RESPOND"


_FIELDS = frozenset(field.name for field in attrs.fields(LabelledEvent))


@cache
def sound_labels() -> frozenset[str]:
    """The 521 AudioSet class names the embedded sound tagger (YAMNet) can output."""
    from audiointeract.backends.embedded.yamnet_model import DATA_DIR, read_class_map  # noqa: PLC0415

    return frozenset(read_class_map((DATA_DIR / "yamnet_class_map.csv").read_text(encoding="utf-8")))


def _row(file: Path, number: int, line: str) -> LabelledEvent:
    where = f"{file}:{number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where}: a row must be a JSON object, got {type(data).__name__}")
    missing = [key for key in ("id", "description", "decision") if key not in data]
    if missing:
        raise ConfigurationError(f"{where}: missing {', '.join(missing)} (a row needs id, description and decision)")
    if data["decision"] not in _DECISIONS:
        raise ConfigurationError(f"{where}: unknown decision {data['decision']!r}; use RESPOND or IGNORE")
    label = data.get("audioset_label")
    if label is not None and label not in sound_labels():
        raise ConfigurationError(
            f"{where}: unknown audioset_label {label!r}; use a class name of the sound tagger's class map "
            "(backends/embedded/data/yamnet_class_map.csv) or null"
        )
    if not isinstance(data["description"], str) or not data["description"].strip():
        raise ConfigurationError(f"{where}: empty description")
    try:  # keys this format does not know (a manifest's path, duration, ...) are ignored
        return LabelledEvent(**{key: value for key, value in data.items() if key in _FIELDS})
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: not a labelled event row: {exc}") from exc


def load_events(path: str | Path, *, split: str | None = None) -> list[LabelledEvent]:
    """Read a JSONL of ``{"id", "description", "decision", ...}`` rows (optionally one split).

    Extra keys are ignored; an unknown decision or ``audioset_label`` is refused with its line number.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"events file {str(file)!r} does not exist")
    rows = [
        _row(file, number, line)
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1)
        if line.strip()
    ]
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
