"""Extract the shipped Smart Turn v3.2 ONNX model, unchanged, from the pipecat-ai 1.14.0 wheel.

usage: python scripts/extract_smart_turn.py WHEEL [--out DIR]

Fetch the wheel first (never install it; only the model file is used):
    pip download --no-deps -d WHEELS pipecat-ai==1.14.0
The default output is the package's own data folder.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from audiointeract.backends.embedded.smart_turn_model import DATA_DIR, extract_from_wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="pipecat_ai-1.14.0-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help=f"output folder (default: {DATA_DIR})")
    args = parser.parse_args()
    path = extract_from_wheel(args.wheel, args.out)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"{path}  {path.stat().st_size} bytes  sha256 {digest}")


if __name__ == "__main__":
    main()
