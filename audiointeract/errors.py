"""The audiointeract exception tree.

Every error the SDK raises derives from :class:`AudioInteractError`, and each
subclass also derives from the matching stdlib error so ``except ValueError``
keeps working::

    AudioInteractError
    ├── ConfigurationError (ValueError)          bad option, bad config file
    │   ├── ModelNotFoundError (FileNotFoundError) a checkpoint path that is not there
    │   └── CheckpointError                       a checkpoint of the wrong shape or corrupt
    ├── AudioFormatError (ValueError)             NaN/inf, empty, wrong shape or sample rate
    ├── BackendUnavailable (ImportError)          an optional extra is not installed
    ├── BackendError (RuntimeError)               a backend call failed; ``retryable`` says if
    │   │                                          trying again may help
    │   ├── BackendTimeout (TimeoutError)         a call ran past its deadline (retryable)
    │   └── ContractViolation                     a backend broke its interface contract
    └── QueueOverflowError (RuntimeError)         a bounded queue with policy FAIL overflowed

``retryable`` is a property of the failure, not of the class: backends map the
errors of their libraries onto these types at their boundary with
``raise BackendError(..., retryable=...) from exc``.
"""

from __future__ import annotations

__all__ = [
    "AudioFormatError",
    "AudioInteractError",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "CheckpointError",
    "ConfigurationError",
    "ContractViolation",
    "ModelNotFoundError",
    "QueueOverflowError",
]


class AudioInteractError(Exception):
    """Root of every error raised by audiointeract."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable

    @property
    def message(self) -> str:
        """The human-readable message the error was raised with."""
        return str(self.args[0]) if self.args else ""


class ConfigurationError(AudioInteractError, ValueError):
    """An option, config file or argument is invalid."""


class ModelNotFoundError(ConfigurationError, FileNotFoundError):
    """A model or checkpoint path does not exist or holds no model."""


class CheckpointError(ConfigurationError):
    """A checkpoint exists but is corrupt or does not match what loads it."""


class AudioFormatError(AudioInteractError, ValueError):
    """Audio samples or their format cannot be used (NaN, empty, wrong shape/rate)."""


class BackendUnavailable(AudioInteractError, ImportError):
    """A backend needs an optional extra that is not installed."""

    def __init__(self, name: str, extra: str, missing: str) -> None:
        self.backend = name
        self.extra = extra
        self.missing = missing
        self.install_hint = f"pip install 'audiointeract[{extra}]'"
        super().__init__(
            f"backend {name!r} needs the {missing!r} package, which is not installed; "
            f"install it with: {self.install_hint}"
        )


class BackendError(AudioInteractError, RuntimeError):
    """A backend call failed. ``retryable`` tells whether a retry may succeed."""


class BackendTimeout(BackendError, TimeoutError):
    """A backend call did not finish within its deadline."""

    retryable = True


class ContractViolation(BackendError):
    """A backend returned something its interface forbids (e.g. a perception of unheard audio)."""


class QueueOverflowError(AudioInteractError, RuntimeError):
    """A bounded queue whose overflow policy is FAIL was full."""
