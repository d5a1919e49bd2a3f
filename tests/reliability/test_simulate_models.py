"""A real model in the simulator runs inline on virtual time, so its events land where the audio is.

With ``offload=true`` (the model's default) the model ran on a thread that virtual time does
not wait for, and every event landed at the scene's end with 100 % stalls; ``simulate`` now
runs it inline (asking for offload is refused: see the CLI matrix).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audiointeract.events import SpeechActivity
from audiointeract.trace import Trace


@pytest.mark.slow
def test_faster_whisper_in_the_simulator_is_on_time(
    inputs: Path, cli_batch: Callable[..., list[dict[str, Any]]]
) -> None:
    (inputs / "out").mkdir(exist_ok=True)
    args = ["simulate", "scenes/turns.json", "--perceiver", "faster-whisper", "--no-timeline",
            "--trace", "out/whisper.jsonl", "--json", "-"]
    (result,) = cli_batch([(args, b"")])
    assert result["code"] == 0, result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"]
    trace = Trace.load(inputs / "out" / "whisper.jsonl")
    onsets = [r.at for r in trace if isinstance(r.event, SpeechActivity) and r.event.speaking]
    assert onsets
    assert onsets[0] < 3.0  # the first question starts at 1 s; offloaded, everything landed at 14 s
    report = json.loads(result["stdout"])
    assert report["stall_rate"] < 0.05
    assert report["decision_lag"]["max"] < 1.0
