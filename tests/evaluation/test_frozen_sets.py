"""The frozen evaluation sets never change behind their checksums, and the event split stays label-disjoint."""

from __future__ import annotations

import hashlib
import re

from audiointeract.evaluation import DATA_DIR, TEST_EVENTS, held_out_events, load_scenes
from audiointeract.training import EVENTS_FILE
from audiointeract.training.vocabulary import load_events

README = DATA_DIR / "README.md"


def checksums() -> dict[str, str]:
    rows = re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", README.read_text(encoding="utf-8"), re.MULTILINE)
    return dict(rows)


def test_every_frozen_file_matches_its_checksum() -> None:
    listed = checksums()
    assert listed, "the data README lists no checksums"
    for name, digest in listed.items():
        actual = hashlib.sha256((DATA_DIR / name).read_bytes()).hexdigest()
        assert actual == digest, f"{name} changed: frozen files never change; add a new file with its own entry"


def test_every_data_file_is_listed() -> None:
    on_disk = {str(p.relative_to(DATA_DIR)) for p in DATA_DIR.rglob("*") if p.suffix in (".json", ".jsonl", ".toml")}
    assert on_disk == set(checksums())


def test_the_test_events_are_label_disjoint_from_training() -> None:
    test, train = held_out_events(), load_events(EVENTS_FILE)
    assert {e.split for e in test} == {"test"}
    assert {e.split for e in train} == {"train"}
    assert all(e.family for e in [*test, *train])
    assert not {e.family for e in test} & {e.family for e in train}
    labels = {e.audioset_label for e in test if e.audioset_label}
    assert not labels & {e.audioset_label for e in train if e.audioset_label}
    assert not {e.description for e in test} & {e.description for e in train}
    assert TEST_EVENTS.parent == DATA_DIR


def test_frozen_scenes_play_only_real_recordings() -> None:
    for folder in ("real_scenes", "sparse_scenes"):
        loaded = load_scenes(DATA_DIR / folder)
        assert loaded.scenes
        assert not loaded.skipped
