"""Streaming ASR benchmark on real recordings: word emission delay with compute lag, WER, RTF, memory.

usage: python benchmarks/asr.py [--quick] [--backends embedded,hf] [--chunks 0.1,0.4] [--long-minutes 20]
                                [--out benchmarks/results/asr.json]

Data (installed, never committed): the LibriVox utterances of Debian pocketsphinx-testdata and
every Nth Asterisk prompt (asterisk-core-sounds-en-wav, transcripts from asterisk-core-sounds-en)
of at most 25 s; non-speech between clips of the long stream comes from sonic-pi-samples.

Embedded = faster-whisper tiny.en int8 + silero VAD; hf = the same weights converted from
CTranslate2 into a transformers checkpoint.

* offline WER: each whole clip decoded once by the same model (greedy, Whisper's full 30 s window);
* real time (the headline): the clips, each with 0.5 s of silence before and 1.5 s after, as one
  stream paced in real time into a Session on the wall clock, the perceiver computing in its
  worker thread as in production. A word's emission delay is the session time its
  TranscriptUpdate was emitted (stream time = session time under real-time pacing) minus when
  the word was spoken: its end in the offline decode of the clip (matched by text), or its own
  streaming end when the offline decode has no such word. So it includes compute lag, queueing
  behind earlier decodes and the VAD's confirmation. Rows: the settings this SDK shipped before
  (0.4 s end confirmation, 1 s cadence, full 30 s encoder window) and the current defaults;
* compute-unaware rows (the transformers backend): each clip through a Session on virtual time with
  compute inline, so delay = stream time of the committing chunk minus the word's end;
* RTF: the perceiver's compute seconds / audio seconds; peak RSS of the process; load average
  before and after every run (the machine is shared: timings move with it).

The long stream (embedded, 400 ms chunks) cycles the clips with real non-speech recordings in
between and reports, per quarter of the stream, RSS and the lag a real-time feed would see
(chunk arrival at its end time; a chunk waits for the previous one's compute).
Text is normalised with whisper-normalizer's EnglishTextNormalizer; WER via jiwer.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import platform
import re
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import ctranslate2
import jiwer
import numpy as np
import torch
import transformers
from whisper_normalizer.english import EnglishTextNormalizer

from audiointeract.audio import AudioChunk, AudioFormat, FloatArray, resample
from audiointeract.backends.embedded.asr import FasterWhisperPerceiver, load_faster_whisper
from audiointeract.backends.hf.convert_ct2 import convert_ct2_whisper
from audiointeract.backends.hf.whisper import WhisperPerceiver
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.backends.streaming_asr import StreamingAsrPerceiver, StreamingConfig
from audiointeract.config import SessionConfig
from audiointeract.events import ChunkDropped, TranscriptUpdate, Word
from audiointeract.session import Session
from audiointeract.simulators import run_virtual
from audiointeract.simulators.clips import default_bank
from audiointeract.sources import ArraySource

RATE = 16000
NORMALISE = EnglishTextNormalizer()
NON_SPEECH = ["ambi_sauna", "vinyl_hiss", "loop_3d_printer", "ambi_lunar_land", "ambi_haunted_hum", "loop_safari",
              "misc_crow", "perc_door", "guit_em9", "ambi_glass_rub"]
TARGETS = {"streaming_vs_offline_wer": 1.15, "median_emission_delay_s": 1.0, "rtf_embedded": 0.35}
# what the embedded perceiver shipped with before words were committed at the VAD's end of speech
BEFORE = {"min_speech": 0.25, "min_silence": 0.4, "fit_window": False,
          "streaming": StreamingConfig(decode_every=1.0, pause_decode_after=None, min_speech=0.0)}
LEAD, TAIL = 0.5, 1.5  # silence around each clip in the real-time stream


# ----------------------------------------------------------------------------- data


def speech_clips(asterisk_every: int, max_seconds: float = 25.0) -> list[dict[str, Any]]:
    """LibriVox utterances and every Nth top-level Asterisk prompt with a clean word transcript."""
    bank = default_bank()
    clips = []
    for path in sorted((bank.roots["pocketsphinx"] / "librivox").glob("*.wav")):
        ref = bank.transcript(f"pocketsphinx:librivox/{path.stem}")
        if ref:
            clips.append({"id": f"librivox/{path.stem}", "clip": f"pocketsphinx:librivox/{path.stem}", "ref": ref})
    prompts = []
    for path in sorted(bank.roots["asterisk"].glob("*.wav")):
        ref = bank.transcript(f"asterisk:{path.stem}")
        if not ref or re.search(r"[\[*#]", ref) or not re.search(r"[A-Za-z]", ref):
            continue
        prompts.append({"id": f"asterisk/{path.stem}", "clip": f"asterisk:{path.stem}", "ref": ref})
    clips += prompts[::asterisk_every]
    out = []
    for clip in clips:
        samples, rate = bank.load(clip["clip"])
        audio = resample(samples, rate, RATE)
        if 0.3 <= audio.size / RATE <= max_seconds:
            out.append({**clip, "audio": audio, "seconds": audio.size / RATE})
    return out


def non_speech() -> list[FloatArray]:
    bank = default_bank()
    out = []
    for name in NON_SPEECH:
        samples, rate = bank.load(f"sonic-pi:{name}")
        audio = resample(samples, rate, RATE)[: RATE * 8]
        out.append((audio / (np.abs(audio).max() + 1e-9) * 0.3).astype(np.float32))
    return out


# ----------------------------------------------------------------------------- measures


def wer(refs: list[str], hyps: list[str]) -> float:
    pairs = [(NORMALISE(r), NORMALISE(h)) for r, h in zip(refs, hyps, strict=True)]
    pairs = [(r, h or "<empty>") for r, h in pairs if r]
    return float(jiwer.wer([r for r, _ in pairs], [h for _, h in pairs]))


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "ctranslate2": ctranslate2.__version__, "torch": torch.__version__, "transformers": transformers.__version__,
            "load_average_start": os.getloadavg()}


# ----------------------------------------------------------------------------- runs


def offline(name: str, transcribe: Any, clips: list[dict[str, Any]]) -> dict[str, Any]:
    hyps, compute, timed = [], 0.0, []
    for clip in clips:
        started = time.perf_counter()
        words = transcribe(clip["audio"], "")
        compute += time.perf_counter() - started
        hyps.append(" ".join(w.text for w in words))
        timed.append(words)
    audio = sum(c["seconds"] for c in clips)
    return {"backend": name, "mode": "offline", "wer": wer([c["ref"] for c in clips], hyps), "rtf": compute / audio,
            "audio_s": audio, "hyps": hyps, "words": timed}


def _key(text: str) -> str:
    return re.sub(r"[^\w']+", "", text.lower())


def spoken_at(streamed: list[Word], reference: list[Word], offset: float) -> tuple[list[float], int]:
    """When each streamed word was spoken (the end of the same word in the offline decode, else its own
    end), and how many were matched to the offline decode."""
    ends = [w.end for w in streamed]
    matcher = difflib.SequenceMatcher(a=[_key(w.text) for w in streamed], b=[_key(w.text) for w in reference],
                                      autojunk=False)
    matched = 0
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            ends[block.a + k] = offset + reference[block.b + k].end
        matched += block.size
    return ends, matched


def realtime(label: str, make: Callable[[], StreamingAsrPerceiver], clips: list[dict[str, Any]],
             reference: list[list[Word]], chunk: float) -> dict[str, Any]:
    """All clips as one stream paced in real time through a Session on the wall clock (compute in a thread)."""
    parts, spans, t = [], [], 0.0
    for clip in clips:
        parts += [np.zeros(round(LEAD * RATE), np.float32), clip["audio"], np.zeros(round(TAIL * RATE), np.float32)]
        spans.append((t + LEAD, t + LEAD + clip["seconds"]))
        t += LEAD + clip["seconds"] + TAIL
    stream = np.concatenate(parts)
    perceiver = make()
    config = SessionConfig(audio=AudioFormat(chunk_seconds=chunk), chunk_queue=100_000)
    session = Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config)
    load = os.getloadavg()
    trace = anyio.run(session.run, ArraySource(stream, RATE))
    emitted = [(w, u.emitted_at) for u in trace.of_type(TranscriptUpdate) for w in u.words if u.emitted_at is not None]
    hyps, delays, matched = [], [], 0
    for (begin, end), ref in zip(spans, reference, strict=True):
        mine = [(w, at) for w, at in emitted if begin - LEAD <= w.start < end + TAIL]
        words = [w for w, _ in mine]
        hyps.append(" ".join(w.text for w in words).replace(" -", "-"))
        spoken, found = spoken_at(words, ref, begin)
        matched += found
        delays += [at - s for (_, at), s in zip(mine, spoken, strict=True)]
    stats = perceiver.statistics()
    return {"backend": "embedded", "mode": "real time", "settings": label, "chunk_s": chunk,
            "decode_every_s": perceiver.cadence, "wer": wer([c["ref"] for c in clips], hyps),
            "rtf": stats.compute_seconds / (stream.size / RATE), "delay_p50_s": pct(delays, 50),
            "delay_p95_s": pct(delays, 95), "words": len(delays), "words_timed_offline": matched,
            "decodes": stats.decodes, "max_lag_s": session.statistics().max_perceiver_lag,
            "chunks_dropped": len(trace.of_type(ChunkDropped)), "rss_mb": rss_mb(), "audio_s": stream.size / RATE,
            "load_average": [load, os.getloadavg()], "hyps": hyps}


def streaming(name: str, perceiver: StreamingAsrPerceiver, clips: list[dict[str, Any]], chunk: float) -> dict[str, Any]:
    hyps, delays, compute, audio_s, peak = [], [], 0.0, 0.0, 0.0
    config = SessionConfig(audio=AudioFormat(chunk_seconds=chunk))
    for clip in clips:
        audio = np.concatenate([np.zeros(RATE // 2, np.float32), clip["audio"], np.zeros(RATE, np.float32)])
        session = Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=config)
        started = time.perf_counter()
        trace = run_virtual(session.run, ArraySource(audio, RATE))
        compute += time.perf_counter() - started
        audio_s += audio.size / RATE
        updates = trace.of_type(TranscriptUpdate)
        hyps.append(" ".join(u.committed for u in updates if u.committed))
        delays += [u.emitted_at - w.end for u in updates for w in u.words if u.emitted_at is not None]
        run_virtual(perceiver.reset)
        peak = max(peak, rss_mb())
    refs = [c["ref"] for c in clips]
    return {"backend": name, "mode": "streaming", "chunk_s": chunk, "decode_every_s": perceiver.cadence,
            "wer": wer(refs, hyps), "rtf": compute / audio_s,
            "delay_p50_s": pct(delays, 50), "delay_p95_s": pct(delays, 95), "words": len(delays),
            "rss_mb": peak, "audio_s": audio_s, "hyps": hyps}


def long_stream(perceiver: FasterWhisperPerceiver, clips: list[dict[str, Any]], minutes: float,
                chunk: float = 0.4) -> dict[str, Any]:
    """Clips cycled with non-speech between them, fed chunk by chunk; lag as a real-time feed would see it."""
    fillers = non_speech()
    parts, refs, length, i = [], [], 0, 0
    while length < minutes * 60 * RATE:
        clip = clips[i % len(clips)]
        filler = fillers[i % len(fillers)]
        parts += [np.zeros(RATE // 2, np.float32), filler, np.zeros(RATE // 2, np.float32), clip["audio"]]
        refs.append(clip["ref"])
        length += sum(p.size for p in parts[-4:])
        i += 1
    audio = np.concatenate([*parts, np.zeros(RATE, np.float32)])
    n = round(chunk * RATE)
    run_virtual(perceiver.reset)
    finish_at, lags, samples, texts, delays = 0.0, [], [], [], []

    async def feed() -> None:
        nonlocal finish_at
        for index, start in enumerate(range(0, audio.size - n + 1, n)):
            block = AudioChunk(samples=audio[start : start + n].copy(), sample_rate=RATE, start_sample=start, index=index)
            began = time.perf_counter()
            out = await perceiver.perceive(block)
            cost = time.perf_counter() - began
            finish_at = max(finish_at, block.end_time) + cost
            lags.append(finish_at - block.end_time)
            for p in out:
                if isinstance(p, TranscriptUpdate):
                    texts.append(p.committed)
                    delays.extend(block.end_time - w.end for w in p.words)
            if index % round(30 / chunk) == 0:
                samples.append((block.end_time, rss_mb(), perceiver.statistics().buffer_seconds))
        texts.extend(p.committed for p in await perceiver.finish() if isinstance(p, TranscriptUpdate))

    started = time.perf_counter()
    run_virtual(feed)
    wall = time.perf_counter() - started
    quarters = []
    for q in range(4):
        lo, hi = q * len(lags) // 4, (q + 1) * len(lags) // 4
        rss = [s[1] for s in samples if lo * chunk <= s[0] < hi * chunk] or [rss_mb()]
        quarters.append({"lag_p50_s": pct(lags[lo:hi], 50), "lag_max_s": float(max(lags[lo:hi])),
                         "rss_mb_max": max(rss)})
    stats = perceiver.statistics()
    return {"backend": "embedded", "mode": "long", "chunk_s": chunk, "audio_s": audio.size / RATE,
            "speech_s": stats.speech_seconds, "wer": wer([" ".join(refs)], [" ".join(t for t in texts if t)]),
            "rtf": wall / (audio.size / RATE), "delay_p50_s": pct(delays, 50), "delay_p95_s": pct(delays, 95),
            "max_buffer_s": stats.max_buffer_seconds, "quarters": quarters,
            "rss_first_last_mb": [samples[0][1], samples[-1][1]] if samples else []}


# ----------------------------------------------------------------------------- main


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| backend | mode | settings | chunk (s) | decode every (s) | WER | vs offline | delay p50 / p95 (s) | RTF "
            "| load avg (1 min, before / after) |")
    lines = [head, "|" + " --- |" * 10]
    offline_wer = {r["backend"]: r["wer"] for r in rows if r["mode"] == "offline"}
    for r in rows:
        ratio = r["wer"] / offline_wer[r["backend"]] if r["backend"] in offline_wer and offline_wer[r["backend"]] else None
        delay = f"{r['delay_p50_s']:.2f} / {r['delay_p95_s']:.2f}" if "delay_p50_s" in r else "-"
        cadence = r.get("decode_every_s", "-")
        cadence = "chunk" if cadence == 0 else cadence
        load = r.get("load_average")
        load_text = f"{load[0][0]:.1f} / {load[1][0]:.1f}" if load else "-"
        lines.append(f"| {r['backend']} | {r['mode']} | {r.get('settings', '-')} | {r.get('chunk_s', '-')} | {cadence} | "
                     f"{100 * r['wer']:.1f}% | {f'{ratio:.2f}x' if ratio and r['mode'] != 'offline' else '-'} | "
                     f"{delay} | {r['rtf']:.3f} | {load_text} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few clips and a 3-minute long stream")
    parser.add_argument("--backends", default="embedded,hf")
    parser.add_argument("--chunks", default="0.1,0.4", help="chunk sizes of the real-time runs of the defaults")
    parser.add_argument("--before-chunks", default="0.4", help="chunk sizes of the real-time runs of the old settings")
    parser.add_argument("--asterisk-every", type=int, default=None)
    parser.add_argument("--long-minutes", type=float, default=None)
    parser.add_argument("--hf-threads", type=int, default=1)
    parser.add_argument("--hf-every", type=int, default=2, help="the transformers backend runs on every Nth clip")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "asr.json")
    args = parser.parse_args()
    every = args.asterisk_every or (40 if args.quick else 8)
    minutes = args.long_minutes if args.long_minutes is not None else (3.0 if args.quick else 20.0)
    chunks = [float(c) for c in args.chunks.split(",") if c]
    before_chunks = [float(c) for c in args.before_chunks.split(",") if c]
    backends = args.backends.split(",")
    clips = speech_clips(every)
    print(f"{len(clips)} clips, {sum(c['seconds'] for c in clips):.0f} s of speech; real-time chunks {chunks} "
          f"(old settings: {before_chunks})")
    info = machine()
    rows: list[dict[str, Any]] = []
    model = load_faster_whisper()
    if "embedded" in backends:
        reference = offline("embedded", FasterWhisperPerceiver(model=model, offload=False, fit_window=False)._transcribe,  # noqa: SLF001 - the offline decode
                            clips)
        rows.append(reference)
        runs = [("before", BEFORE, chunk) for chunk in before_chunks] + [("defaults", {}, chunk) for chunk in chunks]
        for label, options, chunk in runs:
            rows.append(realtime(label, lambda options=options: FasterWhisperPerceiver(model=model, **options), clips,
                                 reference["words"], chunk))
            print(table(rows), flush=True)
    long_result = None
    if minutes > 0:
        long_result = long_stream(FasterWhisperPerceiver(model=model, offload=False), clips, minutes)
        print(f"long stream: {long_result['audio_s'] / 60:.1f} min ({long_result['speech_s'] / 60:.1f} min gated "
              f"as speech), WER {100 * long_result['wer']:.1f}%, RTF {long_result['rtf']:.3f}, delay p50 "
              f"{long_result['delay_p50_s']:.2f} s, max buffer {long_result['max_buffer_s']:.1f} s")
        for q, quarter in enumerate(long_result["quarters"]):
            print(f"  quarter {q + 1}: lag p50 {quarter['lag_p50_s']:.2f} s, max {quarter['lag_max_s']:.2f} s, "
                  f"RSS {quarter['rss_mb_max']:.0f} MB")
    if "hf" in backends:
        with tempfile.TemporaryDirectory() as folder:
            hf = WhisperPerceiver(convert_ct2_whisper(folder), offload=False, threads=args.hf_threads)
        hf_clips = clips[:: args.hf_every]
        rows.append(offline("hf", hf._transcribe, hf_clips))  # noqa: SLF001
        rows += [streaming("hf", hf, hf_clips, chunk) for chunk in (0.4,)]
        print(table(rows), flush=True)
    info["load_average_end"] = os.getloadavg()
    info["peak_rss_mb"] = peak_rss_mb()
    result = {"machine": info, "settings": {"clips": len(clips), "asterisk_every": every, "chunks": chunks,
                                            "before_chunks": before_chunks, "before": {**BEFORE, "streaming": str(
                                                BEFORE["streaming"])}, "hf_threads": args.hf_threads,
                                            "hf_every": args.hf_every, "fw_threads": 2, "long_minutes": minutes},
              "targets": TARGETS,
              "rows": [{k: v for k, v in r.items() if k not in ("hyps", "words")} | (
                  {"words": r["words"]} if isinstance(r.get("words"), int) else {}) for r in rows],
              "long_stream": long_result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(rows))
    print(f"machine: {info['cpu']}, {info['cores']} cores, load average {info['load_average_start']} -> "
          f"{info['load_average_end']} (other jobs share the machine); wrote {args.out}")


if __name__ == "__main__":
    main()
