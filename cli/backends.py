"""``audiointeract backends``: what is installed, and how to install the rest."""

from __future__ import annotations

import click

__all__ = ["backends"]


@click.command()
@click.option("--kind", type=click.Choice(["perceiver", "decider", "responder"]), help="Only this kind.")
def backends(kind: str | None) -> None:
    """List every known backend with its status and the pip install that adds a missing one."""
    from audiointeract.registry import available_backends

    rows = available_backends(kind)  # type: ignore[arg-type]
    width = max(len(info.name) for info in rows)
    for info in rows:
        status = "installed" if info.installed else f"missing ({info.install_hint})"
        click.echo(f"{info.kind:<10} {info.name:<{width}}  {status}")
        click.echo(f"{'':<10} {'':<{width}}  {info.description}")
