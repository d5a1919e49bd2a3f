from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from audiointeract.cli import main
from audiointeract.events import ReplyFinished, SpeechActivity
from audiointeract.trace import Trace


def _wav(path: Path, rate: int = 16000) -> Path:
    audio = np.zeros(rate * 5, np.float32)
    audio[rate : rate * 2] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    sf.write(path, audio, rate)
    return path


def test_run_on_a_file_with_mock_backends_prints_a_timeline_and_writes_a_trace(tmp_path: Path) -> None:
    wav = _wav(tmp_path / "in.wav", rate=44100)
    trace_path = tmp_path / "trace.jsonl"
    result = CliRunner().invoke(main, [
        "run", str(wav), "--fast", "--perceiver", "energy", "--decider", "turn-end", "--responder", "mock",
        "-o", 'responder.reply="Hello there."', "--trace", str(trace_path),
    ])
    assert result.exit_code == 0, result.output
    assert "speech started" in result.output
    assert "reply 0 finished: 'Hello there.'" in result.output
    trace = Trace.load(trace_path)
    assert [f.text for f in trace.of_type(ReplyFinished)] == ["Hello there."]
    assert len(trace.of_type(SpeechActivity)) == 2


def test_run_reads_raw_pcm_from_stdin(tmp_path: Path) -> None:
    rate = 8000
    audio = np.zeros(rate * 4, np.int16)
    audio[rate : 2 * rate] = (8000 * np.sin(2 * np.pi * 300 * np.arange(rate) / rate)).astype(np.int16)
    result = CliRunner().invoke(
        main,
        ["run", "-", "--fast", "--rate", str(rate), "--perceiver", "energy", "--decider", "turn-end",
         "--responder", "mock"],
        input=audio.tobytes(),
    )
    assert result.exit_code == 0, result.output
    assert "heard 4.0s" in result.output


def test_run_reports_bad_input_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(tmp_path / "missing.wav"), "--responder", "mock"])
    assert result.exit_code != 0
    assert "does not exist" in result.output
    result = CliRunner().invoke(main, ["run", str(_wav(tmp_path / "a.wav")), "--decider", "nope"])
    assert "unknown decider 'nope'" in result.output
    result = CliRunner().invoke(main, ["run", str(_wav(tmp_path / "b.wav")), "-o", "responder=1"])
    assert "must look like" in result.output


def test_backends_lists_every_builtin_with_its_status() -> None:
    result = CliRunner().invoke(main, ["backends"])
    assert result.exit_code == 0
    for name in ("mock", "energy", "turn-end", "default", "vllm"):
        assert name in result.output
    result = CliRunner().invoke(main, ["backends", "--kind", "responder"])
    assert "perceiver" not in result.output


def test_help_is_fast_and_imports_no_heavy_library() -> None:
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom audiointeract.cli import main\n"
        "r = CliRunner().invoke(main, ['run', '--help'])\nassert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('torch', 'transformers', 'httpx', 'faster_whisper') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
