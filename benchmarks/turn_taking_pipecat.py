"""Pipecat's own end-of-turn analysers on the turn-taking items (runs inside the Pipecat venv).

usage: <pipecat venv>/bin/python benchmarks/turn_taking_pipecat.py ITEMS.npz OUT.json

Only numpy and pipecat-ai are imported (audiointeract is not installed in that venv). Each
item's 16 kHz int16 audio goes through ``SileroVADAnalyzer(params=VADParams(stop_secs=0.2))``
and ``LocalSmartTurnAnalyzerV3`` (Smart Turn v3.2, bundled ONNX, 1 thread) in 20 ms frames,
the way Pipecat's ``TurnAnalyzerUserTurnStopStrategy`` drives them with
``wait_for_transcript=False`` (end of turn from the analyser alone, no STT wait): VAD
start -> user speaking; VAD stop -> ``analyze_end_of_turn()``; COMPLETE (the model, or the
analyser's own 3 s silence timeout) ends the turn and clears the analyser.

The audio is fed as fast as the analysers take it. The Smart Turn buffer is timed with
``time.monotonic()``, so that clock is replaced by the audio's own stream time in that
module, which is what it reads in a live pipeline. Each end of turn is stamped at the
stream time of the frame that triggered it plus the measured wall time of the model call
(the compute a live pipeline would wait for).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import types
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from loguru import logger
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn import base_smart_turn
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams, VADState

RATE = 16000
FRAME = RATE // 50  # 20 ms, a usual transport input frame
STOP_SECS = 0.2


class StreamClock:
    """Stands in for the ``time`` module inside Pipecat's smart-turn base: monotonic() is stream time."""

    def __init__(self) -> None:
        self.now = 0.0

    def namespace(self) -> types.SimpleNamespace:
        return types.SimpleNamespace(monotonic=lambda: self.now, perf_counter=time.perf_counter, time=time.time)


async def analyse(audio: np.ndarray, clock: StreamClock) -> dict[str, Any]:
    vad = SileroVADAnalyzer(sample_rate=RATE, params=VADParams(stop_secs=STOP_SECS))
    vad.set_sample_rate(RATE)
    turn = LocalSmartTurnAnalyzerV3(sample_rate=RATE, cpu_count=1)
    turn.set_sample_rate(RATE)
    speaking = False
    state = VADState.QUIET
    out: dict[str, Any] = {"commits": [], "vad_starts": [], "vad_stops": [], "probabilities": [], "inference_ms": []}
    for offset in range(0, audio.size - FRAME + 1, FRAME):
        end = (offset + FRAME) / RATE
        clock.now = end
        frame = audio[offset : offset + FRAME].tobytes()
        new = await vad.analyze_audio(frame)
        stopped = False
        if new != state and new in (VADState.SPEAKING, VADState.QUIET):
            if new == VADState.SPEAKING:
                speaking = True
                turn.update_vad_start_secs(vad.params.start_secs)
                out["vad_starts"].append(end)
            else:
                speaking = False
                stopped = True
                out["vad_stops"].append(end)
            state = new
        if stopped:
            began = time.perf_counter()
            result, metrics = await turn.analyze_end_of_turn()
            spent = time.perf_counter() - began
            out["inference_ms"].append(spent * 1000)
            probability = getattr(metrics, "probability", None)
            out["probabilities"].append(probability)
            if result == EndOfTurnState.COMPLETE:
                out["commits"].append({"heard": end, "at": end + spent, "by": "smart-turn", "probability": probability})
                turn.clear()
        if turn.append_audio(frame, speaking) == EndOfTurnState.COMPLETE:
            out["commits"].append({"heard": end, "at": end, "by": "silence timeout", "probability": None})
            turn.clear()
    await vad.cleanup()
    await turn.cleanup()
    return out


async def analyse_all(audio: dict[str, np.ndarray]) -> dict[str, Any]:
    clock = StreamClock()
    base_smart_turn.time = clock.namespace()  # type: ignore[attr-defined]
    return {name: await analyse(samples, clock) for name, samples in audio.items()}


def main() -> None:
    logger.remove()
    data = np.load(sys.argv[1])
    results = asyncio.run(analyse_all({name: data[name] for name in data.files}))
    Path(sys.argv[2]).write_text(json.dumps({"pipecat": version("pipecat-ai"), "onnxruntime": version("onnxruntime"),
                                             "vad_stop_secs": STOP_SECS, "items": results}) + "\n")


if __name__ == "__main__":
    main()
