"""Option checks: a wrongly typed or out-of-range option becomes one ConfigurationError line naming it.

Options often arrive from the command line as JSON-or-string values, so a string where a
number belongs must fail here, clearly, and not later as a ``TypeError`` deep in a call.
"""

from __future__ import annotations

import math

from audiointeract.errors import ConfigurationError

__all__ = ["flag", "integer", "number", "optional_text", "text"]


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
