"""Small lexical helpers the rule policies share: normalisation, turn completeness, addressing.

Everything here is a pure function of text, so each rule is easy to read and to test.
"""

from __future__ import annotations

import re

__all__ = [
    "BACKCHANNEL_WORDS",
    "addressed_to_assistant",
    "is_question",
    "label_matches",
    "normalize",
    "turn_complete",
    "words",
]

_NON_WORD = re.compile(r"[^\w'\s-]+")
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
    "mm mmm mhm mmhmm hmm uh huh uhhuh ok okay yeah yes yep yup right sure alright cool wow oh ah".split()  # noqa: SIM905
)
"""Normalised words that acknowledge without asking for the floor ("mm-hmm", "okay", "yeah")."""


def normalize(text: str) -> str:
    """Lower-case, drop punctuation (keeping apostrophes), collapse spaces and hyphens."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower())).strip()


def words(text: str) -> list[str]:
    """The normalised words of ``text``."""
    return normalize(text).split()


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
