"""Fewer glibc malloc arenas for the always-on commands, so their memory stays flat."""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["ARENAS", "cap_malloc_arenas"]

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def cap_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` unless ``MALLOC_ARENA_MAX`` is set; True if it was capped.

    Native threads (ONNX Runtime, CTranslate2, the LM) otherwise spread over up to eight
    arenas per core, and a session listening for hours creeps up with their fragmentation (17 MB per
    hour of real audio with the embedded perceiver; much flatter with two arenas, see
    ``benchmarks/soak.py``). Only ``run`` and ``serve`` call it, first thing: an application
    choice, never made by the library. No effect off glibc.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))
