"""Real perception of a scene's rendered audio, recorded once and replayed for every policy.

:func:`record_perception` renders each scene (real recordings through the clip bank),
feeds it chunk by chunk to a real perceiver (default: the embedded stack, registry
name ``"default"``: silero-gated streaming faster-whisper and YAMNet) and keeps, per
chunk, what the perceiver returned and how many wall-clock seconds the call took. A
perceiver's output depends only on the audio, not on the policy, so every policy then
sees exactly the same perception through :class:`ReplayPerceiver`: the perceptions of
chunk *k* come out with chunk *k*, as they did live.

Two time axes: perceptions and decisions are placed on the stream axis (seconds of
audio). ``compute`` is wall time on the machine that recorded, measured with the
perceiver running inline on one event loop (ASR then tagger, not concurrently); replay
with ``charge_compute=True`` pays it on the virtual clock, so a chunk that took 0.9 s
to perceive delays everything after it by 0.9 s, as it would live on that machine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import attrs
import numpy as np

from audiointeract.audio import AudioChunk, AudioFormat, Rechunker
from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import ConfigurationError
from audiointeract.events import Perception, event_from_dict, event_to_dict
from audiointeract.interfaces import Perceiver
from audiointeract.simulators.clips import ClipBank
from audiointeract.simulators.render import render
from audiointeract.simulators.scene import Scene

__all__ = [
    "ComputeSummary",
    "PerceiverFactory", "PerceptionRecording", "ReplayPerceiver", "embedded_perceiver", "record_perception"]

PerceiverFactory = Callable[[], Perceiver]
_VERSION = 1


@attrs.frozen(kw_only=True)
class PerceptionRecording:
    """What a perceiver returned for each chunk of one scene, and the wall seconds each call took."""

    scene: str
    perceiver: str
    chunk_seconds: float
    start_samples: tuple[int, ...]
    chunks: tuple[tuple[Perception, ...], ...]
    compute: tuple[float, ...]
    final: tuple[Perception, ...]

    @property
    def audio_seconds(self) -> float:
        """Seconds of audio perceived."""
        return len(self.chunks) * self.chunk_seconds

    @property
    def real_time_factor(self) -> float:
        """Compute seconds per second of audio (below 1: faster than real time on average)."""
        return sum(self.compute) / self.audio_seconds if self.chunks else 0.0

    def to_json(self) -> str:
        """JSON text (perceptions in the trace's event format); :meth:`from_json` reads it back."""
        data = attrs.asdict(self, recurse=False)
        data["chunks"] = [[event_to_dict(p) for p in chunk] for chunk in self.chunks]
        data["final"] = [event_to_dict(p) for p in self.final]
        return json.dumps({"version": _VERSION, **data})

    @classmethod
    def from_json(cls, text: str) -> PerceptionRecording:
        """Parse :meth:`to_json` output."""
        try:
            data = json.loads(text)
            if data.pop("version", None) != _VERSION:
                raise ConfigurationError(f"not a version-{_VERSION} perception recording")
            data["chunks"] = tuple(tuple(event_from_dict(p) for p in chunk) for chunk in data["chunks"])
            data["final"] = tuple(event_from_dict(p) for p in data["final"])
            data["start_samples"] = tuple(data["start_samples"])
            data["compute"] = tuple(data["compute"])
            return cls(**data)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"malformed perception recording: {exc}") from exc


def embedded_perceiver() -> Perceiver:
    """The embedded default perceiver (registry ``"default"``), running inline so its compute can be timed."""
    from audiointeract.registry import load_backend  # noqa: PLC0415 - loads the models

    perceiver: Perceiver = load_backend("perceiver", "default", offload=False)
    return perceiver


async def _record(
    scene: Scene, perceiver: Perceiver, *, clock: Clock, fmt: AudioFormat, seed: int, bank: ClipBank | None
) -> PerceptionRecording:
    audio = render(scene, seed=seed, sample_rate=fmt.sample_rate, bank=bank)
    rechunker = Rechunker(fmt)
    chunks: list[tuple[Perception, ...]] = []
    compute: list[float] = []
    starts: list[int] = []
    await perceiver.reset()
    for chunk in [*rechunker.push(audio), *rechunker.flush()]:
        began = clock.now()
        out = tuple(await perceiver.perceive(chunk))
        compute.append(clock.now() - began)
        chunks.append(out)
        starts.append(chunk.start_sample)
    final = tuple(await perceiver.finish())
    return PerceptionRecording(
        scene=scene.name,
        perceiver=perceiver.name,
        chunk_seconds=fmt.chunk_seconds,
        start_samples=tuple(starts),
        chunks=tuple(chunks),
        compute=tuple(compute),
        final=final,
    )


