"""Smart Turn v3.2 end-of-turn estimates on real speech: complete vs cut-mid-sentence, AUC and cost.

usage: python benchmarks/smart_turn.py [--split eval|dev] [--out benchmarks/results/smart_turn.json]

Items (installed, never committed): the LibriVox utterances of Debian pocketsphinx-testdata and
the top-level Asterisk prompts (asterisk-core-sounds-en-wav) with a clean transcript of at least
six words and at most 25 s. Each utterance gives two items: "complete" (the whole utterance) and
"cut" (the same audio cut at the word boundary nearest its middle, word times from
faster-whisper tiny.en's word timestamps on the whole clip). Prompts alternate between a dev half
(even positions: used to look at trailing-silence effects) and the reported eval half (odd
positions plus LibriVox); the eval item list's sha256 is printed and written with the results.

Two ways of scoring each item:

* perceiver: the item streamed (0.5 s silence before, 1.5 s after, 100 ms chunks) through
  SmartTurnPerceiver on virtual time; the estimate at the item's last end of speech counts
  (silero decides where speech ends; the model hears the turn up to the VAD's confirmation);
* fixed: the model on the item plus exactly 0.25 s of silence (how the model was measured before).

Reported: ROC AUC (complete = positive), recall of each class at thresholds, and the wall time
of one decision (features + model) on one onnxruntime thread, with the load average.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from audiointeract.audio import AudioFormat, FloatArray, resample
from audiointeract.backends.embedded.asr import load_faster_whisper
from audiointeract.backends.embedded.smart_turn import SmartTurnPerceiver
from audiointeract.backends.embedded.smart_turn_model import SmartTurnModel
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.config import SessionConfig
from audiointeract.events import TurnEndEstimate
from audiointeract.session import Session
from audiointeract.simulators import run_virtual
from audiointeract.simulators.clips import default_bank
from audiointeract.sources import ArraySource

RATE = 16000
THRESHOLDS = (0.5, 0.8, 0.9)


def utterances() -> list[dict[str, Any]]:
    """Real utterances of six words or more, each tagged with its split."""
    bank = default_bank()
    out = [{"id": f"librivox/{path.stem}", "clip": f"pocketsphinx:librivox/{path.stem}", "split": "eval"}
           for path in sorted((bank.roots["pocketsphinx"] / "librivox").glob("*.wav"))]
    prompts = []
    for path in sorted(bank.roots["asterisk"].glob("*.wav")):
        ref = bank.transcript(f"asterisk:{path.stem}") or ""
        if len(ref.split()) >= 6 and not re.search(r"[\[*#]", ref):
            prompts.append({"id": f"asterisk/{path.stem}", "clip": f"asterisk:{path.stem}"})
    out += [{**p, "split": "eval" if i % 2 else "dev"} for i, p in enumerate(prompts)]
    for item in out:
        samples, rate = bank.load(item["clip"])
        item["audio"] = resample(samples, rate, RATE)
    return [u for u in out if u["audio"].size <= 25 * RATE]


def cut_point(model: Any, audio: FloatArray) -> float | None:
    """End of the word before the middle word (seconds), from faster-whisper word timestamps."""
    segments, _ = model.transcribe(audio, language="en", beam_size=1, word_timestamps=True,
                                   condition_on_previous_text=False, vad_filter=False)
    words = [w for s in segments for w in s.words or ()]
    if len(words) < 6:
        return None
    return float(words[len(words) // 2 - 1].end)


def auc(positive: list[float], negative: list[float]) -> float:
    """ROC AUC as the Mann-Whitney probability that a positive outscores a negative (ties count half)."""
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def by_perceiver(perceiver: SmartTurnPerceiver, audio: FloatArray) -> float | None:
    """The estimate at the last end of speech of ``audio`` streamed through a session."""
    stream = np.concatenate([np.zeros(RATE // 2, np.float32), audio, np.zeros(3 * RATE // 2, np.float32)])
    config = SessionConfig(audio=AudioFormat(chunk_seconds=0.1))
    trace = run_virtual(Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config).run,
                        ArraySource(stream, RATE))
    run_virtual(perceiver.reset)
    estimates = trace.of_type(TurnEndEstimate)
    return estimates[-1].probability if estimates else None


def summary(complete: list[float], cut: list[float]) -> dict[str, Any]:
    return {
        "pairs": len(complete),
        "auc": auc(complete, cut),
        "recall": {str(t): {"complete": float(np.mean(np.asarray(complete) >= t)),
                            "cut": float(np.mean(np.asarray(cut) < t))} for t in THRESHOLDS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("eval", "dev"), default="eval")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "smart_turn.json")
    args = parser.parse_args()
    load_start = os.getloadavg()
    asr = load_faster_whisper()
    items = []
    for u in utterances():
        if u["split"] != args.split:
            continue
        cut = cut_point(asr, u["audio"])
        if cut is not None:
            items.append({**u, "cut_s": round(cut, 2)})
    listing = "\n".join(f"{i['id']} {i['cut_s']:.2f}" for i in items)
    digest = hashlib.sha256(listing.encode()).hexdigest()
    print(f"{len(items)} utterances ({args.split} split), item list sha256 {digest}")

    model = SmartTurnModel(threads=1)
    perceiver = SmartTurnPerceiver(offload=False, threads=1)
    pause = np.zeros(RATE // 4, np.float32)
    fixed: dict[str, list[float]] = {"complete": [], "cut": []}
    streamed: dict[str, list[float]] = {"complete": [], "cut": []}
    costs, rows = [], []
    for item in items:
        audio = item["audio"]
        parts = {"complete": audio, "cut": audio[: round(item["cut_s"] * RATE)]}
        row: dict[str, Any] = {"id": item["id"], "cut_s": item["cut_s"]}
        for label, part in parts.items():
            started = time.perf_counter()
            p = model.probability(np.concatenate([part, pause]))
            costs.append(time.perf_counter() - started)
            fixed[label].append(p)
            q = by_perceiver(perceiver, part)
            row[f"{label}_fixed"], row[f"{label}_perceiver"] = round(p, 4), q
            if q is not None:
                streamed[label].append(q)
        rows.append(row)
    result = {
        "split": args.split,
        "items_sha256": digest,
        "fixed_0.25s": summary(fixed["complete"], fixed["cut"]),
        "perceiver": summary(streamed["complete"], streamed["cut"]) | {
            "missing": {k: len(items) - len(v) for k, v in streamed.items()}},
        "decision_ms": {"p50": 1000 * float(np.percentile(costs, 50)),
                        "p95": 1000 * float(np.percentile(costs, 95)), "threads": 1},
        "load_average": {"start": load_start, "end": os.getloadavg()},
        "cpu_count": os.cpu_count(),
        "items": rows,
    }
    print("| scoring | pairs | AUC | complete / cut recall at 0.5 | at 0.8 | at 0.9 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ("fixed_0.25s", "perceiver"):
        s = result[name]
        recalls = " | ".join(f"{s['recall'][str(t)]['complete']:.2f} / {s['recall'][str(t)]['cut']:.2f}"
                             for t in THRESHOLDS)
        print(f"| {name} | {s['pairs']} | {s['auc']:.3f} | {recalls} |")
    print(f"one decision (1 thread): p50 {result['decision_ms']['p50']:.0f} ms, p95 {result['decision_ms']['p95']:.0f} ms;"
          f" load average {load_start} -> {result['load_average']['end']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
