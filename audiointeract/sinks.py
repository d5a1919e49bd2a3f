"""Sinks: observers that show or play what the session does.

* :class:`ConsoleTimeline` prints a live, one-line-per-event timeline.
* :class:`WavSink` streams the agent's reply audio to a WAV file, placed on the session timeline.
* :class:`PcmSink` writes reply audio as raw little-endian int16 PCM to a binary stream.
* :class:`SoundCardSink` plays reply audio from the sound card's own callback
  (``sounddevice``, optional extra ``audio-out``).

Reply audio arrives in short blocks at its play time; a cancelled reply simply
sends no more blocks, so every sink stops within one block of the cancel. Every
``ReplyAudio`` is played, a reply's and an acknowledgement's (``backchannel``) alike.
Each reply or acknowledgement is resampled to the sink's rate as one continuous
stream (one :class:`~audiointeract.audio.StreamResampler` each, so block edges do
not click); the resampler's held-back tail is written when it finishes or fails and
dropped when it is cancelled. No sink keeps audio that it has written.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TextIO

import attrs
import numpy as np
import numpy.typing as npt

from audiointeract.audio import FloatArray, StreamResampler
from audiointeract.errors import BackendUnavailable, ConfigurationError
from audiointeract.events import (
    BackchannelEnded,
    BackchannelStarted,
    BackendErrorEvent,
    Decision,
    DecisionIgnored,
    Event,
    InputWarning,
    ReplyAudio,
    ReplyCancelled,
    ReplyFailed,
    ReplyFinished,
    ReplyStarted,
    ReplyText,
    SessionEnded,
    SoundEvent,
    SpeechActivity,
    TranscriptUpdate,
)
from audiointeract.interfaces import Observer

__all__ = [
    "ConsoleTimeline",
    "OutputStream",
    "PcmSink",
    "PlaybackCallback",
    "PlaybackStatistics",
    "SoundCardSink",
    "StreamFactory",
    "WavSink",
    "describe_event",
    "sounddevice_stream",
]

_EMPTY: FloatArray = np.zeros(0, dtype=np.float32)

_Voice = tuple[bool, int]
"""One stream of reply audio: (backchannel, id); replies and acknowledgements are numbered apart."""


def describe_event(event: Event) -> str | None:
    """A short human description of an event, or None for routine events (audio, SILENT)."""
    text: str | None = None
    if isinstance(event, SpeechActivity):
        text = f"speech {'started' if event.speaking else 'ended'} @{event.span_end:.2f}s"
    elif isinstance(event, TranscriptUpdate):
        if event.committed or event.tentative:
            tail = f" …{event.tentative}" if event.tentative else ""
            text = f"heard: {event.committed!r}{tail}"
    elif isinstance(event, SoundEvent):
        text = f"sound: {event.label} ({event.score:.2f}) @{event.span_start:.2f}-{event.span_end:.2f}s"
    elif isinstance(event, Decision):
        if event.action.value != "silent":
            text = f"decide {event.action.value.upper()} task={event.task} score={event.score:.2f}: {event.reason}"
    elif isinstance(event, DecisionIgnored):
        text = f"ignored {event.action.value} #{event.decision_id}: {event.reason}"
    elif isinstance(event, ReplyStarted):
        text = f"reply {event.reply_id} started (task={event.task})"
    elif isinstance(event, ReplyText):
        text = f"reply {event.reply_id} text: {event.text!r}"
    elif isinstance(event, ReplyFinished):
        text = f"reply {event.reply_id} finished: {event.text.strip()!r}"
    elif isinstance(event, ReplyCancelled):
        lag = event.carried_out_at - event.requested_at
        text = f"reply {event.reply_id} cancelled ({event.reason}); carried out after {lag * 1000:.0f} ms"
    elif isinstance(event, ReplyFailed):
        text = f"reply {event.reply_id} failed: {event.error_type}: {event.message}"
    elif isinstance(event, BackchannelStarted):
        text = f"backchannel {event.backchannel_id}: {event.text!r}"
    elif isinstance(event, BackchannelEnded) and event.cancelled:
        text = f"backchannel {event.backchannel_id} cancelled ({event.reason})"
    elif isinstance(event, BackendErrorEvent):
        what = f"{event.error_type}: {event.message}"
        text = f"{event.component} error ({event.handling}, attempt {event.attempt}): {what}"
    elif isinstance(event, InputWarning):
        text = f"input warning ({event.code}): {event.message}"
    elif isinstance(event, SessionEnded):
        text = f"session ended: {event.reason} (heard {event.heard_until:.2f}s)"
    return text


class ConsoleTimeline(Observer):
    """Prints ``[session time | stream time] description`` for each notable event.

    Reply text is printed as it streams, on one line per reply.
    """

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._streaming: int | None = None

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyText):
            if self._streaming != event.reply_id:
                self._line(at, heard, f"reply {event.reply_id}: ", end="")
                self._streaming = event.reply_id
            self._out.write(event.text)
            self._out.flush()
            return
        description = describe_event(event)
        if description is None:
            return
        if self._streaming is not None:
            self._out.write("\n")
            self._streaming = None
        self._line(at, heard, description)

    def _line(self, at: float, heard: float, text: str, end: str = "\n") -> None:
        self._out.write(f"[{at:8.2f}s | {heard:8.2f}s] {text}{end}")
        self._out.flush()

    def close(self) -> None:
        if self._streaming is not None:
            self._out.write("\n")
            self._streaming = None



def _check_rate(rate: int) -> int:
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise ConfigurationError(f"sample_rate must be a positive whole number of Hz, got {rate!r}")
    return rate


def _voice(event: ReplyAudio) -> _Voice:
    return (event.backchannel, event.reply_id)


def _ending(event: Event) -> tuple[_Voice, bool] | None:
    """The voice an event ends, and whether its held-back tail still plays (not when cancelled)."""
    if isinstance(event, ReplyFinished | ReplyFailed):
        return (False, event.reply_id), True
    if isinstance(event, ReplyCancelled):
        return (False, event.reply_id), False
    if isinstance(event, BackchannelEnded):
        return (True, event.backchannel_id), not event.cancelled
    return None


class _VoiceResamplers:
    """One :class:`StreamResampler` per voice in progress, so each is resampled without clicks."""

    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._open: dict[_Voice, StreamResampler] = {}

    def process(self, voice: _Voice, sample_rate: int, samples: FloatArray) -> FloatArray:
        """Resample the next block of a voice (a new source rate mid-way starts a new resampler)."""
        resampler = self._open.get(voice)
        if resampler is not None and resampler.source_rate == sample_rate:
            return resampler.process(samples)
        fresh = StreamResampler(sample_rate, self._rate)
        self._open[voice] = fresh
        if resampler is None:
            return fresh.process(samples)
        return np.concatenate([resampler.flush(), fresh.process(samples)])

    def finish(self, voice: _Voice) -> FloatArray:
        """The held-back tail of a voice that ended; the voice is forgotten."""
        resampler = self._open.pop(voice, None)
        return _EMPTY if resampler is None else resampler.flush()

    def drop(self, voice: _Voice) -> None:
        """Forget a cancelled voice together with its held-back tail."""
        self._open.pop(voice, None)

    def open_voices(self) -> list[_Voice]:
        """Voices that sent audio and have not ended yet."""
        return list(self._open)


# ----------------------------------------------------------------------------- WAV

_SFC_SET_UPDATE_HEADER_AUTO = 0x1061  # libsndfile: rewrite the header after every write
_MAX_DRIFT_SECONDS = 0.02
"""A reply block that starts this much later than the audio before it ended is placed after silence."""


def _wav_path_problem(path: Path) -> str | None:
    """Why ``path`` cannot take a new WAV file, or None if it looks writable."""
    folder = path.parent
    if path.is_dir():
        return f"it is a folder; give a file name such as {str(path / 'replies.wav')!r}"
    if not folder.exists():
        return f"folder {str(folder)!r} does not exist; create it first or choose another path"
    if not folder.is_dir():
        return f"{str(folder)!r} is a file, not a folder"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file exists and is not writable; change its permissions or choose another path"
    if not path.exists() and not os.access(folder, os.W_OK):
        return f"folder {str(folder)!r} is not writable; choose another path"
    return None


def _open_wav(path: Path, rate: int) -> Any:
    """Create a mono 16-bit WAV whose header libsndfile keeps current after every write."""
    import soundfile  # noqa: PLC0415 - only needed when writing

    problem = _wav_path_problem(path)
    if problem is not None:
        raise ConfigurationError(f"cannot write the reply WAV {str(path)!r}: {problem}")
    try:
        wav = soundfile.SoundFile(str(path), "w", samplerate=rate, channels=1, subtype="PCM_16", format="WAV")
    except (OSError, RuntimeError) as exc:  # libsndfile's errors derive from RuntimeError
        raise ConfigurationError(f"cannot write the reply WAV {str(path)!r}: {exc}") from exc
    # soundfile has no public switch for this; its cffi handle reaches libsndfile's sf_command
    soundfile._snd.sf_command(wav._file, _SFC_SET_UPDATE_HEADER_AUTO, soundfile._ffi.NULL, 1)  # noqa: SLF001
    return wav


@attrs.define
class _Placement:
    """Where one reply's audio goes in an aligned WAV."""

    next_frame: int
    """File frame of the reply's next resampled sample."""
    start: float
    """Play time of the reply's first sample (session seconds)."""
    fed_seconds: float = 0.0
    """Reply audio (and gap silence) given to the resampler so far."""


