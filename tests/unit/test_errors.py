from __future__ import annotations

import pytest

from audiointeract import errors


@pytest.mark.parametrize(
    ("cls", "stdlib"),
    [
        (errors.ConfigurationError, ValueError),
        (errors.ModelNotFoundError, FileNotFoundError),
        (errors.CheckpointError, ValueError),
        (errors.AudioFormatError, ValueError),
        (errors.BackendUnavailable, ImportError),
        (errors.BackendError, RuntimeError),
        (errors.BackendTimeout, TimeoutError),
        (errors.QueueOverflowError, RuntimeError),
    ],
)
def test_every_error_has_one_root_and_a_stdlib_parent(cls: type[Exception], stdlib: type[Exception]) -> None:
    assert issubclass(cls, errors.AudioInteractError)
    assert issubclass(cls, stdlib)


def test_retryable_is_per_instance_with_class_default() -> None:
    assert not errors.BackendError("x").retryable
    assert errors.BackendError("x", retryable=True).retryable
    assert errors.BackendTimeout("slow").retryable
    assert not errors.BackendTimeout("slow", retryable=False).retryable


def test_backend_unavailable_names_the_install_command() -> None:
    exc = errors.BackendUnavailable("responder 'vllm'", "vllm", "httpx")
    assert exc.install_hint == "pip install 'audiointeract[vllm]'"
    assert "httpx" in str(exc)
    assert "pip install 'audiointeract[vllm]'" in str(exc)
