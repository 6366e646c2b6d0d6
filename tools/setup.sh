#!/usr/bin/env bash
# Install what onnxq needs on a fresh Debian bookworm machine, build it, and fetch the example models.
#   bash tools/setup.sh            # apt packages + .venv (onnx, onnxruntime, numpy) + build/ + models
# Environment: ONNXQ_VENV (default .venv in the repo), ONNXQ_BUILD (default build), SUDO (default: sudo if not root).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${ONNXQ_VENV:-$PWD/.venv}
BUILD=${ONNXQ_BUILD:-build}
if [ "$(id -u)" -ne 0 ]; then SUDO=${SUDO:-sudo}; else SUDO=${SUDO:-}; fi

APT_PKGS="build-essential cmake pkg-config python3 python3-venv python3-pip
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libcjson-dev libstb-dev libdnnl-dev fonts-noto-cjk fonts-wqy-microhei fonts-dejavu-core
  clang libclang-rt-14-dev
  chromium"  # clang + compiler-rt (libFuzzer, ASan, UBSan) for tools/fuzz.sh; chromium renders the HTML report test
missing=$(for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages: $(echo $missing)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating Python venv at $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import onnx, onnxruntime, numpy, PIL, pytest, wheel" 2>/dev/null; then
  echo "setup: installing onnx, onnxruntime, numpy, pillow, pytest, wheel into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r tools/requirements.txt
fi

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DONNXQ_PYTHON="$VENV/bin/python" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
"$VENV/bin/python" tools/fetch_models.py >/dev/null
"$VENV/bin/python" tools/fetch_images.py >/dev/null
echo "setup: done: $BUILD/onnxq, Python at $VENV/bin/python, models in $("$VENV/bin/python" tools/fetch_models.py --print-dir)"
