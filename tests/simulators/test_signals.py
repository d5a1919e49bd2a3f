from __future__ import annotations

import numpy as np
import pytest

from audiointeract.simulators.signals import over_noise_floor, phone_ring, pink_noise, siren_wail, smoke_alarm_t3


def test_pink_noise_has_the_asked_rms_and_is_seeded() -> None:
    noise = pink_noise(2.0, 0.05, seed=3)
    assert noise.size == 32000
    assert float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))) == pytest.approx(0.05, rel=0.05)
    np.testing.assert_array_equal(noise, pink_noise(2.0, 0.05, seed=3))


def test_t3_alarm_follows_the_temporal_three_pattern() -> None:
    alarm = smoke_alarm_t3(cycles=1)
    assert alarm.size == 4 * 16000  # 3 x (0.5 on + 0.5 off) + 1 s off
    on = [float(np.abs(alarm[i * 8000 : (i + 1) * 8000]).max()) > 0.1 for i in range(8)]
    assert on == [True, False, True, False, True, False, False, False]


def test_alarms_sit_at_the_requested_floor() -> None:
    for sound in (siren_wail(2.0), phone_ring()):
        mixed = over_noise_floor(sound, lead=1.0, tail=0.5, floor_db=-20.0)
        lead = mixed[:16000].astype(np.float64)
        ratio_db = 10 * np.log10(np.mean(lead**2) / np.mean(sound.astype(np.float64) ** 2))
        assert ratio_db == pytest.approx(-20.0, abs=1.0)
        assert mixed.size == 16000 + sound.size + 8000
