"""AudioSet sound events from YAMNet (521 classes), streaming, on numpy + onnxruntime.

Every 0.48 s of stream the perceiver scores the last 0.975 s (one YAMNet patch) and
reports a :class:`~audiointeract.events.SoundEvent` when a label rises above the
threshold; see :mod:`audiointeract.backends.sound_events` for the merging rules.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from audiointeract.audio import FloatArray
from audiointeract.backends.embedded.yamnet_model import PATCH_SAMPLES, SAMPLE_RATE, YamnetModel
from audiointeract.backends.sound_events import DEFAULT_DENY, WindowedSoundEventPerceiver

__all__ = ["YamnetPerceiver"]

_HOP_SECONDS = 0.48


class YamnetPerceiver(WindowedSoundEventPerceiver):
    """Sound events from Google's YAMNet, shipped in the package (override with ``model_dir``).

    ``threshold`` is the per-window sigmoid score a label needs; ``allow`` restricts the
    labels (AudioSet display names, e.g. ``{"Smoke detector, smoke alarm", "Siren"}``),
    ``deny`` removes some (default: speech classes and Silence). ``threads`` is
    onnxruntime's intra-op thread count. ``model`` is a loaded :class:`YamnetModel` to
    share between perceivers (its inference is stateless), or None to load ``model_dir``.
    """

    name = "yamnet"

    def __init__(
        self,
        *,
        model: YamnetModel | None = None,
        model_dir: str | Path | None = None,
        threshold: float = 0.5,
        allow: Collection[str] | None = None,
        deny: Collection[str] = DEFAULT_DENY,
        release_seconds: float = 2.0,
        hop_seconds: float = _HOP_SECONDS,
        threads: int = 1,
        offload: bool = True,
    ) -> None:
        self.model = model if model is not None else YamnetModel(model_dir, threads=threads)
        super().__init__(
            labels=self.model.labels,
            model_rate=SAMPLE_RATE,
            window_seconds=PATCH_SAMPLES / SAMPLE_RATE,
            hop_seconds=hop_seconds,
            threshold=threshold,
            allow=allow,
            deny=deny,
            release_seconds=release_seconds,
            offload=offload,
        )

    def score_windows(self, windows: FloatArray) -> FloatArray:
        return self.model.scores(windows)
