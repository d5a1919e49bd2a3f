"""Option checks and task selection shared by the policies."""

from __future__ import annotations

import math
from collections.abc import Iterable

from audiointeract.errors import ConfigurationError
from audiointeract.interfaces import DecisionContext

__all__ = ["EPS", "check_non_negative", "check_unit", "pick_task", "string_tuple"]

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


def string_tuple(owner: str, name: str, values: str | Iterable[str]) -> tuple[str, ...]:
    """One string or several as a tuple of non-blank strings; blank or empty input is an error."""
    items = (values,) if isinstance(values, str) else tuple(values)
    if not items or any(not isinstance(item, str) or not item.strip() for item in items):
        raise ConfigurationError(f"{owner}: {name} must be one or more non-empty strings, got {values!r}")
    return items


def pick_task(context: DecisionContext, explicit: str | None, *, proactive: bool) -> str | None:
    """The task a decision serves: ``explicit`` if given, else the session's first (non-)proactive task."""
    if explicit is not None:
        return explicit
    return next((task.name for task in context.tasks if task.proactive is proactive), None)
