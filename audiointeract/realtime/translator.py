"""One session's events as OpenAI Realtime server events (GA names), sans-IO.

:class:`Translator` is fed the session's events in order (and the client's commits and
clears) and returns the server events to send, as JSON-ready dicts. It owns the ids the
client sees (items, responses, events; counters per connection, so output is
reproducible) and the conversation bookkeeping the protocol needs: which user item the
transcript belongs to, which response is in flight and how it ended.

Mapping (session event -> server events):

* SpeechActivity start/end -> ``input_audio_buffer.speech_started`` / ``speech_stopped``
  (+ ``committed``, the user item done, ``...input_audio_transcription.completed``),
  only while turn detection is on;
* TranscriptUpdate (committed words) -> ``conversation.item.input_audio_transcription.delta``;
* ReplyStarted -> ``response.created``, ``response.output_item.added``,
  ``conversation.item.added``, ``response.content_part.added``;
* ReplyText -> ``response.output_audio_transcript.delta`` (``response.output_text.delta``
  for text-only sessions); ReplyAudio -> ``response.output_audio.delta`` (PCM16 base64,
  resampled to the output rate as one stream per response);
* ReplyFinished / ReplyCancelled / ReplyFailed -> the ``.done`` events and ``response.done``
  with status completed / cancelled (reason ``turn_detected`` or ``client_cancelled``) / failed;
* BackchannelStarted / BackchannelEnded (an acknowledgement such as "mm-hm") -> a response
  of its own, marked ``metadata.backchannel_id``, with its text and audio;
* Decision, DecisionIgnored, SoundEvent -> the extension events ``audiointeract.decision``,
  ``audiointeract.decision.ignored``, ``audiointeract.sound_event``;
* BackendErrorEvent, ChunkDropped, a failed SessionEnded -> ``error`` (type ``server_error``).
"""

from __future__ import annotations

import base64
from typing import Any

import attrs
import numpy as np

