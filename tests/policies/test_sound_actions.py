"""The sound-action table covers every class the sound tagger can output, once, with an action and a reason."""

from __future__ import annotations

import csv
from pathlib import Path

from audiointeract.training import EVENTS_FILE
from audiointeract.training.vocabulary import load_events, sound_labels

TABLE = Path(__file__).resolve().parents[2] / "policies" / "data" / "sound_actions.csv"
CLASS_MAP = Path(__file__).resolve().parents[2] / "backends" / "embedded" / "data" / "yamnet_class_map.csv"


def rows() -> list[dict[str, str]]:
    with TABLE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_tagger_class_has_one_action_and_a_one_line_rationale() -> None:
    table = rows()
    with CLASS_MAP.open(encoding="utf-8", newline="") as handle:
        classes = [(row["index"], row["display_name"]) for row in csv.DictReader(handle)]
    assert [(row["index"], row["label"]) for row in table] == classes
    assert {row["label"] for row in table} == sound_labels()
    for row in table:
        assert row["action"] in {"respond", "ignore", "depends"}, row
        assert row["rationale"].strip(), row
        assert "\n" not in row["rationale"]


def test_actions_agree_with_the_training_vocabulary() -> None:
    """A label whose every training description is RESPOND is never 'ignore', and the reverse."""
    action = {row["label"]: row["action"] for row in rows()}
    decisions: dict[str, set[str]] = {}
    for event in load_events(EVENTS_FILE):
        if event.audioset_label:
            decisions.setdefault(event.audioset_label, set()).add(event.decision)
    for label, seen in decisions.items():
        if seen == {"RESPOND"}:
            assert action[label] != "ignore", label
        if seen == {"IGNORE"}:
            assert action[label] != "respond", label