class WavSink(Observer):
    """Streams reply audio to a mono 16-bit WAV at ``sample_rate``, placed at its play time.

    The file is created when the sink is made, so a bad path fails before the session
    starts, and audio is written as it plays: memory does not grow with the session.
    libsndfile rewrites the header after every write, so a process killed mid-session
    leaves a WAV that reads up to the last block written; :meth:`close` finalises it.

    With ``aligned=True`` silence fills the time before and between replies, so the file
    lines up with the session timeline (a reply block that plays more than 20 ms late is
    placed after silence too; a reply that starts before the previous one's audio ended
    overwrites that audio, as a barge-in cuts playback). With ``aligned=False`` replies
    are concatenated.
    """

    def __init__(self, path: str | Path, *, sample_rate: int = 22050, aligned: bool = True) -> None:
        self.path = Path(path)
        self._rate = _check_rate(sample_rate)
        self._aligned = aligned
        self._file = _open_wav(self.path, sample_rate)
        self._resamplers = _VoiceResamplers(sample_rate)
        self._placements: dict[_Voice, _Placement] = {}
        self._frames = 0  # length of the file's audio
        self._position = 0  # frame the next write lands on

    @property
    def seconds_written(self) -> float:
        """Length of the audio in the file so far, in seconds."""
        return self._frames / self._rate

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio) and event.samples is not None:
            self._play(event, event.samples)
        elif (ending := _ending(event)) is not None:
            voice, keep_tail = ending
            if keep_tail:
                self._write_voice(voice, self._resamplers.finish(voice))
            else:
                self._resamplers.drop(voice)
            self._placements.pop(voice, None)

    def close(self) -> None:
        """Write the tails of voices still playing and finalise the WAV header (idempotent)."""
        if self._file.closed:
            return
        for voice in self._resamplers.open_voices():
            self._write_voice(voice, self._resamplers.finish(voice))
        self._placements.clear()
        self._file.close()

    def _play(self, event: ReplyAudio, samples: FloatArray) -> None:
        voice = _voice(event)
        if self._aligned:
            placement = self._placements.get(voice)
            if placement is None:
                self._placements[voice] = _Placement(next_frame=round(event.play_at * self._rate), start=event.play_at)
            else:
                late = event.play_at - (placement.start + placement.fed_seconds)
                if late > _MAX_DRIFT_SECONDS:
                    self._feed_silence(voice, event.sample_rate, late)
        self._write_voice(voice, self._resamplers.process(voice, event.sample_rate, samples))
        if self._aligned:
            self._placements[voice].fed_seconds += samples.size / event.sample_rate

    def _feed_silence(self, voice: _Voice, sample_rate: int, seconds: float) -> None:
        """Pass a gap inside a reply through its resampler, one second at a time."""
        remaining = round(seconds * sample_rate)
        self._placements[voice].fed_seconds += remaining / sample_rate
        while remaining > 0:
            size = min(remaining, sample_rate)
            silence = np.zeros(size, dtype=np.float32)
            self._write_voice(voice, self._resamplers.process(voice, sample_rate, silence))
            remaining -= size

    def _write_voice(self, voice: _Voice, samples: FloatArray) -> None:
        placement = self._placements.get(voice) if self._aligned else None
        if placement is None:
            self._write_at(self._frames, samples)
            return
        self._write_at(placement.next_frame, samples)
        placement.next_frame += samples.size

    def _write_at(self, frame: int, samples: FloatArray) -> None:
        if samples.size == 0:
            return
        if frame > self._frames:  # silence from the end of the file up to ``frame``
            self._seek(self._frames)
            while self._position < frame:
                self._file.write(np.zeros(min(frame - self._position, self._rate), dtype=np.float32))
                self._position = min(frame, self._position + self._rate)
        else:
            self._seek(frame)
        self._file.write(samples)
        self._position += samples.size
        self._frames = max(self._frames, self._position)

    def _seek(self, frame: int) -> None:
        if frame != self._position:
            self._file.seek(frame)
            self._position = frame


