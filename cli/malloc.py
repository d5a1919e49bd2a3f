"""glibc malloc settings for the always-on commands, so that their memory stays flat for hours."""

from __future__ import annotations

import ctypes
import os
import sys

import attrs

__all__ = ["SETTINGS", "MallocSetting", "tune_malloc"]


@attrs.frozen
class MallocSetting:
    """One ``mallopt`` parameter, and the glibc environment variable that overrides it."""

    name: str
    env: str
    param: int
    value: int


SETTINGS = (
    MallocSetting("arenas", "MALLOC_ARENA_MAX", -8, 2),
    MallocSetting("mmap_threshold", "MALLOC_MMAP_THRESHOLD_", -3, 4 << 20),
    MallocSetting("trim_threshold", "MALLOC_TRIM_THRESHOLD_", -1, 8 << 20),
)


def tune_malloc() -> tuple[str, ...]:
    """Apply each setting whose environment variable is unset; return the names applied (none off glibc).

    * **arenas**: native threads (ONNX Runtime, CTranslate2, the LM) otherwise spread over up
      to eight arenas per core, and their fragmentation grew RSS by 17 MB per hour of real audio.
    * **mmap and trim thresholds**: glibc raises its mmap threshold to the size of the largest
      block freed so far (up to 32 MB), after which a transient native buffer of tens of MB
      is carved from the heap and stays there as free memory when released (a step of 26 MB
      of free heap after 46 minutes of real audio). Fixed thresholds send blocks of 4 MB and
      more to mmap, which gives them back to the system when freed.

    Only ``run`` and ``serve`` call it, first thing: an application choice, never made by the
    library. ``benchmarks/soak.py`` measures the effect.
    """
    if not sys.platform.startswith("linux"):
        return ()
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return ()
    return tuple(s.name for s in SETTINGS if not os.environ.get(s.env) and mallopt(s.param, s.value))
