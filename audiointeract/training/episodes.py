"""Generated training and evaluation episodes, built as simulator scenes (the StreamAudio recipe).

Each episode is a multi-turn :class:`~audiointeract.simulators.scene.Scene` mixing
requests put to the assistant (answer expected right after them), hesitant requests
split by a pause (nothing expected at the pause), speech not addressed to it, mentions
of a watched topic (expected only when a topic task is standing), sounds that call for
a warning under the paper's proactive criteria (expected only when a safety task is
standing), routine sounds, and background noise.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from audiointeract.errors import ConfigurationError
from audiointeract.events import StandingTask
from audiointeract.simulators.scene import Anchor, Expect, NoiseBed, Scene, Silence, Sound, Speech
from audiointeract.training.templates import TEMPLATES, Templates
from audiointeract.training.vocabulary import LabelledEvent, decisive_labels

__all__ = ["EpisodeConfig", "generate_episode", "generate_episodes"]

_KINDS = ("request", "hesitant", "side_talk", "mention", "alarm", "routine_sound", "watched_sound")
_QUESTION_WORDS = frozenset(
    [
        "what",
        "what's",
        "how",
        "who",
        "when",
        "where",
        "which",
        "is",
        "are",
        "can",
        "could",
        "do",
        "does",
        "should",
        "will",
        "would",
    ]
)


@attrs.frozen(kw_only=True)
class EpisodeConfig:
    """Shape of generated episodes: how many items, the mix of item kinds, gaps and task odds."""

    min_items: int = 5
    max_items: int = 10
    mix: tuple[float, ...] = (0.26, 0.07, 0.22, 0.12, 0.12, 0.14, 0.07)
    min_gap: float = 0.4
    max_gap: float = 3.0
    safety_task: float = 0.75
    topic_task: float = 0.6
    watch_task: float = 0.35
    bare_questions: float = 0.4
    answer_within: float = 2.0
    warn_within: float = 2.0
    label_as_audioset: float = 0.5

    def __attrs_post_init__(self) -> None:
        if len(self.mix) != len(_KINDS) or min(self.mix) < 0 or sum(self.mix) <= 0:
            raise ConfigurationError(f"episode mix needs {len(_KINDS)} non-negative weights {_KINDS}, got {self.mix}")
        if not 1 <= self.min_items <= self.max_items:
            raise ConfigurationError("episode items need 1 <= min_items <= max_items")


def _speech_duration(rng: np.random.Generator, text: str) -> float:
    return round(len(text.split()) * float(rng.uniform(0.28, 0.38)) + 0.2, 3)


def _pick(rng: np.random.Generator, pool: Sequence[str]) -> str:
    return pool[int(rng.integers(len(pool)))]


def _is_question(text: str) -> bool:
    return text.split(maxsplit=1)[0].lower() in _QUESTION_WORDS


def _request(rng: np.random.Generator, words: Templates, bare_odds: float) -> str:
    """A request put to the assistant: wake phrase + request, or a bare question."""
    questions = [r for r in words.requests if _is_question(r)]
    if rng.random() < bare_odds:
        text = _pick(rng, questions)
        return text[0].upper() + text[1:] + "?"
    text = _pick(rng, words.requests)
    return f"{_pick(rng, words.wake)}, {text}{'?' if _is_question(text) else '.'}"


def _mention(rng: np.random.Generator, words: Templates, topic: str) -> str:
    """A sentence that mentions ``topic`` (a topic phrase, or "my name, <Name>")."""
    if topic.startswith("my name, "):
        return _pick(rng, words.name_mentions).format(name=topic.removeprefix("my name, "))
    return _pick(rng, words.topics[topic])


def _sound_label(rng: np.random.Generator, event: LabelledEvent, decisive: set[str], odds: float) -> str:
    if event.audioset_label in decisive and rng.random() < odds:
        return str(event.audioset_label)
    return event.description


def generate_episode(
    rng: np.random.Generator, *, family: str, events: Sequence[LabelledEvent], config: EpisodeConfig, name: str
) -> Scene:
    """One episode from the ``family`` templates ("train" or "heldout") and ``events``."""
    words: Templates = TEMPLATES[family]
    respond = [e for e in events if e.respond]
    ignore = [e for e in events if not e.respond]
    if not respond or not ignore:
        raise ConfigurationError("episodes need events of both decisions")
    decisive = decisive_labels(list(events))
    tasks = [StandingTask(name="answer", instruction=_pick(rng, words.answer_tasks))]
    if rng.random() < config.safety_task:
        tasks.append(
            StandingTask(name="safety", instruction=_pick(rng, words.safety_tasks), proactive=True, priority=1)
        )
    topics = sorted(words.topics)
    names_watched = [f"my name, {name}" for name in words.names if name[0].isupper()]
    topic = _pick(rng, [*topics, *names_watched])
    if rng.random() < config.topic_task:
        instruction = _pick(rng, words.topic_tasks).format(topic=topic)
        tasks.append(StandingTask(name="topic", instruction=instruction[0].upper() + instruction[1:]))
    targets = sorted(words.watch_targets)
    target = _pick(rng, targets)
    if rng.random() < config.watch_task:
        instruction = _pick(rng, words.watch_tasks).format(target=target)
        tasks.append(StandingTask(name="watch", instruction=instruction, proactive=True))
    names = {task.name for task in tasks}
    answer = (Expect(task="answer", anchor=Anchor.END, within=config.answer_within),)
    segments: list[Speech | Sound | Silence] = []
    cursor = round(float(rng.uniform(0.5, 2.0)), 3)
    weights = np.asarray(config.mix, dtype=np.float64) / sum(config.mix)
    for _ in range(int(rng.integers(config.min_items, config.max_items + 1))):
        kind = _KINDS[int(rng.choice(len(_KINDS), p=weights))]
        if kind in ("request", "hesitant"):
            if kind == "request":
                parts = [_request(rng, words, config.bare_questions)]
            else:
                first, second = words.hesitant[int(rng.integers(len(words.hesitant)))]
                parts = [f"{_pick(rng, words.wake)}, {first}", f"{second}."]
            for number, text in enumerate(parts):
                duration = _speech_duration(rng, text)
                last = number == len(parts) - 1
                segments.append(Speech(start=cursor, duration=duration, text=text, expects=answer if last else ()))
                cursor = round(cursor + duration + (float(rng.uniform(0.5, 1.1)) if not last else 0.0), 3)
        elif kind in ("side_talk", "mention"):
            if kind == "mention":
                mentioned = topic if rng.random() < 0.75 else _pick(rng, [*topics, *names_watched])
                text = _mention(rng, words, mentioned)
                expects = (
                    (Expect(task="topic", anchor=Anchor.END, within=config.answer_within),)
                    if "topic" in names and mentioned == topic
                    else ()
                )
            elif rng.random() < 0.5:
                text, expects = _pick(rng, words.side_talk), ()
            else:
                question, person = _pick(rng, words.person_questions), _pick(rng, words.names)
                called = "topic" in names and topic == f"my name, {person}"
                text = f"{person}, {question}?"
                expects = (Expect(task="topic", anchor=Anchor.END, within=config.answer_within),) if called else ()
            text = text if text[-1] in "?." else text + "."
            duration = _speech_duration(rng, text)
            segments.append(Speech(start=cursor, duration=duration, text=text, speaker="other", expects=expects))
            cursor = round(cursor + duration, 3)
        else:
            duration = round(float(rng.uniform(0.8, 4.0)), 3)
            score = round(float(rng.uniform(0.6, 1.0)), 3)
            if kind == "watched_sound":
                heard = target if rng.random() < 0.7 else _pick(rng, targets)
                label = words.watch_targets[heard]
                expects = (
                    (Expect(task="watch", anchor=Anchor.ONSET, within=config.warn_within),)
                    if "watch" in names and heard == target
                    else ()
                )
                synth = "tone"
            else:
                pool = respond if kind == "alarm" else ignore
                event = pool[int(rng.integers(len(pool)))]
                expects = (
                    (Expect(task="safety", anchor=Anchor.ONSET, within=config.warn_within),)
                    if kind == "alarm" and "safety" in names
                    else ()
                )
                label = _sound_label(rng, event, decisive, config.label_as_audioset)
                synth = "alarm" if kind == "alarm" else "noise"
            segments.append(
                Sound(start=cursor, duration=duration, label=label, score=score, synth=synth, expects=expects)
            )
            cursor = round(cursor + duration, 3)
        cursor = round(cursor + float(rng.uniform(config.min_gap, config.max_gap)), 3)
    noise = (NoiseBed(snr_db=round(float(rng.uniform(5.0, 20.0)), 1), color=_pick(rng, ("white", "pink", "brown"))),)
    return Scene(
        segments=segments, tasks=tasks, noise=noise, name=name, tail=2.5, description=f"generated {family} episode"
    )


def generate_episodes(
    count: int, *, seed: int, family: str, events: Sequence[LabelledEvent], config: EpisodeConfig | None = None
) -> list[Scene]:
    """``count`` episodes from one seeded generator (same seed -> same scenes)."""
    if family not in TEMPLATES:
        raise ConfigurationError(f"unknown template family {family!r}; use one of {sorted(TEMPLATES)}")
    rng = np.random.default_rng(seed)
    cfg = config or EpisodeConfig()
    return [
        generate_episode(rng, family=family, events=events, config=cfg, name=f"{family}-{seed}-{i}")
        for i in range(count)
    ]