# ----------------------------------------------------------------------------- PCM


class PcmSink(Observer):
    """Writes reply audio as raw int16 PCM (at ``sample_rate``) to a binary stream as it plays."""

    def __init__(self, stream: BinaryIO | None = None, *, sample_rate: int = 16000) -> None:
        self._stream = stream or sys.stdout.buffer
        self._resamplers = _VoiceResamplers(_check_rate(sample_rate))

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio) and event.samples is not None:
            self._write(self._resamplers.process(_voice(event), event.sample_rate, event.samples))
        elif (ending := _ending(event)) is not None:
            voice, keep_tail = ending
            if keep_tail:
                self._write(self._resamplers.finish(voice))
            else:
                self._resamplers.drop(voice)

    def close(self) -> None:
        """Write the tails of voices still playing; the stream stays open (it is the caller's)."""
        for voice in self._resamplers.open_voices():
            self._write(self._resamplers.finish(voice))

    def _write(self, samples: FloatArray) -> None:
        if samples.size:
            self._stream.write((samples * 32767.0).astype("<i2").tobytes())
            self._stream.flush()


# ----------------------------------------------------------------------------- sound card

PlaybackCallback = Callable[[npt.NDArray[np.float32], int, Any, Any], None]
"""PortAudio's output callback: ``callback(outdata, frames, time, status)``, ``outdata`` (frames, 1)."""

