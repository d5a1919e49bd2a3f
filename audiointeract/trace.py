"""Traces: every session event with its session time and stream position, as JSONL.

A trace is the input of metrics, plots and policy training. The first JSONL line is a
header (format version and session metadata); each further line is one record. Two
runs on virtual time with the same inputs give byte-identical files. Recording them
is :mod:`audiointeract.recording`'s job.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import attrs

from audiointeract.errors import ConfigurationError
from audiointeract.events import Event, SessionEnded, event_from_dict, event_to_dict
from audiointeract.options import one_line

__all__ = ["TRACE_VERSION", "Trace", "TraceRecord"]

TRACE_VERSION = 1
E = TypeVar("E")


@attrs.frozen(kw_only=True)
class TraceRecord:
    """One event: ``at`` session time, ``heard`` stream seconds ingested at that moment."""

    seq: int
    at: float
    heard: float
    event: Event


def _records(items: Iterable[TraceRecord]) -> tuple[TraceRecord, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class Trace:
    """An ordered, immutable list of records plus session metadata.

    ``truncated`` is set when the file this trace was read from ended mid-line (the
    writer was killed): the complete lines before it are kept.
    """

    records: tuple[TraceRecord, ...] = attrs.field(converter=_records)
    meta: dict[str, Any] = attrs.field(factory=dict)
    truncated: bool = False

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def of_type(self, cls: type[E]) -> list[E]:
        """Every event of class ``cls`` (subclasses included), in order."""
        return [r.event for r in self.records if isinstance(r.event, cls)]

    @property
    def ended(self) -> SessionEnded | None:
        """The session's end event, if the trace has one."""
        ends = self.of_type(SessionEnded)
        return ends[-1] if ends else None

    @property
    def complete(self) -> bool:
        """Whether the trace runs to its ``SessionEnded`` and no line was cut off."""
        return not self.truncated and self.ended is not None

    def to_jsonl(self) -> str:
        """Serialise to JSONL text (header line, then one line per record)."""
        lines = [json.dumps({"trace_version": TRACE_VERSION, "meta": self.meta}, sort_keys=True)]
        lines.extend(
            json.dumps(
                {"seq": r.seq, "at": r.at, "heard": r.heard, "event": event_to_dict(r.event)},
                sort_keys=True,
            )
            for r in self.records
        )
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the trace to ``path`` as JSONL."""
        Path(path).write_text(self.to_jsonl(), encoding="utf-8")

    @classmethod
    def from_jsonl(cls, text: str) -> Trace:
        """Parse JSONL produced by :meth:`to_jsonl` (a last line cut short is dropped and noted).

        Anything else (not JSON, JSON of the wrong shape, nesting too deep to parse) is one
        :class:`~audiointeract.errors.ConfigurationError` naming the line.
        """
        truncated = bool(text) and not text.endswith("\n")
        lines = [line for line in text.splitlines() if line.strip()]
        if truncated and len(lines) > 1:
            lines.pop()
        if not lines:
            raise ConfigurationError("trace is empty: no header line")
        header = _json_object(lines[0], "the trace header")
        if header.get("trace_version") != TRACE_VERSION:
            raise ConfigurationError(
                f"unsupported trace version {header.get('trace_version')!r}; expected {TRACE_VERSION} "
                "(is this a trace file?)"
            )
        meta = header.get("meta", {})
        if not isinstance(meta, dict):
            raise ConfigurationError(f"the trace header's meta must be an object, got {type(meta).__name__}")
        records = []
        for number, line in enumerate(lines[1:], start=2):
            raw = _json_object(line, f"trace line {number}")
            try:
                at, heard = float(raw["at"]), float(raw["heard"])
                if not (math.isfinite(at) and math.isfinite(heard)):
                    raise ValueError(f"its times must be finite, got at={at} heard={heard}")  # noqa: TRY301
                records.append(
                    TraceRecord(seq=int(raw["seq"]), at=at, heard=heard, event=event_from_dict(raw["event"]))
                )
            except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
                reason = f"missing {exc}" if isinstance(exc, KeyError) else one_line(exc)
                raise ConfigurationError(f"trace line {number} is malformed: {reason}") from exc
        return cls(records=records, meta=dict(meta), truncated=truncated)

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a JSONL trace file; a file that is not a trace (binary, not UTF-8) is one ConfigurationError."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigurationError(
                f"trace {str(file)!r} is not UTF-8 text (byte {exc.start} cannot be read); is it a trace file?"
            ) from exc
        except OSError as exc:
            raise ConfigurationError(f"cannot read trace {str(file)!r}: {exc.strerror or type(exc).__name__}") from exc
        try:
            return cls.from_jsonl(text)
        except ConfigurationError as exc:
            raise ConfigurationError(f"trace {str(file)!r}: {exc}") from exc


def _json_object(line: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigurationError(f"{what} is not JSON: {reason}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"{what} must be a JSON object, got {type(value).__name__}")
    return value
