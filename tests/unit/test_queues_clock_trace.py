from __future__ import annotations

import anyio
import pytest

from audiointeract.clock import LoopClock, Stopwatch
from audiointeract.errors import ConfigurationError, QueueOverflowError
from audiointeract.events import ReplyText, SessionEnded
from audiointeract.queues import BoundedQueue, Overflow
from audiointeract.simulators import VirtualTimeLoop, run_virtual
from audiointeract.trace import Trace, TraceRecord


@pytest.mark.anyio
async def test_drop_oldest_counts_every_drop() -> None:
    queue: BoundedQueue[int] = BoundedQueue(2, Overflow.DROP_OLDEST)
    dropped: list[int] = []
    for item in range(5):
        await queue.put(item, on_drop=dropped.append)
    assert dropped == [0, 1, 2]
    assert await queue.get_all() == [3, 4]
    stats = queue.statistics()
    assert (stats.put, stats.dropped, stats.max_depth, stats.depth) == (5, 3, 2, 0)


@pytest.mark.anyio
async def test_fail_policy_raises() -> None:
    queue: BoundedQueue[int] = BoundedQueue(1, Overflow.FAIL, name="chunk queue")
    await queue.put(1)
    with pytest.raises(QueueOverflowError, match="chunk queue is full"):
        await queue.put(2)


@pytest.mark.anyio
async def test_block_policy_waits_for_room() -> None:
    queue: BoundedQueue[int] = BoundedQueue(1, Overflow.BLOCK)
    clock = LoopClock()
    order: list[str] = []

    async def consumer() -> None:
        await clock.sleep(1.0)
        order.append(f"got {await queue.get()} at {clock.now():.1f}")

    async with anyio.create_task_group() as group:
        group.start_soon(consumer)
        await queue.put(1)
        await queue.put(2)
        order.append(f"put 2 at {clock.now():.1f}")
    assert order == ["got 1 at 1.0", "put 2 at 1.0"]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        BoundedQueue(0, Overflow.BLOCK)


def test_virtual_loop_jumps_instead_of_sleeping_and_orders_timers() -> None:
    async def main() -> list[tuple[str, float]]:
        clock = LoopClock()
        seen: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            seen.append((name, clock.now()))

        async with anyio.create_task_group() as group:
            group.start_soon(sleeper, "late", 3600.0)
            group.start_soon(sleeper, "early", 0.25)
        return seen

    assert run_virtual(main) == [("early", 0.25), ("late", 3600.0)]


def test_virtual_time_cannot_go_backwards() -> None:
    loop = VirtualTimeLoop(start=5.0)
    try:
        assert loop.time() == 5.0
        with pytest.raises(ValueError, match="backwards"):
            loop.advance(-1)
    finally:
        loop.close()


def test_stopwatch_measures_from_start() -> None:
    async def main() -> float:
        watch = Stopwatch(LoopClock())
        await LoopClock().sleep(10)
        watch.start()
        await watch.sleep_until_elapsed(2.5)
        return watch.elapsed()

    assert run_virtual(main) == 2.5
    with pytest.raises(RuntimeError, match="before start"):
        Stopwatch(LoopClock()).elapsed()


def test_stopwatch_can_start_at_an_earlier_moment_but_not_a_later_one() -> None:
    async def main() -> float:
        clock = LoopClock()
        earlier = clock.now()
        await clock.sleep(3)
        watch = Stopwatch(clock)
        for bad in (clock.now() + 1, float("nan")):
            with pytest.raises(ValueError, match="no later than now"):
                watch.start(bad)
        watch.start(earlier)
        return watch.elapsed()

    assert run_virtual(main) == 3


def test_trace_round_trips_and_rejects_bad_files(tmp_path: object) -> None:
    trace = Trace(
        records=[
            TraceRecord(seq=0, at=0.5, heard=0.4, event=ReplyText(reply_id=0, text="hi", at=0.5)),
            TraceRecord(seq=1, at=1.0, heard=0.8, event=SessionEnded(reason="x", heard_until=0.8, at=1.0)),
        ],
        meta={"sample_rate": 16000},
    )
    text = trace.to_jsonl()
    again = Trace.from_jsonl(text)
    assert again == trace
    assert again.to_jsonl() == text
    assert again.ended == SessionEnded(reason="x", heard_until=0.8, at=1.0)
    assert again.of_type(ReplyText) == [ReplyText(reply_id=0, text="hi", at=0.5)]
    with pytest.raises(ConfigurationError, match="empty"):
        Trace.from_jsonl("")
    with pytest.raises(ConfigurationError, match="version"):
        Trace.from_jsonl('{"trace_version": 99}\n')
    with pytest.raises(ConfigurationError, match="line 2"):
        Trace.from_jsonl(text.splitlines()[0] + "\n{not json\n")