_CLOSE_DRAIN_SECONDS = 0.5
"""How long :meth:`SoundCardSink.close` waits at most for buffered audio to play out."""


class OutputStream(Protocol):
    """The part of a ``sounddevice.OutputStream`` that :class:`SoundCardSink` uses."""

    def start(self) -> None:
        """Start calling the callback."""

    def stop(self) -> None:
        """Stop after the audio already handed to the device has played."""

    def close(self) -> None:
        """Release the device."""


class StreamFactory(Protocol):
    """Opens a mono float32 output stream that calls ``callback`` from its own thread, as PortAudio does."""

    def __call__(self, *, sample_rate: int, device: int | str | None, callback: PlaybackCallback) -> OutputStream:
        """Open (not start) the stream."""


def sounddevice_stream(*, sample_rate: int, device: int | str | None, callback: PlaybackCallback) -> OutputStream:
    """The default :class:`StreamFactory`: a ``sounddevice.OutputStream`` on ``device``."""
    try:
        import sounddevice  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise BackendUnavailable("sound card output", "audio-out", "sounddevice") from exc
    except OSError as exc:  # sounddevice is there, the PortAudio library is not
        raise ConfigurationError(
            f"sound card output needs the PortAudio library ({exc}); install it with the system's "
            "package manager (Debian/Ubuntu: apt-get install libportaudio2)"
        ) from exc
    try:
        stream: OutputStream = sounddevice.OutputStream(
            samplerate=sample_rate, channels=1, dtype="float32", device=device, callback=callback
        )
    except (sounddevice.PortAudioError, ValueError) as exc:
        raise ConfigurationError(f"cannot open sound output device {device!r} at {sample_rate} Hz: {exc}") from exc
    return stream


