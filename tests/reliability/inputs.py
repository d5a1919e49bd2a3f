"""The bad (and good) inputs of the reliability matrix, written once into a folder.

Every file a careless or hostile user could hand the SDK or the CLI: audio (truncated,
corrupt, a header that lies about its rate, NaN samples, not audio at all), raw PCM of
the wrong sample type, scene files, traces and training configs of every wrong shape.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
MP3 = "MP3" in sf.available_formats()
"""Whether this libsndfile reads and writes MP3 (1.1 and later)."""


def tone(seconds: float, *, at: tuple[float, ...] = (1.0,), total: float = 4.0) -> np.ndarray:
    """``total`` seconds of silence with a 1 s, 220 Hz tone starting at each of ``at``."""
    audio = np.zeros(round(total * RATE), np.float32)
    for start in at:
        index = round(start * RATE)
        audio[index : index + round(seconds * RATE)] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(round(seconds * RATE)) / RATE)
    return audio


def _patched_rate(good: bytes, rate: int) -> bytes:
    data = bytearray(good)
    data[24:28] = struct.pack("<I", rate)
    data[28:32] = struct.pack("<I", (rate * 2) & 0xFFFFFFFF)
    return bytes(data)


SCENE = {
    "name": "turns",
    "duration": 14.0,
    "tasks": [{"name": "answer", "instruction": "Answer questions."}],
    "segments": [
        {"kind": "speech", "start": 1.0, "duration": 1.0, "text": "what time is it?",
         "expects": [{"task": "answer", "within": 2.0}]},
        {"kind": "speech", "start": 5.0, "duration": 1.0, "text": "and the weather?",
         "expects": [{"task": "answer", "within": 2.0}]},
        {"kind": "speech", "start": 9.0, "duration": 1.0, "text": "thanks a lot?",
         "expects": [{"task": "answer", "within": 2.0}]},
    ],
}
"""Three questions at 1, 5 and 9 s, each to be answered within 2 s of its end (matches ``turns.wav``)."""


def _scene(**changes: object) -> str:
    return json.dumps({**SCENE, **changes})


def _segment(**changes: object) -> str:
    return json.dumps({**SCENE, "segments": [{**SCENE["segments"][0], **changes}]})  # type: ignore[index]


def write_inputs(folder: Path) -> Path:
    """Write every input file into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / "a.wav", tone(1.0), RATE, subtype="PCM_16")
    sf.write(folder / "turns.wav", tone(1.0, at=(1.0, 5.0, 9.0), total=14.0), RATE, subtype="PCM_16")
    good = (folder / "a.wav").read_bytes()
    (folder / "trunc.wav").write_bytes(good[: len(good) // 2])
    (folder / "rate1.wav").write_bytes(_patched_rate(good, 1))
    (folder / "ratemax.wav").write_bytes(_patched_rate(good, 2**31 - 1))
    nan = tone(1.0)
    nan[RATE // 2] = np.nan
    nan[RATE * 2 : RATE * 2 + 400] = np.inf
    sf.write(folder / "nan.wav", nan, RATE, subtype="FLOAT")
    sf.write(folder / "long.flac", tone(1.0, at=tuple(np.arange(1.0, 18.0, 8.0)), total=20.0), RATE, format="FLAC")
    data = bytearray((folder / "long.flac").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes((i * 37) % 256 for i in range(4000))
    (folder / "corrupt.flac").write_bytes(bytes(data))
    flac = (folder / "a.flac")
    sf.write(flac, tone(1.0), RATE, format="FLAC")
    (folder / "trunc.flac").write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    if MP3:
        sf.write(folder / "long.mp3", tone(1.0, at=(1.0, 9.0), total=20.0), RATE, format="MP3")
        mp3 = bytearray((folder / "long.mp3").read_bytes())
        (folder / "trunc.mp3").write_bytes(bytes(mp3[: len(mp3) // 4]))
        middle = len(mp3) // 2
        mp3[middle : middle + 4000] = bytes((i * 37) % 256 for i in range(4000))
        (folder / "corrupt.mp3").write_bytes(bytes(mp3))
    (folder / "notaudio.wav").write_text("this is not audio\n")
    (folder / "empty.wav").write_bytes(b"")
    (folder / "a_folder").mkdir(exist_ok=True)
    (folder / "float32.pcm").write_bytes(tone(1.0).astype("<f4").tobytes())
    (folder / "int16.pcm").write_bytes((tone(1.0) * 32767).astype("<i2").tobytes())
    (folder / "odd.pcm").write_bytes((folder / "int16.pcm").read_bytes() + b"\x01")  # half a sample at the end
    _scenes(folder)
    _configs(folder)
    _events(folder)
    return folder


def _scenes(folder: Path) -> None:
    scenes = folder / "scenes"
    scenes.mkdir(exist_ok=True)
    (scenes / "turns.json").write_text(json.dumps(SCENE))
    (scenes / "anchor.json").write_text(_segment(expects=[{"task": "answer", "anchor": "middle"}]))
    (scenes / "long_scene.json").write_text(_scene(duration=1e5))
    (scenes / "long_segment.json").write_text(_segment(duration=1e12))
    (scenes / "loud.json").write_text(_segment(gain_db=1e6))
    (scenes / "text_number.json").write_text(_segment(text=5))
    (scenes / "unknown_task.json").write_text(_segment(expects=[{"task": "nope"}]))
    (scenes / "unknown_kind.json").write_text(_segment(kind="music"))
    (scenes / "gap_text.json").write_text(json.dumps({"segments": [{"kind": "silence", "duration": 1, "gap": "x"}]}))
    (scenes / "broken.json").write_text('{"segments": [')
    (scenes / "list.json").write_text("[1, 2]")
    (scenes / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (scenes / "binary.json").write_bytes(bytes(range(256)) * 4)
    (scenes / "scene.txt").write_text(json.dumps(SCENE))
    (scenes / "broken.toml").write_text("segments = [\n")
    (scenes / "bank_escape.json").write_text(json.dumps({"segments": [
        {"kind": "sound", "label": "x", "clip": "sonic-pi:../../../../etc/passwd"}]}))
    (scenes / "absolute.json").write_text(json.dumps({"segments": [
        {"kind": "sound", "label": "x", "clip": "/etc/passwd"}]}))
    (scenes / "outside.json").write_text(json.dumps({"segments": [{"kind": "sound", "label": "x", "clip": "../a.wav"}]}))
    (np.arange(1600, dtype="<i2")).tofile(scenes / "clip.raw")
    (scenes / "raw.json").write_text(json.dumps({"segments": [{"kind": "sound", "label": "x", "clip": "clip.raw"}]}))
    sf.write(scenes / "beep.wav", tone(0.5, at=(0.0,), total=0.5), RATE)
    (scenes / "inside.json").write_text(json.dumps({"segments": [{"kind": "sound", "label": "x", "clip": "beep.wav"}]}))


def _events(folder: Path) -> None:
    events = folder / "events"
    events.mkdir(exist_ok=True)
    (events / "binary.jsonl").write_bytes(b"\xff\xfe\x00 not text" * 10)
    (events / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    (events / "list.jsonl").write_text("[1, 2]\n")
    (events / "keys.jsonl").write_text('{"id": "a"}\n')
    (events / "not_json.jsonl").write_text("hello\n")
    (events / "empty.jsonl").write_text("\n")
    (events / "ok.jsonl").write_text('{"id": "a", "description": "a dog barks", "decision": "IGNORE"}\n')


def _configs(folder: Path) -> None:
    configs = folder / "configs"
    configs.mkdir(exist_ok=True)
    (configs / "broken.toml").write_text("[episodes\n")
    (configs / "binary.toml").write_bytes(b"\xff\xfe\x00" * 100)
    (configs / "missing.toml").write_text("seed = 1\n")


def write_traces(folder: Path, good: str) -> None:
    """Traces of every wrong shape, next to ``good`` (the JSONL of a complete simulated trace)."""
    traces = folder / "traces"
    traces.mkdir(exist_ok=True)
    lines = good.splitlines(keepends=True)
    (traces / "good.jsonl").write_text(good)
    ended = next(i for i, line in enumerate(lines) if '"session_ended"' in line)
    starts = [i for i, line in enumerate(lines) if '"reply_started"' in line]
    cut = starts[1]  # two questions answered, the third not yet heard
    (traces / "cut_at_line.jsonl").write_text("".join(lines[: cut + 1]))
    (traces / "cut_mid_line.jsonl").write_text("".join(lines[: cut + 1]) + lines[cut + 1][:25])
    (traces / "no_end.jsonl").write_text("".join(lines[:ended]))
    (traces / "binary.jsonl").write_bytes(bytes(range(256)) * 8)
    (traces / "latin1.jsonl").write_bytes(good.replace("turns", "t\u00fcrns").encode("latin-1", "replace"))
    (traces / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    (traces / "header_list.jsonl").write_text("[1, 2, 3]\n")
    (traces / "meta_list.jsonl").write_text('{"trace_version": 1, "meta": [1]}\n')
    (traces / "record_keys.jsonl").write_text(lines[0] + '{"at": 1.0}\n')
    (traces / "record_list.jsonl").write_text(lines[0] + "[1, 2]\n")
    (traces / "event_kind.jsonl").write_text(lines[0] + '{"seq": 0, "at": 1, "heard": 1, "event": {"kind": "boom"}}\n')
    (traces / "event_shape.jsonl").write_text(lines[0] + '{"seq": 0, "at": 1, "heard": 1, "event": [1]}\n')
    (traces / "event_fields.jsonl").write_text(
        lines[0] + '{"seq": 0, "at": 1, "heard": 1, "event": {"kind": "session_ended", "why": 1}}\n'
    )
    header = json.loads(lines[0])
    for name, meta in (("chunk_text", {"chunk_seconds": "x"}), ("scene_text", {"scene": {"segments": "x"}}),
                       ("scene_huge", {"scene": {**SCENE, "duration": 1e12}})):
        (traces / f"{name}.jsonl").write_text(json.dumps({**header, "meta": {**header["meta"], **meta}}) + "\n"
                                              + "".join(lines[1:]))
    first = json.loads(lines[1])
    (traces / "time_inf.jsonl").write_text(lines[0] + json.dumps({**first, "at": float("inf")}) + "\n")
    (traces / "time_nan.jsonl").write_text(lines[0] + json.dumps({**first, "heard": float("nan")}) + "\n")
    (traces / "empty.jsonl").write_text("")
    (traces / "version.jsonl").write_text('{"trace_version": 99, "meta": {}}\n')
    (traces / "no_scene.jsonl").write_text('{"trace_version": 1, "meta": {}}\n')
