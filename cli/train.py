"""``audiointeract train``: train the learned decision policy from simulated episodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from audiointeract.cli._errors import UsageError, one_line_errors

__all__ = ["train"]


@click.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Checkpoint folder (default: the config's `output`).",
)
@click.option(
    "--resume/--no-resume",
    default=False,
    show_default=True,
    help="Continue from the last finished epoch saved in OUTPUT/resume.",
)
@click.option("--seed", type=click.IntRange(min=0), help="Override the config's seed.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override the config's number of epochs.")
def train(config_path: Path, output: Path | None, resume: bool, seed: int | None, epochs: int | None) -> None:
    """Generate episodes, fit the policy and write OUTPUT/config.json + OUTPUT/model.safetensors.

    CONFIG is a training TOML (the default: audiointeract/training/configs/default.toml).
    Same config and seed give the same weights on CPU.
    """
    import attrs
    from tqdm import tqdm

    from audiointeract.training.config import load_config
    from audiointeract.training.loop import train as run_training

    with one_line_errors():
        config = load_config(config_path, output=output)
        changes: dict[str, Any] = {}
        if seed is not None:
            changes["seed"] = seed
        if epochs is not None:
            changes["epochs"] = epochs
        config = attrs.evolve(config, **changes)
        _writable(config.output)
        click.echo(
            f"training {config.train_episodes} episodes x {config.epochs} epochs "
            f"({config.features.embedder}, seed {config.seed}) -> {config.output}"
        )
        with tqdm(total=0, unit="batch", dynamic_ncols=True) as bar:

            def progress(step: int, total: int, loss: float) -> None:
                bar.total = total
                bar.n = step
                bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
                bar.refresh()

            result = run_training(config, resume=resume, progress=progress)
    click.echo(f"wrote {result.checkpoint}")
    click.echo(
        "epoch losses (train/val): "
        + ", ".join(f"{a:.4f}/{b:.4f}" for a, b in zip(result.losses, result.val_losses, strict=True))
    )
    click.echo(
        "thresholds: "
        + ", ".join(f"{k}={v:.2f}" for k, v in result.thresholds.items())
        + "; validation event F1: "
        + ", ".join(f"{k}={v:.3f}" for k, v in result.val_f1.items())
    )


def _writable(folder: Path) -> None:
    """Check that the checkpoint folder can be written before training for minutes, not after."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot write the checkpoint to {str(folder)!r}: {reason}") from exc
