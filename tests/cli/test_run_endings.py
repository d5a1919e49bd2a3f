"""`audiointeract run` in a real subprocess: every ending leaves a loadable trace and a valid WAV."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiointeract.events import ReplyAudio, SessionEnded
from audiointeract.trace import Trace

RATE = 16000
CLI = [sys.executable, "-c", "from audiointeract.cli import main; main()"]
MOCKS = ["--perceiver", "energy", "--decider", "turn-end", "--responder", "mock",
         "-o", 'responder.reply="one two three four five six seven eight nine ten"',
         "-o", "responder.word_seconds=0.4", "-o", "responder.tokens_per_second=4"]


def speech_file(path: Path, seconds: float, *, fmt: str = "WAV") -> Path:
    audio = np.zeros(round(seconds * RATE), np.float32)
    for start in np.arange(1.0, seconds - 2, 8.0):
        at = round(start * RATE)
        audio[at : at + RATE] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(RATE) / RATE)
    sf.write(path, audio, RATE, format=fmt)
    return path


def wait_for(predicate: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail("the CLI never got there")


def has_reply_audio(path: Path) -> bool:
    return path.exists() and '"kind": "reply_audio"' in path.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_run_gracefully_and_keeps_the_trace_and_the_wav(tmp_path: Path, signum: signal.Signals) -> None:
    trace_path, wav_path = tmp_path / "trace.jsonl", tmp_path / "reply.wav"
    command = [*CLI, "run", str(speech_file(tmp_path / "in.wav", 60)), *MOCKS,
               "--trace", str(trace_path), "--out-wav", str(wav_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: has_reply_audio(trace_path), 30)
        process.send_signal(signum)
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=20)
        took = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == 128 + signum
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == f"Error: session did not end normally: stopped: {signum.name}"
    assert took < 5  # graceful: the session itself winds down within its 1 s grace
    trace = Trace.load(trace_path)
    assert trace.complete
    ended = trace.ended
    assert isinstance(ended, SessionEnded)
    assert ended.reason == f"stopped: {signum.name}"
    assert ended.heard_until < 30
    assert trace.of_type(ReplyAudio)
    info = sf.info(str(wav_path))
    assert info.frames > 0
    assert sf.read(str(wav_path))[0].size == info.frames


def test_a_corrupt_file_ends_with_one_line_and_keeps_what_was_heard(tmp_path: Path) -> None:
    good = speech_file(tmp_path / "good.flac", 20, fmt="FLAC")
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes((i * 37) % 256 for i in range(4000))
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(bytes(data))
    trace_path, wav_path = tmp_path / "trace.jsonl", tmp_path / "reply.wav"
    result = subprocess.run([*CLI, "run", str(corrupt), "--fast", *MOCKS, "--trace", str(trace_path),
                             "--out-wav", str(wav_path)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: session did not end normally: source failed:")
    trace = Trace.load(trace_path)
    ended = trace.ended
    assert ended is not None
    assert ended.reason.startswith("source failed:")
    assert 5 < ended.heard_until < 20  # what came before the damage was heard and kept
    assert sf.info(str(wav_path)).frames > 0


def test_output_paths_are_checked_before_the_session_starts(tmp_path: Path) -> None:
    audio = speech_file(tmp_path / "in.wav", 4)
    for option in ("--trace", "--out-wav"):
        result = subprocess.run([*CLI, "run", str(audio), "--fast", *MOCKS, option, str(tmp_path / "no" / "x")],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "heard" not in result.stdout  # nothing ran
        assert str(tmp_path / "no" / "x") in result.stderr
