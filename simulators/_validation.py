"""attrs validators shared by the simulator's value types; each raises ConfigurationError."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from audiointeract.errors import ConfigurationError

__all__ = ["MAX_SCENE_SECONDS", "finite", "non_negative", "one_of", "positive", "within"]

MAX_SCENE_SECONDS = 3 * 3600.0
"""Longest scene, and bound of every time in one (a scene is rendered to memory: 3 h at 16 kHz is 0.7 GB)."""


def _name(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def _number(instance: object, attribute: attrs.Attribute[Any], value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{_name(instance, attribute)} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """A time in seconds: finite, >= 0 and at most :data:`MAX_SCENE_SECONDS`."""
    number = _number(instance, attribute, value)
    if not (math.isfinite(number) and 0 <= number <= MAX_SCENE_SECONDS):
        raise ConfigurationError(
            f"{_name(instance, attribute)} must be from 0 to {MAX_SCENE_SECONDS:g} s, got {value}"
        )


def positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """A duration in seconds: finite, > 0 and at most :data:`MAX_SCENE_SECONDS`."""
    number = _number(instance, attribute, value)
    if not (math.isfinite(number) and 0 < number <= MAX_SCENE_SECONDS):
        raise ConfigurationError(
            f"{_name(instance, attribute)} must be > 0 and at most {MAX_SCENE_SECONDS:g} s, got {value}"
        )


def finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """A finite value."""
    if not math.isfinite(_number(instance, attribute, value)):
        raise ConfigurationError(f"{_name(instance, attribute)} must be finite, got {value}")


def within(low: float, high: float) -> Callable[[object, attrs.Attribute[float], float], None]:
    """A number in ``[low, high]`` (levels in dB: a level out of range would overflow to silence or noise)."""

    def check(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
        number = _number(instance, attribute, value)
        if not (math.isfinite(number) and low <= number <= high):
            raise ConfigurationError(f"{_name(instance, attribute)} must be from {low:g} to {high:g}, got {value}")

    return check


def one_of(*choices: str) -> Callable[[object, attrs.Attribute[str], str], None]:
    """One of ``choices``."""

    def check(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
        if not isinstance(value, str) or value not in choices:
            raise ConfigurationError(f"{_name(instance, attribute)} must be one of {choices}, got {value!r}")

    return check
