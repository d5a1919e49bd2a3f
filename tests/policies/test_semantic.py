from __future__ import annotations

import sys

import pytest

from audiointeract.errors import BackendUnavailable, ConfigurationError, ModelNotFoundError
from audiointeract.events import StandingTask, TranscriptUpdate
from audiointeract.policies import SemanticPolicy, default_policy
from audiointeract.policies.embeddings import MiniLMEmbedder

pytestmark = pytest.mark.anyio

TASKS = {
    "budget": "warn me if someone mentions the budget",
    "fire": "alert me if there is a fire",
    "baby": "tell me when the baby is crying",
}


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    pytest.importorskip("sentence_transformers")
    return MiniLMEmbedder()


def said(start: float, end: float, text: str) -> TranscriptUpdate:
    return TranscriptUpdate(span_start=start, span_end=end, committed=text)


@pytest.mark.slow
async def test_sentences_trigger_only_the_task_they_mean(tl, embedder: MiniLMEmbedder) -> None:
    script = [
        *tl.speech(0.5, 2.0, "Did you watch the game last night?"),
        *tl.speech(3.0, 4.6, "Let's grab lunch at the Italian place."),
        *tl.speech(6.0, 8.2, "We are already ten thousand dollars over budget this quarter."),
        *tl.speech(10.0, 11.5, "The weather is nice today."),
        *tl.speech(13.0, 14.8, "I think the kitchen is on fire!"),
    ]
    trace = await tl.run(SemanticPolicy(TASKS, embedder=embedder, offload=False), script, 16.0)
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(8.4, "budget"), (14.8, "fire")]
    assert "budget" in tl.acted(trace)[0].reason
    assert 0.4 <= tl.acted(trace)[0].score <= 1.0


@pytest.mark.slow
async def test_sound_labels_are_matched_and_rearmed(tl, embedder: MiniLMEmbedder) -> None:
    script = [
        tl.sound(1.0, 1.96, "Dog"),
        tl.sound(3.0, 3.96, "Baby cry, infant cry"),
        tl.sound(3.96, 4.92, "Baby cry, infant cry"),
        tl.sound(7.0, 7.96, "Fire alarm"),
    ]
    trace = await tl.run(SemanticPolicy(TASKS, embedder=embedder, offload=False), script, 10.0, reply="Heard it.")
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(4.0, "baby"), (8.0, "fire")]


@pytest.mark.slow
async def test_sentence_split_across_updates_and_session_tasks(tl, embedder: MiniLMEmbedder) -> None:
    tasks = [
        StandingTask(name="answer", instruction="Answer questions addressed to you."),
        StandingTask(name="budget", instruction="warn me if someone mentions the budget", proactive=True),
    ]
    script = [
        *tl.speech(1.0, 4.0),
        said(1.0, 2.0, "so the budget for"),
        said(2.0, 4.0, "next year needs approval by Friday"),
    ]
    trace = await tl.run(SemanticPolicy(embedder=embedder, offload=False), script, 6.0, tasks=tasks)
    # the first update is not a sentence yet; the end of speech completes it
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(4.0, "budget")]
    assert len(tl.acted(trace)[0].evidence) == 3


@pytest.mark.slow
async def test_per_task_threshold_and_offloaded_embedder(tl, embedder: MiniLMEmbedder) -> None:
    strict = SemanticPolicy(TASKS, thresholds={"budget": 0.95}, embedder=embedder)  # offload=True: a worker thread
    update = said(0.0, 2.0, "The budget for next year needs to be approved by Friday.")
    assert (await strict.decide(tl.context(2.0), [update])).action.value == "silent"
    loose = SemanticPolicy(TASKS, embedder=embedder)
    decision = await loose.decide(tl.context(2.0), [update])
    assert (decision.action.value, decision.task) == ("respond", "budget")


@pytest.mark.parametrize(
    ("args", "options", "message"),
    [
        (({},), {}, "empty"),
        (({"a": " "},), {}, "instruction"),
        (([("a", "b")],), {}, "StandingTask"),
        ((TASKS,), {"thresholds": {"nope": 0.5}}, "unknown tasks"),
        ((TASKS,), {"threshold": 1.2}, "threshold"),
        ((TASKS,), {"max_words": 0}, "max_words"),
        ((TASKS,), {"rearm": -1}, "rearm"),
    ],
)
def test_misconfiguration(args, options, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SemanticPolicy(*args, **options)


async def test_missing_model_folder_is_a_clear_error(tl, tmp_path) -> None:
    pytest.importorskip("sentence_transformers")
    policy = SemanticPolicy(TASKS, embedder=MiniLMEmbedder(model_path=tmp_path / "nothing"), offload=False)
    with pytest.raises(ModelNotFoundError, match="nothing"):
        await policy.decide(tl.context(2.0), [said(0.0, 2.0, "The budget is gone.")])


async def test_missing_sentence_transformers_names_the_extra(tl, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    policy = SemanticPolicy(TASKS, embedder=MiniLMEmbedder(), offload=False)  # the model loads at first use
    with pytest.raises(BackendUnavailable, match="audiointeract\\[default\\]"):
        await policy.decide(tl.context(2.0), [said(0.0, 2.0, "The budget is gone.")])


@pytest.mark.slow
async def test_default_policy_with_semantic_serves_the_other_standing_tasks(tl) -> None:
    pytest.importorskip("sentence_transformers")
    tasks = [
        StandingTask(name="answer", instruction="Answer questions addressed to you."),
        StandingTask(name="topic", instruction="Tell me if anyone mentions the holiday party."),
    ]
    script = [
        *tl.speech(0.5, 2.5, "The holiday party is on the twentieth."),
        *tl.speech(5.0, 6.5, "I love this song."),
        *tl.speech(9.0, 10.4, "What's the weather tomorrow?"),
    ]
    trace = await tl.run(default_policy(semantic=True, offload=False), script, 13.0, tasks=tasks)
    assert [(d.heard_until, d.task) for d in tl.acted(trace)] == [(2.8, "topic"), (10.8, "answer")]
