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


def load_scene(path: str | Path, *, bank: ClipBank | None = None, any_clip_path: bool = False) -> Scene:
    """Read a ``.json`` or ``.toml`` scene file.

    Segments with a clip may leave out ``duration`` (the clip's length) and, for
    speech, ``text`` (the clip's known transcript). A clip given as a file path is
    relative to the scene file's folder and must lie inside it or inside a bank root, so
    a scene from elsewhere cannot read any file on the machine; ``any_clip_path=True``
    lifts that (for scene files you wrote yourself).
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
        clips = bank or default_bank()
        confined = _confined(data, file.resolve().parent, clips, any_clip_path=any_clip_path)
        return scene_from_mapping(confined, bank=clips)
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


def _confined(data: Mapping[str, Any], folder: Path, bank: ClipBank, *, any_clip_path: bool) -> dict[str, Any]:
    """The scene with every path clip made absolute (relative to ``folder``) and checked to stay inside."""
    out = dict(data)
    for key in ("segments", "noise"):
        items = data.get(key)
        if not isinstance(items, list):
            continue
        out[key] = [
            {**item, "clip": _clip_path(item["clip"], folder, bank, any_clip_path=any_clip_path)}
            if isinstance(item, Mapping) and isinstance(item.get("clip"), str)
            else item
            for item in items
        ]
    return out


def _clip_path(clip: str, folder: Path, bank: ClipBank, *, any_clip_path: bool) -> str:
    name, sep, _ = clip.partition(":")
    if (sep and name in bank.roots) or name == "tts":  # a bank (or generated) clip: the bank keeps it in its folder
        return clip
    target = (folder / clip).resolve()
    if not any_clip_path and not target.is_relative_to(folder) and not bank.in_bank(target):
        raise ConfigurationError(
            f"clip {clip!r} lies outside the scene file's folder and the clip banks; move it next to the scene, "
            "or allow any path (load_scene(..., any_clip_path=True), --any-clip-path) for a scene you trust"
        )
    return str(target)


def save_scene(scene: Scene, path: str | Path) -> None:
    """Write a scene as JSON (every duration and start explicit)."""
    Path(path).write_text(json.dumps(scene.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
