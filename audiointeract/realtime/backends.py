"""The server's backends: weights load once per process; each session gets its own state.

A perceiver and a decider keep per-stream state (ASR buffers, VAD state, policy
evidence and cooldowns), so every session builds its own. What is shared:

* **responders**: one instance serves every session. A responder keeps nothing between
  replies (everything is in the request), so replies of different sessions can run at
  once; the embedded SmolLM2 weights, a transformers checkpoint or an HTTP client's
  connection pool are loaded once.
* **perceiver weights**, for the perceivers that take a loaded model: ``default`` (the
  faster-whisper model and YAMNet), ``faster-whisper`` and ``yamnet``. Each session still
  has its own silero VAD state (a 2 MB ONNX model, loaded per session in a few ms) and
  its own Smart Turn model (8.7 MB ONNX, per session).
* every other perceiver, and every decider, is built per session from its name; those
  with weights of their own (``transformers-*``, ``semantic``, ``learned``) load them
  per session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import attrs

from audiointeract.interfaces import Decider, Perceiver, Responder
from audiointeract.registry import load_backend

__all__ = ["BackendPool", "SessionBackends"]

_PROMPTED = ("default", "transformers", "vllm")
"""Responders that take a ``prompt`` template, so they honour the client's instructions."""


@attrs.frozen(kw_only=True)
class SessionBackends:
    """One session's backends; the responder is the pool's shared one."""

    perceiver: Perceiver
    decider: Decider
    responder: Responder

    async def aclose(self) -> None:
        """Release the session's own backends (the shared responder stays open)."""
        await self.perceiver.aclose()
        await self.decider.aclose()


class BackendPool:
    """Builds the backends of each session; owns what the sessions share.

    ``perceiver`` and ``decider`` are called once per session (in a worker thread: they
    may load small models); ``responder`` serves every session. ``shared`` names what is
    loaded once, for the start-up line.
    """

    def __init__(
        self,
        *,
        perceiver: Callable[[], Perceiver],
        decider: Callable[[], Decider],
        responder: Responder,
        shared: Sequence[str] = (),
        names: Mapping[str, str] | None = None,
    ) -> None:
        self._perceiver = perceiver
        self._decider = decider
        self.responder = responder
        self.shared = tuple(shared)
        self.names = dict(names or {"perceiver": "custom", "decider": "custom", "responder": responder.name})

    def build(self) -> SessionBackends:
        """A new session's backends (blocking: call it in a worker thread)."""
        return SessionBackends(perceiver=self._perceiver(), decider=self._decider(), responder=self.responder)

    async def check(self) -> None:
        """Build one session's backends and close them: bad names and options fail now, not at a connection."""
        backends = await anyio.to_thread.run_sync(self.build)
        await backends.aclose()
        await self.responder.check()

    async def aclose(self) -> None:
        """Release the shared responder."""
        await self.responder.aclose()

    @classmethod
    def from_registry(
        cls,
        *,
        perceiver: str = "default",
        decider: str = "default",
        responder: str = "default",
        options: Mapping[str, Mapping[str, Any]] | None = None,
        voice: str | None = None,
    ) -> BackendPool:
        """Load backends by registry name (blocking): shared weights now, per-session builders for the rest.

        ``options`` maps kind -> keyword options (as ``audiointeract run -o``). ``voice``
        speaks a text-only responder's replies (``espeak-ng``, ``piper``).
        """
        opts = {kind: dict((options or {}).get(kind, {})) for kind in ("perceiver", "decider", "responder")}
        shared: list[str] = []
        perceiver_options = _share_perceiver_weights(perceiver, opts["perceiver"], shared)
        if responder in _PROMPTED and "prompt" not in opts["responder"]:
            from audiointeract.backends.prompting import ChatPrompt  # noqa: PLC0415 - only with prompted responders
            from audiointeract.realtime.controls import InstructionsPrompt  # noqa: PLC0415

            # the default responder's own template sends only the latest user turn (SmolLM2 copies earlier answers)
            base = ChatPrompt(history_turns=0) if responder == "default" else ChatPrompt()
            opts["responder"]["prompt"] = InstructionsPrompt(base)
        built: Responder = load_backend("responder", responder, **opts["responder"])
        shared.append(f"responder {responder}")
        if voice is not None:
            from audiointeract.backends.speech import SpeechResponder, make_synthesizer  # noqa: PLC0415 - heavy

            built = SpeechResponder(built, make_synthesizer(voice))
        return cls(
            perceiver=lambda: load_backend("perceiver", perceiver, **perceiver_options),
            decider=lambda: load_backend("decider", decider, **opts["decider"]),
            responder=built,
            shared=shared,
            names={"perceiver": perceiver, "decider": decider, "responder": responder},
        )


def _share_perceiver_weights(name: str, options: dict[str, Any], shared: list[str]) -> dict[str, Any]:
    """``options`` with the perceiver's weights loaded once, for the perceivers that take a loaded model."""
    if name in ("default", "faster-whisper"):
        from audiointeract.backends.embedded.asr import load_faster_whisper  # noqa: PLC0415 - heavy

        asr = dict(options.get("asr", {})) if name == "default" else options
        if "model" not in asr:
            asr["model"] = load_faster_whisper(asr.get("model_path"), compute_type=asr.get("compute_type", "int8"),
                                               cpu_threads=asr.get("cpu_threads", 2))
            shared.append("faster-whisper")
        if name == "faster-whisper":
            return asr
        options = {**options, "asr": asr}
    if name in ("default", "yamnet"):
        from audiointeract.backends.embedded.yamnet_model import YamnetModel  # noqa: PLC0415 - heavy

        sound = dict(options.get("sound_events", {})) if name == "default" else dict(options)
        if "model" not in sound:
            sound["model"] = YamnetModel(sound.get("model_dir"), threads=sound.get("threads", 1))
            shared.append("yamnet")
        return {**options, "sound_events": sound} if name == "default" else sound
    return options

