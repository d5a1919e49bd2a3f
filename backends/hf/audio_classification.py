"""Sound events from any Hugging Face audio-classification checkpoint (AST, wav2vec2/HuBERT heads, ...).

The checkpoint folder is loaded with ``AutoFeatureExtractor`` +
``AutoModelForAudioClassification``; windows of the stream are scored in batches and turned
into :class:`~audiointeract.events.SoundEvent` perceptions by the same windowing and event
merging as YAMNet (:mod:`audiointeract.backends.sound_events`).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from transformers import AutoFeatureExtractor, AutoModelForAudioClassification
from transformers.models.auto.modeling_auto import MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES

from audiointeract.audio import FloatArray
from audiointeract.backends.hf._checkpoint import checkpoint_model_type
from audiointeract.backends.sound_events import DEFAULT_DENY, WindowedSoundEventPerceiver
from audiointeract.errors import BackendError, CheckpointError, ConfigurationError

__all__ = ["AudioClassificationPerceiver", "load_audio_classifier"]

Activation = Literal["auto", "sigmoid", "softmax"]


def load_audio_classifier(path: str | Path, *, device: str = "cpu") -> tuple[Any, Any]:
    """Load (feature extractor, model) from a local audio-classification checkpoint, with clear errors."""
    folder, model_type = checkpoint_model_type(path)
    if model_type not in MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES:
        raise CheckpointError(
            f"{str(folder)!r} holds a {model_type!r} checkpoint, which has no audio-classification head; "
            f"use one of: {', '.join(sorted(MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES))}"
        )
    try:
        auto_extractor: Any = AutoFeatureExtractor  # untyped in transformers
        extractor = auto_extractor.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForAudioClassification.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CheckpointError(f"cannot load the audio classifier at {str(folder)!r}: {exc}") from exc
    return extractor, model.to(device).eval()


class AudioClassificationPerceiver(WindowedSoundEventPerceiver):
    """Streaming sound events from an HF audio classifier over ``window_seconds`` windows.

    ``activation`` turns logits into scores: ``"sigmoid"`` for multi-label taggers such as
    AudioSet AST, ``"softmax"`` for single-label ones; ``"auto"`` takes softmax only when the
    config says ``problem_type="single_label_classification"``. Other options are those of
    :class:`~audiointeract.backends.embedded.YamnetPerceiver`.
    """

    name = "transformers-audio-classification"

    def __init__(
        self,
        path: str | Path,
        *,
        window_seconds: float = 1.0,
        hop_seconds: float = 0.5,
        threshold: float = 0.5,
        allow: Collection[str] | None = None,
        deny: Collection[str] = DEFAULT_DENY,
        release_seconds: float = 2.0,
        activation: Activation = "auto",
        device: str = "cpu",
        offload: bool = True,
    ) -> None:
        if activation not in ("auto", "sigmoid", "softmax"):
            raise ConfigurationError(f"activation must be 'auto', 'sigmoid' or 'softmax', got {activation!r}")
        self.extractor, self.model = load_audio_classifier(path, device=device)
        config = self.model.config
        if activation == "auto":
            activation = "softmax" if config.problem_type == "single_label_classification" else "sigmoid"
        self.activation = activation
        self._device = device
        labels = [str(config.id2label[index]) for index in range(config.num_labels)]
        super().__init__(
            labels=labels,
            model_rate=int(getattr(self.extractor, "sampling_rate", 16000)),
            window_seconds=window_seconds,
            hop_seconds=hop_seconds,
            threshold=threshold,
            allow=allow,
            deny=deny,
            release_seconds=release_seconds,
            offload=offload,
        )

    def score_windows(self, windows: FloatArray) -> FloatArray:
        try:
            inputs = self.extractor(list(windows), sampling_rate=self.model_rate, return_tensors="pt")
            with torch.inference_mode():
                logits = self.model(**{key: value.to(self._device) for key, value in inputs.items()}).logits
        except (RuntimeError, ValueError) as exc:
            raise BackendError(f"audio classification failed: {exc}", retryable=False) from exc
        probabilities = torch.sigmoid(logits) if self.activation == "sigmoid" else torch.softmax(logits, dim=-1)
        scores: FloatArray = probabilities.float().cpu().numpy().astype(np.float32)
        return scores
