from __future__ import annotations

import pytest

from audiointeract.policies._text import addressed_to_assistant, is_question, label_matches, normalize, turn_complete


def test_normalize_drops_case_punctuation_and_hyphens() -> None:
    assert normalize("Hey, ASSISTANT!  What's  up?") == "hey assistant what's up"
    assert normalize("Mm-hmm.") == "mm hmm"


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("What time is it?", True),
        ("Turn on the lights.", True),
        ("turn on the lights", True),
        ("my number is four five", False),
        ("my number is 4 5", False),
        ("remind me to call", False),
        ("I'd like to book a table for", False),
        ("and then we went to the", False),
        ("so I was thinking um", False),
        ("well...", False),
        ("Stop!", True),
        ("", False),
        ("   ", False),
    ],
)
def test_turn_completeness(text: str, complete: bool) -> None:
    assert turn_complete(text) is complete


@pytest.mark.parametrize(
    ("text", "question"),
    [("what time is it", True), ("Is it raining?", True), ("It is raining.", False), ("the end?", True)],
)
def test_questions(text: str, question: bool) -> None:
    assert is_question(text) is question


@pytest.mark.parametrize(
    ("text", "addressed"),
    [
        ("What's the weather tomorrow?", True),
        ("Turn off the kitchen lights.", True),
        ("Could you read that again", True),
        ("Assistant, the oven.", True),
        ("I had pasta for lunch.", False),
        ("The meeting went well.", False),
        ("Jen, did you lock the back door?", False),
        ("hey Mike, what time does the game start?", False),
        ("babe, who's picking up the kids today?", False),
        ("Okay, what's the time?", True),
        ("so, dim the living room lights", True),
        ("hey assistant, dim the lights", True),
        ("Assistant, quick question, how tall is Everest", True),
    ],
)
def test_addressed_to_assistant(text: str, addressed: bool) -> None:
    assert addressed_to_assistant(text, ("assistant",)) is addressed


def test_label_matches_whole_label_or_one_alternative() -> None:
    assert label_matches("Smoke detector, smoke alarm", "smoke alarm")
    assert label_matches("Smoke detector, smoke alarm", "Smoke detector, smoke alarm")
    assert label_matches("Smoke alarm", "Smoke detector, smoke alarm")
    assert label_matches("Siren", "siren")


@pytest.mark.parametrize(
    ("label", "wanted", "matches"),
    [
        ("Civil defense siren", "Siren", True),
        ("Police car (siren)", "Siren", True),
        ("sirens wailing down the street", "Siren", True),
        ("a smoke alarm beeping in the hallway", "Smoke detector, smoke alarm", True),
        ("someone screaming for help", "Screaming", True),
        ("a person screams", "Screaming", True),
        ("a smoker coughing", "Smoke detector, smoke alarm", False),
        ("fireworks far away", "Fire", False),
        ("a dog barking", "Siren", False),
    ],
)
def test_label_matches_captions_by_whole_words(label: str, wanted: str, matches: bool) -> None:
    assert label_matches(label, wanted) is matches
