"""The echo canceller on real recorded speech: the agent's voice played back into the microphone, the user over it."""

from __future__ import annotations

import numpy as np
import pytest

from audiointeract.audio import FloatArray, resample
from audiointeract.echo import EchoCanceller, EchoConfig
from audiointeract.errors import ConfigurationError
from audiointeract.simulators.clips import default_bank

RATE = 16000
CHUNK = 1600  # 0.1 s
BANK = default_bank()
pytestmark = pytest.mark.skipif(not BANK.available("asterisk"), reason="needs asterisk-core-sounds-en-wav")


def clip(name: str) -> FloatArray:
    samples, rate = BANK.load(name)
    return resample(samples, rate, RATE)


def level_db(samples: FloatArray) -> float:
    return 10 * float(np.log10(np.mean(np.square(samples.astype(np.float64))) + 1e-20))


def room(played: FloatArray, delay: float, gain_db: float) -> FloatArray:
    """What a microphone next to the speaker hears of ``played``: late, quieter, with a reflection."""
    path = np.zeros(round(delay * RATE) + 161)
    path[round(delay * RATE)] = 1.0
    path[-1] = 0.3  # a reflection 10 ms after the direct sound
    echo = np.convolve(played, path)[: played.size]
    return (echo * 10 ** (gain_db / 20)).astype(np.float32)


def cancel(canceller: EchoCanceller, played: FloatArray, mic: FloatArray) -> FloatArray:
    """Play and record chunk by chunk, as the session does (what plays is known before its echo is heard)."""
    out = []
    for start in range(0, mic.size, CHUNK):
        canceller.play(played[start : start + CHUNK], RATE, start / RATE)
        out.append(canceller.process(mic[start : start + CHUNK], start))
    return np.concatenate(out)


@pytest.mark.parametrize(("delay", "gain_db"), [(0.05, -10.0), (0.15, -15.0), (0.3, -25.0)])
def test_the_agent_alone_is_removed(delay: float, gain_db: float) -> None:
    played = np.concatenate([clip("asterisk:vm-savefolder"), clip("asterisk:conf-getpin")])
    mic = room(played, delay, gain_db)
    out = cancel(EchoCanceller(EchoConfig(), RATE), played, mic)
    settled = slice(RATE, None)  # after the first second the path is known
    assert level_db(out[settled]) < level_db(mic[settled]) - 30


def test_the_user_talking_over_the_agent_is_kept() -> None:
    played = np.concatenate([clip("asterisk:vm-savefolder"), clip("asterisk:conf-getpin")])
    user = np.zeros_like(played)
    speech = clip("asterisk:agent-pass")[: played.size - 2 * RATE]
    user[2 * RATE : 2 * RATE + speech.size] = speech
    mic = room(played, 0.1, -15.0) + user
    out = cancel(EchoCanceller(EchoConfig(), RATE), played, mic)
    span = slice(2 * RATE, 2 * RATE + speech.size)
    kept = out[span].astype(np.float64)
    # the user's words come through nearly whole: 15 dB over the leftover, within 2 dB of their level
    assert level_db(kept - user[span]) < level_db(user[span]) - 15
    assert abs(level_db(kept) - level_db(user[span])) < 2


def test_without_an_echo_the_microphone_is_untouched() -> None:
    played = clip("asterisk:vm-savefolder")
    user = clip("asterisk:agent-pass")[: played.size]
    mic = np.zeros_like(played)
    mic[: user.size] = user  # headphones: the microphone hears only the user
    out = cancel(EchoCanceller(EchoConfig(), RATE), played, mic)
    np.testing.assert_array_equal(out, mic)


@pytest.mark.parametrize("field", ["max_delay", "filter_seconds", "window", "gate_db"])
def test_bad_settings_name_the_field(field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        EchoConfig(**{field: 0.0})  # type: ignore[arg-type]
