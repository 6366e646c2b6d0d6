#!/usr/bin/env bash
# The main job: see tools/demo.py. Run tools/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${ONNXQ_VENV:-$PWD/.venv}/bin/python" tools/demo.py "$@"
