#!/usr/bin/env bash
# Set everything up, then run the embedded default stack on a scene of real recordings:
# radio speech and a crow (ignored), a spoken question (answered), a phone (noticed),
# a door, a second question. Writes the reply audio, the trace and the rendered input to demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${AUDIOINTERACT_VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p demo
"$VENV/bin/audiointeract" simulate examples/scenes/kitchen_real.toml --seed 0 --wav demo/kitchen.wav \
  --no-timeline > demo/simulated-metrics.txt
"$VENV/bin/audiointeract" run demo/kitchen.wav \
  --task "answer:Answer the questions the user asks you." \
  --task "!warn:Tell me when a phone or a bell rings." \
  --out-wav demo/reply.wav --trace demo/trace.jsonl "$@"
