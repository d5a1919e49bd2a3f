"""The tuning set of the turn-taking policies: what their thresholds were chosen on (never the benchmark's items).

usage: python benchmarks/turn_taking_tuning.py [--chunk 0.1] [--out benchmarks/results/turn_taking_tuning.json]

The items are built like ``turn_taking.py``'s but from recordings that set never uses:
Asterisk prompts that are not in its frozen manifest (sources and excluded prompts), of
4 words or more and at most 8 s, and CC0 sounds outside its noise list.

* **ends of turn**: every such prompt whose transcript ends in ``. ! ?`` is a complete
  turn; every prompt of 5 words or more is also cut once mid-sentence after a word that
  cannot end it (the benchmark's own cutting rule), with a 0.3-1.2 s pause inserted.
  Each is run through the real perception (streaming faster-whisper with silero VAD and
  Smart Turn v3.2, on virtual time, compute inline), and at every end of speech the words
  so far (do they read complete?) and Smart Turn's P(complete) are written down, with
  the silence that followed (the pause, or none at the end of the turn). From these the
  script scores :func:`~audiointeract.policies.endpointing.turn_end_delay` over a grid
  of thresholds: the share of turns cut off inside a pause, and the delay at true ends.
* **speech and sounds over a reply**: acknowledgements (real: "thank you" and "oh" from
  Asterisk prompts outside the benchmark; piper-synthesised "mm-hm", "yeah", "okay",
  "right", "sure", "uh-huh", "got it"), CC0 sounds, and interruptions (the first 2 s of
  complete prompts), each 1 s into 4 s of silence, through the same perception and the
  real :class:`~audiointeract.policies.barge_in.InterruptPolicy` with the agent speaking:
  when the reply was held and what the verdict was, from the sound's onset.

Times here rest on the audio only (no compute lag): they are what the rules need, not
what a loaded machine delivers (``turn_taking.py`` measures that).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import turn_taking_items as items
from turn_taking_items import RATE, render

from audiointeract.audio import AudioChunk, FloatArray, resample
from audiointeract.backends.embedded.asr import FasterWhisperPerceiver
from audiointeract.backends.embedded.smart_turn import SmartTurnPerceiver
from audiointeract.events import Action, Perception, SpeechActivity, TranscriptUpdate, TurnEndEstimate
from audiointeract.interfaces import DecisionContext
from audiointeract.policies._text import turn_complete
from audiointeract.policies.barge_in import InterruptPolicy
from audiointeract.policies.endpointing import turn_end_delay
from audiointeract.simulators.clips import default_bank

SEED = 20261202
LEAD, TAIL = 0.5, 2.5
ONSET_CONFIRM = 0.16  # the VAD's min_speech: a continuation is seen this long after it starts
TUNING_NOISES = ("sonic-pi:perc_impact2", "sonic-pi:perc_snap2", "sonic-pi:perc_bell", "sonic-pi:perc_swoosh",
                 "sonic-pi:misc_cineboom", "sonic-pi:glitch_robot1", "sonic-pi:mehackit_phone1",
                 "sonic-pi:drum_snare_hard", "sonic-pi:drum_cymbal_open", "sonic-pi:tabla_ghe1",
                 "sonic-pi:elec_blip", "sonic-pi:vinyl_backspin", "sonic-pi:guit_e_slide", "sonic-pi:ambi_swoosh",
                 "sonic-pi:perc_till", "sonic-pi:bass_voxy_hit_c")
REAL_ACKNOWLEDGEMENTS = (("asterisk:queue-thankyou", 2, "thank you"), ("asterisk:basic-pbx-ivr-main", 2, "thank you"),
                         ("asterisk:digits/oh", 1, "oh"))
SYNTHETIC_ACKNOWLEDGEMENTS = ("Mm-hm.", "Yeah.", "Okay.", "Right.", "Sure.", "Uh-huh.", "Got it.")
GRID = {"complete_at": (0.3, 0.5, 0.7), "incomplete_below": (0.02, 0.05, 0.1, 0.2),
        "unsure_delay": (0.4, 0.6, 0.8, 1.0)}


# --------------------------------------------------------------------------- items


def prompts() -> list[tuple[str, str]]:
    """Asterisk prompts the benchmark does not use: (name, transcript)."""
    manifest = items.load_manifest()
    used = set(manifest["sources"]) | set(manifest["excluded_prompts"])
    bank = default_bank()
    root = bank.roots["asterisk"]
    out = []
    for path in sorted(root.glob("*.wav")):
        name = f"asterisk:{path.stem}"
        text = bank.transcript(name) or ""
        words = re.findall(r"[a-z']+", text.lower())
        if name in used or len(words) < 4 or text.startswith(".") or text.rstrip().endswith(".."):
            continue
        if render(name).duration <= 8.0:
            out.append((name, text))
    return out


def turn_items(model: Any) -> list[dict[str, Any]]:
    """Complete turns and turns with an inserted pause, as 16 kHz audio with their ground truth."""
    rng = np.random.default_rng(SEED)
    out: list[dict[str, Any]] = []
    for name, text in prompts():
        clip = render(name)
        if text.rstrip()[-1:] in ".!?":
            out.append({"id": name, "kind": "complete", "text": text, "samples": clip.samples, "end": clip.end})
        if len(text.split()) >= 5:
            for cut in items._cuts(model, name, text, most=1):  # noqa: SLF001 - the benchmark's own cutting rule
                pause = round(float(rng.uniform(0.3, 1.2)), 3)
                samples, fragment_end, continuation = items.insert_pause(clip, cut["cut"], pause)
                out.append({"id": f"{name}|{cut['fragment']}", "kind": "pause", "text": text, "samples": samples,
                            "fragment_end": fragment_end, "continuation": continuation, "pause": pause,
                            "end": clip.end + samples.size / RATE - clip.duration})
    return out


async def acknowledgements() -> list[tuple[str, str, FloatArray]]:
    """Real and synthesised acknowledgements: (label, source, 16 kHz samples at the common level)."""
    from audiointeract.backends.speech import PiperSynthesizer  # noqa: PLC0415 - needs the tts extra

    out = []
    model = items_model()
    for name, count, label in REAL_ACKNOWLEDGEMENTS:
        samples, rate = items.load_source(name)
        audio = resample(np.asarray(samples, dtype=np.float32), rate, RATE)
        words = items._words(model, audio)  # noqa: SLF001
        span = None
        if len(words) > count:  # cut at the quietest frame between the last word wanted and the next
            whole = items.Clip(name=name, samples=items._normalise(audio), onset=0.0, end=0.0)  # noqa: SLF001
            span = (0.0, items._cut_point(whole, words[count - 1][2] - 0.08, words[count][1] + 0.08))  # noqa: SLF001
        out.append((label, name, render(name, span).samples))
    synthesizer = PiperSynthesizer(offload=False)
    for text in SYNTHETIC_ACKNOWLEDGEMENTS:
        blocks = [block async for block in synthesizer.synthesize(text)]
        audio = resample(np.concatenate([b.samples for b in blocks]), blocks[0].sample_rate, RATE)
        out.append((text.lower().rstrip("."), "piper", items._normalise(audio)))  # noqa: SLF001
    return out


_MODEL: list[Any] = []


def items_model() -> Any:
    if not _MODEL:
        from audiointeract.backends.embedded.asr import load_faster_whisper  # noqa: PLC0415 - heavy

        _MODEL.append(load_faster_whisper(cpu_threads=2))
    return _MODEL[0]


# --------------------------------------------------------------------------- perception


async def perceive(samples: FloatArray, chunk: float, asr: FasterWhisperPerceiver,
                   turn: SmartTurnPerceiver) -> list[tuple[float, list[Perception]]]:
    """The perceptions of each chunk of ``samples`` (after a lead of silence), on virtual time."""
    audio = np.concatenate([np.zeros(round(LEAD * RATE), np.float32), samples,
                            np.zeros(round(TAIL * RATE), np.float32)])
    size = round(chunk * RATE)
    await asr.reset()
    await turn.reset()
    out = []
    for index, start in enumerate(range(0, audio.size - size + 1, size)):
        piece = AudioChunk(samples=audio[start : start + size], sample_rate=RATE, start_sample=start, index=index)
        found = [*await asr.perceive(piece), *await turn.perceive(piece)]
        out.append((piece.end_time, found))
    return out


def ends_of_speech(steps: list[tuple[float, list[Perception]]]) -> list[dict[str, Any]]:
    """Each end of speech: its time, the words committed so far, Smart Turn's estimate, the next onset."""
    committed: list[str] = []
    ends: list[dict[str, Any]] = []
    onsets: list[float] = []
    for _, found in steps:
        for p in found:
            if isinstance(p, TranscriptUpdate) and p.committed.strip():
                committed.append(p.committed.strip())
            elif isinstance(p, SpeechActivity) and p.speaking:
                onsets.append(p.span_start - LEAD)
            elif isinstance(p, SpeechActivity):
                ends.append({"end": p.span_end - LEAD, "text": " ".join(committed), "p": None})
            elif isinstance(p, TurnEndEstimate):
                match = [e for e in ends if abs(e["end"] - (p.speech_end - LEAD)) < 0.05]
                if match:
                    match[-1]["p"] = p.probability
    for end in ends:
        later = [t for t in onsets if t > end["end"]]
        end["next_onset"] = later[0] if later else None
    return ends


