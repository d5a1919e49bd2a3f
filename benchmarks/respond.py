"""Reply latency of the embedded default: end of user speech -> decision -> first token -> first audio.

usage: python benchmarks/respond.py [--turns 20] [--barge-ins 5] [--voice auto] [--threads 2]
                                    [--note TEXT] [--out benchmarks/results/respond.json]

One real-time session with the registry defaults (``--perceiver/--decider/--responder``,
default ``default``) listens to a simulated user. The user asks a question, waits until the
reply has ended, pauses, and asks the next one. Questions are real recordings (Asterisk's
"Which folder should I save the message to?" and "Change to which folder?") and questions
synthesised with piper (joe voice) and espeak-ng, resampled to 16 kHz. In the barge-in
trials the user asks for a story and, 0.8 s after its first audio, speaks over it with a real
recording (LibriVox read speech or an Asterisk prompt).

All times are the session clock (wall clock under real-time pacing); "end of speech" is the
stream time of the question's last sample above -40 dBFS. Barge-in rows: INTERRUPT decision
-> ReplyCancelled.carried_out_at (the reply's thread joined, its processes gone), and
INTERRUPT decision -> end of the last audio piece the session had scheduled (when a sink that
plays whole pieces goes silent). What the user feels is the last row: the interrupter's onset
in the audio -> that same end of the reply audio. Targets: first reply audio p50 <= 1.2 s
after the end of speech; onset -> audio silent p50 <= 0.35 s, p95 <= 0.6 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import attrs
import numpy as np
import numpy.typing as npt
import torch

from audiointeract import Pacing, Session, SessionConfig
from audiointeract.audio import FloatArray, resample
from audiointeract.backends.speech import make_synthesizer
from audiointeract.events import (
    Action,
    Decision,
    Event,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
)
from audiointeract.interfaces import AudioSource, Observer
from audiointeract.registry import load_backend
from audiointeract.simulators.clips import default_bank

RATE = 16000
BLOCK = RATE // 10
REAL_QUESTIONS = ("asterisk:vm-savefolder", "asterisk:vm-changeto")
SYNTH_QUESTIONS = (
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What color is the sky on a clear day?",
    "Can you tell me a joke?",
    "What is two plus two?",
    "Who wrote Romeo and Juliet?",
    "What is the largest planet in our solar system?",
    "How many days are there in a week?",
    "What is the boiling point of water?",
    "Can you recommend a good book?",
    "What language do people speak in Brazil?",
    "How far away is the moon?",
    "What do bees make?",
    "What is the opposite of hot?",
    "Which animal is called the king of the jungle?",
    "How many minutes are there in an hour?",
    "What is the tallest mountain in the world?",
    "Can you say hello to my friend?",
)
STORY = "Can you tell me a long story about a brave knight and a dragon?"
INTERRUPTERS = (
    "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0880",
    "asterisk:conf-getpin",
    "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0930",
    "asterisk:vm-goodbye",
    "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0890",
)
GAP = 1.0
NO_REPLY_TIMEOUT = 8.0
AUDIO_TIMEOUT = 20.0
BARGE_DELAY = 0.8


@attrs.frozen
class Utterance:
    label: str
    kind: str  # "real" or "synth-piper" / "synth-espeak-ng"
    samples: FloatArray
    speech_start: float  # seconds into samples where speech begins / ends (-40 dBFS)
    speech_end: float


def speech_bounds(samples: FloatArray) -> tuple[float, float]:
    frame = RATE // 50
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    loud = np.flatnonzero(20 * np.log10(np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)) + 1e-12) > -40)
    if loud.size == 0:
        return 0.0, samples.size / RATE
    return loud[0] * frame / RATE, (loud[-1] + 1) * frame / RATE


def utterance(label: str, kind: str, samples: FloatArray, rate: int) -> Utterance:
    audio = resample(np.asarray(samples, dtype=np.float32), rate, RATE)
    start, end = speech_bounds(audio)
    return Utterance(label=label, kind=kind, samples=audio, speech_start=start, speech_end=end)


async def synthesise(text: str, voice: str) -> Utterance:
    synth = make_synthesizer(voice, offload=False)
    blocks = [block async for block in synth.synthesize(text)]
    return utterance(text, f"synth-{synth.name}", np.concatenate([b.samples for b in blocks]), blocks[0].sample_rate)


async def build_turns(count: int, barge_ins: int) -> tuple[list[Utterance], list[tuple[Utterance, Utterance]]]:
    bank = default_bank()
    real = [utterance(clip, "real", *bank.load(clip)) for clip in REAL_QUESTIONS]
    synth_count = max(0, count - len(real))
    voices = ["piper", "espeak-ng"]
    synth = [await synthesise(SYNTH_QUESTIONS[i % len(SYNTH_QUESTIONS)], voices[i % 2]) for i in range(synth_count)]
    questions = [*real[:count], *synth]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(questions))
    story = await synthesise(STORY, "espeak-ng")
    trials = [(story, utterance(clip, "real", *bank.load(clip))) for clip in INTERRUPTERS[:barge_ins]]
    return [questions[i] for i in order], trials


@attrs.define
class Turn:
    utterance: Utterance
    barge_in: Utterance | None
    start: float = 0.0  # stream time the question starts
    speech_end: float = 0.0
    barge_start: float | None = None
    end: float | None = None  # stream time this turn's window closes


class User(AudioSource, Observer):
    """A simulated user: speaks each turn once the previous reply has ended (reacts to session events)."""

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = turns
        self.events: list[tuple[float, Event]] = []
        self.reply_active = False
        self.reply_ended_at = 0.0
        self.first_audio_at: float | None = None
        self.replies_seen = 0
        self.samples_out = 0

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        self.events.append((at, event))
        if isinstance(event, ReplyStarted):
            self.reply_active, self.first_audio_at = True, None
            self.replies_seen += 1
        elif isinstance(event, ReplyAudio) and self.first_audio_at is None:
            self.first_audio_at = event.play_at
        elif isinstance(event, (ReplyFinished, ReplyCancelled, ReplyFailed)):
            self.reply_active, self.reply_ended_at = False, at

    @property
    def now(self) -> float:
        return self.samples_out / RATE

    async def _say(self, samples: FloatArray) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        for offset in range(0, samples.size, BLOCK):
            block = samples[offset : offset + BLOCK]
            self.samples_out += block.size
            yield block, RATE

    async def _silence_while(self, condition: Callable[[], bool]) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        silence = np.zeros(BLOCK, np.float32)
        while condition():
            self.samples_out += BLOCK
            yield silence, RATE

    def _before_barge_in(self, seen: int, deadline: float) -> bool:
        """Still waiting to speak over the reply: its first audio plus BARGE_DELAY (or give up at deadline)."""
        playing = self.replies_seen > seen and self.first_audio_at is not None
        return self.now < deadline and not (playing and self.now >= (self.first_audio_at or 0.0) + BARGE_DELAY)

    def _awaiting_reply(self, seen: int, deadline: float) -> bool:
        """A reply is in flight, or none has started yet and the deadline has not passed."""
        return self.reply_active or (self.replies_seen == seen and self.now < deadline)

    def _pausing(self) -> bool:
        return self.reply_active or self.now < self.reply_ended_at + GAP

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        async for block in self._silence_while(lambda: self.now < 1.0):
            yield block
        for turn in self.turns:
            async for block in self._silence_while(self._pausing):
                yield block
            turn.start = self.now
            turn.speech_end = turn.start + turn.utterance.speech_end
            seen = self.replies_seen
            async for block in self._say(turn.utterance.samples):
                yield block
            if turn.barge_in is not None:
                async for block in self._silence_while(partial(self._before_barge_in, seen, self.now + AUDIO_TIMEOUT)):
                    yield block
                if self.reply_active and self.first_audio_at is not None:
                    turn.barge_start = self.now + turn.barge_in.speech_start
                    async for block in self._say(turn.barge_in.samples):
                        yield block
            async for block in self._silence_while(partial(self._awaiting_reply, seen, self.now + NO_REPLY_TIMEOUT)):
                yield block
            turn.end = self.now
        async for block in self._silence_while(lambda: self.reply_active):
            yield block


def percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    array = np.asarray(values)
    return {"n": len(values), "p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "max": float(array.max())}


def analyse(turns: list[Turn], events: list[tuple[float, Event]], stats: dict[int, Any]) -> dict[str, Any]:
    rows: dict[str, list[float]] = {k: [] for k in ("decision", "first_token", "first_audio", "reply_first_audio",
                                                   "tokens_per_second", "model_ttft", "barge_detect",
                                                   "cancel_carried_out", "audio_stopped", "onset_to_silent")}
    per_turn = []
    for turn in turns:
        window = [(at, e) for at, e in events if turn.start <= at < (turn.end or float("inf"))]
        respond = next((e for _, e in window if isinstance(e, Decision) and e.action is Action.RESPOND
                        and e.decided_at is not None and e.decided_at >= turn.speech_end - 0.5), None)
        record: dict[str, Any] = {"utterance": turn.utterance.label, "kind": turn.utterance.kind,
                                  "barge_in": turn.barge_in.label if turn.barge_in else None, "responded": False}
        if respond is not None and respond.decided_at is not None:
            started = next((e for _, e in window if isinstance(e, ReplyStarted) and e.decision_id == respond.id), None)
            rid = started.reply_id if started else None
            text = [at for at, e in window if isinstance(e, ReplyText) and e.reply_id == rid]
            audio = [e for _, e in window if isinstance(e, ReplyAudio) and e.reply_id == rid]
            record.update(responded=True, decision=respond.decided_at - turn.speech_end)
            if text:
                record["first_token"] = text[0] - turn.speech_end
            if audio:
                record["first_audio"] = audio[0].play_at - turn.speech_end
                record["reply_first_audio"] = audio[0].play_at - respond.decided_at
            if rid is not None and rid in stats:
                record["tokens_per_second"] = stats[rid].tokens_per_second
                record["model_ttft"] = stats[rid].time_to_first_token
                record["reply"] = stats[rid].text
            if turn.barge_in is not None:
                cancel = next((e for _, e in window if isinstance(e, ReplyCancelled) and e.reply_id == rid), None)
                interrupt = next((e for _, e in window if isinstance(e, Decision) and cancel is not None
                                  and e.id == cancel.decision_id), None)
                if interrupt is not None and cancel is not None and interrupt.decided_at is not None:
                    scheduled_end = max((a.play_at + a.duration for a in audio), default=interrupt.decided_at)
                    record.update(
                        barge_detect=interrupt.decided_at - (turn.barge_start or interrupt.decided_at),
                        cancel_carried_out=cancel.carried_out_at - interrupt.decided_at,
                        audio_stopped=max(0.0, scheduled_end - interrupt.decided_at),
                        onset_to_silent=None if turn.barge_start is None
                        else max(scheduled_end, interrupt.decided_at) - turn.barge_start,
                    )
        for key, values in rows.items():
            skip = turn.barge_in is not None and key in ("first_token", "first_audio", "reply_first_audio")
            if record.get(key) is not None and not skip:
                values.append(float(record[key]))
        per_turn.append(record)
    return {"summary": {key: percentiles(values) for key, values in rows.items()}, "turns": per_turn}


@attrs.define
class ReplyStats:
    time_to_first_token: float | None
    tokens_per_second: float | None
    text: str


class StatsTap(Observer):
    """Reads the LM's per-reply statistics when each reply ends."""

    def __init__(self, responder: Any) -> None:
        self.model = getattr(responder, "inner", responder)
        self.by_reply: dict[int, ReplyStats] = {}

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        stats = getattr(self.model, "last_statistics", None)
        if isinstance(event, (ReplyFinished, ReplyCancelled)) and stats is not None:
            text = event.text if isinstance(event, ReplyFinished) else ""
            self.by_reply[event.reply_id] = ReplyStats(stats.time_to_first_token, stats.tokens_per_second, text)


