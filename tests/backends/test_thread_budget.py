"""Thread budgets hold in the thread that runs the model, and nowhere else (checked in fresh processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from audiointeract.backends.thread_budget import check_threads
from audiointeract.errors import ConfigurationError

pytest.importorskip("torch")
pytest.importorskip("threadpoolctl")

PROBE = """
import json, threading
import torch
from audiointeract.backends.thread_budget import thread_budget

def in_thread(fn):
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]

def run():
    a = torch.randn(256, 256)
    with thread_budget(1):
        inside = torch.get_num_threads()
        a @ a
    return inside, torch.get_num_threads()

result = {"main_before": torch.get_num_threads()}
result["worker_inside"], result["worker_after"] = in_thread(run)
result["main_after"] = torch.get_num_threads()
result["later_thread"] = in_thread(torch.get_num_threads)
# what torch's own setter does, for comparison: it leaks into threads that start later
in_thread(lambda: torch.set_num_threads(1))
result["later_thread_after_set_num_threads"] = in_thread(torch.get_num_threads)
print(json.dumps(result))
"""


def test_a_budget_stays_in_its_thread() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "2"}  # two threads by default, on any machine
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["main_before"] == 2
    assert result["worker_inside"] == 1
    assert result["worker_after"] == 2  # restored when the block ends
    assert result["main_after"] == 2
    assert result["later_thread"] == 2
    assert result["later_thread_after_set_num_threads"] == 1  # why budgets do not use torch.set_num_threads


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_budgets_are_refused(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="threads"):
        check_threads("WhisperPerceiver", bad)  # type: ignore[arg-type]
    assert check_threads("WhisperPerceiver", None) is None
