"""The clip bank: real recordings on disk, named ``"<bank>:<name>"`` in scenes.

Four banks come from Debian packages (documented defaults, each overridable with an
environment variable):

* ``asterisk:<prompt>`` — ``asterisk-core-sounds-en-wav`` IVR prompts (8 kHz, one
  voice), root ``$AUDIOINTERACT_ASTERISK_SOUNDS`` (default
  ``/usr/share/asterisk/sounds/en_US_f_Allison``); transcripts from
  ``$AUDIOINTERACT_ASTERISK_TRANSCRIPTS`` (default
  ``/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz``).
* ``pocketsphinx:<path>`` — ``pocketsphinx-testdata`` (16 kHz read speech; ``.raw``
  is 16 kHz s16), root ``$AUDIOINTERACT_POCKETSPHINX_DATA`` (default
  ``/usr/share/pocketsphinx/test/data``); LibriVox transcripts from
  ``librivox/transcription``.
* ``sonic-pi:<sample>`` — ``sonic-pi-samples`` CC0 recordings (crow, door, ambience…),
  root ``$AUDIOINTERACT_SONIC_PI_SAMPLES`` (default ``/usr/share/sonic-pi/samples``).
* ``freedesktop:<theme path>`` — ``sound-theme-freedesktop`` event sounds (a phone
  ringing, a bell, an alarm clock), root ``$AUDIOINTERACT_FREEDESKTOP_SOUNDS`` (default
  ``/usr/share/sounds/freedesktop``), e.g. ``freedesktop:stereo/phone-incoming-call``.

A fourth is generated: ``tts:<text>`` is ``<text>`` read by the piper neural voice (extra
``tts``), rendered once into the cache (:mod:`audiointeract.simulators.voice`); its
transcript is the text. Any other clip string is a file path.

Clip names cannot leave their bank's folder (``sonic-pi:../../x`` is refused). A scene
*file*'s path clips are confined to its folder and the bank roots
(:func:`~audiointeract.simulators.files.load_scene`, opt-out ``any_clip_path=True``,
``--any-clip-path`` on the command line). Raw PCM (``.raw``) has no header saying its
format, so it is read only from a bank, as the bank's ``raw_rate`` (16 kHz) 16-bit
little-endian samples; a raw file named by path is refused.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np

from audiointeract.audio import FloatArray, check_sample_rate, to_mono_float32
from audiointeract.errors import AudioFormatError, ConfigurationError
from audiointeract.lru import LruCache

__all__ = ["CLIP_CACHE", "DEFAULT_ROOTS", "ClipBank", "default_bank"]

DEFAULT_ROOTS: Mapping[str, tuple[str, str]] = {
    "asterisk": ("AUDIOINTERACT_ASTERISK_SOUNDS", "/usr/share/asterisk/sounds/en_US_f_Allison"),
    "pocketsphinx": ("AUDIOINTERACT_POCKETSPHINX_DATA", "/usr/share/pocketsphinx/test/data"),
    "sonic-pi": ("AUDIOINTERACT_SONIC_PI_SAMPLES", "/usr/share/sonic-pi/samples"),
    "freedesktop": ("AUDIOINTERACT_FREEDESKTOP_SOUNDS", "/usr/share/sounds/freedesktop"),
}
_ASTERISK_TRANSCRIPTS = (
    "AUDIOINTERACT_ASTERISK_TRANSCRIPTS",
    "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz",
)
_EXTENSIONS = (".wav", ".flac", ".oga", ".ogg", ".raw")
_RAW_RATE = 16000
_RAW = "<i2"
_LONGEST_CLIP = 3 * 3600.0
"""Longest clip decoded (a scene lasts at most as long)."""
CLIP_CACHE: LruCache[str, tuple[FloatArray, int]] = LruCache(
    256, max_weight=64 * 2**20, weigh=lambda clip: clip[0].nbytes
)
"""Decoded clips, shared by every bank: the most recently used, up to 256 clips and 64 MB of samples."""


class ClipBank:
    """Finds, loads (cached) and transcribes clips by ``"<bank>:<name>"`` or path.

    ``.raw`` files in a bank are read as 16-bit little-endian PCM at ``raw_rate`` Hz.
    """

    def __init__(
        self,
        roots: Mapping[str, str | Path],
        *,
        asterisk_transcripts: str | Path | None = None,
        raw_rate: int = _RAW_RATE,
    ) -> None:
        self.roots = {name: Path(root) for name, root in roots.items()}
        self._asterisk_transcripts = Path(asterisk_transcripts) if asterisk_transcripts else None
        try:
            self.raw_rate = check_sample_rate(raw_rate, "ClipBank raw_rate")
        except AudioFormatError as exc:
            raise ConfigurationError(str(exc)) from exc

    def path(self, clip: str) -> Path:
        """The file a clip name refers to; raises ConfigurationError when absent or outside its bank."""
        if not isinstance(clip, str) or not clip:
            raise ConfigurationError(f"a clip must be a non-empty string, got {clip!r}")
        bank, sep, name = clip.partition(":")
        if bank == "tts" and sep:
            from audiointeract.simulators.voice import voice_clip  # noqa: PLC0415 - piper loads only for tts clips

            return voice_clip(name)
        if not sep or bank not in self.roots:
            candidate = Path(clip)
            if candidate.suffix == ".raw" and not self.in_bank(candidate):
                raise ConfigurationError(
                    f"clip {clip!r} is raw PCM, which has no header saying its format; convert it to WAV "
                    "(e.g. sox -t raw -r 16000 -e signed -b 16 -c 1 in.raw out.wav) or put it in a bank"
                )
            if candidate.is_file():
                return candidate
            raise ConfigurationError(
                f"clip {clip!r} is neither '<bank>:<name>' with bank in {sorted(self.roots)} nor an existing file"
            )
        root = Path(os.path.normpath(self.roots[bank]))
        base = Path(os.path.normpath(root / name))
        if Path(name).is_absolute() or not base.is_relative_to(root) or base == root:
            raise ConfigurationError(f"clip {clip!r} names a file outside the {bank!r} bank's folder")
        for candidate in (base, *(base.with_name(base.name + ext) for ext in _EXTENSIONS)):
            if candidate.is_file():
                return candidate
        raise ConfigurationError(
            f"clip {clip!r} not found under {str(self.roots[bank])!r}; install the Debian package or set "
            f"{DEFAULT_ROOTS[bank][0] if bank in DEFAULT_ROOTS else 'the bank root'}"
        )

    def load(self, clip: str) -> tuple[FloatArray, int]:
        """Mono float32 samples and sample rate of a clip (decoded once, then kept in :data:`CLIP_CACHE`)."""
        path = str(self.path(clip))
        found = CLIP_CACHE.get(path)
        if found is None:
            found = _read(path, self.raw_rate)
            CLIP_CACHE.put(path, found)
        return found

    def in_bank(self, path: Path) -> bool:
        """Whether ``path`` (resolved) lies inside one of the bank roots."""
        target = path.resolve()
        return any(target.is_relative_to(root.resolve()) for root in self.roots.values())

    def duration(self, clip: str) -> float:
        """Length of a clip in seconds."""
        samples, rate = self.load(clip)
        return samples.size / rate

    def transcript(self, clip: str) -> str | None:
        """The known transcript of a speech clip (Asterisk prompts, LibriVox), else None."""
        bank, _, name = clip.partition(":")
        if bank == "tts":
            return name.strip()
        stem = Path(name).stem
        if bank == "asterisk" and self._asterisk_transcripts is not None:
            return _asterisk_transcripts(str(self._asterisk_transcripts)).get(name) or _asterisk_transcripts(
                str(self._asterisk_transcripts)
            ).get(stem)
        if bank == "pocketsphinx" and name.startswith("librivox/"):
            return _librivox_transcripts(str(self.roots[bank] / "librivox" / "transcription")).get(stem)
        return None

    def available(self, bank: str) -> bool:
        """Whether the bank's root folder exists on this machine."""
        return bank in self.roots and self.roots[bank].is_dir()


