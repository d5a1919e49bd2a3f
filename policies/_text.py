"""Small lexical helpers the rule policies share: normalisation, turn completeness, addressing.

Everything here is a pure function of text, so each rule is easy to read and to test.
"""

from __future__ import annotations

import re

__all__ = [
    "BACKCHANNEL_PHRASES",
    "BACKCHANNEL_WORDS",
    "addressed_to_assistant",
    "backchannel_only",
    "content_words",
    "is_question",
    "label_matches",
    "normalize",
    "spoken_words",
    "turn_complete",
    "words",
]

_NON_WORD = re.compile(r"[^\w'\s-]+")
_ANNOTATION = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*")  # "[BLANK_AUDIO]", "(coughs)", "*sigh*"
_SPACES = re.compile(r"[\s-]+")

# A turn that ends in one of these is still going ("I'd like a table for ... and").
_CONTINUATION_WORDS = frozenset(
    "and or but so because if then than that which who whose whom where when while "  # noqa: SIM905
    "to of in on at for from with by about into onto over under after before between through "
    "the a an my your his her its our their this these those some any every no "
    "is are was were be am will would can could should shall may might must do does did have has had "
    "um uh er erm hmm like".split()
)
_NUMBER_WORDS = frozenset(
    "zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "  # noqa: SIM905
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
    "thousand million point dash".split()
)
_QUESTION_STARTS = frozenset(
    "what what's whats where where's when when's who who's whom whose why how how's which "  # noqa: SIM905
    "is are was were am do does did can could will would should shall may might have has "
    "isn't aren't don't doesn't didn't can't couldn't won't wouldn't shouldn't".split()
)
_REQUEST_STARTS = frozenset(
    "tell give show set play turn switch dim brighten lock unlock remind call text email message find search "  # noqa: SIM905
    "open close start stop pause resume skip mute unmute cancel read send check help explain describe list add "
    "remove put schedule book order buy translate repeat say let make raise lower increase decrease".split()
)
# A turn that ends in a verb that wants an object ("remind me to call") is still going.
_OBJECT_VERBS = frozenset(
    "call tell send text email add put set get give buy bring take make remind book order find show".split()  # noqa: SIM905
)
# Words that may open a turn before a comma without addressing anyone ("okay, what's ...").
_OPENERS = frozenset(
    "ok okay so well hey hi hello yo um uh er yes no yeah yep alright right please sorry oh actually "  # noqa: SIM905
    "and but now listen look excuse me quick question".split()
)
_REQUEST_PHRASES = (
    "please", "can you", "could you", "would you", "will you", "i need you",
    "i want you", "i'd like you", "do me a favor", "let me know",
)  # fmt: skip

BACKCHANNEL_WORDS = frozenset(
    "m mm mmm mhm mhmm mmhm mmhmm hm hmm uh huh uhhuh um ok okay yeah yes yep yup ya yah right sure alright "  # noqa: SIM905
    "cool wow oh ah aha great good nice fine thanks exactly true really indeed gotcha perfect absolutely".split()
)
"""Normalised words that acknowledge without asking for the floor ("mm-hmm", "okay", "yeah")."""
BACKCHANNEL_PHRASES = frozenset(
    (
        "thank you", "thank you very much", "thanks a lot", "got it", "i see", "all right", "of course",
        "sounds good", "that's right", "that's true", "makes sense", "i know", "fair enough", "no problem",
        "you bet", "go on", "go ahead", "uh huh", "mm hm", "mm hmm",
    )
)  # fmt: skip
"""Several-word acknowledgements ("thank you", "got it"); with :data:`BACKCHANNEL_WORDS` the backchannel vocabulary."""
_LONGEST_PHRASE = max(len(phrase.split()) for phrase in BACKCHANNEL_PHRASES)
_PHRASE_PREFIXES = frozenset(
    " ".join(phrase.split()[:n]) for phrase in BACKCHANNEL_PHRASES for n in range(1, len(phrase.split()))
)


def normalize(text: str) -> str:
    """Lower-case, drop punctuation (keeping apostrophes), collapse spaces and hyphens."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower())).strip()


def words(text: str) -> list[str]:
    """The normalised words of ``text``."""
    return normalize(text).split()


def spoken_words(text: str) -> list[str]:
    """The normalised words of ``text`` without a recogniser's non-speech annotations ("[BLANK_AUDIO]", "(coughs)")."""
    return words(_ANNOTATION.sub(" ", text))


