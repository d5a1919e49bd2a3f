"""Sinks: observers that show or play what the session does.

* :class:`ConsoleTimeline` prints a live, one-line-per-event timeline.
* :class:`WavSink` writes the agent's reply audio on the session timeline to a WAV file.
* :class:`PcmSink` writes reply audio as raw little-endian int16 PCM to a binary stream.
* :class:`SoundCardSink` plays reply audio with ``sounddevice`` (optional extra ``audio-out``).

Reply audio arrives in short blocks at its play time; a cancelled reply simply
sends no more blocks, so every sink stops within one block of the cancel.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import numpy as np

from audiointeract.audio import FloatArray, resample
from audiointeract.errors import BackendUnavailable, ConfigurationError
from audiointeract.events import (
    BackendErrorEvent,
    Decision,
    DecisionIgnored,
    Event,
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

__all__ = ["ConsoleTimeline", "PcmSink", "SoundCardSink", "WavSink", "describe_event"]


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
    elif isinstance(event, BackendErrorEvent):
        what = f"{event.error_type}: {event.message}"
        text = f"{event.component} error ({event.handling}, attempt {event.attempt}): {what}"
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


class WavSink(Observer):
    """Writes reply audio to a mono WAV at ``sample_rate``, placed at its play time.

    With ``aligned=True`` silence fills the time between replies, so the file lines up
    with the input stream; otherwise replies are concatenated.
    """

    def __init__(self, path: str | Path, *, sample_rate: int = 22050, aligned: bool = True) -> None:
        self.path = Path(path)
        if not self.path.parent.exists():
            raise ConfigurationError(f"cannot write {str(self.path)!r}: folder does not exist")
        self._rate = sample_rate
        self._aligned = aligned
        self._pieces: list[tuple[float, FloatArray]] = []
        self.seconds_written = 0.0

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio) and event.samples is not None:
            self._pieces.append((event.play_at, resample(event.samples, event.sample_rate, self._rate)))

    def close(self) -> None:
        import soundfile  # noqa: PLC0415 - only needed when writing

        if self._aligned and self._pieces:
            end = max(start + piece.size / self._rate for start, piece in self._pieces)
            track = np.zeros(round(end * self._rate) + 1, dtype=np.float32)
            for start, piece in self._pieces:
                offset = round(start * self._rate)
                track[offset : offset + piece.size] = piece[: track.size - offset]
        else:
            track = np.concatenate([p for _, p in self._pieces]) if self._pieces else np.zeros(0, np.float32)
        soundfile.write(str(self.path), track, self._rate, subtype="PCM_16")
        self.seconds_written = track.size / self._rate


class PcmSink(Observer):
    """Writes each reply audio block as raw int16 PCM (at ``sample_rate``) to a binary stream."""

    def __init__(self, stream: BinaryIO | None = None, *, sample_rate: int = 16000) -> None:
        self._stream = stream or sys.stdout.buffer
        self._rate = sample_rate

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio) and event.samples is not None:
            samples = resample(event.samples, event.sample_rate, self._rate)
            self._stream.write((samples * 32767.0).astype("<i2").tobytes())
            self._stream.flush()


class SoundCardSink(Observer):
    """Plays reply audio on an output device; a cancelled reply's buffered audio is dropped at once."""

    def __init__(self, *, device: int | str | None = None) -> None:
        try:
            import sounddevice  # noqa: PLC0415 - optional extra
        except ImportError as exc:
            raise BackendUnavailable("sound card output", "audio-out", "sounddevice") from exc
        self._sd: Any = sounddevice
        self._device = device
        self._stream: Any = None

    def on_event(self, event: Event, *, at: float, heard: float) -> None:
        if isinstance(event, ReplyAudio) and event.samples is not None:
            if self._stream is None or self._stream.samplerate != event.sample_rate:
                self.close()
                self._stream = self._sd.OutputStream(
                    samplerate=event.sample_rate, channels=1, dtype="float32", device=self._device
                )
                self._stream.start()
            self._stream.write(event.samples.reshape(-1, 1))
        elif isinstance(event, ReplyCancelled) and self._stream is not None:
            self._stream.abort()  # drops what is buffered: the barge-in is heard at once
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None