@attrs.frozen(kw_only=True)
class PlaybackStatistics:
    """What a :class:`SoundCardSink` could not play, so far."""

    overruns: int
    """Blocks that did not fit in the buffer; the part that did not fit was dropped."""
    dropped_seconds: float
    """Reply audio dropped by overruns, in seconds."""
    underruns: int
    """Device callbacks that ran out of audio while a reply was still arriving (a gap was heard)."""


class _PlaybackBuffer:
    """A bounded FIFO of samples: the event loop pushes, the device callback pulls.

    After running dry it plays ``preroll`` frames of silence before the next audio, a
    jitter buffer for blocks that arrive just in time.
    """

    def __init__(self, capacity: int, preroll: int) -> None:
        self._lock = threading.Lock()
        self._data = np.zeros(capacity, dtype=np.float32)
        self._head = 0  # index of the oldest sample
        self._size = 0
        self._preroll = preroll
        self._hold = 0  # silence still to play before the buffered audio
        self._idle = True
        self._streaming = False
        self._empty = threading.Event()
        self._empty.set()
        self._overruns = 0
        self._dropped = 0
        self._underruns = 0

    def push(self, samples: FloatArray) -> None:
        """Queue samples; what does not fit is dropped and counted (never waits)."""
        if samples.size == 0:
            return
        with self._lock:
            take = min(samples.size, self._data.size - self._size)
            if take < samples.size:
                self._overruns += 1
                self._dropped += samples.size - take
            tail = (self._head + self._size) % self._data.size
            first = min(take, self._data.size - tail)
            self._data[tail : tail + first] = samples[:first]
            self._data[: take - first] = samples[first:take]
            self._size += take
            if self._size:
                self._empty.clear()

    def pull(self, out: npt.NDArray[np.float32]) -> None:
        """Fill ``out`` (device thread): pre-roll silence, then buffered audio, then silence."""
        with self._lock:
            if self._idle and self._size:
                self._idle = False
                self._hold = self._preroll
            hold = min(self._hold, out.size)
            self._hold -= hold
            take = min(out.size - hold, self._size)
            out[:hold] = 0.0
            first = min(take, self._data.size - self._head)
            out[hold : hold + first] = self._data[self._head : self._head + first]
            out[hold + first : hold + take] = self._data[: take - first]
            out[hold + take :] = 0.0
            self._head = (self._head + take) % self._data.size
            self._size -= take
            if hold + take < out.size and not self._idle:
                if self._streaming:
                    self._underruns += 1
                self._idle = True
            if self._size == 0:
                self._empty.set()

    def clear(self) -> None:
        """Drop everything buffered at once."""
        with self._lock:
            self._head = self._size = self._hold = 0
            self._idle = True
            self._empty.set()

    def set_streaming(self, streaming: bool) -> None:
        """Whether a reply is still arriving (running dry then counts as an underrun)."""
        with self._lock:
            self._streaming = streaming

    def wait_empty(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until everything buffered has been pulled."""
        return self._empty.wait(timeout)

    def counts(self) -> tuple[int, int, int]:
        """(overruns, dropped samples, underruns) so far."""
        with self._lock:
            return self._overruns, self._dropped, self._underruns


class SoundCardSink(Observer):
    """Plays reply audio on an output device from the device's own callback; never blocks the loop.

    Reply audio is resampled to ``sample_rate`` and queued in a bounded buffer of
    ``buffer_seconds`` that the PortAudio callback plays from. Audio that does not fit is
    dropped and counted as an overrun (the session sent audio faster than real time, as
    with ``Pacing.FAST``); a callback that runs out while a reply is still arriving counts
    as an underrun. After running dry, playback starts ``preroll_seconds`` after the next
    audio arrives, so blocks that come a little late still play without gaps. A
    ``ReplyCancelled`` (or a cancelled acknowledgement) empties the buffer at once: a
    barge-in is heard within one device callback. :meth:`close` lets buffered audio
    play out for at most 0.5 s, then stops.

    ``stream_factory`` opens the output stream (default :func:`sounddevice_stream`);
    tests pass a fake that calls the callback from its own thread.
    """

    def __init__(
        self,
        *,
        device: int | str | None = None,
        sample_rate: int = 48000,
        buffer_seconds: float = 4.0,
        preroll_seconds: float = 0.1,
        stream_factory: StreamFactory | None = None,
    ) -> None:
        self._rate = _check_rate(sample_rate)
        if not buffer_seconds > 0:
            raise ConfigurationError(f"buffer_seconds must be > 0, got {buffer_seconds}")
        if not 0 <= preroll_seconds < buffer_seconds:
            raise ConfigurationError(f"preroll_seconds must be in [0, buffer_seconds), got {preroll_seconds}")
        self._buffer = _PlaybackBuffer(round(buffer_seconds * sample_rate), round(preroll_seconds * sample_rate))
        self._resamplers = _VoiceResamplers(sample_rate)
        self._streaming: set[_Voice] = set()
        self._stream: OutputStream | None = (stream_factory or sounddevice_stream)(
            sample_rate=sample_rate, device=device, callback=self._callback
        )
        self._stream.start()

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio) and event.samples is not None:
            self._set_streaming(_voice(event), streaming=True)
            self._buffer.push(self._resamplers.process(_voice(event), event.sample_rate, event.samples))
        elif (ending := _ending(event)) is not None:
            voice, keep_tail = ending
            if keep_tail:
                self._buffer.push(self._resamplers.finish(voice))
            else:
                self._resamplers.drop(voice)
                self._buffer.clear()
            self._set_streaming(voice, streaming=False)

    def statistics(self) -> PlaybackStatistics:
        """Overruns, dropped audio and underruns so far."""
        overruns, dropped, underruns = self._buffer.counts()
        return PlaybackStatistics(overruns=overruns, dropped_seconds=dropped / self._rate, underruns=underruns)

    def close(self) -> None:
        """Play out what is buffered (at most 0.5 s more), then stop and release the device."""
        if self._stream is None:
            return
        for voice in self._resamplers.open_voices():
            self._buffer.push(self._resamplers.finish(voice))
        self._streaming.clear()
        self._buffer.set_streaming(False)
        self._buffer.wait_empty(_CLOSE_DRAIN_SECONDS)
        stream, self._stream = self._stream, None
        stream.stop()
        stream.close()

    def _callback(self, outdata: npt.NDArray[np.float32], frames: int, time: Any, status: Any) -> None:
        self._buffer.pull(outdata[:frames, 0])

    def _set_streaming(self, voice: _Voice, *, streaming: bool) -> None:
        if streaming:
            self._streaming.add(voice)
        else:
            self._streaming.discard(voice)
        self._buffer.set_streaming(bool(self._streaming))