def _cache_file(cache: Path, scene: Scene, fmt: AudioFormat, seed: int, tag: str) -> Path:
    key = json.dumps([scene.to_dict(), attrs.asdict(fmt), seed, tag], sort_keys=True)
    return cache / f"{scene.name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def record_perception(
    scenes: Sequence[Scene],
    *,
    perceiver: PerceiverFactory = embedded_perceiver,
    fmt: AudioFormat | None = None,
    seed: int = 0,
    bank: ClipBank | None = None,
    cache: str | Path | None = None,
    cache_tag: str = "default",
    progress: Callable[[str], None] | None = None,
) -> dict[str, PerceptionRecording]:
    """Render every scene and run one real perceiver over it, chunk by chunk; keyed by scene name.

    Runs its own event loop on real time (call it outside async code). The perceiver is
    built once (only if some scene is not cached) and ``reset()`` between scenes; ``bank``
    resolves the clips (default: the Debian banks;
    :func:`~audiointeract.evaluation.evaluation_bank` adds the animals). With ``cache``,
    recordings are kept in that folder, keyed by the scene, the audio format, the seed
    and ``cache_tag`` (name the perceiver and its version there: a cache never notices a
    changed model by itself).
    """
    fmt = fmt or AudioFormat()
    names = [scene.name for scene in scenes]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"scene names must be unique to key their recordings, got {names}")
    folder = Path(cache) if cache is not None else None
    out: dict[str, PerceptionRecording] = {}
    todo = []
    for scene in scenes:
        file = _cache_file(folder, scene, fmt, seed, cache_tag) if folder is not None else None
        if file is not None and file.is_file():
            out[scene.name] = PerceptionRecording.from_json(file.read_text(encoding="utf-8"))
            if progress is not None:
                progress(scene.name)
        else:
            todo.append((scene, file))

    async def main() -> None:
        built = perceiver()
        clock = LoopClock()
        try:
            for scene, file in todo:
                recording = await _record(scene, built, clock=clock, fmt=fmt, seed=seed, bank=bank)
                out[scene.name] = recording
                if file is not None:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    file.write_text(recording.to_json(), encoding="utf-8")
                if progress is not None:
                    progress(scene.name)
        finally:
            await built.aclose()

    if todo:
        anyio.run(main)
    return {name: out[name] for name in names}


class ReplayPerceiver(Perceiver):
    """Returns a recording's perceptions with the chunk they came out with; optionally pays its compute."""

    name = "replay"

    def __init__(
        self, recording: PerceptionRecording, *, charge_compute: bool = False, clock: Clock | None = None
    ) -> None:
        self.recording = recording
        self.charge_compute = charge_compute
        self._clock = clock or LoopClock()

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        recording = self.recording
        if chunk.index >= len(recording.chunks) or recording.start_samples[chunk.index] != chunk.start_sample:
            raise ConfigurationError(
                f"chunk {chunk.index} (sample {chunk.start_sample}) is not in the recording of "
                f"{recording.scene!r}: record and replay with the same audio format and chunk length"
            )
        if self.charge_compute:
            await self._clock.sleep(recording.compute[chunk.index])
        return recording.chunks[chunk.index]

    async def finish(self) -> Sequence[Perception]:
        return self.recording.final


@attrs.frozen(kw_only=True)
class ComputeSummary:
    """Perception compute over recordings: real-time factor and per-chunk wall seconds (p50/p95)."""

    audio_seconds: float
    real_time_factor: float
    chunk_p50: float
    chunk_p95: float

    @classmethod
    def of(cls, recordings: Sequence[PerceptionRecording]) -> ComputeSummary:
        """Summarise the compute of ``recordings``."""
        compute = np.asarray([c for r in recordings for c in r.compute], dtype=np.float64)
        audio = sum(r.audio_seconds for r in recordings)
        if compute.size == 0 or audio <= 0:
            return cls(audio_seconds=audio, real_time_factor=0.0, chunk_p50=0.0, chunk_p95=0.0)
        p50, p95 = (float(v) for v in np.percentile(compute, [50, 95]))
        return cls(audio_seconds=audio, real_time_factor=float(compute.sum()) / audio, chunk_p50=p50, chunk_p95=p95)