def content_words(text: str, *, open_ended: bool = False) -> list[str]:
    """The words of ``text`` that are not part of an acknowledgement, in order.

    Non-speech annotations a recogniser writes ("[BLANK_AUDIO]", "(coughs)") are dropped;
    backchannel phrases are matched longest first ("thank you very much", "got it"),
    then single backchannel words ("yeah", "okay", "mm-hm"). With ``open_ended`` (the
    speech goes on) trailing words that begin a backchannel phrase ("thank", "got") do
    not count yet.
    """
    tokens = spoken_words(text)
    content: list[str] = []
    i = 0
    while i < len(tokens):
        size = next(
            (n for n in range(min(_LONGEST_PHRASE, len(tokens) - i), 1, -1)
             if " ".join(tokens[i : i + n]) in BACKCHANNEL_PHRASES),
            1 if tokens[i] in BACKCHANNEL_WORDS else 0,
        )  # fmt: skip
        if size == 0 and open_ended and " ".join(tokens[i:]) in _PHRASE_PREFIXES:
            break
        if size == 0:
            content.append(tokens[i])
            size = 1
        i += size
    return content


def backchannel_only(text: str) -> bool:
    """Whether ``text`` has words and all of them acknowledge ("thank you", "yeah, right", "mm-hm")."""
    return bool(spoken_words(text)) and not content_words(text)


def is_question(text: str) -> bool:
    """A question mark, or a sentence that opens with a question word or an auxiliary verb."""
    stripped = text.strip()
    if stripped.endswith("?"):
        return True
    tokens = words(stripped)
    return bool(tokens) and tokens[0] in _QUESTION_STARTS


def turn_complete(text: str) -> bool:
    """Whether a user turn reads as finished, so a short silence may end it.

    Rules, in order: empty text is not complete (the transcript may still be coming);
    ``?`` or ``!`` at the end is complete; a trailing ellipsis is not; a trailing
    conjunction, preposition, article, auxiliary or filler ("and", "to", "the", "um")
    is not, nor a verb that wants an object ("remind me to call"), nor a trailing digit
    or number word (digit strings like "four five..." go on), whatever punctuation
    follows, because ASR puts a period at every pause; anything else is.
    """
    stripped = text.strip()
    if not stripped:
        return False
    if stripped[-1] in "?!":
        return True
    tokens = words(stripped)
    if not tokens:
        return False
    last = tokens[-1]
    if stripped.endswith(("...", "…")):
        return False
    if last in _NUMBER_WORDS or last.isdigit():
        return False
    return last not in _CONTINUATION_WORDS and last not in _OBJECT_VERBS


def addressed_to_assistant(text: str, names: tuple[str, ...] = ()) -> bool:
    """Whether a turn asks the assistant something.

    Yes if it says one of ``names``; no if it opens by addressing someone else ("Jen,
    did you lock the door?", "hey Mike, ..."); otherwise yes for a question or a request
    (an imperative such as "turn ..."/"set ...", or "please", "can you", ...), looked
    for after an opening "okay," or "so,".
    """
    normal = f" {normalize(text)} "
    if any(f" {normalize(name)} " in normal for name in names if name.strip()):
        return True
    head, comma, rest = text.partition(",")
    opening = words(head) if comma else []
    plain_opening = bool(opening) and all(token in _OPENERS for token in opening)
    vocative = len(opening) == 1 or (len(opening) == 2 and opening[0] in _OPENERS)
    if opening and not plain_opening and vocative:
        return False  # "Jen, ..." / "hey Mike, ...": the turn is for someone else
    body = rest if plain_opening else text
    if text.strip().endswith("?") or is_question(body):
        return True
    tokens = words(body)
    if tokens and tokens[0] in _REQUEST_STARTS:
        return True
    return any(f" {phrase} " in normal for phrase in _REQUEST_PHRASES)


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:  # keep short words whole
            return word[: -len(suffix)]
    return word


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(_stem(word) for word in words(text))


def label_matches(label: str, wanted: str) -> bool:
    """Whether ``wanted``, or one of its comma-separated alternatives, occurs in ``label`` as whole words.

    Plural and -ing forms count, so ``"Smoke detector, smoke alarm"`` matches the label
    ``"Smoke alarm"`` and the caption ``"a smoke alarm beeping"``, and ``"Siren"``
    matches ``"Police car (siren)"`` and ``"sirens wailing"``.
    """
    heard = _phrase(label)
    for part in wanted.split(","):
        target = _phrase(part)
        size = len(target)
        if size and any(heard[i : i + size] == target for i in range(len(heard) - size + 1)):
            return True
    return False
