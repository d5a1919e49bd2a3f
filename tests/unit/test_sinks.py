"""Sinks: streamed WAV (valid after close and after a crash), PCM, and sound-card playback off the loop."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audiointeract import ArraySource, Session
from audiointeract.audio import StreamResampler, resample
from audiointeract.backends.mock import ScriptedPerceiver, TurnEndDecider
from audiointeract.errors import BackendUnavailable, ConfigurationError
from audiointeract.events import (
    AudioDelta,
    BackchannelEnded,
    BackchannelStarted,
    Event,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ResponseDelta,
    ResponseRequest,
    SpeechActivity,
    TextDelta,
)
from audiointeract.interfaces import Responder
from audiointeract.sinks import (
    PcmSink,
    PlaybackCallback,
    PlaybackStatistics,
    SoundCardSink,
    WavSink,
    describe_event,
)

QUANTUM = 1.5 / 32767  # int16 rounding, with room for the float32 -> int16 scaling
BLOCK = 0.1  # the session's default reply block


def tone(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def blocks(reply_id: int, samples: np.ndarray, rate: int, start: float, *, late: float = 0.0,
           backchannel: bool = False) -> Iterator[ReplyAudio]:
    """Reply audio as the session emits it: ``BLOCK``-second blocks at their play time (each ``late`` late)."""
    size = round(BLOCK * rate)
    play_at = start
    for offset in range(0, samples.size, size):
        piece = samples[offset : offset + size]
        yield ReplyAudio(reply_id=reply_id, play_at=play_at, duration=piece.size / rate, sample_rate=rate,
                         at=play_at, samples=piece, backchannel=backchannel)
        play_at += piece.size / rate + late


def feed(sink: Any, events: Iterator[Event] | list[Event]) -> None:
    for event in events:
        sink.on_event(event, at=0.0, heard=0.0)


def finished(reply_id: int) -> ReplyFinished:
    return ReplyFinished(reply_id=reply_id, text="", at=0.0)


def cancelled(reply_id: int) -> ReplyCancelled:
    return ReplyCancelled(reply_id=reply_id, reason="barge-in", requested_at=0.0, carried_out_at=0.0)


def read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(path, dtype="float32")
    return data, rate


# ----------------------------------------------------------------------------- WAV


def test_aligned_wav_places_each_reply_at_its_play_time_without_clicks(tmp_path: Path) -> None:
    one, two = tone(0.55, 16000), tone(0.3, 24000, freq=300)
    sink = WavSink(tmp_path / "out.wav", sample_rate=22050)
    feed(sink, [*blocks(0, one, 16000, start=1.0), finished(0), *blocks(1, two, 24000, start=3.0), finished(1)])
    sink.close()
    data, rate = read(tmp_path / "out.wav")
    first, second = resample(one, 16000, 22050), resample(two, 24000, 22050)
    assert rate == 22050
    assert data.size == 3 * 22050 + second.size
    assert sink.seconds_written == pytest.approx(data.size / 22050)
    assert np.max(np.abs(data[22050 : 22050 + first.size] - first)) <= QUANTUM
    assert np.max(np.abs(data[3 * 22050 :] - second)) <= QUANTUM
    silence = np.concatenate([data[:22050], data[22050 + first.size : 3 * 22050]])
    assert np.max(np.abs(silence)) == 0.0


def test_unaligned_wav_concatenates_the_replies(tmp_path: Path) -> None:
    one, two = tone(0.35, 16000), tone(0.2, 16000, freq=300)
    sink = WavSink(tmp_path / "out.wav", sample_rate=16000, aligned=False)
    feed(sink, [*blocks(0, one, 16000, start=1.0), finished(0), *blocks(1, two, 16000, start=5.0), finished(1)])
    sink.close()
    data, _ = read(tmp_path / "out.wav")
    assert np.max(np.abs(data - np.concatenate([one, two]))) <= QUANTUM


def test_cancelled_reply_keeps_what_played_and_drops_the_resampler_tail(tmp_path: Path) -> None:
    reply = tone(0.5, 16000)
    sink = WavSink(tmp_path / "out.wav", sample_rate=22050)
    feed(sink, [*blocks(0, reply, 16000, start=0.0), cancelled(0)])
    sink.close()
    data, _ = read(tmp_path / "out.wav")
    whole = resample(reply, 16000, 22050)
    assert 0 < data.size < whole.size  # the held-back tail of the cancelled reply is not written
    assert np.max(np.abs(data - whole[: data.size])) <= QUANTUM


def test_a_reply_that_starts_before_the_last_one_ended_overwrites_it(tmp_path: Path) -> None:
    one, two = np.full(16000, 0.25, np.float32), np.full(8000, -0.25, np.float32)
    sink = WavSink(tmp_path / "out.wav", sample_rate=16000)
    feed(sink, [*blocks(0, one, 16000, start=0.0), cancelled(0), *blocks(1, two, 16000, start=0.5), finished(1)])
    sink.close()
    data, _ = read(tmp_path / "out.wav")
    assert data.size == 16000
    assert np.allclose(data[:8000], 0.25, atol=QUANTUM)
    assert np.allclose(data[8000:], -0.25, atol=QUANTUM)


def test_a_late_block_inside_a_reply_is_placed_after_silence_small_jitter_is_not(tmp_path: Path) -> None:
    reply = np.full(1600 * 4, 0.25, np.float32)  # four 0.1 s blocks
    for late, expected_gap in ((0.005, 0.0), (0.2, 0.6)):
        path = tmp_path / f"late-{late}.wav"
        sink = WavSink(path, sample_rate=16000)
        feed(sink, [*blocks(0, reply, 16000, start=0.0, late=late), finished(0)])
        sink.close()
        data, _ = read(path)
        assert data.size == pytest.approx(reply.size + expected_gap * 16000, abs=2)
        quiet = np.abs(data) < 0.01
        assert np.count_nonzero(quiet) == pytest.approx(expected_gap * 16000, abs=40)  # filter ramps at gap edges


def test_failed_reply_keeps_its_tail_and_close_writes_the_tail_of_an_unfinished_one(tmp_path: Path) -> None:
    reply = tone(0.3, 16000)
    whole = resample(reply, 16000, 22050)
    sink = WavSink(tmp_path / "out.wav", sample_rate=22050, aligned=False)
    feed(sink, [*blocks(0, reply, 16000, start=0.0), ReplyFailed(reply_id=0, error_type="E", message="", at=0.0)])
    feed(sink, blocks(1, reply, 16000, start=1.0))
    sink.close()
    sink.close()  # idempotent
    data, _ = read(tmp_path / "out.wav")
    assert data.size == 2 * whole.size


def test_wav_killed_mid_session_reads_up_to_the_last_block(tmp_path: Path) -> None:
    """A process killed without close() leaves a valid WAV: libsndfile rewrote the header after each write."""
    path = tmp_path / "crash.wav"
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from audiointeract.events import ReplyAudio, ReplyFinished
        from audiointeract.sinks import WavSink
        sink = WavSink({str(path)!r}, sample_rate=22050)
        samples = np.full(1600, 0.25, np.float32)
        for reply_id, start in ((0, 0.5), (1, 2.0)):
            for k in range(10):
                sink.on_event(ReplyAudio(reply_id=reply_id, play_at=start + k * 0.1, duration=0.1,
                                         sample_rate=16000, at=0.0, samples=samples), at=0.0, heard=0.0)
            if reply_id == 0:
                sink.on_event(ReplyFinished(reply_id=0, text="", at=0.0), at=0.0, heard=0.0)
        print(round(sink.seconds_written * 22050), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == -9, result.stderr
    written = int(result.stdout)
    data, rate = read(path)
    assert rate == 22050
    assert data.size == written
    assert written > 2.0 * 22050 + 0.9 * 22050  # reply 1 is there except the resampler's held-back tail
    assert np.allclose(data[round(0.5 * 22050) + 100 : 1 * 22050], 0.25, atol=1e-3)
    assert np.allclose(data[round(2.0 * 22050) + 100 : written - 100], 0.25, atol=1e-3)


def test_wav_memory_stays_flat_over_30_minutes_of_reply_audio(tmp_path: Path) -> None:
    """Traced memory after each 5 minutes of session: a leak grows in every interval, a one-off cache once."""
    sink = WavSink(tmp_path / "long.wav", sample_rate=8000)
    reply = tone(2.0, 16000)

    def five_minutes(first: int) -> None:
        for reply_id in range(first, first + 75):  # a 2 s reply every 4 s
            feed(sink, [*blocks(reply_id, reply, 16000, start=4.0 * reply_id), finished(reply_id)])

    five_minutes(0)  # warm up
    tracemalloc.start()
    try:
        traced = []
        for interval in range(1, 7):
            five_minutes(75 * interval)
            traced.append(tracemalloc.get_traced_memory()[0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sink.close()
    growth = np.diff(traced)
    assert np.median(growth) < 4 * 1024, traced  # keeping the audio would add 4.7 MB per interval
    assert traced[-1] - traced[0] < 4 * 1024 * 1024, traced
    assert peak < 8 * 1024 * 1024
    assert sf.info(tmp_path / "long.wav").duration == pytest.approx(4.0 * 524 + 2.0, abs=0.01)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing/out.wav", "folder .*missing' does not exist"),
        ("", "it is a folder"),
        ("file.txt/out.wav", ".*file.txt' is a file, not a folder"),
    ],
)
def test_bad_wav_path_fails_at_once_naming_path_and_problem(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ConfigurationError, match=f"cannot write the reply WAV .*: {message}"):
        WavSink(tmp_path / name)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_wav_in_a_read_only_folder_fails_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(ConfigurationError, match="is not writable"):
        WavSink(folder / "out.wav")


def test_wav_the_system_refuses_to_create_fails_with_its_reason() -> None:
    with pytest.raises(ConfigurationError, match=r"cannot write the reply WAV '/proc/out.wav': .+"):
        WavSink("/proc/out.wav")


# ----------------------------------------------------------------------------- PCM


def test_pcm_sink_resamples_each_reply_as_one_stream_and_drops_a_cancelled_tail() -> None:
    out = Bytes()
    sink = PcmSink(out, sample_rate=22050)  # type: ignore[arg-type]
    reply = tone(0.5, 16000)
    feed(sink, [*blocks(0, reply, 16000, start=0.0), finished(0)])
    pcm = np.frombuffer(out.data, "<i2").astype(np.float32) / 32767
    whole = resample(reply, 16000, 22050)
    assert pcm.size == whole.size
    assert np.max(np.abs(pcm - whole)) <= QUANTUM
    feed(sink, [*blocks(1, reply, 16000, start=1.0), cancelled(1)])
    sink.close()
    assert whole.size < len(out.data) // 2 < 2 * whole.size


class Bytes:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def flush(self) -> None:
        pass


def test_acknowledgements_are_streams_of_their_own_even_with_the_same_id_as_a_reply() -> None:
    out = Bytes()
    sink = PcmSink(out, sample_rate=22050)  # type: ignore[arg-type]
    ack, reply = tone(0.2, 16000, freq=300), tone(0.5, 16000)
    feed(sink, [*blocks(0, ack, 16000, start=0.0, backchannel=True), BackchannelEnded(backchannel_id=0, cancelled=False, at=0.0)])
    assert len(out.data) // 2 == resample(ack, 16000, 22050).size  # its tail was written when it ended
    out.data = b""
    interleaved = [e for pair in zip(blocks(0, reply, 16000, start=1.0), blocks(0, ack, 16000, start=1.0, backchannel=True),
                                     strict=False) for e in pair]
    interleaved += list(blocks(0, reply, 16000, start=1.0))[len(interleaved) // 2 :]
    feed(sink, [*interleaved, BackchannelEnded(backchannel_id=0, cancelled=True, at=0.0, reason="barge-in"), finished(0)])
    ack_without_tail = StreamResampler(16000, 22050).process(ack).size
    assert len(out.data) // 2 == resample(reply, 16000, 22050).size + ack_without_tail
    assert describe_event(BackchannelStarted(backchannel_id=3, decision_id=1, text="mm-hm", at=0.0)) == "backchannel 3: 'mm-hm'"
    assert describe_event(BackchannelEnded(backchannel_id=3, cancelled=True, at=0.0, reason="reply")) == (
        "backchannel 3 cancelled (reply)"
    )


# ----------------------------------------------------------------------------- sound card


class FakeOutputStream:
    """Stands in for a PortAudio stream: calls the callback from its own thread, as PortAudio does.

    ``pull(n)`` has the device thread ask for ``n`` blocks of ``blocksize`` frames (and waits
    until it did); ``free_running`` makes it pull continuously, like a device, until stopped.
    """

    def __init__(self, *, sample_rate: int, device: int | str | None, callback: PlaybackCallback,
                 blocksize: int = 480, free_running: bool = False) -> None:
        self.sample_rate, self.device, self.callback, self.blocksize = sample_rate, device, callback, blocksize
        self.free_running = free_running
        self.played: list[np.ndarray] = []
        self.callback_threads: set[int] = set()
        self.stopped = self.closed = False
        self._requests: queue.Queue[int | None] = queue.Queue()
        self._done: queue.Queue[int] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="fake-portaudio", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def pull(self, blocks: int) -> np.ndarray:
        before = len(self.played)
        self._requests.put(blocks)
        self._done.get(timeout=10)
        return np.concatenate(self.played[before:])

    def stop(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=10)
        self.stopped = True

    def close(self) -> None:
        self.closed = True

    def _run(self) -> None:
        while True:
            try:
                request = self._requests.get(timeout=0.001) if self.free_running else self._requests.get()
            except queue.Empty:
                request = 1
            if request is None:
                return
            for _ in range(request):
                out = np.full((self.blocksize, 1), np.nan, np.float32)
                self.callback(out, self.blocksize, None, None)
                self.callback_threads.add(threading.get_ident())
                self.played.append(out[:, 0].copy())
            if not self.free_running:
                self._done.put(request)


def sound_card(**options: Any) -> tuple[SoundCardSink, FakeOutputStream]:
    streams: list[FakeOutputStream] = []
    free_running = options.pop("free_running", False)

    def factory(*, sample_rate: int, device: int | str | None, callback: PlaybackCallback) -> FakeOutputStream:
        streams.append(FakeOutputStream(sample_rate=sample_rate, device=device, callback=callback,
                                        free_running=free_running))
        return streams[0]

    options.setdefault("sample_rate", 48000)
    sink = SoundCardSink(stream_factory=factory, device="speakers", **options)
    return sink, streams[0]


def test_sound_card_plays_the_reply_resampled_after_the_preroll_from_the_device_thread() -> None:
    sink, stream = sound_card(preroll_seconds=0.05)
    reply = tone(0.5, 16000)
    feed(sink, [*blocks(0, reply, 16000, start=0.0), finished(0)])
    played = stream.pull(70)  # 0.7 s at 48 kHz
    sink.close()
    whole = resample(reply, 16000, 48000)
    assert not np.isnan(played).any()
    assert np.max(np.abs(played[:2400])) == 0.0  # 50 ms pre-roll
    assert np.max(np.abs(played[2400 : 2400 + whole.size] - whole)) <= 1e-6
    assert np.max(np.abs(played[2400 + whole.size :])) == 0.0
    assert stream.callback_threads == {stream._thread.ident} != {threading.get_ident()}
    assert stream.device == "speakers"
    assert stream.stopped
    assert stream.closed
    assert sink.statistics() == PlaybackStatistics(overruns=0, dropped_seconds=0.0, underruns=0)


def test_sound_card_on_event_never_waits_for_the_device_and_counts_overruns() -> None:
    sink, _ = sound_card(buffer_seconds=1.0)  # the device never pulls
    worker = threading.Thread(target=feed, args=(sink, list(blocks(0, tone(3.0, 48000), 48000, start=0.0))))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "on_event blocked on a device that does not play"
    stats = sink.statistics()
    assert stats.overruns == 20  # 30 blocks of 0.1 s into a 1 s buffer
    assert stats.dropped_seconds == pytest.approx(2.0)
    sink.on_event(cancelled(0), at=0.0, heard=0.0)
    sink.close()


def test_sound_card_cancel_silences_the_buffer_at_once() -> None:
    sink, stream = sound_card()
    feed(sink, blocks(0, tone(2.0, 48000), 48000, start=0.0))
    assert np.max(np.abs(stream.pull(20))) > 0.4  # preroll (0.1 s), then the reply
    sink.on_event(cancelled(0), at=0.0, heard=0.0)
    assert np.max(np.abs(stream.pull(1))) == 0.0  # the very next callback is silent
    sink.close()
    assert sink.statistics().underruns == 0


def test_sound_card_counts_underruns_only_while_a_reply_is_arriving() -> None:
    sink, stream = sound_card(preroll_seconds=0.0)
    feed(sink, blocks(0, tone(0.1, 48000), 48000, start=0.0))
    stream.pull(20)  # 0.1 s played, then the buffer runs dry while the reply goes on
    assert sink.statistics().underruns == 1
    feed(sink, [*blocks(0, tone(0.1, 48000), 48000, start=0.2), finished(0)])
    stream.pull(20)  # the reply ended: running dry now is not an underrun
    sink.close()
    assert sink.statistics().underruns == 1


def test_sound_card_close_plays_out_the_buffer_then_stops() -> None:
    sink, stream = sound_card(free_running=True)
    feed(sink, [*blocks(0, tone(0.3, 48000), 48000, start=0.0), finished(0)])
    sink.close()
    played = np.concatenate(stream.played)
    assert np.count_nonzero(played) > 0.29 * 48000
    assert stream.stopped
    assert stream.closed


def test_sound_card_bad_options_and_missing_sounddevice(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="buffer_seconds"):
        sound_card(buffer_seconds=0.0)
    with pytest.raises(ConfigurationError, match="preroll_seconds"):
        sound_card(buffer_seconds=1.0, preroll_seconds=1.0)
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(BackendUnavailable, match="audio-out"):
        SoundCardSink()


def test_sound_card_plays_through_real_portaudio_on_the_alsa_null_device(tmp_path: Path) -> None:
    """The default stream factory against the real library: PortAudio's ALSA host on a null device."""
    try:
        import sounddevice  # noqa: F401, PLC0415 - only to know whether it is installed
    except (ImportError, OSError):
        pytest.skip("sounddevice and the PortAudio library (extra audio-out, libportaudio2) are not installed")
    (tmp_path / ".asoundrc").write_text("pcm.!default {\n  type null\n}\n")
    script = textwrap.dedent("""
        import numpy as np
        from audiointeract.events import ReplyAudio, ReplyFinished
        from audiointeract.sinks import SoundCardSink
        sink = SoundCardSink(sample_rate=48000)
        for k in range(5):
            sink.on_event(ReplyAudio(reply_id=0, play_at=k * 0.1, duration=0.1, sample_rate=22050, at=0.0,
                                     samples=np.full(2205, 0.1, np.float32)), at=0.0, heard=0.0)
        sink.on_event(ReplyFinished(reply_id=0, text="", at=0.0), at=0.0, heard=0.0)
        drained = sink._buffer.wait_empty(5.0)
        sink.close()
        stats = sink.statistics()
        print(drained, stats.overruns, stats.dropped_seconds)
    """)
    env = {**os.environ, "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env=env, check=False)
    assert result.returncode == 0, result.stderr
    # the null device plays faster than real time, so underruns may happen; nothing is dropped
    assert result.stdout.split() == ["True", "0", "0.0"]


# ----------------------------------------------------------------------------- in a session


class ToneResponder(Responder):
    """Speaks a 1 s 440 Hz tone at 22.05 kHz, in one delta."""

    async def respond(self, request: ResponseRequest) -> AsyncIterator[ResponseDelta]:
        yield TextDelta(text="tone")
        yield AudioDelta(samples=tone(1.0, 22050), sample_rate=22050)


def activity(at: float, speaking: bool) -> SpeechActivity:
    return SpeechActivity(span_start=max(0.0, at - 0.4), span_end=at, speaking=speaking, source="scripted")


@pytest.mark.anyio
async def test_wav_of_a_session_lines_up_with_the_reply_audio_events(tmp_path: Path) -> None:
    perceiver = ScriptedPerceiver([activity(1.0, True), activity(2.0, False)])
    sink = WavSink(tmp_path / "session.wav", sample_rate=16000)
    trace = await Session(perceiver, TurnEndDecider(), ToneResponder(), observers=[sink]).run(
        ArraySource(np.zeros(16000 * 5, np.float32), 16000)
    )
    first = trace.of_type(ReplyAudio)[0]
    data, _ = read(tmp_path / "session.wav")
    start = round(first.play_at * 16000)
    expected = resample(tone(1.0, 22050), 22050, 16000)
    assert np.max(np.abs(data[:start])) == 0.0
    assert np.max(np.abs(data[start : start + expected.size] - expected)) <= QUANTUM
    assert data.size == start + expected.size
