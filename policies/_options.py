"""Option checks and task selection shared by the policies."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from audiointeract.errors import ConfigurationError
from audiointeract.interfaces import DecisionContext

__all__ = [
    "EPS",
    "check_flag",
    "check_non_negative",
    "check_task",
    "check_unit",
    "pick_task",
    "string_mapping",
    "string_tuple",
]

EPS = 1e-6
"""Tolerance for comparing stream times (chunk ends are sums of floats: 9.6 - 9.4 < 0.2)."""


def check_non_negative(owner: str, name: str, value: float) -> float:
    """``value`` as a float if it is finite and >= 0, else a ConfigurationError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"{owner}: {name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_unit(owner: str, name: str, value: float) -> float:
    """``value`` as a float if it lies in [0, 1], else a ConfigurationError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0.0 <= value <= 1.0):
        raise ConfigurationError(f"{owner}: {name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_flag(owner: str, name: str, value: bool) -> bool:
    """``value`` if it is a bool (true/false on the command line), else a ConfigurationError naming it."""
    if not isinstance(value, bool):
        raise ConfigurationError(f"{owner}: {name} must be true or false, got {type(value).__name__} {value!r}")
    return value


def check_task(owner: str, name: str, value: str | None) -> str | None:
    """``value`` if it is None or a task name (a non-blank string), else a ConfigurationError naming it."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigurationError(f"{owner}: {name} must be a task name, got {type(value).__name__} {value!r}")
    return value


def string_tuple(owner: str, name: str, values: str | Iterable[str], *, empty: bool = False) -> tuple[str, ...]:
    """One string or several as a tuple of non-blank strings; blank (or, unless ``empty``, no) input is an error."""
    given: object = values  # from the command line: anything
    listed = isinstance(given, Iterable) and not isinstance(given, Mapping | bytes | str)
    items = (values,) if isinstance(values, str) else tuple(values) if listed else None
    if items is None or (not items and not empty) or any(not isinstance(i, str) or not i.strip() for i in items):
        wanted = "a list of non-empty strings" if empty else "one or more non-empty strings"
        raise ConfigurationError(f"{owner}: {name} must be {wanted}, got {values!r}")
    return items


def string_mapping(owner: str, name: str, value: Mapping[str, str] | None) -> dict[str, str]:
    """``value`` as a dict of non-blank strings to non-blank strings (None: empty), else a ConfigurationError."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or any(
        not isinstance(item, str) or not item.strip() for pair in value.items() for item in pair
    ):
        raise ConfigurationError(f"{owner}: {name} must map names to names (an object of strings), got {value!r}")
    return dict(value)


def pick_task(context: DecisionContext, explicit: str | None, *, proactive: bool) -> str | None:
    """The task a decision serves: ``explicit`` if the session holds it, else its first (non-)proactive task.

    None when no standing task asked for the decision (``explicit`` not held, or no task of
    that kind): the caller then makes no decision, since a reply must serve a task.
    """
    if explicit is not None:
        return explicit if any(task.name == explicit for task in context.tasks) else None
    return next((task.name for task in context.tasks if task.proactive is proactive), None)
