"""ThreadedStream, the worker-thread bridge under the LM and piper: items, errors, stop and join."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

import anyio
import pytest

from audiointeract.backends.threaded import ThreadedStream
from audiointeract.errors import ConfigurationError


def counting(limit: int, fail_at: int | None = None) -> Callable[[Callable[[int], None], threading.Event], None]:
    def produce(emit: Callable[[int], None], stop: threading.Event) -> None:
        for i in range(limit):
            if stop.is_set():
                return
            if i == fail_at:
                raise ValueError(f"producer failed at {i}")
            emit(i)

    return produce


@pytest.mark.anyio
@pytest.mark.parametrize("offload", [True, False])
async def test_items_arrive_in_order_and_the_thread_is_joined(offload: bool) -> None:
    stream = ThreadedStream(counting(200), name="audiointeract-test", offload=offload)
    async with stream:
        items = [item async for item in stream]
    assert items == list(range(200))
    assert stream.thread is None if not offload else not stream.thread.is_alive()  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("offload", [True, False])
async def test_a_producer_error_follows_the_items_emitted_before_it(offload: bool) -> None:
    items: list[int] = []

    async def consume() -> None:
        stream = ThreadedStream(counting(10, fail_at=4), name="audiointeract-test", offload=offload)
        async with stream:
            async for item in stream:
                items.append(item)

    with pytest.raises(ValueError, match="producer failed at 4"):
        await consume()
    assert items == [0, 1, 2, 3]


@pytest.mark.anyio
async def test_leaving_early_sets_stop_and_waits_for_the_thread() -> None:
    release = threading.Event()
    stopped = threading.Event()

    def produce(emit: Callable[[int], None], stop: threading.Event) -> None:
        emit(1)
        release.wait()
        while not stop.is_set():
            emit(2)
        stopped.set()

    stream = ThreadedStream(produce, name="audiointeract-test")
    async with stream:
        async for _ in stream:
            release.set()
            break
    assert stopped.is_set()
    assert stream.thread is not None
    assert not stream.thread.is_alive()


@pytest.mark.anyio
async def test_cancelling_the_consumer_still_joins_the_thread() -> None:
    def produce(emit: Callable[[int], None], stop: threading.Event) -> None:
        stop.wait()

    stream = ThreadedStream(produce, name="audiointeract-test")
    with anyio.move_on_after(0.5):
        async with stream:
            async for _ in stream:
                pytest.fail("the producer emits nothing")
    assert stream.thread is not None
    assert not stream.thread.is_alive()


def own_nice_value() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="only Linux gives each thread its own nice value")
@pytest.mark.anyio
@pytest.mark.parametrize("offload", [True, False])
async def test_niceness_lowers_the_worker_thread_only(offload: bool) -> None:
    def produce(emit: Callable[[int], None], stop: threading.Event) -> None:
        emit(own_nice_value())

    before = own_nice_value()
    async with ThreadedStream(produce, name="audiointeract-test", offload=offload, niceness=3) as stream:
        seen = [value async for value in stream]
    # the dedicated thread runs lower; inline (on the caller's thread) nothing changes
    assert seen == [min(19, before + 3) if offload else before]
    assert own_nice_value() == before


@pytest.mark.parametrize("bad", [-1, 20, 1.5, True])
def test_bad_niceness_is_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="niceness"):
        ThreadedStream(counting(1), name="audiointeract-test", niceness=bad)  # type: ignore[arg-type]
