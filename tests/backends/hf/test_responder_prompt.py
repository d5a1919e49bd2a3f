"""The spoken-reply rules: the prompt a request becomes, sound warnings, and the spoken-text filter."""

from __future__ import annotations

import pytest

from audiointeract.backends.prompting import (
    DEFAULT_PERSONA,
    ChatPrompt,
    SoundWarning,
    SpokenStyle,
    describe_trigger,
    sound_phrase,
)
from audiointeract.errors import ConfigurationError
from audiointeract.events import (
    Action,
    Decision,
    ResponseRequest,
    SoundEvent,
    SpeechActivity,
    StandingTask,
    Turn,
)

ANSWER = StandingTask(name="answer", instruction="Answer questions addressed to you.")
WARN = StandingTask(name="warn", instruction="Warn me when an alarm sounds.", proactive=True)
RADIO = "he was not an ill disposed young man"
PHONE = SoundEvent(span_start=3.0, span_end=4.0, label="Telephone bell ringing", score=0.81)


def make(**fields: object) -> ResponseRequest:
    values: dict[str, object] = {
        "reply_id": 0, "decision": Decision(action=Action.RESPOND), "task": ANSWER, "transcript": "", **fields
    }
    return ResponseRequest(**values)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the prompt


def test_conversation_with_the_answered_words_last() -> None:
    history = (
        Turn(role="user", text="hi there"),
        Turn(role="assistant", text="Hello!"),
        Turn(role="user", text=" what time is it? "),
    )
    messages = ChatPrompt()(make(history=history, utterance="what time is it?"))
    assert messages == [
        {"role": "system", "content": DEFAULT_PERSONA},
        {"role": "user", "content": "hi there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "what time is it?"},
    ]
    # without an utterance (an older session) the latest user turn is the one answered
    assert ChatPrompt()(make(history=history)) == messages


def test_overheard_speech_is_left_out_or_labelled() -> None:
    history = (Turn(role="overheard", text=RADIO), Turn(role="user", text="What's the capital of France?"))
    request = make(history=history, utterance="What's the capital of France?", transcript=f"{RADIO} What's the...")
    for prompt in (ChatPrompt(), ChatPrompt(history_turns=0)):
        messages = prompt(request)
        assert not any("disposed" in message["content"] for message in messages)
        assert messages[-1] == {"role": "user", "content": "What's the capital of France?"}
    labelled = ChatPrompt(overheard=True)(request)
    assert labelled[1] == {"role": "system", "content": f'Overheard nearby, not said to you: "{RADIO}"'}
    assert [m["role"] for m in labelled] == ["system", "system", "user"]


def test_the_utterance_wins_over_a_history_that_lumps_speech_together() -> None:
    lumped = (Turn(role="user", text=f"{RADIO} What's the capital of France?"),)
    messages = ChatPrompt(history_turns=0)(make(history=lumped, utterance="What's the capital of France?"))
    assert messages[-1]["content"] == "What's the capital of France?"
    assert len(messages) == 2


def test_facts_are_a_system_message_fixed_or_per_request() -> None:
    fixed = ChatPrompt(facts=["Current time: 9:41 AM.", " "])(make(utterance="What time is it?"))
    assert fixed[1] == {"role": "system", "content": "Current time: 9:41 AM."}
    live = ChatPrompt(facts=lambda request: [f"Reply number {request.reply_id}."])(make(reply_id=3, utterance="hi"))
    assert live[1]["content"] == "Reply number 3."
    assert len(ChatPrompt()(make(utterance="hi"))) == 2


def test_history_is_bounded_and_reactive_task_instructions_are_optional() -> None:
    history = tuple(Turn(role="user" if i % 2 == 0 else "assistant", text=f"turn {i}") for i in range(9))
    messages = ChatPrompt(history_turns=3, all_tasks=True)(make(history=history))
    assert messages[0]["content"] == f"{DEFAULT_PERSONA} Your task: {ANSWER.instruction}"
    assert [m["content"] for m in messages[1:]] == ["turn 6", "turn 7", "turn 8"]
    assert [m["content"] for m in ChatPrompt(history_turns=0)(make(history=history))[1:]] == ["turn 8"]


def test_a_sound_gets_a_constrained_prompt_not_the_last_thing_said() -> None:
    history = (Turn(role="user", text="what is for dinner"), Turn(role="assistant", text="Pasta."))
    messages = ChatPrompt()(make(task=WARN, trigger=PHONE, history=history, transcript="what is for dinner"))
    assert WARN.instruction in messages[0]["content"]
    assert messages[-2] == {"role": "assistant", "content": "Pasta."}
    assert messages[-1]["content"].startswith("(Heard: a phone ringing, 81 percent sure.)")
    assert describe_trigger(PHONE) == "A sound was just heard: Telephone bell ringing (confidence 0.81)."


def test_stand_ins_when_nothing_was_transcribed() -> None:
    speech = SpeechActivity(span_start=0.0, span_end=1.0, speaking=False)
    assert ChatPrompt()(make(trigger=speech))[-1]["content"] == "(The user spoke, but the words were not recognised.)"
    assert ChatPrompt()(make(transcript="the radio says things"))[-1]["content"] == "(Nothing was said.)"
    assert describe_trigger(speech) == ""


def test_bad_options() -> None:
    with pytest.raises(ConfigurationError, match="history_turns"):
        ChatPrompt(history_turns=-1)
    with pytest.raises(ConfigurationError, match="threshold"):
        SoundWarning(threshold=1.5)
    with pytest.raises(ConfigurationError, match="max_sentences"):
        SpokenStyle(max_sentences=0)


# ----------------------------------------------------------------------------- sound warnings


def test_a_warning_names_the_sound_and_its_confidence() -> None:
    warning = SoundWarning(threshold=0.4)
    assert warning.text(PHONE) == "I think I heard a phone ringing. I'm about 80 percent sure."
    gunshot = SoundEvent(span_start=0.0, span_end=1.0, label="Gunshot, gunfire", score=0.62)
    assert warning.text(gunshot) == "I think I heard a bang like a gunshot. I'm about 60 percent sure."
    crow = SoundEvent(span_start=0.0, span_end=1.0, label="Crow", score=0.999)
    assert warning.text(crow) == "I think I heard a crow sound. I'm about 95 percent sure."
    assert sound_phrase("Owl") == "an owl sound"


def test_no_warning_below_the_threshold() -> None:
    assert SoundWarning(threshold=0.85).text(PHONE) is None
    custom = SoundWarning(threshold=0.8, template="{label} at {score}.", phrases={})
    assert custom.text(PHONE) == "Telephone bell ringing at 0.81."


# ----------------------------------------------------------------------------- spoken text


def speak(text: str, *, complete: bool = True, step: int = 3, **style: object) -> str:
    """Feed ``text`` in ``step``-character pieces, as a model streams it."""
    spoken = SpokenStyle(**style).filter()  # type: ignore[arg-type]
    out = [spoken.push(text[i : i + step]) for i in range(0, len(text), step)]
    return "".join(out) + spoken.finish(complete=complete)


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("The capital of France is Paris.", "The capital of France is Paris."),
        ("The capital of France is Paris", "The capital of France is Paris."),
        ("# Answer\n\nThe answer is **42**.", "Answer. The answer is 42."),
        ("Here are some tips:\n- **Eat** well\n- Sleep `8` hours\n- Walk", "Here are some tips: Eat well. Sleep 8 hours."),
        ("Steps: 1. Boil water. 2. Add the egg. 3. Wait", "Steps: Boil water. Add the egg."),
        ("This is a classic joke. For example:", "This is a classic joke."),
        ("Sure! Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.", "Sure!"),
        ("```python\ndef add(a, b):\n    return a + b\n```", "That answer is code, which I can't read aloud."),
        ("See [the docs](https://example.org) for more.", "See the docs for more."),
    ],
)
def test_replies_are_plain_whole_sentences(raw: str, said: str) -> None:
    assert speak(raw) == said
    assert speak(raw, step=1) == said


