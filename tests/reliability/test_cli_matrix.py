"""The command line, fed what a careless or hostile user would feed it: one case per bad input.

Each case runs the real ``audiointeract`` command (in batches: one Python process runs a whole
group, see ``cli_batch.py``) and asserts the exit code (0 done, 1 runtime failure, 2 usage
error), that the last line on standard error is the one ``Error:`` line that names the problem,
that no traceback reaches the user, and, where something was accepted, that it is intact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from reliability.inputs import MP3

from audiointeract import training
from audiointeract.trace import Trace

lit = re.escape
TRAIN_CONFIG = Path(training.__file__).parent / "configs" / "default.toml"
MOCKS = ["--perceiver", "energy", "--decider", "turn-end", "--responder", "mock"]
RATE_RANGE = "must be a positive whole number of Hz from 4000 to 384000"
Check = Callable[[dict[str, Any], Path], None]


@attrs.frozen
class Case:
    """``audiointeract *argv`` (``{d}``: the inputs folder) exits ``code``; ``error`` matches the last stderr line."""

    id: str
    argv: list[str]
    code: int
    error: str | None = None
    out: tuple[str, ...] = ()
    stdin: str | None = None
    check: Check | None = None


def _trace_kept(name: str, *, heard: tuple[float, float], reason: str) -> Check:
    def check(_: dict[str, Any], folder: Path) -> None:
        trace = Trace.load(folder / "out" / name)
        assert trace.ended is not None
        assert trace.ended.reason.startswith(reason)
        assert heard[0] <= trace.ended.heard_until <= heard[1]

    return check


def _stdout_is_jsonl(result: dict[str, Any], _: Path) -> None:
    lines = result["stdout"].splitlines()
    assert json.loads(lines[0])["trace_version"] == 1
    assert json.loads(lines[-1])["event"]["kind"] == "session_ended"
    assert "session ended" in result["stderr"]  # the timeline moved to stderr


def _stdout_is_report_json(result: dict[str, Any], _: Path) -> None:
    report = json.loads(result["stdout"])
    assert report["scene"] == "turns"
    assert "tolerance" in result["stderr"]  # the table moved to stderr


def _stdout_is_wav(result: dict[str, Any], _: Path) -> None:
    assert result["stdout"].startswith("RIFF")


def _nothing_ran(result: dict[str, Any], _: Path) -> None:
    assert "heard" not in result["stdout"]
    assert "session ended" not in result["stdout"]


def _warned_once(code: str) -> Check:
    def check(result: dict[str, Any], _: Path) -> None:
        assert result["stdout"].count(f"input warning ({code})") == 1

    return check


RUN = [
    # raw PCM on stdin
    Case("rate-zero", ["run", "-", "--rate", "0", *MOCKS], 2, lit(f"Error: raw PCM sample_rate {RATE_RANGE}, got 0"),
         stdin="int16.pcm", check=_nothing_ran),
    Case("rate-negative", ["run", "-", "--rate", "-16000", *MOCKS], 2,
         lit(f"Error: raw PCM sample_rate {RATE_RANGE}, got -16000"), stdin="int16.pcm"),
    Case("rate-huge", ["run", "-", "--rate", "2147483647", *MOCKS], 2,
         lit(f"Error: raw PCM sample_rate {RATE_RANGE}, got 2147483647"), stdin="int16.pcm"),
    Case("rate-float", ["run", "-", "--rate", "16000.5", *MOCKS], 2,
         r"Error: Invalid value for '--rate': '16000.5' is not a valid integer.", stdin="int16.pcm"),
    Case("channels-zero", ["run", "-", "--channels", "0", *MOCKS], 2,
         lit("Error: channels must be a whole number from 1 to 64, got 0"), stdin="int16.pcm"),
    Case("channels-huge", ["run", "-", "--channels", "48000", *MOCKS], 2,
         lit("Error: channels must be a whole number from 1 to 64, got 48000"), stdin="int16.pcm"),
    Case("dtype-unknown", ["run", "-", "--dtype", "float64", *MOCKS], 2,
         r"Error: Invalid value for '--dtype': 'float64' is not one of 'int16', 'int32', 'float32'."),
    Case("float-read-as-int16", ["run", "-", "--fast", *MOCKS], 0, out=(r"heard 8\.0s",),  # garbage, twice as long
         stdin="float32.pcm", check=_warned_once("pcm_dtype_mismatch")),
    Case("int16-read-as-float", ["run", "-", "--fast", "--dtype", "float32", *MOCKS], 0, out=(r"heard 2\.0s",),
         stdin="int16.pcm", check=_warned_once("float_level")),
    Case("int16-right", ["run", "-", "--fast", *MOCKS], 0, out=(r"heard 4\.0s", "decide RESPOND"), stdin="int16.pcm"),
    Case("stdin-empty", ["run", "-", "--fast", *MOCKS], 0,
         out=(r"input warning \(no_audio\): the source ended without a single usable sample \(nothing was piped in\?\)",
              r"session ended: source_exhausted \(heard 0\.00s\)")),
    Case("stdin-odd-bytes", ["run", "-", "--fast", *MOCKS], 0, out=(r"heard 4\.0s",), stdin="odd.pcm"),
    Case("option-deep-json", ["run", "a.wav", "--decider", "scripted", "--perceiver", "energy", "--responder", "mock",
                              "-o", "decider.script=" + "[" * 5000 + "]" * 5000], 2,
         r"Error: Invalid value for --option: option 'decider\.script': its JSON value is nested too deeply"),
    # audio files
    Case("directory", ["run", "a_folder", *MOCKS], 2,
         lit("Error: audio file 'a_folder' is a directory; give an audio file in it")),
    Case("missing-file", ["run", "missing.wav", *MOCKS], 2, lit("Error: audio file 'missing.wav' does not exist")),
    Case("not-audio", ["run", "notaudio.wav", *MOCKS], 2,
         r"Error: cannot read 'notaudio\.wav' as audio: Error opening 'notaudio\.wav': .*"),
    Case("empty-file", ["run", "empty.wav", *MOCKS], 2, r"Error: cannot read 'empty\.wav' as audio: .*"),
    Case("header-1hz", ["run", "rate1.wav", *MOCKS], 2,
         lit(f"Error: the sample rate in the header of 'rate1.wav' {RATE_RANGE}, got 1")),
    Case("header-2g-hz", ["run", "ratemax.wav", *MOCKS], 2,
         lit(f"Error: the sample rate in the header of 'ratemax.wav' {RATE_RANGE}, got 2147483647")),
    Case("truncated-wav", ["run", "trunc.wav", "--fast", *MOCKS], 0,
         out=(r"input warning \(truncated_file\): 'trunc\.wav' is shorter than its header says: 2\.00 s of 4\.00 s",
              r"heard 2\.0s")),
    Case("nan-samples", ["run", "nan.wav", "--fast", *MOCKS, "--trace", "out/nan.jsonl"], 0,
         out=(r"heard 4\.0s", r"speech started @1\.\d\ds"), check=_warned_once("non_finite_samples")),
    Case("corrupt-flac", ["run", "corrupt.flac", "--fast", *MOCKS, "--trace", "out/corrupt.jsonl"], 1,
         r"Error: session did not end normally: source failed: cannot decode 'corrupt\.flac' after \d+\.\d\d s of "
         r"20\.00 s: .* \(the file is damaged or cut off\)",
         check=_trace_kept("corrupt.jsonl", heard=(5, 19), reason="source failed: cannot decode")),
    Case("truncated-flac", ["run", "trunc.flac", "--fast", *MOCKS], 1,
         r"Error: session did not end normally: source failed: cannot decode 'trunc\.flac' after \d\.\d\d s of "
         r"4\.00 s: Error : flac decoder lost sync\. \(the file is damaged or cut off\)"),
    *([
        Case("corrupt-mp3", ["run", "corrupt.mp3", "--fast", *MOCKS, "--trace", "out/corrupt_mp3.jsonl"], 1,
             r"Error: session did not end normally: source failed: cannot decode 'corrupt\.mp3' after .*",
             check=_trace_kept("corrupt_mp3.jsonl", heard=(5, 19), reason="source failed: cannot decode")),
        Case("truncated-mp3", ["run", "trunc.mp3", "--fast", *MOCKS], 0,
             out=((r"input warning \(truncated_file\): 'trunc\.mp3' is shorter than its header says: "
                  r"\d\.\d\d s of 20\.00 s are there"),)),
    ] if MP3 else []),
    # options of backends
    Case("perceiver-unknown-option", ["run", "a.wav", *MOCKS, "-o", "perceiver.bogus=1"], 2,
         lit("Error: unknown option(s) bogus for perceiver 'energy'; it takes threshold_db, min_speech, min_silence")),
    Case("perceiver-wrong-type", ["run", "a.wav", *MOCKS, "-o", 'perceiver.threshold_db="loud"'], 2,
         lit("Error: threshold_db must be a number <= 0, got str 'loud'")),
    Case("responder-wrong-type", ["run", "a.wav", *MOCKS, "-o", 'responder.tokens_per_second="x"'], 2,
         lit("Error: tokens_per_second must be a number > 0, got str 'x'")),
    Case("responder-reply-number", ["run", "a.wav", *MOCKS, "-o", "responder.reply=5"], 2,
         r"Error: reply must be a string or a function of the request, got int 5 .*"),
    Case("responder-unknown-option", ["run", "a.wav", *MOCKS, "-o", "responder.speed=2"], 2,
         r"Error: unknown option\(s\) speed for responder 'mock'; it takes reply, tokens_per_second, .*"),
    Case("decider-flag-string", ["run", "a.wav", *MOCKS, "-o", 'decider.barge_in="no"'], 2,
         lit("Error: barge_in must be true or false, got str 'no'")),
    Case("decider-script", ["run", "a.wav", "--fast", "--perceiver", "energy", "--decider", "scripted",
                            "--responder", "mock", "-o", 'decider.script=[{"at": 1.2, "action": "respond"}]'], 0,
         out=("decide RESPOND", r"replies 1 started / 1 finished")),
    Case("decider-script-action", ["run", "a.wav", "--decider", "scripted", "--perceiver", "energy",
                                   "--responder", "mock", "-o", 'decider.script=[{"at": 1, "action": "dance"}]'], 2,
         r"Error: a scripted action takes at, action, task, reason \(action one of .*\): .*'dance'.*"),
    Case("decider-script-number", ["run", "a.wav", "--decider", "scripted", "--perceiver", "energy",
                                   "--responder", "mock", "-o", "decider.script=5"], 2,
         lit("Error: script must be a list, got int 5")),
    Case("policy-flag-string", ["run", "a.wav", "--perceiver", "energy", "--decider", "default", "--responder", "mock",
                                "-o", 'decider.barge_in="no"'], 2,
         lit("Error: default policy: barge_in must be true or false, got str 'no'")),
    Case("policy-map-number", ["run", "a.wav", "--perceiver", "energy", "--decider", "keyword", "--responder", "mock",
                               "-o", "decider.task_for=5"], 2,
         r"Error: KeywordPolicy: task_for must map names to names \(an object of strings\), got 5"),
    Case("policy-out-of-range", ["run", "a.wav", "--perceiver", "energy", "--decider", "sound-event",
                                 "--responder", "mock", "-o", "decider.threshold=2"], 2,
         r"Error: SoundEventPolicy: threshold must be a number in \[0, 1\], got 2"),
    Case("policy-unknown-option", ["run", "a.wav", "--perceiver", "energy", "--decider", "endpointing",
                                   "--responder", "mock", "-o", "decider.delay=1"], 2,
         r"Error: unknown option\(s\) delay for decider 'endpointing'; it takes task, min_delay, .*"),
    Case("option-shape", ["run", "a.wav", *MOCKS, "-o", "responder=1"], 2,
         r"Error: Invalid value for --option: option 'responder=1' must look like perceiver\.KEY=VALUE, .*"),
    Case("unknown-backend", ["run", "a.wav", "--perceiver", "nope", "--decider", "turn-end", "--responder", "mock"], 2,
         r"Error: unknown perceiver 'nope'; available: default, energy, .*"),
    Case("http-vad-name", ["run", "a.wav", "--fast", "--perceiver", "vllm", "-o", "perceiver.vad=energy",
                           "-o", "perceiver.base_url=http://127.0.0.1:9/v1", "--decider", "turn-end",
                           "--responder", "mock"], 1,
         r"Error: OpenAI-compatible server at http://127\.0\.0\.1:9/v1 is not usable: cannot connect to .*"),
    Case("http-vad-unknown", ["run", "a.wav", "--perceiver", "vllm", "-o", "perceiver.vad=nope",
                              "--decider", "turn-end", "--responder", "mock"], 2, r"Error: unknown perceiver 'nope'.*"),
    Case("http-unknown-option", ["run", "a.wav", "--perceiver", "vllm", "-o", "perceiver.bogus=1",
                                 "--decider", "turn-end", "--responder", "mock"], 2,
         r"Error: unknown option\(s\) bogus; TranscriptionPerceiver takes .*"),
    # session settings
    Case("chunk-zero", ["run", "a.wav", *MOCKS, "--chunk-seconds", "0"], 2,
         r"Error: chunk_seconds=0\.0 is outside \[0\.1, 2\.0\] s"),
    Case("chunk-nan", ["run", "a.wav", *MOCKS, "--chunk-seconds", "nan"], 2,
         r"Error: chunk_seconds=nan is outside \[0\.1, 2\.0\] s"),
    Case("first-token-zero", ["run", "a.wav", *MOCKS, "--first-token-timeout", "0"], 2,
         r"Error: Invalid value for '--first-token-timeout': 0\.0 is not in the range x>0\."),
    Case("task-shape", ["run", "a.wav", *MOCKS, "--task", "answer"], 2,
         r"Error: Invalid value for --task: task 'answer' must look like NAME:INSTRUCTION"),
    Case("task-duplicate", ["run", "a.wav", *MOCKS, "--task", "a:x", "--task", "a:y"], 2,
         r"Error: standing task names must be unique, got \['a', 'a'\]"),
    Case("play-fast", ["run", "a.wav", *MOCKS, "--fast", "--play"], 2,
         r"Error: Invalid value for --play: playing on the sound card needs real-time pacing; drop --fast"),
    # outputs
    Case("trace-missing-folder", ["run", "a.wav", *MOCKS, "--trace", "no/such/t.jsonl"], 2,
         r"Error: --trace: cannot write the trace to 'no/such/t\.jsonl': No such file or directory",
         check=_nothing_ran),
    Case("trace-folder", ["run", "a.wav", *MOCKS, "--trace", "a_folder"], 2,
         r"Error: Invalid value for '--trace': File 'a_folder' is a directory\."),
    Case("wav-stdout", ["run", "a.wav", *MOCKS, "--out-wav", "-"], 2,
         r"Error: --out-wav needs a file \(its header is rewritten as it grows\); use --pcm-out for stdout"),
    Case("two-stdouts", ["run", "a.wav", *MOCKS, "--trace", "-", "--pcm-out"], 2,
         r"Error: --trace - and --pcm-out both write to standard output; give --trace a file"),
    Case("trace-stdout", ["run", "a.wav", "--fast", *MOCKS, "--trace", "-"], 0, check=_stdout_is_jsonl),
]

SCENES = "scenes"
SIMULATE = [
    Case("anchor-middle", ["simulate", f"{SCENES}/anchor.json"], 2,
         lit("Error: scene file 'scenes/anchor.json': segment 0 (speech) is malformed: "
             "Expect.anchor must be 'end' or 'onset', got 'middle'")),
    Case("scene-1e5-seconds", ["simulate", f"{SCENES}/long_scene.json"], 2,
         lit("Error: scene file 'scenes/long_scene.json': scene duration must be a number from 0 to 10800 s, got 100000.0")),
    Case("segment-1e12-seconds", ["simulate", f"{SCENES}/long_segment.json"], 2,
         lit("Error: scene file 'scenes/long_segment.json': segment 0 (speech) is malformed: "
             "Speech.duration must be > 0 and at most 10800 s, got 1000000000000.0")),
    Case("gain-1e6-db", ["simulate", f"{SCENES}/loud.json"], 2,
         r"Error: .*segment 0 \(speech\) is malformed: Speech\.gain_db must be from -120 to 60, got 1000000\.0"),
    Case("text-number", ["simulate", f"{SCENES}/text_number.json"], 2,
         r"Error: .*segment 0 \(speech\) is malformed: Speech\.text must be a non-empty string, got 5"),
    Case("unknown-task", ["simulate", f"{SCENES}/unknown_task.json"], 2,
         r"Error: .*segment 0 expects a response for unknown task 'nope'; tasks: \['answer'\]"),
    Case("unknown-kind", ["simulate", f"{SCENES}/unknown_kind.json"], 2,
         r"Error: .*segment 0 has unknown kind 'music'; use one of \['silence', 'sound', 'speech'\]"),
    Case("gap-text", ["simulate", f"{SCENES}/gap_text.json"], 2,
         r"Error: .*segment 0 \(silence\) is malformed: gap must be a number from 0 to 10800 s, got 'x'"),
    Case("broken-json", ["simulate", f"{SCENES}/broken.json"], 2,
         r"Error: scene file 'scenes/broken\.json' is not valid JSON: Expecting value: line 1 column 15 \(char 14\)"),
    Case("broken-toml", ["simulate", f"{SCENES}/broken.toml"], 2,
         r"Error: scene file 'scenes/broken\.toml' is not valid TOML: .*"),
    Case("scene-list", ["simulate", f"{SCENES}/list.json"], 2,
         r"Error: scene file 'scenes/list\.json' must hold one object/table"),
    Case("scene-deep", ["simulate", f"{SCENES}/deep.json"], 2,
         r"Error: scene file 'scenes/deep\.json' is not valid JSON: nested too deeply"),
    Case("scene-binary", ["simulate", f"{SCENES}/binary.json"], 2,
         r"Error: scene file 'scenes/binary\.json' is not UTF-8 text \(byte 128\)"),
    Case("scene-suffix", ["simulate", f"{SCENES}/scene.txt"], 2,
         r"Error: scene file 'scenes/scene\.txt' must end in \.json or \.toml"),
    Case("scene-folder", ["simulate", SCENES], 2, r"Error: Invalid value for 'SCENE': File 'scenes' is a directory\."),
    Case("clip-bank-escape", ["simulate", f"{SCENES}/bank_escape.json"], 2,
         r"Error: .*clip 'sonic-pi:\.\./\.\./\.\./\.\./etc/passwd' names a file outside the 'sonic-pi' bank's folder"),
    Case("clip-absolute", ["simulate", f"{SCENES}/absolute.json"], 2,
         r"Error: .*clip '/etc/passwd' lies outside the scene file's folder and the clip banks; .*--any-clip-path.*"),
    Case("clip-outside", ["simulate", f"{SCENES}/outside.json"], 2,
         r"Error: .*clip '\.\./a\.wav' lies outside the scene file's folder and the clip banks; .*"),
    Case("clip-outside-allowed", ["simulate", f"{SCENES}/outside.json", "--any-clip-path", "--no-timeline"], 0,
         out=(r"scene 'scene': 5\.0 s of audio",)),
    Case("clip-inside", ["simulate", f"{SCENES}/inside.json", "--no-timeline"], 0, out=(r"scene 'scene': 1\.5 s",)),
    Case("clip-raw", ["simulate", f"{SCENES}/raw.json"], 2,
         r"Error: .*clip '.*clip\.raw' is raw PCM, which has no header saying its format; convert it to WAV .*"),
    Case("builtin-unknown-option", ["simulate", f"{SCENES}/turns.json", "-o", "decider.bogus=1"], 2,
         r"Error: unknown option\(s\) bogus for the simulator's decider 'rules'; it takes answer_task, .*"),
    Case("builtin-wrong-type", ["simulate", f"{SCENES}/turns.json", "-o", 'responder.word_seconds="x"'], 2,
         r"Error: the simulator's responder 'speaking' rejected its options word_seconds='x': .*"),
    Case("builtin-option-applies", ["simulate", f"{SCENES}/turns.json", "-o", "responder.word_seconds=0.05",
                                    "--no-timeline", "--json", "-"], 0,
         check=lambda result, _: _reply_audio_seconds(result, 0.05 * 5 * 3)),
    Case("offload-on-virtual-time", ["simulate", f"{SCENES}/turns.json", "--perceiver", "faster-whisper",
                                     "-o", "perceiver.offload=true"], 2,
         r"Error: -o perceiver\.offload=true runs 'faster-whisper' on a thread, which virtual time does not wait "
         r"for .*drop it: simulate runs the model inline"),
    Case("json-stdout", ["simulate", f"{SCENES}/turns.json", "--json", "-"], 0, check=_stdout_is_report_json),
    Case("trace-stdout", ["simulate", f"{SCENES}/turns.json", "--trace", "-", "--no-timeline"], 0,
         check=lambda result, _: Trace.from_jsonl(result["stdout"]).complete or pytest.fail("incomplete")),
    Case("wav-stdout", ["simulate", f"{SCENES}/turns.json", "--wav", "-", "--no-timeline"], 0, check=_stdout_is_wav),
    Case("two-stdouts", ["simulate", f"{SCENES}/turns.json", "--json", "-", "--trace", "-"], 2,
         r"Error: only one of --trace, --json and --wav can be '-' \(standard output\)"),
    Case("json-missing-folder", ["simulate", f"{SCENES}/turns.json", "--json", "no/such/r.json"], 2,
         r"Error: --json: cannot write 'no/such/r\.json': No such file or directory", check=_nothing_ran),
    Case("cost-negative", ["simulate", f"{SCENES}/turns.json", "--cost", "perceiver.fixed=-1"], 2,
         r"Error: CostModel\.fixed must be from 0 to 10800 s, got -1\.0"),
    Case("fault-backwards", ["simulate", f"{SCENES}/turns.json", "--fault", "perceiver:raise:5-2"], 2,
         r"Error: malformed fault .*: Fault span \[5\.0, 2\.0\) must satisfy 0 <= start < end"),
    Case("timeout-zero", ["simulate", f"{SCENES}/turns.json", "--timeout", "0"], 2,
         r"Error: FailurePolicy\.timeout must be a number > 0, got 0\.0"),
    Case("seed-negative", ["simulate", f"{SCENES}/turns.json", "--seed", "-5"], 2,
         r"Error: Invalid value for '--seed': -5 is not in the range x>=0\."),
    Case("fault-text", ["simulate", f"{SCENES}/turns.json", "--fault", "perceiver:raise:1-2:retryable=maybe"], 2,
         r"Error: Invalid value for --fault: fault 'perceiver:raise:1-2:retryable=maybe': could not convert .*"),
    Case("fault-nan", ["simulate", f"{SCENES}/turns.json", "--fault", "perceiver:raise:nan-2"], 2,
         r"Error: malformed fault .*: Fault span \[nan, 2\.0\) must satisfy 0 <= start < end"),
    Case("fault-huge-hang", ["simulate", f"{SCENES}/turns.json", "--fault", "perceiver:hang:0-1:seconds=1e300",
                             "--no-timeline"], 0, out=(r"backend errors: perceiver \d+",)),
    Case("chunk-too-long", ["simulate", f"{SCENES}/turns.json", "--chunk-seconds", "3"], 2,
         r"Error: chunk_seconds=3\.0 is outside \[0\.1, 2\.0\] s"),
]

TRACES = "traces"
REPORT = [
    Case("cut-at-line-end", ["report", f"{TRACES}/cut_at_line.jsonl"], 0,
         out=((r"partial trace: it stops at \d+\.\d\d s without a session end; scored up to there "
              r"\(1 expected response\(s\) after it left out\)"), r"0\.4s +1\.000 +1\.000 +1\.000")),
    Case("cut-mid-line", ["report", f"{TRACES}/cut_mid_line.jsonl"], 0,
         out=(r"partial trace: it stops at", r"0\.4s +1\.000 +1\.000 +1\.000")),
    Case("no-session-end", ["report", f"{TRACES}/no_end.jsonl"], 0, out=(r"partial trace", r"0\.4s +1\.000 +1\.000")),
    Case("complete", ["report", f"{TRACES}/good.jsonl"], 0, out=(r"0\.4s +1\.000 +1\.000 +1\.000",)),
    Case("binary", ["report", f"{TRACES}/binary.jsonl"], 2,
         r"Error: trace 'traces/binary\.jsonl' is not UTF-8 text \(byte 128 cannot be read\); is it a trace file\?"),
    Case("latin1", ["report", f"{TRACES}/latin1.jsonl"], 2, r"Error: trace 'traces/latin1\.jsonl' is not UTF-8 text .*"),
    Case("deep", ["report", f"{TRACES}/deep.jsonl"], 2,
         r"Error: trace 'traces/deep\.jsonl': the trace header is not JSON: nested too deeply"),
    Case("header-list", ["report", f"{TRACES}/header_list.jsonl"], 2,
         r"Error: trace 'traces/header_list\.jsonl': the trace header must be a JSON object, got list"),
    Case("meta-list", ["report", f"{TRACES}/meta_list.jsonl"], 2,
         r"Error: .*the trace header's meta must be an object, got list"),
    Case("record-keys", ["report", f"{TRACES}/record_keys.jsonl"], 2,
         r"Error: trace 'traces/record_keys\.jsonl': trace line 2 is malformed: missing 'heard'"),
    Case("record-list", ["report", f"{TRACES}/record_list.jsonl"], 2,
         r"Error: .*trace line 2 must be a JSON object, got list"),
    Case("event-kind", ["report", f"{TRACES}/event_kind.jsonl"], 2,
         r"Error: .*trace line 2 is malformed: unknown event kind 'boom'"),
    Case("event-shape", ["report", f"{TRACES}/event_shape.jsonl"], 2, r"Error: .*trace line 2 is malformed: .*"),
    Case("event-fields", ["report", f"{TRACES}/event_fields.jsonl"], 2,
         r"Error: .*trace line 2 is malformed: malformed 'session_ended' event: .*"),
    Case("chunk-text", ["report", f"{TRACES}/chunk_text.jsonl"], 2,
         r"Error: the trace's meta chunk_seconds must be a number of seconds, got 'x'"),
    Case("stored-scene-text", ["report", f"{TRACES}/scene_text.jsonl"], 2, r"Error: a scene needs a 'segments' list"),
    Case("stored-scene-huge", ["report", f"{TRACES}/scene_huge.jsonl"], 2,
         r"Error: scene duration must be a number from 0 to 10800 s, got 1000000000000\.0"),
    Case("time-inf", ["report", f"{TRACES}/time_inf.jsonl"], 2,
         r"Error: .*trace line 2 is malformed: its times must be finite, got at=inf heard=.*"),
    Case("time-nan", ["report", f"{TRACES}/time_nan.jsonl"], 2,
         r"Error: .*trace line 2 is malformed: its times must be finite, got at=.* heard=nan"),
    Case("empty", ["report", f"{TRACES}/empty.jsonl"], 2, r"Error: trace 'traces/empty\.jsonl': trace is empty: no header line"),
    Case("version", ["report", f"{TRACES}/version.jsonl"], 2,
         r"Error: .*unsupported trace version 99; expected 1 \(is this a trace file\?\)"),
    Case("no-scene", ["report", f"{TRACES}/no_scene.jsonl"], 2,
         r"Error: the trace holds no scene in its meta; pass the scene explicitly"),
    Case("scene-broken", ["report", f"{TRACES}/good.jsonl", "--scene", f"{SCENES}/broken.json"], 2,
         r"Error: scene file 'scenes/broken\.json' is not valid JSON: .*"),
    Case("json-stdout", ["report", f"{TRACES}/good.jsonl", "--json", "-"], 0, check=_stdout_is_report_json),
    Case("json-folder", ["report", f"{TRACES}/good.jsonl", "--json", "a_folder"], 2,
         r"Error: Invalid value for '--json': File 'a_folder' is a directory\."),
    Case("trace-folder", ["report", TRACES], 2, r"Error: Invalid value for 'TRACE': File 'traces' is a directory\."),
]

OTHER = [
    Case("train-broken-toml", ["train", "configs/broken.toml"], 2, r"Error: configs/broken\.toml is not valid TOML: .*"),
    Case("train-binary", ["train", "configs/binary.toml"], 2, r"Error: an input file is not UTF-8 text .*"),
    Case("train-missing-keys", ["train", "configs/missing.toml"], 2,
         r"Error: configs/missing\.toml: unknown or malformed setting: .*missing 2 required keyword-only arguments.*"),
    Case("train-epochs-zero", ["train", "configs/missing.toml", "--epochs", "0"], 2,
         r"Error: Invalid value for '--epochs': 0 is not in the range x>=1\."),
    Case("train-output-unwritable", ["train", str(TRAIN_CONFIG), "--output", "/proc/nope/x"], 2,
         lit("Error: cannot write the checkpoint to '/proc/nope/x': No such file or directory")),
    Case("train-output-file", ["train", str(TRAIN_CONFIG), "--output", "a.wav"], 2,
         lit("Error: Invalid value for '--output': Directory 'a.wav' is a file.")),
    *(Case(f"evaluate-events-{name}", ["evaluate", "--policy", "keyword", "--scenes", "0", "--events",
                                       f"events/{name}.jsonl"], 2, error)
      for name, error in (
          ("binary", r"Error: an input file is not UTF-8 text \(a binary file\?\): .*"),
          ("deep", r"Error: an input file is nested too deeply to read"),
          ("list", r"Error: events/list\.jsonl:1: a row must be a JSON object, got list"),
          ("keys", r"Error: events/keys\.jsonl:1: missing description, decision \(a row needs id, description .*"),
          ("not_json", r"Error: events/not_json\.jsonl:1: not JSON: Expecting value: .*"),
          ("empty", r"Error: events file 'events/empty\.jsonl' holds no rows"),
      )),
    Case("evaluate-events-folder", ["evaluate", "--events", "a_folder"], 2,
         r"Error: Invalid value for '--events': File 'a_folder' is a directory\."),
    Case("evaluate-unknown-policy", ["evaluate", "--policy", "nope", "--scenes", "0", "--events",
                                     "events/ok.jsonl"], 2, r"Error: unknown decider 'nope'; available: default, .*"),
    Case("backends-unknown", ["backends", "nope"], 2, r"Error: no backend named 'nope'; known: default, .*"),
    Case("backends-options", ["backends", "energy"], 0,
         out=(r"threshold_db: float \(default -40\.0\)", r"min_silence: float \(default 0\.5\)")),
    Case("backends-server-options", ["backends", "vllm", "--kind", "responder"], 0,
         out=(r"\*\*server: the server options base_url, api_key, model, connect_timeout, read_timeout",)),
    Case("unknown-command", ["dance"], 2, r"Error: No such command 'dance'\."),
]


def _reply_audio_seconds(result: dict[str, Any], expected: float) -> None:
    assert json.loads(result["stdout"])["reply_audio_seconds"] == pytest.approx(expected, abs=0.2)


GROUPS = {"run": RUN, "simulate": SIMULATE, "report": REPORT, "other": OTHER}


@pytest.fixture(scope="module")
def results(inputs: Path, cli_batch: Callable[..., list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Every case's outcome, each group run in one Python process."""
    (inputs / "out").mkdir(exist_ok=True)
    out: dict[str, dict[str, Any]] = {}
    for group, cases in GROUPS.items():
        batch = [(case.argv, (inputs / case.stdin).read_bytes() if case.stdin else b"") for case in cases]
        for case, result in zip(cases, cli_batch(batch), strict=True):
            out[f"{group}:{case.id}"] = result
    return out


@pytest.mark.parametrize(
    ("group", "case"), [pytest.param(g, c, id=f"{g}:{c.id}") for g, cases in GROUPS.items() for c in cases]
)
def test_cli_case(group: str, case: Case, results: dict[str, dict[str, Any]], inputs: Path) -> None:
    result = results[f"{group}:{case.id}"]
    stderr, stdout = result["stderr"], result["stdout"]
    assert "Traceback" not in stderr, stderr
    assert result["code"] == case.code, (stdout[-2000:], stderr[-2000:])
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    if case.code:
        assert len(errors) == 1, stderr
        assert re.fullmatch(case.error or "", stderr.strip().splitlines()[-1]), stderr
    else:
        assert not errors, stderr
    for pattern in case.out:
        assert re.search(pattern, stdout), stdout[-3000:]
    if case.check is not None:
        case.check(result, inputs)


def test_the_matrix_names_every_case_once() -> None:
    ids = [f"{g}:{c.id}" for g, cases in GROUPS.items() for c in cases]
    assert len(ids) == len(set(ids))
