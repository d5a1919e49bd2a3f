"""`plot`, `devices`, `serve` and `run --mic/--plot` fed bad input: one line each, the right exit code.

Like ``test_cli_matrix.py``, every case runs the real command line (one Python process for
the batch) and no case gets as far as listening on a port or opening a device.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

MOCKS = ["--perceiver", "energy", "--decider", "turn-end", "--responder", "mock"]
SOUNDDEVICE = importlib.util.find_spec("sounddevice") is not None
PLOTTING = importlib.util.find_spec("matplotlib") is not None

CASES: list[tuple[str, list[str], int, str | None, str | None]] = [
    # id, argv ({port}: a port something already listens on), exit code, last stderr line (regex), stdout (regex)
    ("plot-binary", ["plot", "traces/binary.jsonl", "-o", "out/x.png"], 2,
     r"Error: trace 'traces/binary\.jsonl' is not UTF-8 text .*", None),
    ("plot-header", ["plot", "traces/header_list.jsonl", "-o", "out/x.png"], 2,
     r"Error: .*the trace header must be a JSON object, got list", None),
    ("plot-suffix", ["plot", "traces/good.jsonl", "-o", "out/x.txt"], 2,
     r"Error: cannot plot to 'out/x\.txt': the file name must end in one of \.png, \.svg, \.html", None),
    ("plot-folder-missing", ["plot", "traces/good.jsonl", "-o", "no/such/x.png"], 2,
     r"Error: cannot write 'no/such/x\.png': folder does not exist", None),
    ("plot-out-folder", ["plot", "traces/good.jsonl", "-o", "a_folder"], 2,
     r"Error: Invalid value for '--out' / '-o': File 'a_folder' is a directory\.", None),
    ("plot-width-negative", ["plot", "traces/good.jsonl", "-o", "out/x.png", "--width", "-1"], 2,
     r"Error: Invalid value for '--width': -1\.0 is not in the range 2\.0<=x<=500\.0\.", None),
    ("plot-width-huge", ["plot", "traces/good.jsonl", "-o", "out/x.png", "--width", "1e6"], 2,
     r"Error: Invalid value for '--width': 1000000\.0 is not in the range 2\.0<=x<=500\.0\.", None),
    ("plot-width-nan", ["plot", "traces/good.jsonl", "-o", "out/x.png", "--width", "nan"], 2,
     r"Error: Invalid value for '--width': nan is not a number of inches", None),
    ("plot-audio-not-audio", ["plot", "traces/good.jsonl", "-o", "out/x.png", "--audio", "notaudio.wav"], 2,
     r"Error: cannot read 'notaudio\.wav' as audio: .*", None),
    ("plot-scene-bad", ["plot", "traces/good.jsonl", "-o", "out/x.png", "--scene", "scenes/anchor.json"], 2,
     r"Error: .*Expect\.anchor must be 'end' or 'onset', got 'middle'", None),
    ("plot-cut-trace", ["plot", "traces/cut_mid_line.jsonl", "-o", "out/cut.svg"], 0, None,
     r"plot written to out/cut\.svg \(audio rendered from the trace's scene\)"),
    ("plot-hostile-trace", ["plot", "out/hostile.jsonl", "-o", "out/hostile.svg"], 0, None,
     r"plot written to out/hostile\.svg \(no audio: the trace's scene names clip files; give --audio\)"),
    ("serve-port-negative", ["serve", *MOCKS, "--port", "-1"], 2,
     r"Error: Invalid value for '--port': -1 is not in the range 0<=x<=65535\.", None),
    ("serve-port-huge", ["serve", *MOCKS, "--port", "99999"], 2,
     r"Error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535\.", None),
    ("serve-port-in-use", ["serve", *MOCKS, "--port", "{port}"], 1,
     r"Error: cannot listen on 127\.0\.0\.1:\d+: Address already in use", None),
    ("serve-host-unknown", ["serve", *MOCKS, "--host", "no-such-host.invalid", "--api-key", "k"], 1,
     r"Error: cannot listen on no-such-host\.invalid:8765: .*", None),
    ("serve-open-without-key", ["serve", *MOCKS, "--host", "0.0.0.0"], 2,
     r"Error: refusing to listen on 0\.0\.0\.0 without an API key: set --api-key or \$AUDIOINTERACT_API_KEY, .*",
     None),
    ("serve-sessions-zero", ["serve", *MOCKS, "--port", "0", "--max-sessions", "0"], 2,
     r"Error: Invalid value for '--max-sessions': 0 is not in the range x>=1\.", None),
    ("serve-idle-negative", ["serve", *MOCKS, "--port", "0", "--idle-timeout", "-1"], 2,
     r"Error: ServerConfig\.idle_timeout must be > 0, got -1\.0", None),
    ("serve-chunk-zero", ["serve", *MOCKS, "--port", "0", "--chunk-seconds", "0"], 2,
     r"Error: chunk_seconds=0\.0 is outside \[0\.1, 2\.0\] s", None),
    ("serve-unknown-option", ["serve", *MOCKS, "--port", "0", "-o", "perceiver.bogus=1"], 2,
     r"Error: unknown option\(s\) bogus for perceiver 'energy'; it takes threshold_db, min_speech, min_silence", None),
    ("serve-voice", ["serve", *MOCKS, "--port", "0", "--voice", "nope"], 2,
     r"Error: unknown voice 'nope'; use 'auto', 'piper' or 'espeak-ng'", None),
    ("serve-trace-dir-file", ["serve", *MOCKS, "--port", "0", "--trace-dir", "a.wav"], 2,
     r"Error: Invalid value for '--trace-dir': Directory 'a\.wav' is a file\.", None),
    ("run-mic-and-file", ["run", "a.wav", "--mic", *MOCKS], 2,
     r"Error: give either SOURCE or --mic \(with --device, if not the default microphone\)", None),
    ("run-neither", ["run", *MOCKS], 2, r"Error: give either SOURCE or --mic .*", None),
    ("run-device-without-mic", ["run", "a.wav", "--device", "3", *MOCKS], 2, r"Error: give either SOURCE or --mic .*",
     None),
    ("run-mic-fast", ["run", "--mic", "--fast", *MOCKS], 2,
     r"Error: Invalid value for --fast: a microphone is live: it cannot be read --fast", None),
    ("run-plot-suffix", ["run", "a.wav", *MOCKS, "--plot", "out/x.txt"], 2,
     r"Error: --plot: cannot plot to 'out/x\.txt': the file name must end in one of \.png, \.svg, \.html", None),
    ("run-plot-and-trace-stdout", ["run", "a.wav", *MOCKS, "--plot", "out/x.svg", "--trace", "-"], 2,
     r"Error: --plot draws the trace, which --trace - sends away; give --trace a file or leave it out", None),
    ("simulate-plot-suffix", ["simulate", "scenes/turns.json", "--plot", "out/x.txt"], 2,
     r"Error: cannot plot to 'out/x\.txt': the file name must end in one of \.png, \.svg, \.html", None),
]


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _hostile_trace(inputs: Path) -> None:
    """A trace whose stored scene names a file by path: plotting it must not read that file."""
    header, *records = (inputs / "traces" / "good.jsonl").read_text().splitlines(keepends=True)
    meta = json.loads(header)
    meta["meta"]["scene"]["segments"][0]["clip"] = "/etc/passwd"
    (inputs / "out" / "hostile.jsonl").write_text(json.dumps(meta) + "\n" + "".join(records))


@pytest.fixture(scope="module")
def results(inputs: Path, busy_port: int, cli_batch: Callable[..., list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    (inputs / "out").mkdir(exist_ok=True)
    _hostile_trace(inputs)
    batch = [([arg.format(port=busy_port) for arg in argv], b"") for _, argv, *_ in CASES]
    batch.append((["devices"], b""))
    outcomes = cli_batch(batch)
    return {name: outcome for (name, *_), outcome in zip([*CASES, ("devices",)], outcomes, strict=True)}


@pytest.mark.skipif(not PLOTTING, reason="needs the plot extra (matplotlib)")
@pytest.mark.parametrize(("name", "code", "error", "out"), [pytest.param(c[0], *c[2:], id=c[0]) for c in CASES])
def test_command_case(results: dict[str, dict[str, Any]], name: str, code: int, error: str | None,
                      out: str | None) -> None:
    result = results[name]
    stderr = result["stderr"]
    assert "Traceback" not in stderr, stderr
    assert result["code"] == code, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    if code:
        assert errors == [stderr.strip().splitlines()[-1]], stderr
        assert re.fullmatch(error or "", errors[0]), errors[0]
    else:
        assert not errors, stderr
    if out is not None:
        assert re.search(out, result["stdout"]), result["stdout"]


def test_devices_lists_or_says_what_to_install(results: dict[str, dict[str, Any]]) -> None:
    result = results["devices"]
    assert "Traceback" not in result["stderr"]
    if SOUNDDEVICE:
        assert result["code"] == 0, result["stderr"]
        assert "input devices" in result["stdout"]
    else:
        assert result["code"] == 1
        assert "pip install 'audiointeract[" in result["stderr"]
