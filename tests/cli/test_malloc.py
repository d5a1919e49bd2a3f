"""run and serve tune glibc's malloc (arenas, mmap and trim thresholds), except what the user set."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from audiointeract.cli.malloc import SETTINGS

SCRIPT = "from audiointeract.cli.malloc import tune_malloc; print(','.join(tune_malloc()))"


def tuned(**env: str) -> list[str]:
    clean = {key: value for key, value in os.environ.items() if key not in {s.env for s in SETTINGS}}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                            timeout=60, env={**clean, **env})
    return [name for name in result.stdout.strip().split(",") if name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_every_setting_is_applied_unless_its_environment_variable_is_set() -> None:
    assert tuned() == ["arenas", "mmap_threshold", "trim_threshold"]
    for setting in SETTINGS:
        assert tuned(**{setting.env: "4"}) == [s.name for s in SETTINGS if s is not setting]
