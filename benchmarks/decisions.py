"""Decision benchmark: every rule policy, the semantic policy and the learned policy, side by side.

Runs ``audiointeract evaluate`` on (a) 100 held-out generated scenes, (b) the packaged and
example real-recording scenes and (c) the vocabulary's held-out events, prints the table and writes
``benchmarks/results/decisions.json``.

    python benchmarks/decisions.py [--scenes N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from audiointeract.cli import main
from audiointeract.training import REAL_SCENES

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "decisions.json"


def run() -> None:
    real = ["--real", str(REAL_SCENES), "--real", str(ROOT / "examples" / "scenes")]
    args = ["evaluate", *real, "--json", str(OUT), *sys.argv[1:]]
    started = time.perf_counter()
    try:
        main(args, standalone_mode=False)
    finally:
        print(f"decision benchmark took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    run()