# --------------------------------------------------------------------------- endpointing


def endpointing_rows(turns: list[dict[str, Any]], perceived: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for item, ends in zip(turns, perceived, strict=True):
        for end in ends:
            final = end["next_onset"] is None
            rows.append({"item": item["id"], "kind": item["kind"], "final": final, "end": end["end"],
                         "gap": None if final else end["next_onset"] - end["end"], "text": end["text"],
                         "text_complete": turn_complete(end["text"]), "p": end["p"]})
    return rows


def score_endpointing(rows: list[dict[str, Any]], **knobs: float) -> dict[str, Any]:
    """Cut-off rate over items (any pause the delay does not outlast) and the delay at complete turns' ends."""
    def delay(row: dict[str, Any]) -> float:
        return turn_end_delay(text_complete=row["text_complete"], probability=row["p"], min_delay=knobs["min_delay"],
                              unsure_delay=knobs["unsure_delay"], max_delay=knobs["max_delay"],
                              complete_at=knobs["complete_at"], incomplete_below=knobs["incomplete_below"])[0]
    cut: dict[str, bool] = {}
    for row in rows:
        if not row["final"]:  # the policy answers unless the next onset is confirmed before the delay runs out
            cut[row["item"]] = cut.get(row["item"], False) or delay(row) < row["gap"] + ONSET_CONFIRM
        else:
            cut.setdefault(row["item"], False)
    pause_items = {r["item"] for r in rows if r["kind"] == "pause"}
    finals = [delay(r) for r in rows if r["final"] and r["kind"] == "complete"]
    return {**knobs, "cut_off_pause_items": float(np.mean([cut[i] for i in pause_items])),
            "cut_off_complete_items": float(np.mean([cut[r["item"]] for r in rows if r["kind"] == "complete"
                                                     and r["final"]])),
            "delay_p50": float(np.median(finals)), "delay_mean": float(np.mean(finals)),
            "at_min_delay": float(np.mean([d == knobs["min_delay"] for d in finals]))}


# --------------------------------------------------------------------------- barge-in


async def overlap_verdict(steps: list[tuple[float, list[Perception]]], onset: float) -> dict[str, Any]:
    """Replay the real InterruptPolicy with the agent speaking throughout: first hold, verdict, when (from onset)."""
    policy = InterruptPolicy()
    held = verdict_at = None
    verdict = "none"
    reason = ""
    for heard, found in steps:
        context = DecisionContext(now=heard, heard_until=heard, agent_speaking=True, active_reply=0, tasks=(),
                                  transcript="", history=(), user_speaking=False, last_speech_end=None,
                                  last_reply_end=None, pending_chunks=0)
        decision = await policy.decide(context, found)
        t = heard - LEAD - onset
        if decision.hold and held is None:
            held = t
        if decision.action is Action.INTERRUPT:
            verdict, verdict_at, reason = "interrupt", t, decision.reason
            break
        if held is not None and not decision.hold and verdict_at is None:
            verdict, verdict_at, reason = "played on", t, decision.reason
    return {"held": held, "verdict": verdict, "verdict_at": verdict_at, "reason": reason}


async def overlaps(chunk: float, asr: FasterWhisperPerceiver, turn: SmartTurnPerceiver,
                   turns: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    sounds: list[tuple[str, str, FloatArray]] = [(f"ack: {label}", source, samples)
                                                 for label, source, samples in await acknowledgements()]
    sounds += [(f"noise: {name.split(':')[1]}", name, render(name, max_seconds=1.5).samples) for name in TUNING_NOISES]
    complete = [t for t in turns if t["kind"] == "complete"]
    sounds += [(f"interrupt: {t['text'][:30]}", t["id"], t["samples"][: round(2.5 * RATE)]) for t in complete[::4]]
    out = []
    for label, source, samples in sounds:
        start, _ = items.bounds(samples)
        audio = np.concatenate([np.zeros(RATE, np.float32), samples, np.zeros(round(2.0 * RATE), np.float32)])
        steps = await perceive(audio, chunk, asr, turn)
        words = " ".join(p.committed for _, found in steps for p in found
                         if isinstance(p, TranscriptUpdate) and p.committed.strip())
        out.append({"label": label, "source": source, "words": words.strip(),
                    **await overlap_verdict(steps, 1.0 + start)})
    return out


# --------------------------------------------------------------------------- main


async def run(chunk: float) -> dict[str, Any]:
    model = items_model()
    asr = FasterWhisperPerceiver(model=model, offload=False)
    turn = SmartTurnPerceiver(offload=False)
    turns = turn_items(model)
    perceived = [ends_of_speech(await perceive(t["samples"], chunk, asr, turn)) for t in turns]
    rows = endpointing_rows(turns, perceived)
    grid = [score_endpointing(rows, min_delay=0.2, max_delay=2.0, complete_at=c, incomplete_below=i, unsure_delay=u)
            for c in GRID["complete_at"] for i in GRID["incomplete_below"] for u in GRID["unsure_delay"]
            if i <= c]
    text_only = score_endpointing([{**r, "p": None} for r in rows], min_delay=0.2, max_delay=2.0, complete_at=0.5,
                                  incomplete_below=0.1, unsure_delay=0.6)
    return {"chunk": chunk, "turns": {"complete": sum(t["kind"] == "complete" for t in turns),
                                      "pause": sum(t["kind"] == "pause" for t in turns)},
            "ends": rows, "grid": grid, "text_only": text_only,
            "overlaps": await overlaps(chunk, asr, turn, turns)}


def report(result: dict[str, Any]) -> None:
    print(f"{result['turns']['complete']} complete turns, {result['turns']['pause']} turns with a pause; "
          f"chunk {result['chunk']} s")
    print(f"{'complete_at':>11} {'incompl<':>8} {'unsure':>6} {'cut pause':>9} {'cut compl':>9} "
          f"{'delay p50':>9} {'mean':>6} {'at min':>6}")
    for row in [*result["grid"], {**result["text_only"], "complete_at": math.nan, "incomplete_below": math.nan}]:
        print(f"{row['complete_at']:>11.2f} {row['incomplete_below']:>8.2f} {row['unsure_delay']:>6.2f} "
              f"{row['cut_off_pause_items']:>9.2f} {row['cut_off_complete_items']:>9.2f} {row['delay_p50']:>9.2f} "
              f"{row['delay_mean']:>6.2f} {row['at_min_delay']:>6.2f}")
    print("\nover the reply (seconds from the sound's onset, audio only):")
    for row in result["overlaps"]:
        held = "-" if row["held"] is None else f"{row['held']:.2f}"
        at = "-" if row["verdict_at"] is None else f"{row['verdict_at']:.2f}"
        print(f"  {row['label']:<40} held {held:>5} {row['verdict']:<10} at {at:>5}  words {row['words']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=float, default=0.1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "turn_taking_tuning.json")
    args = parser.parse_args()
    result = anyio.run(run, args.chunk)
    report(result)
    args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
