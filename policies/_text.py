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
    "tell give show set play turn remind call find open start stop cancel read send check "  # noqa: SIM905
    "help explain describe list add remove book order translate repeat say let".split()
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
    is not, nor a trailing digit or number word (digit strings like "four five..." go
    on), whatever punctuation follows, because ASR puts a period at every pause;
    anything else is.
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
    return last not in _CONTINUATION_WORDS


def addressed_to_assistant(text: str, names: tuple[str, ...] = ()) -> bool:
    """Whether a turn asks the assistant something: a question, a request, or one of its ``names``."""
    normal = f" {normalize(text)} "
    if any(f" {normalize(name)} " in normal for name in names if name.strip()):
        return True
    if is_question(text):
        return True
    tokens = normal.split()
    if tokens and tokens[0] in _REQUEST_STARTS:
        return True
    return any(f" {phrase} " in normal for phrase in _REQUEST_PHRASES)


def label_matches(label: str, wanted: str) -> bool:
    """Whether a sound-event ``label`` is ``wanted``: the whole label or one comma-separated alternative.

    So ``"smoke alarm"`` matches AudioSet's ``"Smoke detector, smoke alarm"``.
    """
    target = normalize(wanted)
    if normalize(label) == target:
        return True
    return any(normalize(part) == target for part in label.split(","))
