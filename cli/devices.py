"""``audiointeract devices``: the sound devices PortAudio sees, for ``run --mic --device``."""

from __future__ import annotations

import click

from audiointeract.cli._errors import one_line_errors

__all__ = ["devices"]


@click.command()
def devices() -> None:
    """List input and output sound devices with their index, host API, channels and default rate."""
    from audiointeract.devices import describe_devices, list_devices

    with one_line_errors():
        found = list_devices()
    click.echo("input devices (for `run --mic --device NAME_OR_INDEX`):")
    click.echo(describe_devices(found, "input"))
    click.echo("output devices:")
    click.echo(describe_devices(found, "output"))
