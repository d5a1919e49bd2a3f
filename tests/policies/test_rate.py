from __future__ import annotations

from collections.abc import Sequence

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import Action, Decision, Perception, SoundEvent, StandingTask
from audiointeract.interfaces import Decider, DecisionContext
from audiointeract.policies import RateControlled, SoundEventPolicy
from audiointeract.policies.rate import trigger_key

pytestmark = pytest.mark.anyio


class Always(Decider):
    """RESPONDs at every decision point, with the label and score it is given."""

    name = "always"

    def __init__(self, label: str = "Siren", score: float = 1.0) -> None:
        self.label, self.score = label, score

    async def decide(self, context: DecisionContext, perceptions: Sequence[Perception]) -> Decision:
        event = SoundEvent(span_start=0.0, span_end=0.0, label=self.label, score=self.score)
        return Decision(action=Action.RESPOND, task="t", evidence=(event,), score=self.score)


async def passes(tl, policy: RateControlled, steps: Sequence[float], **context) -> list[float]:
    out = []
    for t in steps:
        if (await policy.decide(tl.context(t, **context), ())).action is Action.RESPOND:
            out.append(t)
    return out


STEPS = [round(0.4 * i, 1) for i in range(1, 31)]  # 0.4 .. 12.0 s


async def test_warmup(tl) -> None:
    assert (await passes(tl, RateControlled(Always(), warmup=2.0, cooldown=100), STEPS)) == [2.0]


async def test_cooldown(tl) -> None:
    assert (await passes(tl, RateControlled(Always(), cooldown=4.0), STEPS)) == [0.4, 4.4, 8.4]


async def test_threshold(tl) -> None:
    assert (await passes(tl, RateControlled(Always(score=0.5), threshold=0.6), STEPS)) == []
    assert len(await passes(tl, RateControlled(Always(score=0.6), threshold=0.6), STEPS)) == 30


async def test_evidence_accumulates_and_resets(tl) -> None:
    policy = RateControlled(Always(score=0.5), evidence=1.4)
    assert (await passes(tl, policy, STEPS[:9])) == [1.2, 2.4, 3.6]  # three chunks of 0.5 each time
    assert policy.accumulated == 0.0


async def test_evidence_resets_when_any_reply_starts(tl) -> None:
    policy = RateControlled(Always(score=0.5), evidence=1.4)
    await policy.decide(tl.context(0.4), ())
    await policy.decide(tl.context(0.8), ())
    assert policy.accumulated == 1.0
    silent = await policy.decide(tl.context(1.2, agent_speaking=True, active_reply=7), ())
    assert silent.action is Action.SILENT  # a RESPOND would be ignored while the agent speaks
    assert policy.accumulated == 0.0


async def test_evidence_half_life(tl) -> None:
    policy = RateControlled(Always(score=1.0), evidence=10.0, evidence_half_life=0.4)
    await passes(tl, policy, STEPS)
    assert policy.accumulated == pytest.approx(2.0, abs=1e-6)  # x = 1 + x/2 converges to 2


async def test_dedupe_same_trigger_within_window(tl) -> None:
    siren = RateControlled(Always("Siren"), dedupe_window=5.0)
    assert (await passes(tl, siren, STEPS)) == [0.4, 5.6, 10.8]


async def test_dedupe_keys_differ_by_label_and_task() -> None:
    def respond(label: str, task: str) -> Decision:
        event = SoundEvent(span_start=0, span_end=1, label=label, score=1)
        return Decision(action=Action.RESPOND, task=task, evidence=(event,))

    assert trigger_key(respond("Siren", "a")) == trigger_key(respond("siren", "a"))
    assert trigger_key(respond("Siren", "a")) != trigger_key(respond("Siren", "b"))
    assert trigger_key(respond("Siren", "a")) != trigger_key(respond("Dog", "a"))


async def test_other_actions_pass_unchanged(tl) -> None:
    class Interrupts(Decider):
        async def decide(self, context, perceptions):
            return Decision(action=Action.INTERRUPT, reason="barge-in")

    policy = RateControlled(Interrupts(), cooldown=100.0, warmup=100.0)
    decision = await policy.decide(tl.context(1.0, agent_speaking=True, active_reply=0), ())
    assert decision.action is Action.INTERRUPT


async def test_through_a_session_a_continuous_siren_is_warned_about_every_cooldown(tl) -> None:
    tasks = [StandingTask(name="safety", instruction="warn me", proactive=True)]
    script = [tl.sound(0.4 * i, 0.4 * i + 0.4, "Siren") for i in range(50)]  # 20 s of siren
    policy = RateControlled(SoundEventPolicy(rearm=0.0), warmup=1.0, cooldown=6.0, evidence=1.5)
    trace = await tl.run(policy, script, 21.0, tasks=tasks, reply="Siren nearby.")
    assert tl.times(trace) == [1.6, 7.6, 13.6, 19.6]
    assert all(d.task == "safety" for d in tl.acted(trace))


async def test_reset_forgets_everything(tl) -> None:
    policy = RateControlled(Always(), cooldown=100.0)
    assert (await passes(tl, policy, [1.0, 2.0])) == [1.0]
    await policy.reset()
    assert (await passes(tl, policy, [3.0])) == [3.0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 2.0}, "threshold"),
        ({"evidence": -1.0}, "evidence"),
        ({"evidence_half_life": 0.0}, "evidence_half_life"),
        ({"cooldown": float("inf")}, "cooldown"),
        ({"dedupe_window": -5}, "dedupe_window"),
        ({"warmup": "later"}, "warmup"),
    ],
)
def test_misconfiguration(options, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RateControlled(Always(), **options)
    with pytest.raises(ConfigurationError, match="Decider"):
        RateControlled("sound-event")  # type: ignore[arg-type]
