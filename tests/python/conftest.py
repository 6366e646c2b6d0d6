"""Fixtures of the Python package's tests: where the PaddleOCR models are, tiny ONNX models built with
onnx.helper, and RSS readings. The package under test is whatever `import onnxq` finds: run_tests.py installs
it with pip into a throwaway folder and puts that first on PYTHONPATH."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"


def models_dir() -> str:
    """As tests/e2e/test_ort_models.py: $ONNXQ_MODELS, else tools/fetch_models.py --print-dir, else
    ../shared/models next to the repo."""
    env = os.environ.get("ONNXQ_MODELS")
    if env:
        return env
    fetch = os.path.join(REPO, "tools", "fetch_models.py")
    if os.path.exists(fetch):
        r = subprocess.run([sys.executable, fetch, "--print-dir"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip().splitlines()[-1]
    return os.path.join(os.path.dirname(REPO), "shared", "models")


@pytest.fixture(scope="session")
def cls_model() -> str:
    path = os.path.join(models_dir(), CLS)
    if not os.path.exists(path):
        pytest.fail(f"{path} not found: run tools/fetch_models.py (or set ONNXQ_MODELS)")
    return path


def make_model(path: str, nodes, inputs, outputs, opset: int = 13) -> str:
    """Save a one-graph model made with onnx.helper; inputs/outputs are (name, elem_type, shape) triples."""
    from onnx import helper
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info(*i) for i in inputs],
                          [helper.make_tensor_value_info(*o) for o in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    import onnx
    onnx.save(m, path)
    return path


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def pytest_report_header(config):
    import onnxq
    return f"onnxq package: {os.path.dirname(onnxq.__file__)}"
