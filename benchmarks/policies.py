"""Policy cost benchmark: CPU time of one decision for each rule policy on a synthetic 10-minute stream.

usage: python benchmarks/policies.py [--minutes 10] [--out benchmarks/results/policies.json]

The stream has a user turn every 6 s (questions, requests, chatter, digit strings) and a
sound event every 0.96 s of a 3 s sound every 10 s (alarms and routine sounds), as an
oracle perceiver would report them. Each policy's ``decide`` is called once per 0.4 s
chunk with that chunk's perceptions; the agent "speaks" for 2 s after each RESPOND.
Reported: decisions, RESPONDs, and ms per decision (mean, p50, p95, max). The semantic
policy runs all-MiniLM-L6-v2 inline (no thread), so its numbers include the embeddings.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import numpy as np

from audiointeract.events import Action, Perception, SoundEvent, SpeechActivity, StandingTask, TranscriptUpdate
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies import (
    CompositePolicy,
    EndpointingPolicy,
    KeywordPolicy,
    RateControlled,
    SemanticPolicy,
    SoundEventPolicy,
    default_policy,
)
from audiointeract.policies.backchannel import BackchannelPolicy
from audiointeract.policies.barge_in import InterruptPolicy
from audiointeract.policies.embeddings import MiniLMEmbedder

CHUNK = 0.4
TURNS = [
    "What's the weather like tomorrow?",
    "assistant, set a timer for ten minutes.",
    "my number is four five six seven",
    "I think the meeting went pretty well.",
    "we are already over budget on this project.",
    "Jen, did you lock the back door?",
]
SOUNDS = ["Smoke detector, smoke alarm", "Dog", "Siren", "Music", "a kettle whistling"]
TASKS = (
    StandingTask(name="answer", instruction="Answer questions addressed to you."),
    StandingTask(name="safety", instruction="Warn me about alarms and emergencies.", proactive=True),
    StandingTask(name="budget", instruction="Tell me if anyone mentions the budget.", proactive=True),
)


def stream(minutes: float) -> list[Perception]:
    out: list[Perception] = []
    seconds = minutes * 60.0
    for index, start in enumerate(np.arange(1.0, seconds - 6.0, 6.0)):
        text = TURNS[index % len(TURNS)]
        end = float(start) + 0.3 * len(text.split()) + 0.2
        out += [
            SpeechActivity(span_start=float(start), span_end=float(start), speaking=True),
            TranscriptUpdate(span_start=float(start), span_end=end, committed=text),
            SpeechActivity(span_start=float(start), span_end=end, speaking=False),
        ]
    for index, start in enumerate(np.arange(4.0, seconds - 4.0, 10.0)):
        label = SOUNDS[index % len(SOUNDS)]
        out += [
            SoundEvent(span_start=float(t), span_end=float(t) + 0.96, label=label, score=0.8)
            for t in np.arange(start, start + 3.0, 0.96)
        ]
    return sorted(out, key=lambda p: (p.span_end, p.span_start))


def context(heard: float, speaking_until: float, reply: int) -> DecisionContext:
    speaking = heard < speaking_until
    return DecisionContext(
        now=heard,
        heard_until=heard,
        agent_speaking=speaking,
        active_reply=reply if speaking else None,
        tasks=TASKS,
        transcript="",
        history=(),
        user_speaking=False,
        last_speech_end=None,
        last_reply_end=None,
        pending_chunks=0,
    )


async def measure(policy: Decider, perceptions: list[Perception], minutes: float) -> dict[str, Any]:
    costs: list[float] = []
    responds, position, speaking_until, reply = 0, 0, -1.0, 0
    for step in range(1, int(minutes * 60.0 / CHUNK) + 1):
        heard = round(step * CHUNK, 6)
        batch = []
        while position < len(perceptions) and perceptions[position].span_end <= heard:
            batch.append(perceptions[position])
            position += 1
        started = time.perf_counter()
        decision = await policy.decide(context(heard, speaking_until, reply), batch)
        costs.append(time.perf_counter() - started)
        if decision.action is Action.RESPOND:
            responds += 1
            reply += 1
            speaking_until = heard + 2.0
    ms = np.asarray(costs) * 1000.0
    return {
        "decisions": len(costs),
        "responds": responds,
        "mean_ms": float(ms.mean()),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "max_ms": float(ms.max()),
    }


def policies() -> dict[str, Callable[[], Decider]]:
    return {
        "endpointing": EndpointingPolicy,
        "keyword": KeywordPolicy,
        "sound-event": SoundEventPolicy,
        "interrupt": InterruptPolicy,
        "backchannel": BackchannelPolicy,
        "rate(sound-event)": lambda: RateControlled(SoundEventPolicy(rearm=0.0), cooldown=8.0, dedupe_window=30.0),
        "composite(3)": lambda: CompositePolicy([InterruptPolicy(), SoundEventPolicy(), EndpointingPolicy()]),
        "default": default_policy,
        # its own, uncached embedder: the stream repeats its sentences, a real conversation does not
        "semantic (MiniLM, inline)": lambda: SemanticPolicy(offload=False, embedder=MiniLMEmbedder()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/policies.json"))
    args = parser.parse_args()
    perceptions = stream(args.minutes)
    rows: dict[str, dict[str, Any]] = {}
    for name, build in policies().items():
        policy = build()
        if isinstance(policy, SemanticPolicy):  # load the model outside the timed loop
            anyio.run(policy.check)
        rows[name] = anyio.run(measure, policy, perceptions, args.minutes)
    print(f"{args.minutes:.0f} min stream, {len(perceptions)} perceptions, one decision per {CHUNK} s chunk")
    print(f"{'policy':<28} {'decisions':>9} {'RESPOND':>8} {'mean ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for name, row in rows.items():
        print(
            f"{name:<28} {row['decisions']:>9} {row['responds']:>8} {row['mean_ms']:>8.3f} "
            f"{row['p50_ms']:>7.3f} {row['p95_ms']:>7.3f} {row['max_ms']:>7.2f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "machine": platform.machine(),
                "python": platform.python_version(),
                "minutes": args.minutes,
                "policies": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
