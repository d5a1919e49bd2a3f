"""The microphone on the real PortAudio library, with no sound card: an ALSA device that reads a file.

ALSA's ``file`` plugin (over the ``null`` device) serves a real recording as capture input. It
is not paced like a sound card: it calls back as fast as it can, so it is also a device that
outruns the event loop, which is what the overrun counting is for. Each case runs in a
subprocess whose HOME holds the ALSA configuration, because PortAudio reads it once per process.
"""

from __future__ import annotations

import ctypes.util
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiointeract.events import InputWarning
from audiointeract.trace import Trace

RECORDING = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")

pytestmark = [
    pytest.mark.skipif(ctypes.util.find_library("portaudio") is None, reason="PortAudio (libportaudio2) not installed"),
    pytest.mark.skipif(not RECORDING.is_file(), reason="pocketsphinx-testdata not installed"),
]


def _alsa_home(tmp_path: Path) -> dict[str, str]:
    audio, rate = sf.read(RECORDING, dtype="int16")
    raw = tmp_path / "recording.raw"
    raw.write_bytes(audio.astype("<i2").tobytes())
    (tmp_path / ".asoundrc").write_text(textwrap.dedent(f"""\
        pcm.filemic {{
            type plug
            slave {{
                pcm {{ type file; slave.pcm "null"; file "/dev/null"; infile "{raw}"; format "raw" }}
                format S16_LE
                rate {rate}
                channels 1
            }}
        }}
    """))
    return {**os.environ, "HOME": str(tmp_path)}


def test_devices_lists_what_portaudio_sees(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from audiointeract.cli import main; main()", "devices"],
        env=_alsa_home(tmp_path), capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    inputs = out.split("output devices:")[0]
    assert "[0] filemic (ALSA)" in inputs
    assert "16000 Hz" in inputs


def test_a_real_portaudio_stream_feeds_the_session_and_its_overruns_are_reported(tmp_path: Path) -> None:
    heard = tmp_path / "heard.npy"
    code = textwrap.dedent(f"""
        import anyio, numpy as np
        from audiointeract import Session, SessionConfig
        from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
        from audiointeract.events import AudioReceived, InputWarning
        from audiointeract.interfaces import Perceiver
        from audiointeract.sources import MicrophoneSource

        class Keep(Perceiver):
            chunks = []
            async def perceive(self, chunk):
                self.chunks.append(chunk.samples)
                return ()

        async def main():
            source = MicrophoneSource("filemic", block_seconds=0.05, buffer_seconds=0.5)
            session = Session(Keep(), ScriptedDecider(), ScriptedResponder())
            async with session.start(source) as events:
                async for event in events:
                    if isinstance(event, AudioReceived) and event.span_end >= 1.2:
                        session.stop()
            np.save({str(heard)!r}, np.concatenate(Keep.chunks))
            stats = source.statistics()
            print("rate", stats.sample_rate, "overruns", stats.overruns, "blocks", stats.blocks)
            print("warnings", [(w.code, w.count) for w in session.trace.of_type(InputWarning)])
            print("ended", session.trace.ended.reason)

        anyio.run(main)
    """)
    result = subprocess.run([sys.executable, "-c", code], env=_alsa_home(tmp_path), capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["rate"].split()[0] == "16000"  # the device's own rate, read from PortAudio
    overruns = int(lines["rate"].split()[2])
    assert overruns > 0  # the file device outran the loop, and that was counted...
    assert "('microphone_overrun'," in lines["warnings"]  # ...and reported through the session
    assert lines["ended"] == "stopped"
    recording, _ = sf.read(RECORDING, dtype="float32")
    samples = np.load(heard)
    # the first blocks came through PortAudio's callback thread untouched (the buffer was empty then)
    assert np.array_equal(samples[:1600], recording[:1600])


@pytest.mark.slow
def test_run_mic_until_ctrl_c_with_a_trace_and_a_plot(tmp_path: Path) -> None:
    trace, plot = tmp_path / "trace.jsonl", tmp_path / "session.png"
    command = [
        sys.executable, "-c", "from audiointeract.cli import main; main()", "run", "--mic", "--device", "filemic",
        "--perceiver", "energy", "--decider", "turn-end", "--responder", "mock", "--trace", str(trace),
        "--plot", str(plot),
    ]
    with subprocess.Popen(command, env=_alsa_home(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # the recording's speech reaches the perceiver through PortAudio
            seen.append(line)
            if "speech started" in line:
                process.send_signal(signal.SIGINT)
                break
        out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGINT, "".join(seen) + out + err
    assert "session did not end normally: stopped: SIGINT" in err
    assert f"plot written to {plot}" in out
    recorded = Trace.load(trace)
    assert recorded.meta["input"] == "microphone 'filemic'"
    assert "microphone_overrun" in [w.code for w in recorded.of_type(InputWarning)]
    assert plot.stat().st_size > 10_000