def test_a_sentence_cut_by_the_token_limit_is_dropped() -> None:
    raw = "To boil an egg, heat the water. You can use a kettle or a"
    assert speak(raw, complete=False) == "To boil an egg, heat the water."
    assert speak("You can use a kettle or a", complete=False, no_sentence_reply="") == ""


def test_a_reply_with_nothing_speakable_says_so_instead_of_staying_silent() -> None:
    # SmolLM2's greedy answer to the recorded "Which folder should I save this message to?"
    runaway = 'This message should be saved to the "C:\\Users\\username\\App\\App\\bin\\MySQL_MySQL_MySQL'
    assert speak(runaway, complete=False) == "Sorry, I don't have a clear answer to that."
    assert speak("", complete=True) == "Sorry, I don't have a clear answer to that."
    assert speak(runaway, complete=False, no_sentence_reply="") == ""
    assert speak("Paris. And then", complete=False) == "Paris."  # something was said: no apology after it


def test_length_caps_end_the_reply() -> None:
    raw = "One. Two. Three. Four."
    assert speak(raw, max_sentences=3) == "One. Two. Three."
    long = "This first sentence is rather long indeed. This second one would make it too long."
    assert speak(long, max_chars=60) == "This first sentence is rather long indeed."
    spoken = SpokenStyle(max_sentences=1).filter()
    assert spoken.push("Yes. And more") == "Yes."
    assert spoken.done
    assert spoken.push(" text.") == ""
    assert spoken.finish(complete=True) == ""


