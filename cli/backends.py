"""``audiointeract backends [NAME]``: what is installed, how to install the rest, and what a backend takes."""

from __future__ import annotations

import click

from audiointeract.cli._errors import UsageError, one_line_errors

__all__ = ["backends"]


@click.command()
@click.argument("name", required=False)
@click.option("--kind", type=click.Choice(["perceiver", "decider", "responder"]), help="Only this kind.")
def backends(name: str | None, kind: str | None) -> None:
    """List every known backend with its status and the pip install that adds a missing one.

    With NAME, show that backend (of every kind that has one) and the options it takes
    with ``-o KIND.OPTION=VALUE``.
    """
    from audiointeract.registry import available_backends

    rows = available_backends(kind)  # type: ignore[arg-type]
    if name is not None:
        rows = [info for info in rows if info.name == name]
        if not rows:
            known = ", ".join(sorted({info.name for info in available_backends(kind)}))  # type: ignore[arg-type]
            raise UsageError(f"no backend named {name!r}; known: {known}")
    width = max(len(info.name) for info in rows)
    for info in rows:
        status = "installed" if info.installed else f"missing ({info.install_hint})"
        click.echo(f"{info.kind:<10} {info.name:<{width}}  {status}")
        click.echo(f"{'':<10} {'':<{width}}  {info.description}")
        if name is not None:
            _options(info)


def _options(info: object) -> None:
    from audiointeract.registry import BackendInfo, backend_options

    assert isinstance(info, BackendInfo)
    if not info.installed:
        click.echo("  options: install it to list them")
        return
    with one_line_errors():
        options = backend_options(info)
    if not options:
        click.echo("  options: none")
        return
    click.echo(f"  options (-o {info.kind}.NAME=VALUE; values parse as JSON when they can):")
    for option in options:
        if option.more:
            click.echo(f"    **{option.name}: {_more(info)}")
            continue
        kind = f": {option.annotation}" if option.annotation else ""
        default = "required" if option.required else f"default {option.default}"
        click.echo(f"    {option.name}{kind} ({default})")


def _more(info: object) -> str:
    """What a backend's ``**options`` take: the server options of the HTTP backends, else its documentation."""
    import attrs

    from audiointeract.registry import BackendInfo

    assert isinstance(info, BackendInfo)
    if info.target.startswith("audiointeract.backends.openai_compat:"):
        from audiointeract.backends.openai_compat import ServerConfig

        fields = ", ".join(field.name for field in attrs.fields(ServerConfig))
        return f"the server options {fields}"
    return "more options, checked by the backend (see its documentation)"
