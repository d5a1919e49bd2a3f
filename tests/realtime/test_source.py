"""The push-fed source: bounded, gap-filled, padded on commit; and its map back to the client's audio time.

Runs on the virtual-time loop: the fill waits are exact.
"""

from __future__ import annotations

import anyio
import numpy as np
import pytest

from audiointeract.clock import LoopClock
from audiointeract.errors import ConfigurationError
from audiointeract.realtime.source import PushSource, Timeline

pytestmark = pytest.mark.anyio


def tone(seconds: float, rate: int, value: int = 1000) -> np.ndarray:
    return np.full(round(seconds * rate), value, dtype=np.int16)


async def take(source: PushSource, count: int) -> list[tuple[np.ndarray, int]]:
    out = []
    blocks = source.blocks()
    for _ in range(count):
        out.append(await anext(blocks))  # type: ignore[arg-type]
    await blocks.aclose()  # type: ignore[attr-defined]
    return out


async def test_waiting_audio_of_one_rate_comes_out_as_one_block() -> None:
    source = PushSource(fill_after=None)
    for _ in range(3):
        source.push(np.full(241, 7, dtype=np.int16), 24000)
    source.push(np.full(160, 9, dtype=np.int16), 16000)  # the client switched to 16 kHz
    source.close()
    blocks = await take(source, 2)
    assert [(block.size, rate) for block, rate in blocks] == [(723, 24000), (160, 16000)]
    assert source.timeline.client_time(0.0401) == pytest.approx(0.0401)


async def test_audio_faster_than_real_time_drops_the_oldest_and_counts_it() -> None:
    source = PushSource(max_buffered=1.0, fill_after=None)
    assert source.push(tone(0.6, 16000, 1), 16000) == 0.0
    dropped = source.push(np.concatenate([tone(1.0, 16000, 2), tone(0.9, 16000, 3)]), 16000)
    assert dropped == pytest.approx(1.5)
    stats = source.statistics()
    assert stats.received == pytest.approx(2.5)
    assert stats.dropped == pytest.approx(1.5)
    assert stats.buffered == pytest.approx(1.0)
    [(block, _)] = await take(source, 1)
    assert block.size == 16000
    assert set(block[:1600].tolist()) == {2}  # the newest second
    assert set(block[-14400:].tolist()) == {3}
    # the session heard stream time 0..1, which the client sent at 1.5..2.5
    assert source.timeline.client_time(0.0) == pytest.approx(1.5)
    assert source.timeline.client_time(1.0) == pytest.approx(2.5)


async def test_commit_pads_to_the_next_chunk_boundary_with_silence_the_client_never_sent() -> None:
    source = PushSource(fill_after=None)
    source.push(tone(0.25, 16000), 16000)
    assert source.pad_to(0.4, extra=0.4) == pytest.approx(0.8)
    source.push(tone(0.1, 16000), 16000)
    source.close()
    [(block, _)] = await take(source, 1)
    assert block.size == round(0.9 * 16000)
    assert not block[4000:12800].any()
    assert source.timeline.client_time(0.25) == pytest.approx(0.25)
    assert source.timeline.client_time(0.6) == pytest.approx(0.25)  # inside the padding: client time stands still
    assert source.timeline.client_time(0.9) == pytest.approx(0.35)


async def test_clear_drops_the_audio_not_heard_yet() -> None:
    source = PushSource(fill_after=None)
    source.push(tone(0.5, 16000, 1), 16000)
    assert source.clear() == pytest.approx(0.5)
    source.push(tone(0.2, 16000, 2), 16000)
    source.close()
    [(block, _)] = await take(source, 1)
    assert set(block.tolist()) == {2}
    assert source.timeline.client_time(0.0) == pytest.approx(0.5)
    assert source.statistics().dropped == pytest.approx(0.5)


async def test_a_silent_client_is_heard_as_silence_at_real_time_pace() -> None:
    clock = LoopClock()
    source = PushSource(fill_after=0.5, clock=clock)
    source.push(tone(0.3, 24000), 24000)
    blocks = source.blocks()
    start = clock.now()
    first, _ = await anext(blocks)  # type: ignore[arg-type]
    assert first.size == 7200
    gap, rate = await anext(blocks)  # type: ignore[arg-type]
    assert clock.now() - start == pytest.approx(0.5)
    assert rate == 24000
    assert gap.size == 12000
    assert not gap.any()
    again, _ = await anext(blocks)  # type: ignore[arg-type]
    assert clock.now() - start == pytest.approx(1.0)
    assert again.size == 12000
    await blocks.aclose()  # type: ignore[attr-defined]
    assert source.statistics().filled == pytest.approx(1.0)
    assert source.timeline.client_time(1.3) == pytest.approx(0.3)  # filled silence: the client sent nothing


async def test_audio_arriving_during_the_wait_is_taken_at_once() -> None:
    source = PushSource(fill_after=0.5)
    async with anyio.create_task_group() as group:
        async def later() -> None:
            await LoopClock().sleep(0.2)
            source.push(tone(0.1, 16000), 16000)
            source.close()

        group.start_soon(later)
        blocks = [block async for block, _ in source.blocks()]
    assert [b.size for b in blocks] == [1600]
    assert source.statistics().filled == 0.0


def test_limits_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        PushSource(max_buffered=0)
    with pytest.raises(ConfigurationError):
        PushSource(fill_after=-1.0)


def test_timeline_merges_seamless_segments_and_maps_jumps() -> None:
    timeline = Timeline()
    timeline.record(0.0, 0.0, 1.0, silent=False)
    timeline.record(1.0, 1.0, 1.0, silent=False)  # seamless: one segment
    timeline.record(2.0, 2.0, 0.5, silent=True)
    timeline.record(2.5, 2.0, 0.5, silent=True)  # seamless silence
    timeline.record(3.0, 4.0, 1.0, silent=False)  # a second of client audio was dropped before this
    assert timeline.client_time(0.5) == 0.5
    assert timeline.client_time(2.0) == 2.0
    assert timeline.client_time(2.9) == 2.0
    assert timeline.client_time(3.5) == 4.5
    assert timeline.client_time(10.0) == 11.0
