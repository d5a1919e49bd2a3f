"""Sound devices as PortAudio sees them, and choosing one by name or index.

:func:`list_devices` asks PortAudio (through ``sounddevice``, extra ``audio-io``);
:func:`find_device` picks one for input or output from any list of
:class:`AudioDevice`, so the choice is the same for a real system and a test's list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import attrs

from audiointeract.errors import BackendUnavailable, ConfigurationError

__all__ = ["AudioDevice", "Direction", "describe_devices", "find_device", "list_devices", "load_sounddevice"]

Direction = Literal["input", "output"]


@attrs.frozen(kw_only=True)
class AudioDevice:
    """One PortAudio device: its index, name, host API, channel counts and default rate."""

    index: int
    name: str
    host_api: str = ""
    input_channels: int = 0
    output_channels: int = 0
    default_sample_rate: float = 48000.0
    default_input: bool = False
    default_output: bool = False

    def channels(self, direction: Direction) -> int:
        """Channels this device offers in ``direction``."""
        return self.input_channels if direction == "input" else self.output_channels

    def is_default(self, direction: Direction) -> bool:
        """Whether PortAudio names this device the default for ``direction``."""
        return self.default_input if direction == "input" else self.default_output

    def describe(self) -> str:
        """One line: ``[index] name (host API), N in / M out, R Hz``, with default markers."""
        marks = [m for m, on in (("default input", self.default_input), ("default output", self.default_output)) if on]
        api = f" ({self.host_api})" if self.host_api else ""
        tail = f" [{', '.join(marks)}]" if marks else ""
        return (
            f"[{self.index}] {self.name}{api}, {self.input_channels} in / {self.output_channels} out, "
            f"{self.default_sample_rate:.0f} Hz{tail}"
        )


def load_sounddevice() -> Any:
    """Import ``sounddevice``, or say which install fixes it (the package, or the PortAudio library)."""
    try:
        import sounddevice  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise BackendUnavailable("sound devices", "audio-io", "sounddevice") from exc
    except OSError as exc:  # sounddevice is installed but the PortAudio shared library is not
        raise ConfigurationError(
            f"sounddevice cannot load the PortAudio library ({exc}); install it, "
            "e.g. `apt-get install libportaudio2` on Debian/Ubuntu or `brew install portaudio` on macOS"
        ) from exc
    return sounddevice


def list_devices() -> list[AudioDevice]:
    """Every device PortAudio sees now (empty on a machine without sound devices)."""
    sd = load_sounddevice()
    apis = [str(api["name"]) for api in sd.query_hostapis()]
    default_in, default_out = (int(i) if i is not None else -1 for i in sd.default.device)
    devices = []
    for info in sd.query_devices():
        index = int(info["index"])
        host = int(info["hostapi"])
        devices.append(
            AudioDevice(
                index=index,
                name=str(info["name"]),
                host_api=apis[host] if 0 <= host < len(apis) else "",
                input_channels=int(info["max_input_channels"]),
                output_channels=int(info["max_output_channels"]),
                default_sample_rate=float(info["default_samplerate"]),
                default_input=index == default_in,
                default_output=index == default_out,
            )
        )
    return devices


def describe_devices(devices: Sequence[AudioDevice], direction: Direction) -> str:
    """The devices usable for ``direction``, one per line (or a line saying there are none)."""
    usable = [d for d in devices if d.channels(direction) > 0]
    if not usable:
        return f"  (no {direction} devices)"
    return "\n".join(f"  {d.describe()}" for d in usable)


def find_device(
    spec: int | str | None, direction: Direction, devices: Sequence[AudioDevice] | None = None
) -> AudioDevice:
    """The device for ``direction`` that ``spec`` names.

    ``spec`` is an index (an int or a string of digits), a name or a part of one
    (case-insensitive; an exact name wins over a partial match), or None for the
    default device. ``devices`` defaults to :func:`list_devices`. Raises
    :class:`~audiointeract.errors.ConfigurationError` listing the usable devices
    when none or several match.
    """
    devices = list_devices() if devices is None else list(devices)
    usable = [d for d in devices if d.channels(direction) > 0]
    listing = describe_devices(devices, direction)
    if not usable:
        raise ConfigurationError(
            f"no audio {direction} device found (PortAudio sees {len(devices)} device(s), none with "
            f"{direction} channels); plug one in or check the system's sound settings"
        )
    if spec is None:
        return next((d for d in usable if d.is_default(direction)), usable[0])
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        found = next((d for d in usable if d.index == index), None)
        if found is None:
            raise ConfigurationError(f"no {direction} device with index {index}; {direction} devices:\n{listing}")
        return found
    wanted = spec.strip().casefold()
    exact = [d for d in usable if d.name.casefold() == wanted]
    matches = exact or [d for d in usable if wanted in d.name.casefold()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigurationError(f"no {direction} device matches {spec!r}; {direction} devices:\n{listing}")
    names = "\n".join(f"  {d.describe()}" for d in matches)
    raise ConfigurationError(
        f"{len(matches)} {direction} devices match {spec!r}; give more of the name or the index:\n{names}"
    )
