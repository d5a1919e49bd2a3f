"""Simulator throughput: seconds of audio simulated per wall second, with mock backends.

usage: python benchmarks/simulator.py [--seconds 360] [--hour/--no-hour] [--out benchmarks/results/simulator.json]

Runs the real session loop on virtual time with oracle perception, the rule decider
and the speaking responder (text + reply audio). Rows:

* 1, 10 and 100 concurrent sessions, each over its own copy of a ``--seconds`` scene,
  all in one VirtualTimeLoop (one task group);
* one session over a one-hour scene, with its speed per quarter of the session: the
  cost per second of audio must not grow with the session's length (the last quarter
  within 10 % of the first).

Rendering is timed separately and shared (every session reads the same samples).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import numpy as np

from audiointeract.events import AudioReceived, Event, StandingTask
from audiointeract.interfaces import Observer
from audiointeract.simulators import (
    Anchor,
    Expect,
    Scene,
    Sound,
    Speech,
    render,
    run_virtual,
    simulate,
)

TASKS = (
    StandingTask(name="answer", instruction="Answer the questions the user asks you."),
    StandingTask(name="warn", instruction="Warn me when an alarm sounds.", proactive=True),
)


def busy_scene(seconds: float, seed: int = 0) -> Scene:
    """A scene as busy as a kitchen: a question, a statement or an alarm every 4-12 s."""
    rng = np.random.default_rng(seed)
    segments: list[Speech | Sound] = []
    cursor = 1.0
    while True:
        duration = float(rng.uniform(0.8, 2.5))
        if cursor + duration > seconds - 1.0:
            break
        kind = rng.choice(["question", "statement", "alarm"], p=[0.5, 0.3, 0.2])
        if kind == "question":
            segments.append(Speech(start=cursor, duration=duration, text="what time does the shop close?",
                                   expects=[Expect(task="answer")]))
        elif kind == "statement":
            segments.append(Speech(start=cursor, duration=duration, text="the kettle is on", speaker="user"))
        else:
            segments.append(Sound(start=cursor, duration=duration, label="Alarm",
                                  expects=[Expect(task="warn", anchor=Anchor.ONSET, within=1.5)]))
        cursor = round(cursor + duration + float(rng.uniform(3.0, 10.0)), 3)
    return Scene(segments=segments, tasks=TASKS, duration=seconds, name=f"busy-{seconds:.0f}s")


class QuarterClock(Observer):
    """CPU time of this process when the session's stream time crosses each quarter of the scene.

    CPU time, not wall time, so other work on a shared machine does not blur the comparison.
    """

    def __init__(self, seconds: float) -> None:
        self.marks = [seconds * q / 4 for q in (1, 2, 3, 4)]
        self.cpu: list[float] = []
        self.start = time.process_time()

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, AudioReceived) and len(self.cpu) < 4 and event.span_end >= self.marks[len(self.cpu)]:
            self.cpu.append(time.process_time())

    def speeds(self) -> list[float]:
        """Audio seconds per CPU second in each quarter."""
        edges = [self.start, *self.cpu]
        quarter = self.marks[0]
        return [round(quarter / (b - a), 1) for a, b in itertools.pairwise(edges)]


def run_concurrent(
    scene: Scene, audio: np.ndarray, sessions: int, observers: tuple[Observer, ...] = ()
) -> dict[str, Any]:
    results: list[Any] = []

    async def main() -> None:
        async def one(seed: int) -> None:
            results.append(await simulate(scene, seed=seed, audio=audio, observers=observers))

        async with anyio.create_task_group() as group:
            for seed in range(sessions):
                group.start_soon(one, seed)

    started = time.perf_counter()
    run_virtual(main)
    wall = time.perf_counter() - started
    audio_seconds = scene.duration * sessions
    replies = sum(r.report.counts["responses"] for r in results)
    f1 = min(r.report.at(2.0).f1 for r in results)
    return {
        "sessions": sessions,
        "audio_seconds_per_session": scene.duration,
        "audio_seconds": audio_seconds,
        "wall_seconds": round(wall, 3),
        "audio_seconds_per_wall_second": round(audio_seconds / wall, 1),
        "replies": replies,
        "min_f1_at_2s": f1,
    }


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "numpy": np.__version__,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=360.0, help="audio per session for the concurrency rows")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--hour", action=argparse.BooleanOptionalAction, default=True, help="also run a 1-hour scene")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "simulator.json")
    args = parser.parse_args()

    rows = []
    scene = busy_scene(args.seconds)
    started = time.perf_counter()
    audio = render(scene, seed=0)
    render_seconds = time.perf_counter() - started
    for count in args.sessions:
        row = run_concurrent(scene, audio, count)
        row["name"] = f"{count} concurrent"
        rows.append(row)
    hour: dict[str, Any] | None = None
    if args.hour:
        long_scene = busy_scene(3600.0, seed=1)
        started = time.perf_counter()
        long_audio = render(long_scene, seed=1)
        hour_render = time.perf_counter() - started
        quarters = QuarterClock(long_scene.duration)
        hour = run_concurrent(long_scene, long_audio, 1, (quarters,))
        hour["name"] = "one-hour scene"
        hour["render_seconds"] = round(hour_render, 3)
        hour["audio_seconds_per_cpu_second_by_quarter"] = quarters.speeds()
        rows.append(hour)

    print(f"{'run':<16} {'sessions':>8} {'audio s':>9} {'wall s':>8} {'audio s / wall s':>17} {'replies':>8} {'min F1@2s':>9}")
    for row in rows:
        print(f"{row['name']:<16} {row['sessions']:>8} {row['audio_seconds']:>9.0f} {row['wall_seconds']:>8.2f} "
              f"{row['audio_seconds_per_wall_second']:>17.1f} {row['replies']:>8} {row['min_f1_at_2s']:>9.3f}")
    print(f"(rendering {scene.duration:.0f} s of audio took {render_seconds:.2f} s; shared by all sessions)")
    if hour is not None:
        speeds = hour["audio_seconds_per_cpu_second_by_quarter"]
        ratio = speeds[-1] / speeds[0]
        hour["last_quarter_vs_first"] = round(ratio, 3)
        print(f"one-hour scene, audio s / CPU s by quarter: {speeds} (last / first = {ratio:.2f}; target >= 0.90)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "benchmark": "simulator",
        "backends": "oracle perception (ScriptedPerceiver), TaskRuleDecider, SpeakingResponder",
        "render_seconds": round(render_seconds, 3),
        "rows": rows,
        "machine": machine(),
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
