"""Thread budgets for torch models that hold in the calling thread only, never process-wide.

``torch.set_num_threads`` does not stay in the thread that calls it. With torch 2.13 on
CPU (OpenMP build) it sets that thread's OpenMP team size *and* a process-wide default
that every thread adopts when it runs its first torch operation: a thread started after
a worker had called ``set_num_threads(1)`` ran with one thread, although the main
thread kept two. OpenMP's own ``omp_set_num_threads`` only changes the calling thread
(OpenMP keeps this setting per thread), and torch's parallel kernels and its MKL
follow it. :func:`thread_budget` applies that, through ``threadpoolctl``, for one
block of work and restores it afterwards, so a model's budget neither leaks into other
models nor into later work on the same pooled thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from audiointeract.errors import BackendUnavailable, ConfigurationError

__all__ = ["check_threads", "thread_budget"]


def check_threads(owner: str, threads: int | None) -> int | None:
    """``threads`` if it is None or an int >= 1, else a ConfigurationError naming ``owner``."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigurationError(f"{owner}: threads must be an int >= 1 or None, got {threads!r}")
    return threads


@lru_cache(maxsize=1)
def _openmp() -> Any:
    """The OpenMP runtimes loaded in this process (called once torch, and so its runtime, is loaded)."""
    from threadpoolctl import ThreadpoolController  # noqa: PLC0415 - optional

    return ThreadpoolController().select(user_api="openmp")


@contextmanager
def thread_budget(threads: int | None) -> Iterator[None]:
    """Run the block with torch using at most ``threads`` CPU threads, in this thread only (None: as is)."""
    check_threads("thread_budget", threads)
    if threads is None:
        yield
        return
    import torch  # noqa: PLC0415 - only code that runs torch models asks for a budget

    torch.get_num_threads()  # torch sets each thread up on first use; that must not override the budget
    try:
        openmp = _openmp()
    except ImportError as exc:
        raise BackendUnavailable("thread budget", "transformers", "threadpoolctl") from exc
    with openmp.limit(limits=threads):
        yield
