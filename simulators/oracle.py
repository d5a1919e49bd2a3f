"""What a perfect perceiver would report for a scene (the upper bound for policies).

Feed the result to :class:`audiointeract.backends.mock.ScriptedPerceiver`: it emits
each perception with the chunk in which its ``span_end`` is heard, so causality holds.
"""

from __future__ import annotations

import math

from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, SoundEvent, SpeechActivity, TranscriptUpdate, Word
from audiointeract.simulators.scene import Scene, Sound, Speech

__all__ = ["ORACLE_SOURCE", "oracle_perceptions", "word_timings"]

ORACLE_SOURCE = "oracle"


def word_timings(text: str, start: float, end: float) -> tuple[Word, ...]:
    """Words of ``text`` spread over ``[start, end]`` in proportion to their length."""
    words = text.split()
    total = sum(len(word) + 1 for word in words)
    out = []
    cursor = start
    for word in words:
        length = (end - start) * (len(word) + 1) / total
        out.append(Word(text=word, start=cursor, end=min(end, cursor + length)))
        cursor += length
    return tuple(out)


def oracle_perceptions(scene: Scene, *, sound_hop: float | None = None) -> list[Perception]:
    """Perceptions of every segment, as a perfect perceiver would emit them.

    * speech: ``SpeechActivity(speaking=True)`` with span ``[start, start]``,
      ``SpeechActivity(speaking=False)`` with span ``[start, end]``, and one
      ``TranscriptUpdate`` committing the text at the end, word timings spread
      over the span;
    * sound: a ``SoundEvent(label, score)`` spanning the event, or with
      ``sound_hop`` one per ``sound_hop`` seconds of it (a frame-based tagger;
      the first ends ``sound_hop`` after the onset).

    Sorted by ``span_end`` (then ``span_start``); silence yields nothing.
    """
    if sound_hop is not None and not (math.isfinite(sound_hop) and sound_hop > 0):
        raise ConfigurationError(f"sound_hop must be > 0, got {sound_hop}")
    out: list[Perception] = []
    for segment in scene.segments:
        if isinstance(segment, Speech):
            out.append(
                SpeechActivity(span_start=segment.start, span_end=segment.start, speaking=True, source=ORACLE_SOURCE)
            )
            out.append(
                TranscriptUpdate(
                    span_start=segment.start,
                    span_end=segment.end,
                    committed=segment.text,
                    words=word_timings(segment.text, segment.start, segment.end),
                    source=ORACLE_SOURCE,
                )
            )
            out.append(
                SpeechActivity(span_start=segment.start, span_end=segment.end, speaking=False, source=ORACLE_SOURCE)
            )
        elif isinstance(segment, Sound):
            hop = sound_hop or segment.duration
            begin = segment.start
            while begin < segment.end - 1e-9:
                finish = min(segment.end, round(begin + hop, 9))
                out.append(
                    SoundEvent(
                        span_start=begin,
                        span_end=finish,
                        label=segment.label,
                        score=segment.score,
                        source=ORACLE_SOURCE,
                    )
                )
                begin = finish
    order = {id(p): n for n, p in enumerate(out)}
    return sorted(out, key=lambda p: (p.span_end, p.span_start, order[id(p)]))
