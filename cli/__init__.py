"""The ``audiointeract`` command. Subcommands import lazily so ``--help`` stays fast.

Every error is one ``Error:`` line on standard error. Exit codes: 0 done, 1 a runtime
failure, 2 a usage error (nothing ran), 128+N stopped by signal N (130 for Ctrl-C).
"""

from __future__ import annotations

import importlib
import signal
from typing import Any

import click

__all__ = ["main"]

# name -> (module, attribute, one-line help); each module defines one click command
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("audiointeract.cli.run", "run", "Run a live session on an audio file, raw PCM on stdin, or a microphone."),
    "backends": ("audiointeract.cli.backends", "backends", "List backends: installed, and how to install the rest."),
    "devices": ("audiointeract.cli.devices", "devices", "List the sound devices for microphone input and playback."),
    "simulate": ("audiointeract.cli.simulate", "simulate", "Run a scene on virtual time and print timing metrics."),
    "plot": ("audiointeract.cli.plot", "plot", "Draw a trace: audio, perception, decisions, replies on one axis."),
    "report": ("audiointeract.cli.report", "report", "Recompute metrics from a saved trace."),
    "train": ("audiointeract.cli.train", "train", "Train a decision policy from simulated episodes."),
    "evaluate": ("audiointeract.cli.evaluate", "evaluate", "Compare decision policies on held-out and real scenes."),
    "serve": ("audiointeract.cli.serve", "serve", "Serve the OpenAI Realtime API over websockets."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(spec[0])
        command: click.Command = getattr(module, spec[1])
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C before a session handles it (loading models, rendering a scene)
            click.echo("Error: interrupted (SIGINT)", err=True)
            ctx.exit(128 + signal.SIGINT)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, spec[2]) for name, spec in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="audiointeract")
def main(**_: Any) -> None:
    """Online audio interaction: perceive, decide and respond on a live audio stream.

    Exit codes: 0 done, 1 runtime failure, 2 usage error, 128+N stopped by signal N.
    """
