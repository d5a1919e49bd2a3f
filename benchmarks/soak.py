"""Soak: memory over a long session must stay flat.

usage: python benchmarks/soak.py [--virtual-hours 24] [--real-hours 1] [--out benchmarks/results/soak.json]

Two runs, each reporting resident memory (RSS) per quarter of the session and the
slope of RSS against hours of audio:

* **virtual**: 24 h of virtual audio (VirtualTimeLoop) through the default policy
  (``default_policy()``), scripted perception (speech turns with new words every time,
  questions, statements and alarms, generated on the fly so the script costs no
  memory) and the speaking mock responder, recorded the way an embedding app records
  by default (a bounded ring);
* **real**: ``--real-hours`` of real recordings (Asterisk prompts, LibriVox, CC0
  sonic-pi sounds) looped through the embedded perceiver (silero VAD, streaming
  faster-whisper, YAMNet) in ``--fast`` pacing, the default policy and the mock
  responder. Its recorder is a ring of 2,000 events, full within the first quarter, so
  the slope shows the perception path itself (an hour of real audio is about 23,000
  events: the default 20,000-event ring would still be filling; the virtual run covers
  the default ring).

Like ``audiointeract run`` and ``serve``, the benchmark applies ``tune_malloc()``: two glibc
malloc arenas and fixed mmap/trim thresholds (``--glibc-malloc`` keeps glibc's defaults: up to
eight arenas per core for the native threads, and an mmap threshold that rises with the
largest block freed; on the real run their fragmentation grows RSS by 17 MB per hour, then
steps by 26 MB, although no Python object accumulates).

Targets: slope <= 1 MB per hour of audio, measured after the first quarter (the ring
and the model caches fill up there), and the last quarter's peak RSS within 5 % of the
first quarter's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt

from audiointeract import Session, SessionConfig
from audiointeract.audio import AudioChunk, resample
from audiointeract.backends.mock import ScriptedResponder
from audiointeract.cli.malloc import tune_malloc
from audiointeract.config import Pacing
from audiointeract.events import (
    AudioReceived,
    Event,
    Perception,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    TranscriptUpdate,
)
from audiointeract.interfaces import AudioSource, Observer, Perceiver
from audiointeract.policies import default_policy
from audiointeract.queues import Overflow
from audiointeract.recording import RingRecorder
from audiointeract.registry import load_backend
from audiointeract.simulators import default_bank, run_virtual

RATE = 16000
BLOCK = 0.4
REAL_RING = 2_000
TASKS = (
    StandingTask(name="answer", instruction="Answer the questions the user asks you."),
    StandingTask(name="warn", instruction="Warn me when an alarm sounds.", proactive=True),
)
WORDS = ("kettle", "shop", "train", "meeting", "garden", "window", "letter", "dinner", "car", "phone", "music", "rain")


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Memory(Observer):
    """Samples RSS every ``every`` seconds of stream time; groups the samples by quarter of ``seconds``."""

    def __init__(self, seconds: float, every: float = 60.0) -> None:
        self.seconds = seconds
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (stream hours, RSS MB)
        self._next = every

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, AudioReceived) and event.span_end >= self._next:
            self.samples.append((event.span_end / 3600, rss_mb()))
            self._next += self.every

    def summary(self) -> dict[str, Any]:
        quarters = [[mb for hours, mb in self.samples if q / 4 < hours * 3600 / self.seconds <= (q + 1) / 4]
                    for q in range(4)]
        peaks = [round(max(q), 1) if q else float("nan") for q in quarters]
        settled = [(h, mb) for h, mb in self.samples if h * 3600 > self.seconds / 4]
        hours = np.array([h for h, _ in settled])
        mbs = np.array([mb for _, mb in settled])
        slope = float(np.polyfit(hours, mbs, 1)[0]) if len(settled) > 2 else float("nan")
        return {
            "rss_peak_mb_by_quarter": peaks,
            "rss_end_mb": round(self.samples[-1][1], 1) if self.samples else float("nan"),
            "slope_mb_per_audio_hour": round(slope, 3),
            "last_peak_vs_first": round(peaks[3] / peaks[0], 4) if self.samples else float("nan"),
            "samples": len(self.samples),
            "rss_mb_series": [[round(hours, 4), round(mb, 1)] for hours, mb in self.samples],
        }


class LongSilence(AudioSource):
    """``seconds`` of quiet noise, generated block by block (nothing is held in memory)."""

    def __init__(self, seconds: float, seed: int = 0) -> None:
        self.seconds = seconds
        self._rng = np.random.default_rng(seed)

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        size = round(BLOCK * RATE)
        for _ in range(round(self.seconds / BLOCK)):
            yield (0.001 * self._rng.standard_normal(size)).astype(np.float32), RATE


class StreamingScript(Perceiver):
    """Scripted perception generated on the fly: a turn (or an alarm) every 20-60 s, new words every time."""

    name = "streaming-script"

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self._next = 5.0
        self._pending: list[Perception] = []
        self._turn = 0

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        if chunk.end_time >= self._next and not self._pending:
            self._pending = self._event(self._next)
            self._next += float(self._rng.uniform(20.0, 60.0))
        ready = [p for p in self._pending if p.span_end <= chunk.end_time]
        self._pending = [p for p in self._pending if p.span_end > chunk.end_time]
        return ready

    def _event(self, start: float) -> list[Perception]:
        self._turn += 1
        if self._rng.random() < 0.15:
            return [SoundEvent(span_start=start, span_end=start + 1.0, label="Smoke detector, smoke alarm", score=0.9)]
        words = " ".join(str(self._rng.choice(WORDS)) for _ in range(int(self._rng.integers(3, 8))))
        text = f"turn {self._turn} about the {words}" + ("?" if self._rng.random() < 0.5 else ".")
        if text.endswith("?"):
            text = f"assistant, {text}"
        end = start + 0.3 * len(text.split())
        return [
            SpeechActivity(span_start=start, span_end=start + 0.2, speaking=True),
            TranscriptUpdate(span_start=start, span_end=end, committed=text),
            SpeechActivity(span_start=start, span_end=end, speaking=False),
        ]


def virtual_soak(hours: float) -> dict[str, Any]:
    seconds = hours * 3600
    memory = Memory(seconds, every=300.0)

    async def main() -> Any:
        session = Session(
            StreamingScript(),
            default_policy(),
            ScriptedResponder("Sure, here is what I found about that.", word_seconds=0.3),
            config=SessionConfig(tasks=TASKS, pacing=Pacing.REALTIME),
            observers=[memory],
        )
        await session.run(LongSilence(seconds))
        return session.statistics()

    started = time.perf_counter()
    cpu = time.process_time()
    stats = run_virtual(main)
    return {
        "name": f"virtual {hours:g} h (default policy, scripted perception, mock responder)",
        "audio_hours": hours,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "replies": stats.replies_finished,
        **memory.summary(),
    }


def real_clips() -> list[tuple[str, npt.NDArray[np.float32]]]:
    """Real recordings at 16 kHz: Asterisk prompts, LibriVox read speech, CC0 sounds."""
    bank = default_bank()
    names = [f"asterisk:{n}" for n in ("conf-getpin", "vm-intro", "agent-pass", "queue-thankyou", "basic-pbx-ivr-main")]
    names += [f"pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0{n}" for n in (870, 880, 890, 920, 930)]
    names += [f"sonic-pi:{n}" for n in ("misc_crow", "perc_door", "ambi_sauna", "loop_safari", "vinyl_hiss")]
    clips = []
    for name in names:
        samples, rate = bank.load(name)
        clips.append((name, resample(samples, rate, RATE)))
    return clips


class LoopedRecordings(AudioSource):
    """Real recordings with a second of quiet between them, looped for ``seconds``."""

    def __init__(self, clips: list[tuple[str, npt.NDArray[np.float32]]], seconds: float) -> None:
        gap = np.zeros(RATE, np.float32)
        self._loop = np.concatenate([piece for _, clip in clips for piece in (clip, gap)])
        self.seconds = seconds

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        size = round(BLOCK * RATE)
        total = round(self.seconds * RATE)
        for start in range(0, total, size):
            offset = start % self._loop.size
            block = np.take(self._loop, range(offset, offset + size), mode="wrap")
            yield block, RATE


def real_soak(hours: float) -> dict[str, Any]:
    seconds = hours * 3600
    memory = Memory(seconds, every=30.0)
    clips = real_clips()
    perceiver = load_backend("perceiver", "default")

    async def main() -> Any:
        session = Session(
            perceiver,
            default_policy(),
            ScriptedResponder("Okay.", word_seconds=0.3),
            config=SessionConfig(tasks=TASKS, pacing=Pacing.FAST, chunk_overflow=Overflow.BLOCK),
            observers=[memory],
            recorder=RingRecorder(capacity=REAL_RING),
        )
        try:
            await session.run(LoopedRecordings(clips, seconds))
        finally:
            await perceiver.aclose()
        return session.statistics()

    started = time.perf_counter()
    stats = anyio.run(main)
    wall = time.perf_counter() - started
    return {
        "name": f"real {hours:g} h (embedded perceiver, --fast, default policy, mock responder, ring {REAL_RING})",
        "audio_hours": hours,
        "clips": [name for name, _ in clips],
        "wall_seconds": round(wall, 1),
        "real_time_factor": round(wall / seconds, 3),
        "transcribed_perceptions": stats.perceptions,
        **memory.summary(),
    }


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--virtual-hours", type=float, default=24.0, help="0 skips the virtual run")
    parser.add_argument("--real-hours", type=float, default=1.0, help="0 skips the real-recordings run")
    parser.add_argument("--glibc-malloc", action="store_true",
                        help="keep glibc's default malloc settings instead of the ones that run and serve apply")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "soak.json")
    args = parser.parse_args()
    tuned = () if args.glibc_malloc else tune_malloc()
    malloc = ", ".join(tuned) if tuned else "glibc defaults"
    load_start = round(os.getloadavg()[0], 2)
    rows = [virtual_soak(args.virtual_hours)] if args.virtual_hours > 0 else []
    if args.real_hours > 0:
        rows.append(real_soak(args.real_hours))
    for row in rows:
        row["malloc_tuned"] = list(tuned)
        row["name"] += f", malloc: {malloc}"
    print(f"{'run':<104} {'RSS peak MB by quarter':>30} {'slope MB/h':>11} {'last/first':>10}")
    for row in rows:
        peaks = " / ".join(f"{p:.0f}" for p in row["rss_peak_mb_by_quarter"])
        print(f"{row['name']:<104} {peaks:>30} {row['slope_mb_per_audio_hour']:>11.3f} {row['last_peak_vs_first']:>10.3f}")
    print("targets: slope <= 1 MB per audio hour (after the first quarter); last quarter's peak within 5 % of the first's")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "soak", "rows": rows, "load_average_1m_at_start": load_start,
                                    "machine": machine()}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