from audiointeract.audio import FloatArray, StreamResampler
from audiointeract.events import (
    BackchannelEnded,
    BackchannelStarted,
    BackendErrorEvent,
    ChunkDropped,
    Decision,
    DecisionIgnored,
    Event,
    Perception,
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
from audiointeract.realtime.controls import CLIENT_CANCEL, CLIENT_CREATE
from audiointeract.realtime.protocol import ProtocolError, SessionSettings
from audiointeract.realtime.source import Timeline

__all__ = ["Translator", "encode_pcm16"]

Message = dict[str, Any]
_REPLY = "reply"
_BACKCHANNEL = "backchannel"


def encode_pcm16(samples: FloatArray) -> str:
    """Float audio as base64 little-endian PCM16."""
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    return base64.b64encode(pcm.tobytes()).decode("ascii")


@attrs.define
class _UserItem:
    id: str
    start: float
    """Client seconds where the item's audio starts."""
    parts: list[str] = attrs.field(factory=list)
    end: float | None = None

    @property
    def transcript(self) -> str:
        return " ".join(part.strip() for part in self.parts if part.strip())


@attrs.define
class _Response:
    id: str
    item_id: str
    metadata: dict[str, str]
    speaks: bool
    output_rate: int
    parts: list[str] = attrs.field(factory=list)
    resampler: StreamResampler | None = None

    @property
    def transcript(self) -> str:
        return "".join(self.parts)

    def audio(self, samples: FloatArray, sample_rate: int) -> FloatArray:
        """The next piece of this response's audio at the output rate (one resampling stream per response)."""
        head = np.zeros(0, np.float32)
        if self.resampler is None or self.resampler.source_rate != sample_rate:
            head = self.flush()
            self.resampler = StreamResampler(sample_rate, self.output_rate)
        return np.concatenate([head, self.resampler.process(samples)])

    def flush(self) -> FloatArray:
        """The resampler's held-back tail."""
        return self.resampler.flush() if self.resampler is not None else np.zeros(0, np.float32)


class Translator:
    """Session events and client commits in, Realtime server events out; see the module docstring."""

    def __init__(self, *, session_id: str, settings: SessionSettings, timeline: Timeline | None = None) -> None:
        self.session_id = session_id
        self.settings = settings
        self.timeline = timeline or Timeline()
        self._events = 0
        self._items = 0
        self._responses = 0
        self._last_item: str | None = None
        self._user: _UserItem | None = None
        self._speech_item: str | None = None
        self._commit_at: float | None = None
        self._commit_item: str | None = None
        self._open: dict[tuple[str, int], _Response] = {}
        self._client_decisions: dict[int, str] = {}

    @property
    def response_id(self) -> str | None:
        """The id of the reply's response created and not ended yet, if any (acknowledgements aside)."""
        return next((r.id for (kind, _), r in self._open.items() if kind == _REPLY), None)

    @property
    def response_active(self) -> bool:
        """Whether a reply's response was created and has not ended yet."""
        return self.response_id is not None

    # ------------------------------------------------------------------ direct answers to the client

    def session_created(self) -> list[Message]:
        """``session.created``: the first event of every connection."""
        return [self._event("session.created", session=self.settings.to_wire(self.session_id))]

    def session_updated(self) -> list[Message]:
        """``session.updated`` with the settings as they now are."""
        return [self._event("session.updated", session=self.settings.to_wire(self.session_id))]

    def error(self, error: ProtocolError) -> Message:
        """The ``error`` event answering a client event we could not act on."""
        return self._event("error", error={"type": error.kind, "code": error.code, "message": str(error),
                                           "param": error.param, "event_id": error.event_id})

    def server_error(self, code: str, message: str) -> Message:
        """An ``error`` event for something that went wrong on our side."""
        return self._event("error", error={"type": "server_error", "code": code, "message": message,
                                           "param": None, "event_id": None})

    def committed(self, at: float) -> list[Message]:
        """``input_audio_buffer.commit`` padded the stream to ``at``: the open user item is the turn.

        Its transcript completes once the session has decided on the audio up to ``at``.
        """
        out: list[Message] = []
        if self._user is None:
            self._user = self._open_user(self.timeline.client_time(at))
            out += self._added(self._user)
        out.append(self._committed(self._user))
        self._commit_at, self._commit_item = at, self._user.id
        return out

    def cleared(self) -> list[Message]:
        """``input_audio_buffer.cleared``."""
        return [self._event("input_audio_buffer.cleared")]

    # ------------------------------------------------------------------ session events

    def on_event(self, event: Event) -> list[Message]:  # noqa: PLR0911 - one branch per event type
        """The server events for one session event (often none)."""
        if isinstance(event, SpeechActivity):
            return self._speech(event)
        if isinstance(event, TranscriptUpdate):
            return self._transcript(event)
        if isinstance(event, SoundEvent):
            return self._sound(event)
        if isinstance(event, Decision):
            return self._decision(event)
        if isinstance(event, DecisionIgnored):
            return self._ignored(event)
        if isinstance(event, ReplyStarted):
            return self._reply_started(event)
        if isinstance(event, ReplyText):
            return self._reply_text(event)
        if isinstance(event, ReplyAudio):
            return self._reply_audio(event)
        if isinstance(event, ReplyFinished | ReplyCancelled | ReplyFailed):
            return self._reply_ended(event)
        if isinstance(event, BackchannelStarted):
            return self._backchannel_started(event)
        if isinstance(event, BackchannelEnded):
            return self._backchannel_ended(event)
        if isinstance(event, BackendErrorEvent):
            return [self.server_error("backend_error", f"{event.component} failed ({event.error_type}: "
                                      f"{event.message}); handling: {event.handling}")]
        if isinstance(event, ChunkDropped):
            return [self.server_error("audio_dropped", f"the server fell behind and dropped audio "
                                      f"{self._ms(event.span_start)}-{self._ms(event.span_end)} ms ({event.reason})")]
        if isinstance(event, SessionEnded):
            return self._ended(event)
        return []

    def _speech(self, event: SpeechActivity) -> list[Message]:
        if self.settings.turn_detection is None:
            return []
        if event.speaking:
            out = self._close_user()
            item = self._open_user(self.timeline.client_time(event.span_start))
            self._user, self._speech_item = item, item.id
            out += [self._event("input_audio_buffer.speech_started", audio_start_ms=self._ms(event.span_start),
                                item_id=item.id), *self._added(item)]
            return out
        item_id = self._speech_item or self._next_item_id()
        out = [self._event("input_audio_buffer.speech_stopped", audio_end_ms=self._ms(event.span_end),
                           item_id=item_id)]
        self._speech_item = None
        if self._user is not None and self._user.id == item_id:
            self._user.end = self.timeline.client_time(event.span_end)
            out += [self._committed(self._user), *self._close_user()]
        return out

    def _transcript(self, event: TranscriptUpdate) -> list[Message]:
        if not event.committed.strip():
            return []
        out: list[Message] = []
        if self._user is None:
            self._user = self._open_user(self.timeline.client_time(event.span_start))
            out += self._added(self._user)
        delta = event.committed.strip()
        if self._user.parts:
            delta = " " + delta
        self._user.parts.append(event.committed)
        self._user.end = self.timeline.client_time(event.span_end)
        out.append(self._event("conversation.item.input_audio_transcription.delta", item_id=self._user.id,
                               content_index=0, delta=delta))
        return out

    def _sound(self, event: SoundEvent) -> list[Message]:
        if not self.settings.decisions:
            return []
        return [self._event("audiointeract.sound_event", label=event.label, score=round(event.score, 4),
                            audio_start_ms=self._ms(event.span_start), audio_end_ms=self._ms(event.span_end))]

    def _decision(self, decision: Decision) -> list[Message]:
        out: list[Message] = []
        if decision.reason in (CLIENT_CREATE, CLIENT_CANCEL) and decision.id is not None:
            self._client_decisions[decision.id] = decision.reason
        heard = decision.heard_until if decision.heard_until is not None else 0.0
        if self._commit_at is not None and heard >= self._commit_at - 1e-6:
            if self._user is not None and self._user.id == self._commit_item:
                out += self._close_user()
            self._commit_at = self._commit_item = None
        if self.settings.decisions:
            out.append(self._event(
                "audiointeract.decision",
                decision_id=decision.id,
                action=decision.action.value,
                task=decision.task,
                score=round(decision.score, 4),
                reason=decision.reason,
                audio_end_ms=self._ms(heard),
                evidence=[self._evidence(p) for p in decision.evidence],
            ))
        return out

    def _ignored(self, event: DecisionIgnored) -> list[Message]:
        out: list[Message] = []
        if self._client_decisions.pop(event.decision_id, None) == CLIENT_CREATE:
            out.append(self.server_error("response_not_started",
                                         f"response.create was not carried out: {event.reason}"))
        if self.settings.decisions:
            out.append(self._event("audiointeract.decision.ignored", decision_id=event.decision_id,
                                   action=event.action.value, reason=event.reason))
        return out

    def _reply_started(self, event: ReplyStarted) -> list[Message]:
        out = self._close_user()
        metadata = {"decision_id": str(event.decision_id), "reply_id": str(event.reply_id)}
        return out + self._open_response((_REPLY, event.reply_id), metadata)

    def _backchannel_started(self, event: BackchannelStarted) -> list[Message]:
        key = (_BACKCHANNEL, event.backchannel_id)
        out = self._open_response(key, {"decision_id": str(event.decision_id),
                                        "backchannel_id": str(event.backchannel_id)})
        return out + self._text(self._open[key], event.text)

    def _open_response(self, key: tuple[str, int], metadata: dict[str, str]) -> list[Message]:
        self._responses += 1
        response = _Response(id=f"resp_{self._responses}", item_id=self._next_item_id(), metadata=metadata,
                             speaks=self.settings.speaks, output_rate=self.settings.output_rate)
        self._open[key] = response
        item = self._assistant_item(response, "in_progress")
        out = [
            self._event("response.created", response=self._response_object(response, "in_progress", None, [])),
            self._event("response.output_item.added", response_id=response.id, output_index=0, item=item),
            self._event("conversation.item.added", previous_item_id=self._last_item, item=item),
            self._event("response.content_part.added", response_id=response.id, item_id=response.item_id,
                        output_index=0, content_index=0, part=self._part(response)),
        ]
        self._last_item = response.item_id
        return out

    def _reply_text(self, event: ReplyText) -> list[Message]:
        response = self._open.get((_REPLY, event.reply_id))
        return [] if response is None else self._text(response, event.text)

    def _text(self, response: _Response, text: str) -> list[Message]:
        response.parts.append(text)
        kind = "response.output_audio_transcript.delta" if response.speaks else "response.output_text.delta"
        return [self._event(kind, **self._where(response), delta=text)]

    def _reply_audio(self, event: ReplyAudio) -> list[Message]:
        response = self._open.get((_BACKCHANNEL if event.backchannel else _REPLY, event.reply_id))
        if response is None or not response.speaks or event.samples is None:
            return []
        return self._audio(response, response.audio(event.samples, event.sample_rate))

    def _audio(self, response: _Response, samples: FloatArray) -> list[Message]:
        if not samples.size:
            return []
        return [self._event("response.output_audio.delta", **self._where(response), delta=encode_pcm16(samples))]

    def _reply_ended(self, event: ReplyFinished | ReplyCancelled | ReplyFailed) -> list[Message]:
        details: dict[str, Any]
        if isinstance(event, ReplyFinished):
            status, details = "completed", {"type": "completed"}
        elif isinstance(event, ReplyCancelled):
            by_client = event.decision_id is None or event.decision_id in self._client_decisions
            status = "cancelled"
            details = {"type": "cancelled", "reason": "client_cancelled" if by_client else "turn_detected"}
        else:
            status = "failed"
            details = {"type": "failed", "error": {"type": "server_error", "code": event.error_type,
                                                   "message": event.message}}
        return self._close_response((_REPLY, event.reply_id), status, details)

    def _backchannel_ended(self, event: BackchannelEnded) -> list[Message]:
        key = (_BACKCHANNEL, event.backchannel_id)
        if event.cancelled:
            return self._close_response(key, "cancelled", {"type": "cancelled", "reason": "turn_detected"})
        return self._close_response(key, "completed", {"type": "completed"})

    def _close_response(self, key: tuple[str, int], status: str, details: Message) -> list[Message]:
        response = self._open.pop(key, None)
        if response is None:
            return []
        item = self._assistant_item(response, "completed" if status == "completed" else "incomplete")
        where = self._where(response)
        out = self._audio(response, response.flush()) if response.speaks else []
        if response.speaks:
            out += [self._event("response.output_audio.done", **where),
                    self._event("response.output_audio_transcript.done", **where, transcript=response.transcript)]
        else:
            out += [self._event("response.output_text.done", **where, text=response.transcript)]
        out += [
            self._event("response.content_part.done", **where, part=self._part(response)),
            self._event("response.output_item.done", response_id=response.id, output_index=0, item=item),
            self._event("conversation.item.done", previous_item_id=None, item=item),
            self._event("response.done", response=self._response_object(response, status, details, [item])),
        ]
        return out

    def _ended(self, event: SessionEnded) -> list[Message]:
        out = self._close_user()
        if event.reason.startswith(("failed", "source failed")):
            out.append(self.server_error("session_failed", f"the session stopped: {event.reason}"))
        return out

    # ------------------------------------------------------------------ helpers

    def _event(self, kind: str, **fields: Any) -> Message:
        self._events += 1
        return {"type": kind, "event_id": f"event_{self._events}", **fields}

    def _next_item_id(self) -> str:
        self._items += 1
        return f"item_{self._items}"

    def _ms(self, stream: float) -> int:
        return max(0, round(self.timeline.client_time(stream) * 1000))

    def _open_user(self, start: float) -> _UserItem:
        return _UserItem(id=self._next_item_id(), start=start)

    def _user_item(self, item: _UserItem, status: str) -> Message:
        transcript = item.transcript if status == "completed" else None
        return {"id": item.id, "object": "realtime.item", "type": "message", "role": "user", "status": status,
                "content": [{"type": "input_audio", "transcript": transcript}]}

    def _added(self, item: _UserItem) -> list[Message]:
        out = [self._event("conversation.item.added", previous_item_id=self._last_item,
                           item=self._user_item(item, "in_progress"))]
        self._last_item = item.id
        return out

    def _committed(self, item: _UserItem) -> Message:
        return self._event("input_audio_buffer.committed", item_id=item.id, previous_item_id=None)

    def _close_user(self) -> list[Message]:
        item, self._user = self._user, None
        if item is None:
            return []
        seconds = max(0.0, (item.end if item.end is not None else item.start) - item.start)
        return [
            self._event("conversation.item.done", previous_item_id=None, item=self._user_item(item, "completed")),
            self._event("conversation.item.input_audio_transcription.completed", item_id=item.id, content_index=0,
                        transcript=item.transcript, usage={"type": "duration", "seconds": round(seconds, 3)}),
        ]

    def _evidence(self, perception: Perception) -> Message:
        out: Message = {"kind": perception.kind, "audio_start_ms": self._ms(perception.span_start),
                        "audio_end_ms": self._ms(perception.span_end)}
        if isinstance(perception, TranscriptUpdate):
            out["text"] = perception.committed or perception.tentative
        elif isinstance(perception, SoundEvent):
            out["label"], out["score"] = perception.label, round(perception.score, 4)
        elif isinstance(perception, SpeechActivity):
            out["speaking"] = perception.speaking
        return out

    def _where(self, response: _Response) -> Message:
        return {"response_id": response.id, "item_id": response.item_id, "output_index": 0, "content_index": 0}

    def _part(self, response: _Response) -> Message:
        if response.speaks:
            return {"type": "audio", "transcript": response.transcript}
        return {"type": "text", "text": response.transcript}

    def _assistant_item(self, response: _Response, status: str) -> Message:
        content = ({"type": "output_audio", "transcript": response.transcript} if response.speaks
                   else {"type": "output_text", "text": response.transcript})
        return {"id": response.item_id, "object": "realtime.item", "type": "message", "role": "assistant",
                "status": status, "content": [content] if status != "in_progress" else []}

    def _response_object(
        self, response: _Response, status: str, details: Message | None, output: list[Message]
    ) -> Message:
        return {
            "id": response.id,
            "object": "realtime.response",
            "status": status,
            "status_details": details,
            "output": output,
            "output_modalities": ["audio"] if response.speaks else ["text"],
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": response.output_rate}}},
            "metadata": response.metadata,
            "usage": None,
        }
