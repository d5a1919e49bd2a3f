"""Typed statistics of a session: live counters, and the frozen snapshot ``Session.statistics()`` returns."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Sequence

import attrs
import numpy as np

from audiointeract.queues import QueueStatistics

__all__ = ["Counters", "LatencySummary", "LatencyWindow", "SessionStatistics"]

_LATENCY_WINDOW = 2048


@attrs.frozen(kw_only=True)
class LatencySummary:
    """Percentiles of a latency series in seconds (NaN when empty)."""

    count: int
    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> LatencySummary:
        """Summarise ``values``."""
        if not values:
            return cls(count=0, p50=math.nan, p95=math.nan, max=math.nan)
        array = np.asarray(values, dtype=np.float64)
        return cls(
            count=len(values),
            p50=float(np.percentile(array, 50)),
            p95=float(np.percentile(array, 95)),
            max=float(array.max()),
        )


class LatencyWindow:
    """The newest latencies of one kind (a bounded window, so memory does not grow with the session)."""

    def __init__(self, size: int = _LATENCY_WINDOW) -> None:
        self._values: deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        """Record one latency in seconds."""
        self._values.append(value)

    def summary(self) -> LatencySummary:
        """Percentiles over the window."""
        return LatencySummary.of(list(self._values))


@attrs.define(kw_only=True)
class Counters:
    """What the session counts as it runs (mutable; snapshot through :class:`SessionStatistics`)."""

    chunks_received: int = 0
    chunks_perceived: int = 0
    perceptions: int = 0
    perceptions_dropped: int = 0
    samples_repaired: int = 0
    decisions: Counter[str] = attrs.field(factory=Counter)
    replies_started: int = 0
    replies_finished: int = 0
    replies_cancelled: int = 0
    replies_failed: int = 0
    backchannels_started: int = 0
    backchannels_cancelled: int = 0
    speculations_started: int = 0
    speculations_used: int = 0
    speculations_discarded: int = 0
    backend_errors: Counter[str] = attrs.field(factory=Counter)
    observer_failures: int = 0
    heard_until: float = 0.0
    perceived_until: float = 0.0
    max_perceiver_lag: float = 0.0
    decision_latency: LatencyWindow = attrs.field(factory=LatencyWindow)
    cancel_latency: LatencyWindow = attrs.field(factory=LatencyWindow)

    def perceived(self, until: float) -> None:
        """Perception has caught up to stream time ``until``; track the worst lag behind the audio."""
        self.chunks_perceived += 1
        self.perceived_until = until
        self.max_perceiver_lag = max(self.max_perceiver_lag, self.heard_until - until)


@attrs.frozen(kw_only=True)
class SessionStatistics:
    """A snapshot of the session's queues, counters and latencies.

    ``perceiver_lag`` is how far perception trails the audio already ingested
    (stream seconds); ``decision_latency`` is session time from a chunk's arrival to
    the decision that covered it; ``cancel_latency`` from a cancel's request to the
    moment it was carried out. ``samples_repaired`` counts non-finite input samples
    replaced by silence; ``events_dropped`` counts events a slow reader of
    :meth:`Session.start` lost; ``observer_failures`` counts observers that raised
    (and were detached, or failed to close). ``speculations_*`` count replies written
    ahead of their RESPOND: started, used (a RESPOND confirmed them) and discarded.
    """

    chunks_received: int
    chunks_perceived: int
    chunk_queue: QueueStatistics
    decision_queue: QueueStatistics
    perceptions: int
    perceptions_dropped: int
    samples_repaired: int
    decisions: Counter[str]
    replies_started: int
    replies_finished: int
    replies_cancelled: int
    replies_failed: int
    backchannels_started: int
    backchannels_cancelled: int
    speculations_started: int
    speculations_used: int
    speculations_discarded: int
    backend_errors: Counter[str]
    events_dropped: int
    observer_failures: int
    heard_until: float
    perceived_until: float
    perceiver_lag: float
    max_perceiver_lag: float
    decision_latency: LatencySummary
    cancel_latency: LatencySummary

    @classmethod
    def snapshot(
        cls, counters: Counters, *, chunk_queue: QueueStatistics, decision_queue: QueueStatistics, events_dropped: int
    ) -> SessionStatistics:
        """Freeze ``counters`` together with the queues' state."""
        return cls(
            chunks_received=counters.chunks_received,
            chunks_perceived=counters.chunks_perceived,
            chunk_queue=chunk_queue,
            decision_queue=decision_queue,
            perceptions=counters.perceptions,
            perceptions_dropped=counters.perceptions_dropped,
            samples_repaired=counters.samples_repaired,
            decisions=Counter(counters.decisions),
            replies_started=counters.replies_started,
            replies_finished=counters.replies_finished,
            replies_cancelled=counters.replies_cancelled,
            replies_failed=counters.replies_failed,
            backchannels_started=counters.backchannels_started,
            backchannels_cancelled=counters.backchannels_cancelled,
            speculations_started=counters.speculations_started,
            speculations_used=counters.speculations_used,
            speculations_discarded=counters.speculations_discarded,
            backend_errors=Counter(counters.backend_errors),
            events_dropped=events_dropped,
            observer_failures=counters.observer_failures,
            heard_until=counters.heard_until,
            perceived_until=counters.perceived_until,
            perceiver_lag=max(0.0, counters.heard_until - counters.perceived_until),
            max_perceiver_lag=counters.max_perceiver_lag,
            decision_latency=counters.decision_latency.summary(),
            cancel_latency=counters.cancel_latency.summary(),
        )
