"""The Python API fed what a careless or hostile caller would feed it: one case per bad input.

Each case asserts the typed error and its one-line message (naming the problem and, where
there is one, the fix), or, for input the session can use, the typed event it emits and that
what was accepted is intact (stream time does not move, the audio before is kept).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from reliability.inputs import RATE, SCENE, tone

from audiointeract import ArraySource, AudioFormat, FileSource, Session, SessionConfig
from audiointeract.backends.mock import EnergyPerceiver, ScriptedDecider, ScriptedResponder, TurnEndDecider
from audiointeract.config import BackchannelConfig, FailurePolicy
from audiointeract.errors import AudioFormatError, ConfigurationError
from audiointeract.events import BackendErrorEvent, Decision, InputWarning, SessionEnded, SpeechActivity
from audiointeract.interfaces import AudioSource
from audiointeract.policies import EndpointingPolicy, KeywordPolicy, SoundEventPolicy
from audiointeract.registry import load_backend
from audiointeract.simulators import ClipBank, Scene, load_scene, render
from audiointeract.sources import PcmStreamSource
from audiointeract.trace import Trace
from audiointeract.turns import TurnConfig

RANGE = "must be a positive whole number of Hz from 4000 to 384000"
Build = Callable[[], object]


def _raises(build: Build, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        build()
    text = str(caught.value)
    assert "\n" not in text
    assert re.fullmatch(message, text), text


# ----------------------------------------------------------------------------- sources

MONO = np.zeros(RATE, np.float32)
SOURCES: list[tuple[str, Build, type[Exception], str]] = [
    ("array-rate-zero", lambda: ArraySource(MONO, 0), AudioFormatError, f"ArraySource sample_rate {RANGE}, got 0"),
    ("array-rate-negative", lambda: ArraySource(MONO, -16000), AudioFormatError, f"ArraySource sample_rate {RANGE}.*"),
    ("array-rate-float", lambda: ArraySource(MONO, 16000.5), AudioFormatError,  # type: ignore[arg-type]
     f"ArraySource sample_rate {RANGE}, got 16000.5"),
    ("array-rate-text", lambda: ArraySource(MONO, "16000"), AudioFormatError,  # type: ignore[arg-type]
     f"ArraySource sample_rate {RANGE}, got '16000'"),
    ("array-rate-bool", lambda: ArraySource(MONO, True), AudioFormatError, f"ArraySource sample_rate {RANGE}, got True"),
    ("array-rate-1hz", lambda: ArraySource(MONO, 1), AudioFormatError, f"ArraySource sample_rate {RANGE}, got 1"),
    ("array-rate-2g", lambda: ArraySource(MONO, 2**31 - 1), AudioFormatError, f"ArraySource sample_rate {RANGE}.*"),
    ("channels-first", lambda: ArraySource(np.stack([MONO, MONO]), RATE), AudioFormatError,
     re.escape("ArraySource got an array of shape (2, 16000), which looks like (channels, frames); "
               "pass (frames, channels) instead, e.g. samples.T (a mono signal as a 1-D array)")),
    ("mono-as-a-row", lambda: ArraySource(MONO[None, :], RATE), AudioFormatError, r".*looks like \(channels, frames\).*"),
    ("too-many-channels", lambda: ArraySource(np.zeros((100, 100), np.float32), RATE), AudioFormatError,
     re.escape("ArraySource got an array of shape (100, 100): 100 channels, more than 64; pass (frames, channels)")),
    ("three-d", lambda: ArraySource(np.zeros((2, 2, 2)), RATE), AudioFormatError,
     re.escape("ArraySource needs a non-empty 1-D or 2-D array, got shape (2, 2, 2)")),
    ("empty", lambda: ArraySource(np.zeros(0), RATE), AudioFormatError, r".*non-empty 1-D or 2-D array, got shape \(0,\)"),
    ("no-frames", lambda: ArraySource(np.zeros((5, 0)), RATE), AudioFormatError, r".*got shape \(5, 0\)"),
    ("text-samples", lambda: ArraySource(np.array(["a", "b"]), RATE), AudioFormatError,
     "ArraySource needs int or float samples, got dtype <U1"),
    ("object-samples", lambda: ArraySource([None, 1], RATE), AudioFormatError,
     "ArraySource needs int or float samples, got dtype object"),
    ("complex-samples", lambda: ArraySource(np.zeros(4, complex), RATE), AudioFormatError,
     "ArraySource needs int or float samples, got dtype complex128"),
    ("block-zero", lambda: ArraySource(MONO, RATE, block_seconds=0), ConfigurationError,
     re.escape("block_seconds must be a number in (0, 60] s, got 0")),
    ("block-nan", lambda: ArraySource(MONO, RATE, block_seconds=math.nan), ConfigurationError, r"block_seconds .*nan"),
    ("pcm-rate-zero", lambda: PcmStreamSource(io.BytesIO(), sample_rate=0), AudioFormatError,
     f"raw PCM sample_rate {RANGE}, got 0"),
    ("pcm-channels", lambda: PcmStreamSource(io.BytesIO(), sample_rate=RATE, channels=0), ConfigurationError,
     "channels must be a whole number from 1 to 64, got 0"),
    ("pcm-channels-text", lambda: PcmStreamSource(io.BytesIO(), sample_rate=RATE, channels="2"),  # type: ignore[arg-type]
     ConfigurationError, "channels must be a whole number from 1 to 64, got '2'"),
    ("pcm-dtype", lambda: PcmStreamSource(io.BytesIO(), sample_rate=RATE, dtype="float64"), ConfigurationError,
     "raw PCM dtype must be int16, int32 or float32, got 'float64'"),
]


@pytest.mark.parametrize(("build", "error", "message"), [pytest.param(*c[1:], id=c[0]) for c in SOURCES])
def test_source_refuses(build: Build, error: type[Exception], message: str) -> None:
    _raises(build, error, message)


FILES: list[tuple[str, str, type[Exception], str]] = [
    ("directory", "a_folder", ConfigurationError, r"audio file '.*a_folder' is a directory; give an audio file in it"),
    ("missing", "missing.wav", ConfigurationError, r"audio file '.*missing\.wav' does not exist"),
    ("not-audio", "notaudio.wav", AudioFormatError, r"cannot read '.*notaudio\.wav' as audio: .*"),
    ("empty", "empty.wav", AudioFormatError, r"cannot read '.*empty\.wav' as audio: .*"),
    ("header-1hz", "rate1.wav", AudioFormatError, f"the sample rate in the header of '.*rate1.wav' {RANGE}, got 1"),
    ("header-2g", "ratemax.wav", AudioFormatError, f"the sample rate in the header of '.*' {RANGE}, got 2147483647"),
]


@pytest.mark.parametrize(("name", "error", "message"), [pytest.param(*c[1:], id=c[0]) for c in FILES])
def test_file_source_refuses(inputs: Path, name: str, error: type[Exception], message: str) -> None:
    _raises(lambda: FileSource(inputs / name), error, message)


# ----------------------------------------------------------------------------- configuration

CONFIGS: list[tuple[str, Build, str]] = [
    ("format-rate", lambda: AudioFormat(sample_rate=44100.5), r"sample_rate=44100\.5 Hz is not supported; .*"),  # type: ignore[arg-type]
    ("format-chunk", lambda: AudioFormat(chunk_seconds=0), r"chunk_seconds=0 is outside \[0\.1, 2\.0\] s"),
    ("format-chunk-samples", lambda: AudioFormat(sample_rate=11025, chunk_seconds=0.1001),
     r"chunk_seconds=0\.1001 is not a whole number of samples at 11025 Hz"),
    ("pacing", lambda: SessionConfig(pacing="slow"), "Pacing must be one of 'realtime', 'fast', got 'slow'"),  # type: ignore[arg-type]
    ("mode", lambda: SessionConfig(decision_mode=3), "DecisionMode must be one of 'drain', 'per_chunk', got 3"),  # type: ignore[arg-type]
    ("overflow", lambda: SessionConfig(chunk_overflow="spill"),  # type: ignore[arg-type]
     "Overflow must be one of .*, got 'spill'"),
    ("queue-text", lambda: SessionConfig(chunk_queue="x"),  # type: ignore[arg-type]
     "SessionConfig.chunk_queue must be a whole number >= 1, got 'x'"),
    ("queue-zero", lambda: SessionConfig(decision_queue=0), "SessionConfig.decision_queue must be a whole number >= 1, got 0"),
    ("audio-type", lambda: SessionConfig(audio=16000),  # type: ignore[arg-type]
     "SessionConfig.audio must be of type AudioFormat, got int"),
    ("flag-text", lambda: SessionConfig(half_duplex="yes"),  # type: ignore[arg-type]
     "SessionConfig.half_duplex must be True or False, got 'yes'"),
    ("tasks-number", lambda: SessionConfig(tasks=5), "tasks must be a list of StandingTask, got int"),  # type: ignore[arg-type]
    ("tasks-strings", lambda: SessionConfig(tasks=["answer"]),  # type: ignore[list-item]
     re.escape("tasks must be a list of StandingTask, got ('answer',)")),
    ("block-seconds", lambda: SessionConfig(audio_block_seconds=5), r"audio_block_seconds=5 is outside \[0\.01, 1\.0\] s"),
    ("retries", lambda: FailurePolicy(max_retries=-1), "FailurePolicy.max_retries must be a whole number >= 0, got -1"),
    ("timeout-text", lambda: FailurePolicy(timeout="x"),  # type: ignore[arg-type]
     "FailurePolicy.timeout must be a number > 0, got 'x'"),
    ("deadline-inf", lambda: FailurePolicy(deadline=math.inf), "FailurePolicy.deadline must be a number > 0, got inf"),
    ("exhausted", lambda: FailurePolicy(on_exhausted="explode"),  # type: ignore[arg-type]
     "FailureAction must be one of 'skip', 'stop', got 'explode'"),
    ("cooldown-text", lambda: TurnConfig(reply_cooldown="x"),  # type: ignore[arg-type]
     "TurnConfig.reply_cooldown must be a number >= 0, got 'x'"),
    ("turn-flag", lambda: TurnConfig(allow_barge_in="no"),  # type: ignore[arg-type]
     "TurnConfig.allow_barge_in must be True or False, got 'no'"),
    ("phrases-number", lambda: BackchannelConfig(phrases=5),  # type: ignore[arg-type]
     "backchannel phrases must be a list of non-empty strings, got 5"),
    ("phrases-blank", lambda: BackchannelConfig(phrases=("mm", " ")), r"backchannel phrases must be .*"),
]


@pytest.mark.parametrize(("build", "message"), [pytest.param(*c[1:], id=c[0]) for c in CONFIGS])
def test_configuration_refuses(build: Build, message: str) -> None:
    _raises(build, ConfigurationError, message)


# ----------------------------------------------------------------------------- backend and policy options

OPTIONS: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("energy-unknown", "perceiver", "energy", {"bogus": 1},
     re.escape("unknown option(s) bogus for perceiver 'energy'; it takes threshold_db, min_speech, min_silence")),
    ("energy-type", "perceiver", "energy", {"min_silence": "long"}, "min_silence must be a number > 0, got str 'long'"),
    ("energy-range", "perceiver", "energy", {"threshold_db": 10}, "threshold_db must be a number <= 0, got 10"),
    ("mock-script-type", "perceiver", "mock", {"script": "speech"}, "script must be a list, got str 'speech'"),
    ("mock-script-item", "perceiver", "mock", {"script": [{"kind": "nope"}]}, "unknown event kind 'nope'"),
    ("mock-script-number", "perceiver", "mock", {"script": [5]},
     "script\\[0\\] must be a Perception or an object of its fields, got int"),
    ("scripted-action", "decider", "scripted", {"script": [{"at": "soon", "action": "respond"}]},
     r"a scripted action takes .*: ScriptedAction.at must be a number >= 0, got str 'soon'"),
    ("turn-end-task", "decider", "turn-end", {"task": 5}, "task must be a non-empty string, got int 5"),
    ("turn-end-flag", "decider", "turn-end", {"barge_in": "no"}, "barge_in must be true or false, got str 'no'"),
    ("responder-reply", "responder", "mock", {"reply": ["a"]}, r"reply must be a string or a function .*"),
    ("responder-delay", "responder", "mock", {"first_token_delay": 1e9},
     r"first_token_delay must be a number >= 0 and <= 60, got 1000000000\.0"),
    ("responder-rate", "responder", "mock", {"sample_rate": 1}, f"sample_rate {RANGE}, got 1"),
    ("policy-unknown", "decider", "default", {"names ": ["x"]},
     r"unknown option\(s\) names  for decider 'default'; it takes names, min_delay, .*"),
    ("policy-names", "decider", "default", {"names": [1, 2]},
     re.escape("EndpointingPolicy: names must be a list of non-empty strings, got [1, 2]")),
    ("policy-labels", "decider", "sound-event", {"labels": {"a": 1}},
     re.escape("SoundEventPolicy: labels must be one or more non-empty strings, got {'a': 1}")),
    ("policy-task", "decider", "endpointing", {"task": ["answer"]},
     re.escape("EndpointingPolicy: task must be a task name, got list ['answer']")),
    ("policy-delays", "decider", "endpointing", {"min_delay": 3, "max_delay": 1},
     re.escape("EndpointingPolicy: max_delay (1) must be >= min_delay (3)")),
    ("policy-flag", "decider", "keyword", {"wait_for_pause": 1}, "KeywordPolicy: wait_for_pause must be true or false, got int 1"),
    ("policy-semantic-threshold", "decider", "default", {"semantic_threshold": "high"},
     re.escape("default policy: semantic_threshold must be a number in [0, 1], got 'high'")),
    ("unknown-name", "decider", "nope", {}, r"unknown decider 'nope'; available: .*"),
    ("unknown-kind", "speaker", "mock", {}, r"unknown backend kind 'speaker'; use one of .*"),
]


@pytest.mark.parametrize(("kind", "name", "options", "message"), [pytest.param(*c[1:], id=c[0]) for c in OPTIONS])
def test_backend_options_refuse(kind: str, name: str, options: dict[str, Any], message: str) -> None:
    _raises(lambda: load_backend(kind, name, **options), ConfigurationError, message)  # type: ignore[arg-type]


def test_accepted_options_still_build() -> None:
    assert load_backend("decider", "scripted", script=[{"at": 1, "action": "respond"}]).name == "scripted"
    assert load_backend("perceiver", "mock", script=[
        {"kind": "speech_activity", "span_start": 0, "span_end": 1, "speaking": True}]).name == "mock"
    assert isinstance(EndpointingPolicy(names=[]), EndpointingPolicy)  # no names: answers any turn it is told to
    assert KeywordPolicy("hey", task_for={"hey": "answer"}).task_for == {"hey": "answer"}
    assert SoundEventPolicy(ignore=()).ignore == ()


# ----------------------------------------------------------------------------- the session on bad input


class Blocks(AudioSource):
    """Yields the given blocks, then maybe raises (a device that went away)."""

    def __init__(self, blocks: list[tuple[Any, Any]], *, fail: BaseException | None = None) -> None:
        self._blocks = blocks
        self._fail = fail

    async def blocks(self) -> AsyncIterator[tuple[npt.ArrayLike, int]]:
        for block in self._blocks:
            yield block
        if self._fail is not None:
            raise self._fail


def _session() -> Session:
    return Session(EnergyPerceiver(), TurnEndDecider(), ScriptedResponder())


GOOD = (tone(1.0, at=(0.5,), total=2.0), RATE)
BAD_BLOCKS: list[tuple[str, tuple[Any, Any], str]] = [
    ("channels-first", (np.zeros((2, 8000), np.float32), RATE), r".*looks like \(channels, frames\).*"),
    ("rate-zero", (np.zeros(8000, np.float32), 0), f"the block's sample rate {RANGE}, got 0"),
    ("rate-float", (np.zeros(8000, np.float32), 16000.5), f"the block's sample rate {RANGE}, got 16000.5"),
    ("three-d", (np.zeros((2, 2, 2), np.float32), RATE), "audio must be 1-D .*, got 3-D"),
    ("text", (np.array(["x"] * 10), RATE), r"unsupported sample dtype <U1; .*"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("block", "message"), [pytest.param(*c[1:], id=c[0]) for c in BAD_BLOCKS])
async def test_an_unusable_block_is_reported_and_what_came_before_and_after_is_kept(
    block: tuple[Any, Any], message: str
) -> None:
    session = _session()
    trace = await session.run(Blocks([GOOD, block, GOOD]))
    (error,) = trace.of_type(BackendErrorEvent)
    assert (error.component, error.error_type, error.handling) == ("source", "AudioFormatError", "skip")
    assert re.fullmatch(message, error.message), error.message
    assert session.statistics().heard_until == pytest.approx(4.0)  # both good blocks, nothing of the bad one
    onsets = [p.span_start for p in trace.of_type(SpeechActivity) if p.speaking]
    assert onsets == pytest.approx([0.5, 2.5], abs=0.05)  # the second good block is at 2 s: time did not shift
    assert session.ended is not None
    assert session.ended.normal


@pytest.mark.anyio
async def test_a_source_that_fails_mid_stream_ends_with_its_reason_and_keeps_what_was_heard() -> None:
    session = _session()
    trace = await session.run(Blocks([GOOD, GOOD], fail=OSError("device unplugged")))
    ended = trace.ended
    assert isinstance(ended, SessionEnded)
    assert ended.reason == "source failed: device unplugged"
    assert not ended.normal
    assert ended.heard_until == pytest.approx(4.0)


WARNINGS: list[tuple[str, Callable[[Path], AudioSource], str, str, float]] = [
    ("truncated-wav", lambda d: FileSource(d / "trunc.wav"), "truncated_file",
     r"'.*trunc\.wav' is shorter than its header says: 2\.00 s of 4\.00 s are there .*; playing what exists", 2.0),
    ("nan-and-inf", lambda d: FileSource(d / "nan.wav"), "non_finite_samples",
     r"\d+ NaN or infinite input sample\(s\) replaced by silence; stream time is unchanged .*", 4.0),
    ("float-bytes-as-int16", lambda _: ArraySource(tone(1.0).view("<i2"), RATE), "pcm_dtype_mismatch",
     r"int16 samples whose bytes read as audio-range float32: the input is likely float32 read as integers .*", 8.0),
    ("int16-scaled-floats", lambda _: ArraySource(tone(1.0) * 32767, RATE), "float_level",
     r"\d+ float sample\(s\) far beyond \[-1, 1\] were clipped: the input is likely integer-scaled floats .*", 4.0),
    ("int16-bytes-as-float", lambda d: PcmStreamSource(io.BytesIO((d / "int16.pcm").read_bytes()), sample_rate=RATE,
                                                        dtype="float32"), "float_level", r".*--dtype int16\)", 2.0),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("make", "code", "message", "heard"), [pytest.param(*c[1:], id=c[0]) for c in WARNINGS])
async def test_suspect_input_is_said_once_as_an_input_warning(
    inputs: Path, make: Callable[[Path], AudioSource], code: str, message: str, heard: float
) -> None:
    session = _session()
    trace = await session.run(make(inputs))
    codes = [w.code for w in trace.of_type(InputWarning)]
    assert len(codes) == len(set(codes))  # each kind said once, not per sample or per block
    (warning,) = [w for w in trace.of_type(InputWarning) if w.code == code]
    assert re.fullmatch(message, warning.message), warning.message
    assert session.statistics().heard_until == pytest.approx(heard)
    assert trace.of_type(BackendErrorEvent) == []


@pytest.mark.anyio
async def test_good_audio_raises_no_input_warning(inputs: Path) -> None:
    for source in (FileSource(inputs / "a.wav"), ArraySource(tone(1.0), RATE),
                   ArraySource((tone(1.0) * 32767).astype(np.int16), RATE),
                   ArraySource(np.zeros((RATE, 2), np.int16), RATE)):
        trace = await _session().run(source)
        assert trace.of_type(InputWarning) == []


@pytest.mark.anyio
async def test_nan_repair_keeps_stream_time(inputs: Path) -> None:
    trace = await _session().run(FileSource(inputs / "nan.wav"))
    (onset,) = [p for p in trace.of_type(SpeechActivity) if p.speaking]
    assert onset.span_start == pytest.approx(1.0, abs=0.03)  # the NaN at 0.5 s moved nothing


@pytest.mark.anyio
async def test_a_scripted_decider_from_json_acts() -> None:
    decider = ScriptedDecider([{"at": 1.2, "action": "respond"}])  # type: ignore[list-item]
    trace = await Session(EnergyPerceiver(), decider, ScriptedResponder()).run(ArraySource(tone(1.0), RATE))
    assert [d.action.value for d in trace.of_type(Decision) if d.action.value != "silent"] == ["respond"]


# ----------------------------------------------------------------------------- traces, scenes, clips

HEADER = '{"trace_version": 1, "meta": {}}\n'
TRACE_TEXTS: list[tuple[str, str, str]] = [
    ("empty", "", "trace is empty: no header line"),
    ("blank", "\n\n", "trace is empty: no header line"),
    ("not-json", "hello\n", "the trace header is not JSON: Expecting value: line 1 column 1 \\(char 0\\)"),
    ("deep", "[" * 50_000 + "]" * 50_000 + "\n", "the trace header is not JSON: nested too deeply"),
    ("header-number", "5\n", "the trace header must be a JSON object, got int"),
    ("version", '{"trace_version": "1"}\n', r"unsupported trace version '1'; expected 1 \(is this a trace file\?\)"),
    ("meta", '{"trace_version": 1, "meta": "x"}\n', "the trace header's meta must be an object, got str"),
    ("record-string", HEADER + '"x"\n', "trace line 2 must be a JSON object, got str"),
    ("record-at", HEADER + '{"seq": 0, "at": "soon", "heard": 0, "event": {}}\n',
     "trace line 2 is malformed: could not convert string to float: 'soon'"),
    ("event-none", HEADER + '{"seq": 0, "at": 0, "heard": 0, "event": null}\n', "trace line 2 is malformed: .*"),
    ("event-deep", HEADER + '{"seq": 0, "at": 0, "heard": 0, "event": ' + "[" * 50_000 + "]" * 50_000 + "}\n",
     "trace line 2 is not JSON: nested too deeply"),
    ("event-value", HEADER + '{"seq": 0, "at": 0, "heard": 0, "event": {"kind": "decision", "action": "dance"}}\n',
     "trace line 2 is malformed: .*"),
]


@pytest.mark.parametrize(("text", "message"), [pytest.param(*c[1:], id=c[0]) for c in TRACE_TEXTS])
def test_trace_text_refused(text: str, message: str) -> None:
    _raises(lambda: Trace.from_jsonl(text), ConfigurationError, message)


def test_a_cut_trace_keeps_its_complete_lines(inputs: Path) -> None:
    cut = Trace.load(inputs / "traces" / "cut_mid_line.jsonl")
    whole = Trace.load(inputs / "traces" / "cut_at_line.jsonl")
    assert cut.truncated
    assert not cut.complete
    assert not whole.complete  # no SessionEnded
    assert not whole.truncated
    assert [r.seq for r in cut] == [r.seq for r in whole]


def _scene(**segment: object) -> dict[str, Any]:
    return {**SCENE, "segments": [{**SCENE["segments"][0], **segment}]}  # type: ignore[index]


SCENE_DICTS: list[tuple[str, dict[str, Any], str]] = [
    ("no-segments", {"tasks": []}, "a scene needs a 'segments' list"),
    ("segment-number", {"segments": [5]}, "segment 0 must be a table/object, got int"),
    ("anchor", _scene(expects=[{"task": "answer", "anchor": "middle"}]),
     "segment 0 \\(speech\\) is malformed: Expect.anchor must be 'end' or 'onset', got 'middle'"),
    ("expects-number", _scene(expects=5), "segment 0 \\(speech\\) is malformed: 'expects' must be a list of objects, got int"),
    ("within-zero", _scene(expects=[{"task": "answer", "within": 0}]),
     "segment 0 \\(speech\\) is malformed: Expect.within must be > 0 and at most 10800 s, got 0"),
    ("delay-huge", _scene(expects=[{"task": "answer", "delay": 1e9}]),
     "segment 0 \\(speech\\) is malformed: Expect.delay must be from 0 to 10800 s, got 1000000000.0"),
    ("start-text", _scene(start="soon"), "segment 0 \\(speech\\) is malformed: Speech.start must be a number, got str 'soon'"),
    ("start-negative", _scene(start=-1), "segment 0 \\(speech\\) is malformed: Speech.start must be from 0 to 10800 s, got -1"),
    ("duration-inf", _scene(duration=math.inf),
     "segment 0 \\(speech\\) is malformed: Speech.duration must be > 0 and at most 10800 s, got inf"),
    ("duration-1e5", _scene(duration=1e5), r"segment 0 \(speech\) is malformed: Speech\.duration must be .*, got 100000\.0"),
    ("unknown-field", _scene(volume=3), r"segment 0 \(speech\) is malformed: .*unexpected keyword argument 'volume'"),
    ("scene-duration", {**SCENE, "duration": 1e12}, r"scene duration must be a number from 0 to 10800 s, got 1000000000000\.0"),
    ("scene-duration-text", {**SCENE, "duration": "long"}, "scene duration must be a number from 0 to 10800 s, got 'long'"),
    ("scene-tail", {**SCENE, "duration": None, "tail": "x"}, "scene tail must be a number from 0 to 10800 s, got 'x'"),
    ("segment-after-end", {**SCENE, "duration": 3.0}, r"segment 1 ends at 6\.000s, after the scene's end 3\.000s"),
    ("noise-number", {**SCENE, "noise": 5}, "a scene's 'noise' must be a list, got int"),
    ("noise-snr", {**SCENE, "noise": [{"snr_db": 1e9}]}, r"malformed noise bed: NoiseBed\.snr_db must be from -60 to 120, .*"),
    ("noise-end", {**SCENE, "noise": [{"end": 1e9}]}, r"malformed noise bed: NoiseBed\.end must be after its start 0\.0 and at most 10800 s, .*"),
    ("noise-color", {**SCENE, "noise": [{"color": "blue"}]}, r"malformed noise bed: NoiseBed\.color must be one of .*"),
    ("faults-text", {**SCENE, "faults": "x"}, "faults must be a list of objects, got str"),
    ("fault-kind", {**SCENE, "faults": [{"component": "perceiver", "kind": "explode"}]},
     r"malformed fault .*: Fault\.kind must be one of .*"),
    ("fault-text", {**SCENE, "faults": ["x"]}, r"malformed fault 'x': .*"),
    ("tasks-duplicate", {**SCENE, "tasks": [{"name": "a", "instruction": "x"}] * 2}, r"scene task names must be unique.*"),
    ("task-shape", {**SCENE, "tasks": [5]}, r"malformed scene: .*"),
]


@pytest.mark.parametrize(("data", "message"), [pytest.param(*c[1:], id=c[0]) for c in SCENE_DICTS])
def test_scene_refused(data: dict[str, Any], message: str) -> None:
    _raises(lambda: Scene.from_dict(data), ConfigurationError, message)


CLIPS: list[tuple[str, str, str]] = [
    ("bank-parent", "b:../secret.wav", "clip 'b:../secret.wav' names a file outside the 'b' bank's folder"),
    ("bank-deep-parent", "b:x/../../secret.wav", r"clip 'b:x/\.\./\.\./secret\.wav' names a file outside .*"),
    ("bank-absolute", "b:/etc/passwd", "clip 'b:/etc/passwd' names a file outside the 'b' bank's folder"),
    ("bank-root", "b:", "clip 'b:' names a file outside the 'b' bank's folder"),
    ("bank-missing", "b:nothing", r"clip 'b:nothing' not found under '.*'; install the Debian package or set the bank root"),
    ("raw-path", "RAW", r"clip '.*\.raw' is raw PCM, which has no header saying its format; convert it to WAV .*"),
    ("not-a-file", "/nonexistent.wav", r"clip '/nonexistent\.wav' is neither '<bank>:<name>' with bank in \['b'\] .*"),
]


@pytest.mark.parametrize(("clip", "message"), [pytest.param(*c[1:], id=c[0]) for c in CLIPS])
def test_clip_refused(tmp_path: Path, clip: str, message: str) -> None:
    bank_root = tmp_path / "bank"
    bank_root.mkdir()
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    (np.zeros(16, "<i2")).tofile(tmp_path / "loose.raw")
    bank = ClipBank({"b": bank_root})
    name = str(tmp_path / "loose.raw") if clip == "RAW" else clip
    _raises(lambda: bank.load(name), ConfigurationError, message)


def test_clip_bank_refuses_a_bad_raw_rate() -> None:
    _raises(lambda: ClipBank({}, raw_rate=0), ConfigurationError, f"ClipBank raw_rate {RANGE}, got 0")


def test_scene_files_confine_clips_and_the_opt_out_lifts_it(inputs: Path) -> None:
    scenes = inputs / "scenes"
    _raises(lambda: load_scene(scenes / "outside.json"), ConfigurationError,
            r"scene file '.*outside\.json': clip '\.\./a\.wav' lies outside the scene file's folder and the clip banks; .*")
    outside = load_scene(scenes / "outside.json", any_clip_path=True)
    assert outside.segments[0].clip == str((inputs / "a.wav").resolve())  # made absolute: renders from any folder
    assert outside.segments[0].duration == pytest.approx(4.0)
    inside = load_scene(scenes / "inside.json")
    assert inside.segments[0].clip == str((scenes / "beep.wav").resolve())


@pytest.mark.anyio
@pytest.mark.parametrize("pacing", ["realtime", "fast"])
async def test_a_stop_before_the_run_takes_no_audio(inputs: Path, pacing: str) -> None:
    session = Session(EnergyPerceiver(), TurnEndDecider(), ScriptedResponder(), config=SessionConfig(pacing=pacing))  # type: ignore[arg-type]
    session.stop(reason="SIGINT")  # a signal while the backends were still starting
    trace = await session.run(FileSource(inputs / "a.wav"))
    assert trace.ended is not None
    assert (trace.ended.reason, trace.ended.heard_until) == ("stopped: SIGINT", 0.0)


SESSIONS: list[tuple[str, Build, str]] = [
    ("perceiver-class", lambda: Session(EnergyPerceiver, TurnEndDecider(), ScriptedResponder()),  # type: ignore[arg-type]
     r"Session perceiver must be a Perceiver instance, e.g\. EnergyPerceiver\(\) .*, got the class EnergyPerceiver"),
    ("decider-name", lambda: Session(EnergyPerceiver(), "turn-end", ScriptedResponder()),  # type: ignore[arg-type]
     r"Session decider must be a Decider instance, .*, got str 'turn-end'"),
    ("swapped", lambda: Session(EnergyPerceiver(), ScriptedResponder(), TurnEndDecider()),  # type: ignore[arg-type]
     r"Session decider must be a Decider instance, .*, got ScriptedResponder .*"),
    ("config-dict", lambda: Session(EnergyPerceiver(), TurnEndDecider(), ScriptedResponder(), config={}),  # type: ignore[arg-type]
     r"Session config must be a SessionConfig \(or None\), got dict \{\}"),
    ("observer-one", lambda: Session(EnergyPerceiver(), TurnEndDecider(), ScriptedResponder(), observers=print),  # type: ignore[arg-type]
     r"Session observers must be a list of Observer instances, got .*"),
]


@pytest.mark.parametrize(("build", "message"), [pytest.param(*c[1:], id=c[0]) for c in SESSIONS])
def test_session_refuses_parts_that_are_not(build: Build, message: str) -> None:
    _raises(build, ConfigurationError, message)


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["a.wav", np.zeros(RATE, np.float32)], ids=["a-path", "an-array"])
async def test_run_wants_a_source(source: object) -> None:
    session = _session()
    with pytest.raises(ConfigurationError, match=r"the session runs on an AudioSource \(FileSource\(path\), .*"):
        await session.run(source)  # type: ignore[arg-type]
    await session.run(ArraySource(tone(1.0), RATE))  # refused before it started: it still runs once


@pytest.mark.parametrize("seed", [-1, 1.5, "7"])
def test_render_wants_a_whole_seed(seed: object) -> None:
    _raises(lambda: render(Scene.from_dict(SCENE), seed=seed), ConfigurationError,  # type: ignore[arg-type]
            f"seed must be a whole number >= 0, got {re.escape(repr(seed))}")
