#!/usr/bin/env bash
# Build the wheel and import the mock backends from it in a fresh virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${AUDIOINTERACT_VENV:-.venv}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$VENV/bin/python" -m build --wheel --outdir "$work/dist" . >/dev/null
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/audiointeract-*.whl
cd "$work"
"$work/venv/bin/python" -c "import audiointeract.backends.mock, audiointeract.simulators, audiointeract.policies, audiointeract.cli; print('wheel ok:', audiointeract.__version__)"
"$work/venv/bin/audiointeract" --help >/dev/null
