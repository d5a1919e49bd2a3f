"""The evaluation sets: frozen files shipped in ``audiointeract/evaluation/data`` and how to load them.

* **events** — :data:`TEST_EVENTS`, the label-disjoint test split of the event vocabulary:
  no sound family (AudioSet label, near-synonyms merged) in it appears in the training
  vocabulary (``audiointeract/training/data/events.jsonl``) in any wording.
* **dense** — generated episodes (held-out templates, the test events, a seed training never
  uses): an item every few seconds; oracle perception only (their speech is synthetic).
* **real** — :data:`REAL_SCENES`, short scenes built only from real recordings.
* **sparse** — :data:`SPARSE_SCENES`, five-minute real-recording scenes with an expected
  response every couple of minutes: where false triggers per hour mean something.

The data folder's README records how each frozen file was made, when it was frozen and
its sha256; a test fails if a file changes without its checksum.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from audiointeract.errors import AudioInteractError, ConfigurationError
from audiointeract.evaluation.clips import MISSING_ANIMALS, evaluation_bank
from audiointeract.simulators.clips import ClipBank
from audiointeract.simulators.files import load_scene
from audiointeract.simulators.scene import Scene
from audiointeract.training.vocabulary import LabelledEvent, load_events

__all__ = [
    "DATA_DIR",
    "DENSE_SEED",
    "REAL_SCENES",
    "SPARSE_SCENES",
    "TEST_EVENTS",
    "SceneSet",
    "SkippedScene",
    "dense_scenes",
    "held_out_events",
    "load_scenes",
    "real_scenes",
    "sparse_scenes",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
TEST_EVENTS = DATA_DIR / "events_test.jsonl"
REAL_SCENES = DATA_DIR / "real_scenes"
SPARSE_SCENES = DATA_DIR / "sparse_scenes"
DENSE_SEED = 424_242
"""Seed of the generated dense scenes (training uses others)."""
_SCENE_SUFFIXES = (".json", ".toml")


def held_out_events() -> list[LabelledEvent]:
    """The frozen label-disjoint test events."""
    return load_events(TEST_EVENTS)


def dense_scenes(
    count: int = 100, *, seed: int = DENSE_SEED, events: Sequence[LabelledEvent] | None = None
) -> list[Scene]:
    """Generated dense episodes from the held-out templates and the test events (default: :func:`held_out_events`)."""
    from audiointeract.training.episodes import generate_episodes  # noqa: PLC0415 - the generator is large

    return generate_episodes(count, seed=seed, family="heldout", events=list(events or held_out_events()))


@attrs.frozen(kw_only=True)
class SkippedScene:
    """A scene file left out of a real-recording set, and why."""

    path: Path
    reason: str


@attrs.frozen(kw_only=True)
class SceneSet:
    """Scenes loaded from files, and the files left out with the reason."""

    scenes: tuple[Scene, ...]
    skipped: tuple[SkippedScene, ...] = ()


def _not_real(scene: Scene) -> str | None:
    for index, segment in enumerate(scene.segments):
        if segment.clip is None:
            return (
                f"segment {index} ({segment.kind} {segment.label[:40]!r}) plays no recording: "
                "not built only from real recordings"
            )
    if not scene.segments:
        return "it has no segments"
    return None


def _files(sources: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in _SCENE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigurationError(f"scene folder or file {str(path)!r} does not exist")
    return files


def load_scenes(*sources: str | Path, real_only: bool = True, bank: ClipBank | None = None) -> SceneSet:
    """Scenes from folders (every ``.json``/``.toml`` in them) and files.

    With ``real_only`` a scene with any segment that plays no recording is skipped and
    listed with the reason. A file that is not a valid scene, or a recording that is not
    installed, is an error: a set with holes would give numbers nobody can compare.
    """
    bank = bank or evaluation_bank()
    scenes: list[Scene] = []
    skipped: list[SkippedScene] = []
    for file in _files(sources):
        try:
            scene = load_scene(file, bank=bank)
        except AudioInteractError as exc:
            hint = f" ({MISSING_ANIMALS})" if "ovos:" in str(exc) else ""
            raise ConfigurationError(f"scene file {str(file)!r}: {exc}{hint}") from exc
        reason = _not_real(scene) if real_only else None
        if reason is None:
            scenes.append(scene)
        else:
            skipped.append(SkippedScene(path=file, reason=reason))
    names = [scene.name for scene in scenes]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigurationError(f"scene names must be unique within a set; repeated: {duplicates}")
    return SceneSet(scenes=tuple(scenes), skipped=tuple(skipped))


def real_scenes() -> SceneSet:
    """The frozen dense real-recording scenes."""
    return load_scenes(REAL_SCENES)


def sparse_scenes() -> SceneSet:
    """The frozen sparse real-recording scenes."""
    return load_scenes(SPARSE_SCENES)
