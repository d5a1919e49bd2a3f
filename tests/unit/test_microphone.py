"""MicrophoneSource on a fake PortAudio stream that calls back from its own thread, as PortAudio does."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audiointeract import Pacing, Session, SessionConfig
from audiointeract.audio import AudioChunk, FloatArray
from audiointeract.backends.mock import EnergyPerceiver, ScriptedDecider, ScriptedResponder
from audiointeract.devices import AudioDevice, find_device
from audiointeract.errors import BackendError, ConfigurationError
from audiointeract.events import AudioReceived, InputWarning, Perception, SpeechActivity
from audiointeract.interfaces import Perceiver
from audiointeract.sources import MicrophoneSource

RECORDING = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")

DEVICES = (
    AudioDevice(index=0, name="HDA Intel PCH: ALC257 Analog (hw:0,0)", host_api="ALSA", input_channels=2,
                output_channels=2, default_sample_rate=44100.0),
    AudioDevice(index=1, name="HDMI 0 (hw:0,3)", host_api="ALSA", output_channels=8),
    AudioDevice(index=2, name="USB Headset Microphone", host_api="ALSA", input_channels=1,
                default_sample_rate=16000.0),
    AudioDevice(index=3, name="default", host_api="ALSA", input_channels=32, output_channels=32,
                default_input=True, default_output=True),
    AudioDevice(index=4, name="USB Headset Microphone (mono)", host_api="ALSA", input_channels=1),
)


class _Flags:
    def __init__(self, overflow: bool) -> None:
        self.input_overflow = overflow


class FakeStream:
    """Calls back like PortAudio: from its own thread, with one reused ``indata`` buffer."""

    def __init__(self, mic: FakeMicrophone, **settings: Any) -> None:
        self.settings = settings
        self._mic = mic
        self._indata = np.zeros((settings["blocksize"], settings["channels"]), np.float32)
        self._thread: threading.Thread | None = None
        self.closed = False

    def start(self) -> None:
        if self._mic.fail_on_start:
            raise RuntimeError("Error opening InputStream: Invalid sample rate [PaErrorCode -9997]")
        self._thread = threading.Thread(
            target=self._deliver, args=(self._mic.audio, self._mic.overflow_every), name="fake-portaudio"
        )
        self._thread.start()
        if self._mic.stalled_loop:
            self._thread.join()

    def play(self, audio: FloatArray) -> None:
        """Deliver ``audio`` from a PortAudio-like thread while the caller (the loop's thread) waits."""
        thread = threading.Thread(target=self._deliver, args=(audio, 0), name="fake-portaudio")
        thread.start()
        thread.join()

    def _deliver(self, audio: FloatArray, overflow_every: int) -> None:
        size = self._indata.shape[0]
        for number, start in enumerate(range(0, audio.shape[0] - size + 1, size), start=1):
            if self.closed:
                return
            self._indata[:] = audio[start : start + size].reshape(size, -1)
            flags = _Flags(overflow=bool(overflow_every) and number % overflow_every == 0)
            self.settings["callback"](self._indata, size, None, flags)

    def stop_by_itself(self) -> None:
        """What PortAudio does when the device goes away: the stream finishes."""
        self.settings["finished_callback"]()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._thread is not None:
                self._thread.join()
            self.settings["finished_callback"]()


class FakeMicrophone:
    """A stream factory with the signature of ``sounddevice.InputStream``, playing ``audio`` once.

    With ``stalled_loop`` the whole of ``audio`` is delivered while the event loop waits
    in ``start()``: a loop that does not keep up, deterministically.
    """

    def __init__(self, audio: FloatArray | None = None, *, stalled_loop: bool = False, overflow_every: int = 0,
                 fail_on_start: bool = False) -> None:
        self.audio = np.zeros(0, np.float32) if audio is None else audio
        self.stalled_loop = stalled_loop
        self.overflow_every = overflow_every
        self.fail_on_start = fail_on_start
        self.streams: list[FakeStream] = []

    def __call__(self, **settings: Any) -> FakeStream:
        stream = FakeStream(self, **settings)
        self.streams.append(stream)
        return stream


def _blocks(count: int, size: int) -> FloatArray:
    """``count`` blocks, each filled with its own number, so any loss or reuse shows."""
    return np.repeat(np.arange(1, count + 1, dtype=np.float32) / 1000, size)


# --------------------------------------------------------------------------- devices


def test_devices_are_found_by_index_name_part_or_default() -> None:
    assert find_device(None, "input", DEVICES).name == "default"
    assert find_device(2, "input", DEVICES).index == 2
    assert find_device("2", "input", DEVICES).index == 2
    assert find_device("alc257", "input", DEVICES).index == 0
    assert find_device("usb headset microphone", "input", DEVICES).index == 2  # exact name beats partial
    assert find_device("HDMI", "output", DEVICES).index == 1


def test_no_matching_device_is_a_clear_error_that_lists_the_devices() -> None:
    with pytest.raises(ConfigurationError) as missing:
        find_device("Blue Yeti", "input", DEVICES)
    message = str(missing.value)
    assert "no input device matches 'Blue Yeti'" in message
    assert "[2] USB Headset Microphone (ALSA), 1 in / 0 out, 16000 Hz" in message
    assert "HDMI" not in message  # output-only devices are no choice for input
    with pytest.raises(ConfigurationError, match="no input device with index 1"):
        find_device(1, "input", DEVICES)
    with pytest.raises(ConfigurationError, match="2 input devices match 'usb'"):
        find_device("usb", "input", DEVICES)
    with pytest.raises(ConfigurationError, match="no audio input device found"):
        find_device(None, "input", [d for d in DEVICES if d.input_channels == 0])


def test_microphone_options_are_checked_before_any_stream_opens() -> None:
    mic = FakeMicrophone()
    with pytest.raises(ConfigurationError, match="channels must be between 1 and 1"):
        MicrophoneSource("USB Headset Microphone", channels=2, devices=DEVICES, stream_factory=mic)
    with pytest.raises(ConfigurationError, match="buffer_seconds"):
        MicrophoneSource(devices=DEVICES, stream_factory=mic, block_seconds=0.1, buffer_seconds=0.05)
    source = MicrophoneSource("ALC257", devices=DEVICES, stream_factory=mic)
    assert (source.device.index, source.sample_rate) == (0, 44100)  # the device's own rate by default
    assert mic.streams == []


@pytest.mark.anyio
async def test_a_stream_that_cannot_open_names_the_device_and_the_reason() -> None:
    source = MicrophoneSource("USB Headset Microphone", devices=DEVICES, stream_factory=FakeMicrophone(fail_on_start=True))
    with pytest.raises(ConfigurationError, match=r"cannot open microphone \[2\] USB Headset.*Invalid sample rate"):
        await anext(source.blocks())


# --------------------------------------------------------------------------- the hand-off


@pytest.mark.anyio
async def test_overruns_are_counted_and_their_audio_becomes_silence_of_the_same_length() -> None:
    size = 160  # 10 ms at 16 kHz; the buffer holds 5 blocks
    mic = FakeMicrophone(_blocks(20, size), stalled_loop=True)
    source = MicrophoneSource(devices=DEVICES, stream_factory=mic, sample_rate=16000, block_seconds=0.01,
                              buffer_seconds=0.05)
    blocks = source.blocks()
    kept = [np.asarray((await anext(blocks))[0])[:, 0] for _ in range(5)]  # the loop was blocked for all 20
    assert [block[0] for block in kept] == pytest.approx([0.001, 0.002, 0.003, 0.004, 0.005])
    stats = source.statistics()
    assert (stats.overruns, stats.blocks, stats.dropped_seconds) == (15, 5, pytest.approx(0.15))
    assert stats.max_buffered_seconds == pytest.approx(0.05)
    [problem] = source.problems()
    assert (problem.code, problem.count) == ("microphone_overrun", 15)
    assert source.problems() == []  # each problem is reported once, with what is new since

    mic.streams[0].play(np.full(size, 0.5, np.float32))
    silence = [np.asarray((await anext(blocks))[0])[:, 0] for _ in range(3)]  # at most a buffer's worth each
    assert [block.size for block in silence] == [5 * size, 5 * size, 5 * size]
    assert not np.concatenate(silence).any()
    data, rate = await anext(blocks)
    assert rate == 16000
    assert np.all(np.asarray(data) == 0.5)  # then the block that was kept
    await blocks.aclose()
    assert mic.streams[0].closed
    assert source.statistics().overruns == 15


@pytest.mark.anyio
async def test_portaudio_input_overflow_flags_are_counted() -> None:
    mic = FakeMicrophone(_blocks(6, 160), stalled_loop=True, overflow_every=3)
    source = MicrophoneSource(devices=DEVICES, stream_factory=mic, sample_rate=16000, block_seconds=0.01)
    blocks = source.blocks()
    for _ in range(6):
        await anext(blocks)
    await blocks.aclose()
    assert source.statistics().input_overflows == 2
    assert [(p.code, p.count) for p in source.problems()] == [("microphone_input_overflow", 2)]


@pytest.mark.anyio
async def test_a_stream_that_stops_by_itself_ends_the_source_with_an_error() -> None:
    mic = FakeMicrophone(_blocks(2, 160), stalled_loop=True)
    source = MicrophoneSource(devices=DEVICES, stream_factory=mic, sample_rate=16000, block_seconds=0.01)
    blocks = source.blocks()
    await anext(blocks)
    mic.streams[0].stop_by_itself()
    await anext(blocks)  # what was buffered still arrives
    with pytest.raises(BackendError, match="stopped by itself"):
        await anext(blocks)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_blocks_from_another_thread_wake_the_loop(anyio_backend: str) -> None:
    audio = _blocks(50, 160)
    mic = FakeMicrophone(audio)  # delivers from its thread while the loop waits for blocks
    source = MicrophoneSource(devices=DEVICES, stream_factory=mic, sample_rate=16000, block_seconds=0.01)
    got: list[FloatArray] = []
    async with contextlib.aclosing(source.blocks()) as blocks:
        async for data, _ in blocks:
            got.append(np.asarray(data)[:, 0])
            if sum(b.size for b in got) == audio.size:
                break
    assert np.array_equal(np.concatenate(got), audio)
    assert source.statistics().overruns == 0
    assert mic.streams[0].closed


# --------------------------------------------------------------------------- in a session


class _Recorded(Perceiver):
    """Keeps every chunk it hears, and detects speech by energy like a real perceiver would."""

    def __init__(self) -> None:
        self.chunks: list[AudioChunk] = []
        self._energy = EnergyPerceiver()

    async def perceive(self, chunk: AudioChunk) -> Sequence[Perception]:
        self.chunks.append(chunk)
        return await self._energy.perceive(chunk)


async def _run_until_heard(session: Session, source: MicrophoneSource, seconds: float,
                           on_first_chunk: Callable[[], None] | None = None) -> None:
    async with session.start(source) as events:
        async for event in events:
            if isinstance(event, AudioReceived) and event.index == 0 and on_first_chunk is not None:
                on_first_chunk()
            if isinstance(event, AudioReceived) and event.span_end >= seconds - 1e-9:
                session.stop()


@pytest.mark.anyio
@pytest.mark.skipif(not RECORDING.is_file(), reason="pocketsphinx-testdata not installed")
async def test_the_session_hears_a_real_recording_through_the_microphone() -> None:
    recording, rate = sf.read(RECORDING, dtype="float32")
    assert rate == 16000
    chunk = 6400  # 0.4 s: start after two chunks of silence, fill up to whole chunks
    audio = np.concatenate([np.zeros(2 * chunk, np.float32), recording])
    audio = np.concatenate([audio, np.zeros(-audio.size % chunk, np.float32)])
    mic = FakeMicrophone(audio)
    source = MicrophoneSource(devices=DEVICES, stream_factory=mic, sample_rate=rate, block_seconds=0.02,
                              buffer_seconds=60.0)
    perceiver = _Recorded()
    session = Session(perceiver, ScriptedDecider(), ScriptedResponder(), config=SessionConfig(pacing=Pacing.FAST))
    await _run_until_heard(session, source, audio.size / rate)
    heard = np.concatenate([c.samples for c in perceiver.chunks])
    assert np.array_equal(heard, audio)  # every sample, in order, none lost or repeated
    activity = session.trace.of_type(SpeechActivity)
    assert activity[0].speaking
    assert activity[0].span_end == pytest.approx(0.8 + np.argmax(np.abs(recording) > 0.05) / rate, abs=0.45)
    assert source.statistics().overruns == 0
    assert mic.streams[0].closed  # stopping the session closed the device


@pytest.mark.anyio
async def test_overruns_in_a_session_become_one_input_warning() -> None:
    size = 160
    audio = _blocks(200, size)  # 2 s delivered while the loop is stalled; the buffer holds 0.5 s
    mic = FakeMicrophone(audio, stalled_loop=True)
    source = MicrophoneSource(devices=DEVICES, stream_factory=mic, sample_rate=16000, block_seconds=0.01,
                              buffer_seconds=0.5)
    session = Session(_Recorded(), ScriptedDecider(), ScriptedResponder(), config=SessionConfig(pacing=Pacing.FAST))
    more = np.full(6400, 0.25, np.float32)  # fits: the first chunk took 0.4 s out of the buffer
    await _run_until_heard(session, source, 2.4, on_first_chunk=lambda: mic.streams[0].play(more))
    [warning] = session.trace.of_type(InputWarning)
    assert warning.code == "microphone_overrun"
    assert warning.count == 150
    assert "did not keep up" in warning.message
    # stream time stays the microphone's time: 0.5 s kept + 1.5 s of silence + 0.4 s later = 2.4 s
    assert session.statistics().heard_until == pytest.approx(2.4)
    assert source.statistics().overruns == 150
