"""The default policy: answer questions put to the assistant, warn about danger, yield to barge-in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from audiointeract.events import StandingTask
from audiointeract.interfaces import Decider
from audiointeract.policies._options import check_flag, check_task, check_unit
from audiointeract.policies.backchannel import BackchannelPolicy
from audiointeract.policies.barge_in import InterruptPolicy
from audiointeract.policies.composite import CompositePolicy
from audiointeract.policies.endpointing import EndpointingPolicy
from audiointeract.policies.rate import RateControlled
from audiointeract.policies.semantic import SemanticPolicy
from audiointeract.policies.sound_events import SAFETY_LABELS, SoundEventPolicy

__all__ = ["default_policy"]


def default_policy(
    *,
    names: Iterable[str] = ("assistant", "computer"),
    min_delay: float = 0.2,
    unsure_delay: float | None = None,
    max_delay: float = 2.0,
    safety_labels: Iterable[str] = SAFETY_LABELS,
    safety_threshold: float = 0.4,
    safety_task: str = "safety",
    barge_in: bool = True,
    interrupt_min_speech: float = 0.0,
    interrupt_min_words: int = 1,
    interrupt_max_hold: float = 1.5,
    cooldown: float = 8.0,
    dedupe_window: float = 30.0,
    warmup: float = 0.0,
    backchannel: bool = False,
    semantic: bool = False,
    semantic_tasks: Mapping[str, str] | Sequence[StandingTask] | None = None,
    semantic_threshold: float = 0.4,
    offload: bool = True,
) -> Decider:
    """Build the default policy: a composite of these members, highest priority first.

    1. barge-in (:class:`InterruptPolicy`, if ``barge_in``): the reply pauses at the
       user's onset and stops once ``interrupt_min_words`` words that are not
       acknowledgements are heard (over ``interrupt_min_speech`` s), or plays on after
       a backchannel, a sound without words, or ``interrupt_max_hold`` s;
    2. proactive warnings for safety-critical sound events (:class:`SoundEventPolicy` on
       ``safety_labels``, interrupting a reply in flight), wrapped in
       :class:`RateControlled` (``cooldown``, ``dedupe_window``, ``warmup``); they serve
       only the standing task named ``safety_task``, so a session declares that it wants
       warnings by holding one (``StandingTask(name="safety", ..., proactive=True)``);
    3. with ``semantic`` (or ``semantic_tasks``), semantic triggers for ``semantic_tasks``
       or else the session's tasks but the conversation (needs sentence-transformers;
       rate-controlled the same way; ``offload`` runs the encoder in a thread);
    4. endpointing that answers only turns addressed to the assistant (a question, a
       request, or one of ``names``), after ``min_delay`` s of silence when the words
       and the end-of-turn model say the turn is over, ``max_delay`` s when either says
       it goes on, ``unsure_delay`` s otherwise, for the session's first
       non-proactive task (none: no answers);
    5. backchannels in long turns, if ``backchannel``.

    sentence-transformers is loaded only with ``semantic``, at the first decision.
    """
    owner = "default policy"
    barge_in, backchannel = check_flag(owner, "barge_in", barge_in), check_flag(owner, "backchannel", backchannel)
    semantic, offload = check_flag(owner, "semantic", semantic), check_flag(owner, "offload", offload)
    semantic_threshold = check_unit(owner, "semantic_threshold", semantic_threshold)
    members: list[Decider | tuple[Decider, int]] = []
    if barge_in:
        barge = InterruptPolicy(min_speech=interrupt_min_speech, min_words=interrupt_min_words,
                                max_hold=interrupt_max_hold)
        members.append((barge, 40))
    task = check_task(owner, "safety_task", safety_task)
    warnings = SoundEventPolicy(safety_labels, threshold=safety_threshold, task=task, barge_in=barge_in)
    members.append((RateControlled(warnings, cooldown=cooldown, dedupe_window=dedupe_window, warmup=warmup), 30))
    if semantic or semantic_tasks is not None:
        triggers = SemanticPolicy(semantic_tasks, threshold=semantic_threshold, offload=offload)
        members.append((RateControlled(triggers, cooldown=cooldown, dedupe_window=dedupe_window, warmup=warmup), 20))
    endpointing = EndpointingPolicy(min_delay=min_delay, unsure_delay=unsure_delay, max_delay=max_delay,
                                    addressed_only=True, names=names)
    members.append((endpointing, 10))
    if backchannel:
        members.append((BackchannelPolicy(), 0))
    policy = CompositePolicy(members)
    policy.name = "default"
    return policy