def pieces(text: str, *, complete: bool = True, **style: int) -> list[str]:
    spoken = SpokenStyle(**style).filter()  # type: ignore[arg-type]
    out = [spoken.push(text[i : i + 2]) for i in range(0, len(text), 2)]
    return [piece for piece in [*out, spoken.finish(complete=complete)] if piece]


def test_the_first_sentence_is_spoken_clause_by_clause_for_an_early_start() -> None:
    egg = "To boil an egg, you need to heat the water, then wait. Later sentences come whole, even long ones."
    assert pieces(egg) == [
        "To boil an egg,", " you need to heat the water,", " then wait.", " Later sentences come whole, even long ones."
    ]
    assert pieces(egg, first_clause_words=0) == [
        "To boil an egg, you need to heat the water, then wait.", " Later sentences come whole, even long ones."
    ]
    assert pieces("Sure, it is ten.") == ["Sure, it is ten."]  # "Sure," alone is too short to start with
    # cut by the token limit: the reply ends at the last whole clause
    assert pieces("To boil an egg, heat the water until it boils, which is", complete=False) == [
        "To boil an egg,", " heat the water until it boils,"
    ]
    assert pieces("To boil an egg, heat the water until it boils", complete=False) == ["To boil an egg,"]


def test_a_long_first_sentence_without_clause_marks_is_spoken_by_phrase() -> None:
    root = "The square root of sixteen is a fundamental number that you meet in school. It is four."
    said = pieces(root)
    assert said == ["The square root of sixteen is a fundamental number that ", "you meet in school.", " It is four."]
    assert "".join(said) == root  # a phrase ends with its space: the pieces join into the text
    assert pieces(root, first_phrase_words=0) == [
        "The square root of sixteen is a fundamental number that you meet in school.", " It is four."
    ]
    assert pieces("In Paris, the river that runs through the old town is the Seine.") == [
        "In Paris, the river that runs through the old town is the ", "Seine."
    ]  # "In Paris," is too short to start with; the run of words after it is counted
    assert pieces("The capital of the country you asked about is Paris.") == [
        "The capital of the country you asked about is Paris."
    ]  # ten words: the tenth ends the sentence, so a sentence this short stays whole
