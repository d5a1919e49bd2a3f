"""Streaming resampling benchmark: block-by-block against one-shot, and speed.

usage: python benchmarks/resample.py [--seconds 10] [--out benchmarks/results/resample.json]

For each rate pair the SDK meets (sources at 8/22.05/44.1/48 kHz into a 16 kHz session,
16 kHz replies out to 22.05/24 kHz sinks) a test signal (a sweep to near Nyquist plus white
noise, the hardest case for a filter) is resampled in blocks of 10, 20, 100 and 400 ms and in
irregular blocks (1-100 ms), and compared with one-shot resampling of the whole signal:

* ``stateless``: each block resampled on its own with scipy's ``resample_poly`` (what the SDK
  did before), against ``resample_poly`` of the whole signal;
* ``stream``: :class:`~audiointeract.audio.StreamResampler`, against :func:`~audiointeract.audio.resample`.

It reports the max absolute difference and the streaming speed (audio seconds per CPU second).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from audiointeract.audio import StreamResampler, resample

PAIRS = [(8000, 16000), (22050, 16000), (44100, 16000), (48000, 16000), (16000, 22050), (16000, 24000)]
BLOCKS = ["10ms", "20ms", "100ms", "400ms", "irregular"]


def test_signal(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    sweep = 0.4 * np.sin(2 * np.pi * (50 * t + 0.45 * rate / (2 * seconds) * t**2))
    noise = 0.2 * np.random.default_rng(0).standard_normal(t.size)
    return np.clip(sweep + noise, -1, 1).astype(np.float32)


def block_sizes(kind: str, rate: int, total: int) -> list[int]:
    if kind == "irregular":
        rng = np.random.default_rng(1)
        sizes = rng.integers(max(1, rate // 1000), rate // 10, size=total // (rate // 1000) + 1)
    else:
        sizes = np.full(total, round(float(kind.removesuffix("ms")) / 1000 * rate))
    ends = np.cumsum(sizes)
    return [int(s) for s in sizes[: int(np.searchsorted(ends, total)) + 1]]


def stateless(samples: np.ndarray, sizes: list[int], source: int, target: int) -> np.ndarray:
    ratio = Fraction(target, source)
    out, start = [], 0
    for size in sizes:
        block = samples[start : start + size]
        start += size
        if block.size:
            out.append(resample_poly(block.astype(np.float64), ratio.numerator, ratio.denominator))
    return np.concatenate(out)


def streamed(samples: np.ndarray, sizes: list[int], source: int, target: int) -> tuple[np.ndarray, float]:
    resampler = StreamResampler(source, target)
    out, start = [], 0
    began = time.process_time()
    for size in sizes:
        out.append(resampler.process(samples[start : start + size]))
        start += size
    out.append(resampler.flush())
    return np.concatenate(out), time.process_time() - began


def max_difference(a: np.ndarray, b: np.ndarray) -> float:
    size = min(a.size, b.size)
    return float(np.max(np.abs(a[:size] - b[:size])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "resample.json")
    args = parser.parse_args()
    rows = []
    print(f"{'rates':>13} {'blocks':>9} {'stateless max|d|':>17} {'stream max|d|':>14} {'audio s/CPU s':>14}")
    for source, target in PAIRS:
        samples = test_signal(source, args.seconds)
        ratio = Fraction(target, source)
        whole_poly = resample_poly(samples.astype(np.float64), ratio.numerator, ratio.denominator)
        whole = resample(samples, source, target)
        for kind in BLOCKS:
            sizes = block_sizes(kind, source, samples.size)
            old = max_difference(stateless(samples, sizes, source, target), whole_poly)
            new, cpu = streamed(samples, sizes, source, target)
            assert new.size == whole.size
            row = {
                "source_rate": source,
                "target_rate": target,
                "blocks": kind,
                "stateless_max_abs_diff": round(old, 6),
                "stream_max_abs_diff": float(np.max(np.abs(new - whole))),
                "audio_s_per_cpu_s": round(args.seconds / max(cpu, 1e-9), 1),
            }
            rows.append(row)
            print(
                f"{source:>6}->{target:<6} {kind:>9} {row['stateless_max_abs_diff']:>17.4f} "
                f"{row['stream_max_abs_diff']:>14.2e} {row['audio_s_per_cpu_s']:>14.0f}"
            )
    load = round(os.getloadavg()[0], 2)
    print(f"load average (1 min): {load}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"seconds": args.seconds, "load_average_1m": load, "machine": platform.machine(), "rows": rows}, indent=2
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
