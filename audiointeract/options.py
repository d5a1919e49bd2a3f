"""Option checks shared by every backend and policy: a bad option is one ConfigurationError line naming it.

Options often arrive from the command line as JSON-or-string values (``-o decider.threshold=0.5``),
so a string where a number belongs must fail where the option is taken, clearly, and not later
as a ``TypeError`` deep in a call. :func:`unknown_options` and :func:`describe_options` read a
factory's keyword parameters, so a misspelt option names the right spelling and
``audiointeract backends NAME`` lists what a backend takes.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from audiointeract.errors import AudioInteractError, ConfigurationError

__all__ = [
    "OptionInfo",
    "build",
    "check_known",
    "describe_options",
    "flag",
    "integer",
    "number",
    "one_line",
    "optional_text",
    "text",
    "unknown_options",
]


def one_line(message: object) -> str:
    """``message`` as a single line (runs of whitespace, newlines included, become one space)."""
    return " ".join(str(message).split())


def number(name: str, value: object, *, minimum: float | None = None, positive: bool = False,
           maximum: float | None = None) -> float:
    """``value`` as a finite float within the bounds, else a ConfigurationError naming ``name``."""
    bounds = ["> 0"] if positive else []
    bounds += [f">= {minimum:g}"] if minimum is not None else []
    bounds += [f"<= {maximum:g}"] if maximum is not None else []
    wanted = f"a number {' and '.join(bounds)}".rstrip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be {wanted}, got {type(value).__name__} {value!r}")
    result = float(value)
    inside = (
        math.isfinite(result)
        and not (positive and result <= 0)
        and (minimum is None or result >= minimum)
        and (maximum is None or result <= maximum)
    )
    if not inside:
        raise ConfigurationError(f"{name} must be {wanted}, got {value!r}")
    return result


def integer(name: str, value: object, *, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, else a ConfigurationError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def flag(name: str, value: object) -> bool:
    """``value`` if it is a bool (true/false on the command line), else a ConfigurationError."""
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be true or false, got {type(value).__name__} {value!r}")
    return value


def text(name: str, value: object, *, empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless ``empty``), else a ConfigurationError."""
    if not isinstance(value, str) or not (value or empty):
        wanted = "a string" if empty else "a non-empty string"
        raise ConfigurationError(f"{name} must be {wanted}, got {type(value).__name__} {value!r}")
    return value


def optional_text(name: str, value: object) -> str | None:
    """``value`` if it is None or a non-empty string, else a ConfigurationError."""
    return None if value is None else text(name, value)


@attrs.frozen(kw_only=True)
class OptionInfo:
    """One keyword option of a backend: its name, its type as written, and its default (``required``: none)."""

    name: str
    annotation: str
    default: str
    required: bool = False
    more: bool = False
    """A ``**name`` catch-all: the backend checks those options itself."""


def _parameters(factory: Callable[..., Any]) -> list[inspect.Parameter] | None:
    """The factory's parameters; None for a callable without a signature (a C builtin)."""
    try:
        return list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None


def _annotation(parameter: inspect.Parameter) -> str:
    annotation = parameter.annotation
    if annotation is inspect.Parameter.empty:
        return ""
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))


def describe_options(factory: Callable[..., Any]) -> list[OptionInfo]:
    """The options ``factory`` takes by keyword, in signature order."""
    out = []
    for parameter in _parameters(factory) or ():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.VAR_POSITIONAL):
            continue
        more = parameter.kind is parameter.VAR_KEYWORD
        required = not more and parameter.default is parameter.empty
        default = "" if more or required else repr(parameter.default)
        out.append(
            OptionInfo(name=parameter.name, annotation=_annotation(parameter), default=default, required=required,
                       more=more)
        )
    return out


def unknown_options(factory: Callable[..., Any], options: Iterable[str]) -> list[str]:
    """The names in ``options`` that ``factory`` does not take (none if it takes ``**kwargs``)."""
    known = describe_options(factory)
    if _parameters(factory) is None or any(option.more for option in known):
        return []
    names = {option.name for option in known}
    return sorted(set(options) - names)


def check_known(owner: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Raise one ConfigurationError naming every unknown option and what ``owner`` takes instead."""
    unknown = unknown_options(factory, options)
    if unknown:
        takes = ", ".join(option.name for option in describe_options(factory)) or "no options"
        raise ConfigurationError(f"unknown option(s) {', '.join(unknown)} for {owner}; it takes {takes}")


def build(owner: str, factory: Callable[..., Any], options: Mapping[str, Any]) -> Any:
    """``factory(**options)``: an unknown option, or a value it rejects, is one ConfigurationError naming ``owner``.

    A ``TypeError``/``ValueError`` while a backend takes its options is a value of the
    wrong type or shape (``-o decider.threshold='"high"'``), not a bug of the caller's
    program: it is re-raised as one line that says where to look.
    """
    check_known(owner, factory, options)
    try:
        return factory(**options)
    except AudioInteractError:
        raise
    except (TypeError, ValueError, LookupError, AttributeError) as exc:
        given = ", ".join(f"{key}={_short(value)}" for key, value in options.items())
        raise ConfigurationError(f"{owner} rejected its options {given}: {one_line(exc)}") from exc


def _short(value: object, limit: int = 60) -> str:
    text = one_line(repr(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."
