"""The embedded default perceiver: streaming ASR (with silero VAD), end-of-turn estimates, sound events.

:class:`EmbeddedPerceiver` runs any list of perceivers on each chunk, concurrently
(each offloads its own compute), and returns their perceptions in list order. By
default the list is :class:`~audiointeract.backends.embedded.FasterWhisperPerceiver`,
:class:`~audiointeract.backends.embedded.SmartTurnPerceiver` and
:class:`~audiointeract.backends.embedded.YamnetPerceiver`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio

from audiointeract.audio import AudioChunk
from audiointeract.clock import Clock
from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception
from audiointeract.interfaces import Perceiver

__all__ = ["EmbeddedPerceiver", "default_perceivers"]

_VAD_OPTIONS = ("vad_threshold", "min_speech", "min_silence")


def default_perceivers(
    *, offload: bool = True, clock: Clock | None = None, asr: dict[str, Any] | None = None,
    turn_end: dict[str, Any] | bool = True, sound_events: dict[str, Any] | None = None,
) -> list[Perceiver]:
    """Build streaming faster-whisper (silero-gated), Smart Turn and YAMNet with their keyword options.

    ``turn_end=False`` leaves Smart Turn out; its VAD takes the ASR's VAD options unless
    ``turn_end`` sets its own, so both report the same ends of speech.
    """
    from audiointeract.backends.embedded.asr import FasterWhisperPerceiver  # noqa: PLC0415 - heavy
    from audiointeract.backends.embedded.smart_turn import SmartTurnPerceiver  # noqa: PLC0415 - heavy
    from audiointeract.backends.embedded.yamnet import YamnetPerceiver  # noqa: PLC0415 - heavy

    asr = asr or {}
    perceivers: list[Perceiver] = [FasterWhisperPerceiver(offload=offload, clock=clock, **asr)]
    if turn_end is not False:
        shared = {key: asr[key] for key in _VAD_OPTIONS if key in asr}
        options = turn_end if isinstance(turn_end, dict) else {}
        perceivers.append(SmartTurnPerceiver(**{"offload": offload, **shared, **options}))
    perceivers.append(YamnetPerceiver(**{"offload": offload, **(sound_events or {})}))
    return perceivers


class EmbeddedPerceiver(Perceiver):
    """Several perceivers over one stream, as one perceiver.

    ``perceivers`` defaults to :func:`default_perceivers` (``asr``, ``turn_end`` and
    ``sound_events`` pass options through; ``turn_end=False`` drops the end-of-turn
    model). Each chunk goes to every perceiver
    concurrently; a failure in one fails the chunk (the session's failure policy
    decides what happens next).
    """

    name = "default"

    def __init__(
        self,
        perceivers: Sequence[Perceiver] | None = None,
        *,
        offload: bool = True,
        clock: Clock | None = None,
        asr: dict[str, Any] | None = None,
        turn_end: dict[str, Any] | bool = True,
        sound_events: dict[str, Any] | None = None,
    ) -> None:
        if perceivers is None:
            perceivers = default_perceivers(offload=offload, clock=clock, asr=asr, turn_end=turn_end,
                                            sound_events=sound_events)
        if not perceivers:
            raise ConfigurationError("EmbeddedPerceiver needs at least one perceiver")
        self.perceivers = tuple(perceivers)
        self._concurrent = offload

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        return await self._all(lambda p: p.perceive(chunk))

    async def finish(self) -> Sequence[Perception]:
        return await self._all(lambda p: p.finish())

    async def reset(self) -> None:
        for perceiver in self.perceivers:
            await perceiver.reset()

    async def aclose(self) -> None:
        for perceiver in self.perceivers:
            await perceiver.aclose()

    async def _all(self, call: Callable[[Perceiver], Awaitable[Sequence[Perception]]]) -> list[Perception]:
        if not self._concurrent:
            return [p for perceiver in self.perceivers for p in await call(perceiver)]
        results: list[Sequence[Perception]] = [() for _ in self.perceivers]
        errors: list[Exception] = []

        async def one(index: int, perceiver: Perceiver) -> None:
            try:
                results[index] = await call(perceiver)
            except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group
                errors.append(exc)

        async with anyio.create_task_group() as group:
            for index, perceiver in enumerate(self.perceivers):
                group.start_soon(one, index, perceiver)
        if errors:
            raise errors[0]
        return [p for result in results for p in result]
