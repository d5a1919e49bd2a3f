"""The one retry loop of the session: a failure policy applied on the session's clock.

Every backend call (perceive, decide, the start of a reply) goes through
:func:`call_with_retries`. Retryable failures (the error's ``retryable`` flag;
timeouts count as retryable) are tried again with exponential backoff, each retry
is reported before it happens, and the whole call — attempts and waits together —
never outlasts the policy's ``deadline``. tenacity drives the loop; time is read and
waited on through the injected :class:`~audiointeract.clock.Clock`, so the same
rules hold on virtual time.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity
import tenacity.stop

from audiointeract.clock import Clock
from audiointeract.config import FailurePolicy
from audiointeract.errors import BackendTimeout

__all__ = ["OnRetry", "bounded", "call_with_retries", "is_retryable", "shortest"]

T = TypeVar("T")
OnRetry = Callable[[Exception, int], None]
"""Told about each failed attempt that will be retried: the error and the attempt number (from 1)."""


def is_retryable(error: BaseException) -> bool:
    """Whether trying again may help (only ordinary exceptions; never cancellation)."""
    return isinstance(error, Exception) and bool(getattr(error, "retryable", False))


async def bounded(call: Callable[[], Awaitable[T]], clock: Clock, seconds: float | None, what: str) -> T:
    """``await call()`` within ``seconds`` (None: unbounded); overrunning raises :class:`BackendTimeout`."""
    try:
        with clock.deadline_scope(seconds):
            return await call()
    except TimeoutError as exc:
        if isinstance(exc, BackendTimeout):
            raise
        limit = "its time limit" if seconds is None else f"{seconds:.3g}s"
        raise BackendTimeout(f"{what} did not finish within {limit}") from exc


def shortest(*limits: float | None) -> float | None:
    """The smallest of the given time limits (None means no limit)."""
    bounded_limits = [limit for limit in limits if limit is not None]
    return min(bounded_limits) if bounded_limits else None


class _OutOfTime(tenacity.stop.stop_base):
    """Stop when the next attempt would start at or after the deadline."""

    def __init__(self, remaining: Callable[[], float | None]) -> None:
        self._remaining = remaining

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        left = self._remaining()
        return left is not None and left - (retry_state.upcoming_sleep or 0.0) <= 0


async def call_with_retries(
    attempt: Callable[[float | None], Awaitable[T]],
    policy: FailurePolicy,
    clock: Clock,
    *,
    on_retry: OnRetry,
    may_retry: Callable[[], bool] = lambda: True,
) -> T:
    """Run ``attempt(budget)`` until it succeeds, a failure is final, or the policy's deadline.

    ``attempt`` gets the seconds left of the policy's ``deadline`` (None: unbounded)
    and must not run past them. A retryable failure is retried at most
    ``policy.max_retries`` times, and only while ``may_retry()`` holds and the next
    attempt would start before the deadline; ``on_retry`` is called before each wait.
    The last failure is raised.
    """
    start = clock.now()

    def remaining() -> float | None:
        return None if policy.deadline is None else policy.deadline - (clock.now() - start)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        assert isinstance(error, Exception)
        on_retry(error, state.attempt_number)

    retrying = tenacity.AsyncRetrying(
        sleep=clock.sleep,
        stop=tenacity.stop_any(tenacity.stop_after_attempt(policy.max_retries + 1), _OutOfTime(remaining)),
        wait=tenacity.wait_exponential(multiplier=policy.backoff, min=0, max=math.inf),
        retry=tenacity.retry_if_exception(lambda error: is_retryable(error) and may_retry()),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for trial in retrying:
        with trial:
            return await attempt(remaining())
    msg = "unreachable: tenacity either returns or raises"  # pragma: no cover
    raise AssertionError(msg)
