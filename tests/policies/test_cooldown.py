"""Cooldown: the one helper behind re-arming, refractory periods, rate cooldowns and de-duplication."""

from __future__ import annotations

import pytest

from audiointeract.errors import ConfigurationError
from audiointeract.policies.cooldown import Cooldown


def test_a_key_is_ready_again_after_its_period() -> None:
    cooldown = Cooldown(5.0)
    assert cooldown.ready("siren", 0.0)  # never noted
    cooldown.note("siren", 1.0)
    assert not cooldown.ready("siren", 5.9)
    assert cooldown.cooling_since("siren", 5.9) == 1.0
    assert cooldown.ready("siren", 6.0)
    assert cooldown.cooling_since("siren", 6.0) is None
    assert cooldown.ready("alarm", 2.0)  # keys are independent


def test_summed_chunk_times_count_as_the_period() -> None:
    cooldown = Cooldown(0.2)
    cooldown.note(None, 9.4)
    assert 9.6 - 9.4 < 0.2  # floating point: a plain comparison would say "not yet"
    assert cooldown.ready(None, 9.6)


def test_period_zero_is_always_ready_and_remembers_nothing() -> None:
    cooldown = Cooldown(0.0)
    cooldown.note("x", 3.0)
    assert cooldown.ready("x", 2.0)
    assert len(cooldown) == 0


def test_only_the_newest_keys_are_remembered() -> None:
    cooldown = Cooldown(60.0, max_keys=16)
    for n in range(1000):  # free-text captions: every label new
        cooldown.note(f"caption {n}", float(n) / 100)
    assert len(cooldown) == 16
    assert not cooldown.ready("caption 999", 10.0)
    assert cooldown.ready("caption 0", 10.0)  # forgotten, so ready
    cooldown.clear()
    assert len(cooldown) == 0


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan"), True])
def test_bad_periods_are_refused(bad: float) -> None:
    with pytest.raises(ConfigurationError, match="period"):
        Cooldown(bad)
