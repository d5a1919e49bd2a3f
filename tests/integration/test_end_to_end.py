"""End to end on real recordings: the README's main command, and the embedded SmolLM2 default responder.

The scene is a real recorded question ("Which folder should I save the message to?",
Asterisk's ``vm-savefolder`` prompt) between stretches of silence; the run uses the
registry defaults (embedded perceiver, default policy, SmolLM2 + speech).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from audiointeract.audio import resample
from audiointeract.backends.hf.default import default_responder
from audiointeract.backends.hf.responder import TransformersResponder
from audiointeract.backends.speech import SpeechResponder
from audiointeract.cli import main
from audiointeract.events import (
    Action,
    AudioDelta,
    Decision,
    ReplyAudio,
    ReplyFinished,
    ResponseRequest,
    TextDelta,
    Turn,
)
from audiointeract.simulators.clips import default_bank
from audiointeract.trace import Trace

pytestmark = pytest.mark.slow

QUESTION = "asterisk:vm-savefolder"
RATE = 16000


@pytest.fixture
def anyio_backend() -> str:
    """Real time here: these tests measure real generation, not simulated time."""
    return "asyncio"


@pytest.fixture(scope="module")
def question_scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A WAV of 0.5 s silence, the real recorded question, then 6 s of silence; and the question's end time."""
    bank = default_bank()
    if not bank.available("asterisk"):
        pytest.skip("needs the asterisk-core-sounds-en-wav Debian package")
    samples, rate = bank.load(QUESTION)
    speech = resample(samples, rate, RATE)
    scene = np.concatenate([np.zeros(RATE // 2, np.float32), speech, np.zeros(6 * RATE, np.float32)])
    path = tmp_path_factory.mktemp("scene") / "question.wav"
    soundfile.write(str(path), scene, RATE)
    return path, 0.5 + speech.size / RATE


@pytest.fixture(scope="module")
def spoken() -> SpeechResponder:
    responder = default_responder(voice="espeak-ng")
    assert isinstance(responder, SpeechResponder)
    return responder


def ask(text: str) -> ResponseRequest:
    return ResponseRequest(
        reply_id=0, decision=Decision(action=Action.RESPOND, task="answer"), task=None, transcript=text,
        history=(Turn(role="user", text=text),),
    )


@pytest.mark.anyio
async def test_smollm2_answers_and_speaks(spoken: SpeechResponder) -> None:
    deltas = [delta async for delta in spoken.respond(ask("What is the capital of France?"))]
    text = "".join(d.text for d in deltas if isinstance(d, TextDelta))
    audio = [d for d in deltas if isinstance(d, AudioDelta)]
    assert "paris" in text.lower()
    assert audio
    assert audio[0].text  # the first piece of each sentence carries its text
    assert sum(piece.duration for piece in audio) > 1.0
    model = spoken.inner
    assert isinstance(model, TransformersResponder)
    stats = model.last_statistics
    assert stats is not None
    assert 0 < stats.tokens < 48  # stopped at the end-of-turn token, before the limit
    assert stats.time_to_first_token is not None
    assert stats.tokens_per_second is not None
    assert stats.tokens_per_second > 0


def test_audiointeract_run_answers_a_real_spoken_question(question_scene: tuple[Path, float], tmp_path: Path) -> None:
    scene, question_end = question_scene
    out_wav, trace_file = tmp_path / "reply.wav", tmp_path / "trace.jsonl"
    result = CliRunner().invoke(
        # a busy machine may take longer than the default 10 s to the first words: timing is the benchmarks' job
        main, ["run", str(scene), "--fast", "--out-wav", str(out_wav), "--trace", str(trace_file),
               "--first-token-timeout", "120"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    trace = Trace.load(trace_file)
    responds = [d for d in trace.of_type(Decision) if d.action is Action.RESPOND]
    assert responds, result.output
    assert responds[0].heard_until is not None
    assert responds[0].heard_until >= question_end - 0.5
    finished = trace.of_type(ReplyFinished)
    assert finished, result.output
    assert finished[0].text.strip()
    assert "reply 0 finished" in result.output
    # the spoken reply is in the WAV, placed on the session timeline
    audio, rate = soundfile.read(str(out_wav), dtype="float32")
    spoken = audio[np.abs(audio) > 0.01]
    assert spoken.size / rate > 0.5
    assert sum(event.duration for event in trace.of_type(ReplyAudio)) > 0.5
