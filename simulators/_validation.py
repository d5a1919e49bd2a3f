"""attrs validators shared by the simulator's value types; each raises ConfigurationError."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from audiointeract.errors import ConfigurationError

__all__ = ["finite", "non_negative", "one_of", "positive"]


def _name(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """A finite value >= 0."""
    if not (math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"{_name(instance, attribute)} must be finite and >= 0, got {value}")


def positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """A finite value > 0."""
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{_name(instance, attribute)} must be finite and > 0, got {value}")


def finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """A finite value."""
    if not math.isfinite(value):
        raise ConfigurationError(f"{_name(instance, attribute)} must be finite, got {value}")


def one_of(*choices: str) -> Callable[[object, attrs.Attribute[str], str], None]:
    """One of ``choices``."""

    def check(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in choices:
            raise ConfigurationError(f"{_name(instance, attribute)} must be one of {choices}, got {value!r}")

    return check
