#!/usr/bin/env bash
# Set everything up, then run the embedded default stack in real time on a kitchen scene:
# radio speech and a crow (ignored), questions read by the piper voice (answered), a real
# phone ring (warned), and a long answer the user talks over (barge-in). Writes the input,
# the agent's voice on the input's timeline and the trace to demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${AUDIOINTERACT_VENV:-.venv}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p demo
# renders the scene (the question clips are read by piper once, then cached) and scores it with oracle perception
"$VENV/bin/audiointeract" simulate examples/scenes/kitchen_demo.toml --seed 0 --wav demo/kitchen.wav \
  --no-timeline > demo/simulated-metrics.txt
# the sounds the warning task watches: the phone's labels, and the fire and smoke alarms
WATCHED='["Telephone", "Telephone bell ringing", "Ringtone", "Smoke detector, smoke alarm", "Fire alarm", "Siren"]'
"$VENV/bin/audiointeract" run demo/kitchen.wav \
  --task "answer:Answer the questions the user asks you." \
  --task "!warn:Tell me when the telephone rings." \
  -o "decider.safety_labels=$WATCHED" -o "decider.safety_task=warn" \
  -o "responder.facts=[\"Current time: $(date +'%-I:%M %p').\"]" \
  --out-wav demo/reply.wav --trace demo/trace.jsonl "$@"
