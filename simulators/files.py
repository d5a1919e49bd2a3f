"""Scene files: JSON or TOML, with clip lengths and transcripts filled from the clip bank."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audiointeract.errors import ConfigurationError
from audiointeract.simulators.clips import ClipBank, default_bank
from audiointeract.simulators.scene import Scene

__all__ = ["load_scene", "save_scene", "scene_from_mapping"]


def load_scene(path: str | Path, *, bank: ClipBank | None = None) -> Scene:
    """Read a ``.json`` or ``.toml`` scene file.

    Segments with a clip may leave out ``duration`` (the clip's length) and, for
    speech, ``text`` (the clip's known transcript).
    """
    file = Path(path)
    if file.is_dir():
        raise ConfigurationError(f"scene file {str(file)!r} is a directory; give a .json or .toml file")
    if not file.is_file():
        raise ConfigurationError(f"scene file {str(file)!r} does not exist")
    if file.suffix not in (".json", ".toml"):
        raise ConfigurationError(f"scene file {str(file)!r} must end in .json or .toml")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"scene file {str(file)!r} is not UTF-8 text (byte {exc.start})") from exc
    try:
        data: Any = tomllib.loads(text) if file.suffix == ".toml" else json.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())
        raise ConfigurationError(f"scene file {str(file)!r} is not valid {file.suffix[1:].upper()}: {reason}") from exc
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"scene file {str(file)!r} must hold one object/table")
    try:
        return scene_from_mapping(data, bank=bank)
    except ConfigurationError as exc:
        raise ConfigurationError(f"scene file {str(file)!r}: {exc}") from exc


def scene_from_mapping(data: Mapping[str, Any], *, bank: ClipBank | None = None) -> Scene:
    """:meth:`Scene.from_dict`, first filling clip durations and transcripts from ``bank``."""
    raw_segments = data.get("segments")
    if not isinstance(raw_segments, list):
        raise ConfigurationError("a scene needs a 'segments' list")
    segments = []
    durations: dict[str, float] = {}
    for raw in raw_segments:
        segment = dict(raw) if isinstance(raw, Mapping) else raw
        clip = segment.get("clip") if isinstance(segment, dict) else None
        needs_text = isinstance(segment, dict) and segment.get("kind") == "speech" and "text" not in segment
        if isinstance(clip, str) and ("duration" not in segment or needs_text):
            clips = bank or default_bank()
            durations[clip] = clips.duration(clip)
            if needs_text:
                transcript = clips.transcript(clip)
                if transcript is None:
                    raise ConfigurationError(f"speech clip {clip!r} has no known transcript; give its 'text'")
                segment["text"] = transcript
        segments.append(segment)
    return Scene.from_dict({**data, "segments": segments}, durations=durations)


def save_scene(scene: Scene, path: str | Path) -> None:
    """Write a scene as JSON (every duration and start explicit)."""
    Path(path).write_text(json.dumps(scene.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
