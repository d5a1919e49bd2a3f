"""The sound-meaning policy: nearest covered meaning (real MiniLM embeddings) decides a warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.events import StandingTask
from audiointeract.policies import SoundMeaningPolicy

pytestmark = pytest.mark.anyio

TASKS = [
    StandingTask(name="answer", instruction="answer"),
    StandingTask(name="safety", instruction="warn me about danger", proactive=True),
]


@pytest.fixture(scope="module")
def policy() -> SoundMeaningPolicy:
    pytest.importorskip("sentence_transformers")
    return SoundMeaningPolicy()


def test_tagger_labels_follow_the_table(policy: SoundMeaningPolicy) -> None:
    assert policy.warns("Smoke detector, smoke alarm")
    assert policy.warns("Shatter")
    assert not policy.warns("Dishes, pots, and pans")
    assert not policy.warns("Music")


def test_free_form_captions_are_judged_by_their_nearest_meaning(policy: SoundMeaningPolicy) -> None:
    assert policy.warns("an intruder alarm wailing through the house")
    assert not policy.warns("a cat purring softly on the sofa")


async def test_warns_the_safety_task_once_and_only_when_the_session_holds_it(tl, policy) -> None:
    script = [tl.sound(1.0 + 0.96 * i, 1.96 + 0.96 * i, "Smoke detector, smoke alarm", 0.8) for i in range(3)]
    fresh = SoundMeaningPolicy(embedder=policy.embedder)
    trace = await tl.run(fresh, script, 6.0, tasks=TASKS)
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(2.0, "safety")]
    alone = await tl.run(SoundMeaningPolicy(embedder=policy.embedder), script, 6.0, tasks=TASKS[:1])
    assert tl.acted(alone) == []


def test_a_table_without_actions_is_refused_with_its_line(tmp_path: Path, policy: SoundMeaningPolicy) -> None:
    bad = tmp_path / "table.csv"
    bad.write_text("index,label,action,rationale\n0,Dog,bark,x\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"table\.csv:2: needs a label and an action"):
        SoundMeaningPolicy(table=bad, embedder=policy.embedder)
