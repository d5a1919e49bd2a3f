"""What a cancelled reply may leave behind: SDK worker threads and child processes."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def worker_threads() -> list[threading.Thread]:
    """Live threads the SDK started (they are all named ``audiointeract-*``)."""
    return [t for t in threading.enumerate() if t.name.startswith("audiointeract-") and t.is_alive()]


def child_processes(name: str) -> list[int]:
    """Live (non-zombie) children of this process whose command is ``name``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid() and comm == name and state != "Z":
            found.append(int(entry.name))
    return found