def machine(threads: int) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpus_visible": len(os.sched_getaffinity(0)), "torch": torch.__version__, "torch_threads": threads,
            "load_average_at_start": os.getloadavg()}


def table(summary: dict[str, Any]) -> str:
    names = [
        ("decision", "end of speech -> RESPOND decision (s)", None),
        ("first_token", "end of speech -> first reply token (s)", None),
        ("first_audio", "end of speech -> first reply audio (s)", "p50 <= 1.2"),
        ("reply_first_audio", "RESPOND decision -> first reply audio (s)", None),
        ("model_ttft", "responder call -> first token (s)", None),
        ("tokens_per_second", "reply decode rate (tokens/s)", None),
        ("barge_detect", "interrupter speech start -> INTERRUPT (s)", None),
        ("cancel_carried_out", "INTERRUPT -> reply cancelled (s)", None),
        ("audio_stopped", "INTERRUPT -> audio stopped (s)", "<= 0.150"),
        ("onset_to_silent", "user onset (audio) -> agent audio silent (s)", "p50 <= 0.35, p95 <= 0.6"),
    ]
    lines = [f"{'metric':<44} {'n':>3} {'p50':>8} {'p95':>8} {'max':>8}  target", "-" * 84]
    for key, label, target in names:
        row = summary[key]
        cells = " ".join(f"{row[k]:8.3f}" if row[k] is not None else f"{'-':>8}" for k in ("p50", "p95", "max"))
        lines.append(f"{label:<44} {row['n']:>3} {cells}  {target or ''}")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    questions, trials = await build_turns(args.turns, args.barge_ins)
    turns = [Turn(utterance=q, barge_in=None) for q in questions]
    turns += [Turn(utterance=story, barge_in=interrupter) for story, interrupter in trials]
    started = time.perf_counter()
    perceiver = load_backend("perceiver", args.perceiver)
    decider = load_backend("decider", args.decider)
    options = {"voice": args.voice} if args.responder == "default" else {}
    responder = load_backend("responder", args.responder, **options)
    load_seconds = time.perf_counter() - started
    user, tap = User(turns), StatsTap(responder)
    session = Session(perceiver, decider, responder, config=SessionConfig(pacing=Pacing.REALTIME),
                      observers=[user, tap])
    started = time.perf_counter()
    await session.run(user)
    wall = time.perf_counter() - started
    for backend in (perceiver, decider, responder):
        await backend.aclose()
    result = analyse(turns, user.events, tap.by_reply)
    stats = session.statistics()
    result["session"] = {"audio_seconds": stats.heard_until, "wall_seconds": wall, "load_seconds": load_seconds,
                         "decisions": dict(stats.decisions), "replies_started": stats.replies_started,
                         "replies_finished": stats.replies_finished, "replies_cancelled": stats.replies_cancelled,
                         "max_perceiver_lag": stats.max_perceiver_lag, "chunks_dropped": stats.chunk_queue.dropped}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--barge-ins", type=int, default=5)
    parser.add_argument("--voice", default="auto")
    parser.add_argument("--perceiver", default="default")
    parser.add_argument("--decider", default="default")
    parser.add_argument("--responder", default="default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--note", default="", help="free text stored with the results (e.g. other load on the machine)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "respond.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    description = machine(args.threads)
    result = anyio.run(run, args)
    description["load_average_at_end"] = os.getloadavg()
    result = {"benchmark": "respond", "machine": description,
              "config": {k: v for k, v in vars(args).items() if k != "out"}, **result}
    print(table(result["summary"]))
    s = result["session"]
    print(f"\n{len(result['turns'])} turns, {s['audio_seconds']:.0f} s of audio in {s['wall_seconds']:.0f} s; "
          f"replies {s['replies_started']} started / {s['replies_finished']} finished / "
          f"{s['replies_cancelled']} cancelled; load average {description['load_average_at_start']} -> "
          f"{description['load_average_at_end']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