def default_bank() -> ClipBank:
    """The Debian-package banks, with environment-variable overrides."""
    roots = {bank: os.environ.get(var, default) for bank, (var, default) in DEFAULT_ROOTS.items()}
    transcripts = os.environ.get(*_ASTERISK_TRANSCRIPTS)
    return ClipBank(roots, asterisk_transcripts=transcripts)


def _read(path: str, raw_rate: int) -> tuple[FloatArray, int]:
    if path.endswith(".raw"):
        seconds = Path(path).stat().st_size / np.dtype(_RAW).itemsize / raw_rate
        if seconds > _LONGEST_CLIP:
            raise AudioFormatError(f"clip {path!r} lasts {seconds:.0f} s, longer than {_LONGEST_CLIP:g} s")
        data = np.fromfile(path, dtype=_RAW)
        if data.size == 0:
            raise AudioFormatError(f"clip {path!r} is empty")
        samples, rate = to_mono_float32(data), raw_rate
    else:
        import soundfile  # noqa: PLC0415 - only real clips need libsndfile

        try:
            info = soundfile.info(path)
            check_sample_rate(info.samplerate, f"the sample rate of clip {path!r}")
            if info.duration > _LONGEST_CLIP:
                raise AudioFormatError(f"clip {path!r} lasts {info.duration:.0f} s, longer than {_LONGEST_CLIP:g} s")
            data, rate = soundfile.read(path, dtype="float32", always_2d=True)
        except RuntimeError as exc:
            raise AudioFormatError(f"cannot read clip {path!r}: {' '.join(str(exc).split())}") from exc
        samples = to_mono_float32(data)
    samples.flags.writeable = False
    return samples, int(rate)


@lru_cache(maxsize=4)
def _asterisk_transcripts(path: str) -> dict[str, str]:
    file = Path(path)
    if not file.is_file():
        return {}
    out: dict[str, str] = {}
    with gzip.open(file, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(";") or ":" not in line:
                continue
            key, _, text = line.partition(":")
            text = text.strip()
            if text and not text.startswith("["):
                out[key.strip()] = re.sub(r"\s+", " ", text)
    return out


@lru_cache(maxsize=4)
def _librivox_transcripts(path: str) -> dict[str, str]:
    file = Path(path)
    if not file.is_file():
        return {}
    out: dict[str, str] = {}
    for line in file.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*<s>(.*)</s>\s*\((.+)\)\s*$", line)
        if match:
            out[match.group(2).strip()] = match.group(1).strip()
    return out
