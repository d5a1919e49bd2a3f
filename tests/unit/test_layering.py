"""Layering: the run-time package never imports the simulator or training (they build on it, not the reverse)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import audiointeract

LAYERS_ABOVE = ("audiointeract.simulators", "audiointeract.training")

SESSION_RUN = """
import json, sys
import anyio
import numpy as np
from audiointeract import ArraySource, Session, SessionConfig, StandingTask
from audiointeract.backends.mock import ScriptedPerceiver, ScriptedResponder
from audiointeract.events import Action, Decision, SpeechActivity, TranscriptUpdate
from audiointeract.policies import LearnedDecider, default_policy

SCRIPT = [
    SpeechActivity(span_start=0.5, span_end=0.5, speaking=True),
    TranscriptUpdate(span_start=0.5, span_end=1.8, committed="Hey assistant, what time is it?"),
    SpeechActivity(span_start=0.5, span_end=1.8, speaking=False),
]
TASKS = (StandingTask(name="answer", instruction="Answer questions addressed to you."),)

async def main():
    responded = []
    for decider in (default_policy(offload=False), LearnedDecider.default(offload=False)):
        session = Session(
            ScriptedPerceiver(SCRIPT), decider, ScriptedResponder(), config=SessionConfig(pacing="fast", tasks=TASKS)
        )
        trace = await session.run(ArraySource(np.zeros(4 * 16000, np.float32), 16000))
        responded.append(any(d.action is Action.RESPOND for d in trace.of_type(Decision)))
    return responded

responded = anyio.run(main)
above = sorted(m for m in sys.modules if m.startswith(("audiointeract.simulators", "audiointeract.training")))
print(json.dumps({"responded": responded, "above": above}))
"""


@pytest.mark.slow
def test_a_session_with_the_default_and_learned_policies_imports_no_simulator_or_training() -> None:
    out = subprocess.run([sys.executable, "-c", SESSION_RUN], capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["responded"] == [True, True]  # both policies really ran and answered the question
    assert result["above"] == []


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_runtime_module_imports_the_simulator_or_training_even_lazily() -> None:
    package = Path(audiointeract.__file__).parent
    # applications, reports and test support build on the run time (plots and summaries read scenes and scores)
    above = {"simulators", "training", "evaluation", "cli", "testing", "plotting", "summary.py"}
    files = [Path(root, name) for root, _, names in os.walk(package, followlinks=True) for name in names]
    runtime = [path for path in files if path.suffix == ".py" and path.relative_to(package).parts[0] not in above]
    assert any(path.match("policies/learned/decider.py") for path in runtime)
    offending = {
        str(path.relative_to(package)): sorted(name for name in _imports(path) if name.startswith(LAYERS_ABOVE))
        for path in runtime
    }
    assert {path: names for path, names in offending.items() if names} == {}
