"""The session's checks on what backends return: perceptions of heard audio, decisions resting on them.

Pure functions: they never raise for a backend's mistake, they return the
:class:`~audiointeract.errors.ContractViolation` for the session to report, so a
broken backend is visible in the trace and the loop keeps going.
"""

from __future__ import annotations

from collections.abc import Sequence

from audiointeract.errors import ContractViolation
from audiointeract.events import Decision, Perception

__all__ = ["EPS", "check_decision", "check_perceptions"]

EPS = 1e-9
"""Tolerance on stream times (chunk ends are sums of floats)."""


def check_perceptions(
    results: object, *, limit: float, index: int
) -> tuple[list[Perception], list[ContractViolation]]:
    """Split ``perceive()``'s result into perceptions of audio heard up to ``limit`` and violations.

    ``index`` names the chunk (-1: the final flush) in the messages.
    """
    if not isinstance(results, Sequence):
        return [], [ContractViolation(f"perceive() returned {type(results).__name__}, not a sequence")]
    accepted: list[Perception] = []
    violations: list[ContractViolation] = []
    for item in results:
        if not isinstance(item, Perception):
            violations.append(ContractViolation(f"perceive() returned {type(item).__name__}, not a Perception"))
        elif item.span_end > limit + EPS:
            violations.append(
                ContractViolation(
                    f"perception ends at {item.span_end:.3f}s but audio was only heard "
                    f"up to {limit:.3f}s (chunk {index})"
                )
            )
        else:
            accepted.append(item)
    return accepted, violations


def check_decision(outcome: object, heard_until: float) -> Decision | ContractViolation:
    """``decide()``'s result if it is a decision resting only on audio heard up to ``heard_until``."""
    if not isinstance(outcome, Decision):
        return ContractViolation(f"decide() returned {type(outcome).__name__}, not a Decision")
    late = [p for p in outcome.evidence if p.span_end > heard_until + EPS]
    if late:
        return ContractViolation(
            f"decision rests on audio up to {late[0].span_end:.3f}s, but only {heard_until:.3f}s was heard"
        )
    return outcome
