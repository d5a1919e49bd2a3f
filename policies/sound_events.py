"""Sound-event rules: respond to labels in a set above a score (proactive warnings)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, SoundEvent
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies._options import (
    check_flag,
    check_non_negative,
    check_task,
    check_unit,
    pick_task,
    string_mapping,
    string_tuple,
)
from audiointeract.policies._text import label_matches
from audiointeract.policies.cooldown import Cooldown

__all__ = ["ROUTINE_LABELS", "SAFETY_LABELS", "SoundEventPolicy"]

SAFETY_LABELS: tuple[str, ...] = (
    "Smoke detector, smoke alarm",
    "Fire alarm",
    "Alarm",
    "Car alarm",
    "Siren",
    "Civil defense siren",
    "Police car (siren)",
    "Ambulance (siren)",
    "Fire engine, fire truck (siren)",
    "Emergency vehicle",
    "Screaming",
    "Baby cry, infant cry",
    "Shatter",
    "Breaking",
    "Smash, crash",
    "Explosion",
    "Gunshot, gunfire",
    "Fire",
)
"""AudioSet labels (as YAMNet emits them) that signal danger: alarms, sirens, distress, breakage, fire.

Routine sounds (alarm clock, beeps, buzzers, speech, music, dogs) are left out on
purpose: the paper's proactive criteria respond to acute distress, hazards, equipment
damage or fire indicators and safety-critical signals, and stay silent otherwise.
"""

ROUTINE_LABELS: tuple[str, ...] = ("Alarm clock", "Crash cymbal")
"""Everyday sounds whose names contain a safety word ("alarm", "crash"); they veto a match."""


class SoundEventPolicy(Decider):
    """RESPOND when a sound event whose label is in ``labels`` scores at least ``threshold``.

    A wanted label, or one of its comma-separated alternatives, matches when its words
    occur in the heard label, plurals and -ing forms included
    (:func:`~audiointeract.policies._text.label_matches`): "smoke alarm" matches
    "Smoke detector, smoke alarm" and a caption like "a smoke alarm beeping". A heard
    label that matches one of ``ignore`` never triggers ("Alarm clock"). Each label
    triggers once per occurrence: it re-arms after ``rearm`` s without a qualifying
    event (0: every event triggers). ``task_for`` maps a wanted label to the task it
    serves (default ``task``, else the session's first proactive task); a match whose task
    the session does not hold is dropped.

    While the agent speaks the threshold is ``speaking_threshold`` (default:
    ``threshold``); a match then either waits until the agent stops (for at most
    ``hold`` s) or, with ``barge_in``, INTERRUPTs the reply first.
    """

    name = "sound-event"

    def __init__(
        self,
        labels: str | Iterable[str] = SAFETY_LABELS,
        *,
        ignore: Iterable[str] = ROUTINE_LABELS,
        threshold: float = 0.4,
        speaking_threshold: float | None = None,
        task: str | None = None,
        task_for: Mapping[str, str] | None = None,
        rearm: float = 5.0,
        hold: float = 5.0,
        barge_in: bool = False,
    ) -> None:
        self.labels = string_tuple("SoundEventPolicy", "labels", labels)
        self.ignore = string_tuple("SoundEventPolicy", "ignore", ignore, empty=True)
        self.threshold = check_unit("SoundEventPolicy", "threshold", threshold)
        self.speaking_threshold = (
            self.threshold
            if speaking_threshold is None
            else check_unit("SoundEventPolicy", "speaking_threshold", speaking_threshold)
        )
        self.task = check_task("SoundEventPolicy", "task", task)
        self.task_for = string_mapping("SoundEventPolicy", "task_for", task_for)
        unknown = [label for label in self.task_for if label not in self.labels]
        if unknown:
            raise ConfigurationError(f"SoundEventPolicy: task_for names labels not in labels: {unknown}")
        self.rearm = check_non_negative("SoundEventPolicy", "rearm", rearm)
        self.hold = check_non_negative("SoundEventPolicy", "hold", hold)
        self.barge_in = check_flag("SoundEventPolicy", "barge_in", barge_in)
        self._quiet = Cooldown(self.rearm)  # a label re-arms after `rearm` s without a qualifying event
        self._pending: tuple[str, SoundEvent] | None = None

    def _wanted(self, label: str) -> str | None:
        if any(label_matches(label, routine) for routine in self.ignore):
            return None
        return next((wanted for wanted in self.labels if label_matches(label, wanted)), None)

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        """Fire on a fresh qualifying event; hold it (or barge in) while the agent speaks."""
        threshold = self.speaking_threshold if context.agent_speaking else self.threshold
        best: tuple[str, SoundEvent] | None = None
        for p in perceptions:
            if not isinstance(p, SoundEvent) or p.score < threshold:
                continue
            wanted = self._wanted(p.label)
            if wanted is None:
                continue
            armed = self._quiet.ready(wanted, p.span_start)
            self._quiet.note(wanted, p.span_end)
            if armed and (best is None or p.score > best[1].score):
                best = (wanted, p)
        if best is not None:
            self._pending = best
        if self._pending is None:
            return Decision.silent()
        wanted, event = self._pending
        if context.heard_until - event.span_end > self.hold:
            self._pending = None
            return Decision.silent(f"{event.label!r} went stale while the agent spoke")
        task = pick_task(context, self.task_for.get(wanted) or self.task, proactive=True)
        if task is None:
            self._pending = None
            return Decision.silent(f"{event.label!r}: the session holds no task to warn for")
        if context.agent_speaking:
            if self.barge_in and best is not None:
                return Decision(
                    action=Action.INTERRUPT,
                    task=task,
                    evidence=(event,),
                    score=event.score,
                    reason=f"{event.label!r} ({event.score:.2f}) while the agent speaks",
                )
            return Decision.silent(f"holding {event.label!r} until the agent stops")
        self._pending = None
        return Decision(
            action=Action.RESPOND,
            task=task,
            evidence=(event,),
            score=event.score,
            reason=f"sound {event.label!r} ({event.score:.2f})",
        )

    async def reset(self) -> None:
        """Re-arm every label and drop a held event."""
        self._quiet.clear()
        self._pending = None
