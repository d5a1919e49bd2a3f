#!/usr/bin/env bash
# Set everything up, then run the whole check: lint, types, the test suite, and a
# built wheel imported in a fresh virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${AUDIOINTERACT_VENV:-.venv}"
export PATH="$PWD/$VENV/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

echo "== ruff"; ruff check .
echo "== mypy --strict"; mypy -p audiointeract
echo "== pytest"; python -m pytest -q "$@"
echo "== wheel in a fresh venv"; bash scripts/check_wheel.sh
