"""run and serve cap glibc's malloc arenas, unless the user chose a number."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = "from audiointeract.cli.malloc import cap_malloc_arenas; print(cap_malloc_arenas())"


def capped(**env: str) -> str:
    clean = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                            timeout=60, env={**clean, **env})
    return result.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_arenas_are_capped_unless_malloc_arena_max_is_set() -> None:
    assert capped() == "True"
    assert capped(MALLOC_ARENA_MAX="4") == "False"
