"""Prepare model files that come from PyPI wheels (run by ``scripts/setup.sh``; idempotent).

Today that is the SmolLM2 safetensors cache: transformers dequantises the shipped GGUF
once (about 20 s) so every later load takes about a second.
"""

from __future__ import annotations

import importlib.util


def main() -> None:
    """Run every preparation step whose extra is installed."""
    if importlib.util.find_spec("transformers") and importlib.util.find_spec("gguf"):
        from audiointeract.backends.hf.smollm2 import cached_checkpoint

        print(f"setup: SmolLM2 checkpoint ready at {cached_checkpoint()}")


if __name__ == "__main__":
    main()
