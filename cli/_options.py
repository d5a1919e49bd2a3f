"""Shared parsing for CLI options."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from audiointeract.events import StandingTask

__all__ = ["parse_backend_options", "parse_tasks"]

_KINDS = ("perceiver", "decider", "responder")


def parse_backend_options(values: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Parse ``kind.key=value`` options (values are JSON when they parse, else strings)."""
    options: dict[str, dict[str, Any]] = {kind: {} for kind in _KINDS}
    for item in values:
        target, sep, raw = item.partition("=")
        kind, dot, key = target.partition(".")
        if not sep or not dot or kind not in _KINDS or not key:
            msg = f"option {item!r} must look like perceiver.KEY=VALUE, decider.KEY=VALUE or responder.KEY=VALUE"
            raise click.BadParameter(msg, param_hint="--option")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        except RecursionError as exc:
            msg = f"option {target!r}: its JSON value is nested too deeply"
            raise click.BadParameter(msg, param_hint="--option") from exc
        options[kind][key] = value
    return options


def parse_tasks(values: Sequence[str]) -> tuple[StandingTask, ...]:
    """Parse ``name:instruction`` (prefix the name with ``!`` for a proactive task)."""
    tasks = []
    for item in values:
        name, sep, instruction = item.partition(":")
        if not sep or not instruction.strip():
            raise click.BadParameter(f"task {item!r} must look like NAME:INSTRUCTION", param_hint="--task")
        proactive = name.startswith("!")
        tasks.append(StandingTask(name=name.lstrip("!"), instruction=instruction.strip(), proactive=proactive))
    return tuple(tasks)
