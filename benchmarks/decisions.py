"""Decision benchmark: the shipped policies on the frozen evaluation sets, real perception beside the oracle.

Runs ``audiointeract evaluate`` on every set - label-disjoint events, 100 dense generated
scenes, the 22 dense and 8 sparse real-recording scenes (the embedded perceiver on the
rendered audio, and the oracle) - for the rule default, the learned policy, the
sound-meaning policy and the other rule policies, prints the tables and writes ``benchmarks/results/decisions.json`` with the
load average. Real perception is recorded once per scene and kept in
``benchmarks/results/perception-cache/`` (delete it when the perceiver changes); the first
run perceives about an hour of audio (tens of minutes on two shared cores).

    python benchmarks/decisions.py [extra evaluate options, e.g. --policy default]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from audiointeract.cli import main

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "decisions.json"
CACHE = ROOT / "benchmarks" / "results" / "perception-cache"


def run() -> None:
    load_before = os.getloadavg()
    started = time.perf_counter()
    args = ["evaluate", "--json", str(OUT), "--perception-cache", str(CACHE), *sys.argv[1:]]
    main(args, standalone_mode=False)
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()
    data = json.loads(OUT.read_text())
    data["benchmark"] = {"seconds": seconds, "load_before": load_before, "load_after": load_after,
                         "cpus": os.cpu_count()}
    OUT.write_text(json.dumps(data, indent=2) + "\n")
    print(f"decision benchmark took {seconds:.0f} s; load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after {'/'.join(f'{x:.1f}' for x in load_after)} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    run()
