#!/usr/bin/env python3
"""End-to-end check of oq_graph_upgrade_opset (src/graph/opset_upgrade.h) on the PaddleOCR models.

usage: test_opset_upgrade.py --driver BUILD/tests/opset_upgrade_driver [--work DIR] [--models DIR]
                             [--targets 13,21] [--threshold 1e-5]

For each model (det opset 11, rec and cls opset 9) and each target opset it
  1. runs the driver (load as written, upgrade, save) into WORK/<model>_<target>.onnx,
  2. requires onnx.checker.check_model(full_check=True) to pass and the default opset import to be the target,
  3. runs ONNX Runtime on the original and on the upgraded model with the same fixed random input
     (numpy PCG64, seed per model, uniform [-1, 1]) and requires, for every output,
         max|upgraded - original| / max|original| <= threshold (1e-5) with equal shapes,
  4. for comparison runs onnx.version_converter.convert_version on the original and reports whether its
     result passes the checker and matches ORT's original outputs. That part is informational: it never
     fails the test (it is the reason this pass exists).
Then the same for small synthetic models holding the old forms the PaddleOCR models lack (Upsample-9,
Resize-10 shrinking and linear, Softmax-9 on a non-last axis with static and symbolic dims, Clip/Pad-9
attributes, Dropout-9 with a mask output + BatchNormalization-9). onnx.version_converter is known to change
Resize-10's meaning (it leaves coordinate_transformation_mode at the opset-11 default half_pixel), which the
comparison line shows as a MISMATCH.
Exit status 0 iff every (model, target) passed steps 1-3.

Models directory: --models, else $ONNXQ_MODELS, else `tools/fetch_models.py --print-dir`, else
~/.cache/onnxq/models. Needs numpy, onnx and onnxruntime (ONNXQ_PYTHON).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name -> (file, input shape, seed). det runs at 320x320 to keep ORT fast; the upgrade does not depend on it.
MODELS = {
    "det": ("ch_PP-OCRv4_det_infer.onnx", (1, 3, 320, 320), 11),
    "rec": ("ch_PP-OCRv4_rec_infer.onnx", (1, 3, 48, 320), 12),
    "cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (1, 3, 48, 192), 13),
}


def models_dir(arg: str | None) -> str:
    if arg:
        return arg
    env = os.environ.get("ONNXQ_MODELS")
    if env:
        return env
    fetch = os.path.join(REPO, "tools", "fetch_models.py")
    if os.path.exists(fetch):
        r = subprocess.run([sys.executable, fetch, "--print-dir"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip().splitlines()[-1]
    return os.path.expanduser("~/.cache/onnxq/models")


def ort_run(model, x: np.ndarray) -> list[np.ndarray]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    data = model if isinstance(model, bytes) else model
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x})


def rel_err(got: list[np.ndarray], ref: list[np.ndarray]) -> tuple[float, str]:
    worst, where = 0.0, ""
    if len(got) != len(ref):
        return float("inf"), "%d outputs, original has %d" % (len(got), len(ref))
    for i, (a, b) in enumerate(zip(got, ref)):
        if a.shape != b.shape:
            return float("inf"), "output %d: shape %s, original %s" % (i, a.shape, b.shape)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        if not np.isfinite(a64).all():
            return float("inf"), "output %d has non-finite values" % i
        scale = float(np.abs(b64).max()) if b64.size else 0.0
        err = float(np.abs(a64 - b64).max()) if a64.size else 0.0
        r = err / scale if scale > 0 else (0.0 if err == 0 else float("inf"))
        if r >= worst:
            worst, where = r, "output %d: max abs err %.3e, max|orig| %.3e" % (i, err, scale)
    return worst, where


def default_opset(m) -> int:
    return next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), 0)


def check_upgraded(path: str, target: int) -> str | None:
    import onnx

    try:
        onnx.checker.check_model(path, full_check=True)
    except Exception as e:  # noqa: BLE001 - report any checker failure
        return "onnx.checker (full_check): %s" % str(e).strip().splitlines()[0][:400]
    got = default_opset(onnx.load(path, load_external_data=False))
    if got != target:
        return "default opset import is %d, expected %d" % (got, target)
    return None


def try_version_converter(src: str, target: int, x: np.ndarray, ref: list[np.ndarray], threshold: float) -> str:
    import onnx
    from onnx import version_converter

    try:
        conv = version_converter.convert_version(onnx.load(src), target)
    except Exception as e:  # noqa: BLE001
        return "convert_version fails: %s" % str(e).strip().splitlines()[0][:200]
    try:
        onnx.checker.check_model(conv, full_check=True)
    except Exception as e:  # noqa: BLE001
        return "convert_version result fails the checker: %s" % str(e).strip().splitlines()[0][:200]
    try:
        got = ort_run(conv.SerializeToString(), x)
    except Exception as e:  # noqa: BLE001
        return "convert_version result fails in ORT: %s" % str(e).strip().splitlines()[0][:200]
    r, where = rel_err(got, ref)
    return "convert_version works, rel err %.3e%s" % (r, "" if r <= threshold else " (MISMATCH: %s)" % where)


def synthetic_models(work: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Write the synthetic models into work; name -> (path, input shape to run with)."""
    import onnx
    from onnx import TensorProto, helper as h, numpy_helper as nh

    def const(name, vals):
        return nh.from_array(np.array(vals, np.float32), name)

    specs = {
        "upsample9": (9, [h.make_node("Upsample", ["x", "s"], ["y"], mode="nearest")],
                      [const("s", [1, 1, 2, 3])], [1, 2, 3, 4], 4),
        "resize10_shrink": (10, [h.make_node("Resize", ["x", "s"], ["y"], mode="nearest")],
                            [const("s", [1, 1, 0.5, 0.75])], [1, 2, 6, 8], 4),
        "resize10_linear": (10, [h.make_node("Resize", ["x", "s"], ["y"], mode="linear")],
                            [const("s", [1, 1, 2, 2.5])], [1, 2, 6, 8], 4),
        "softmax9_axis1": (9, [h.make_node("Softmax", ["x"], ["y"], axis=1)], [], [2, 3, 4], 3),
        "softmax9_symbolic": (9, [h.make_node("LogSoftmax", ["x"], ["y"], axis=1)], [], ["N", "C", "W"], 3),
        "clip9_pad9": (9, [h.make_node("Clip", ["x"], ["t"], min=-0.5, max=0.5),
                           h.make_node("Pad", ["t"], ["y"], pads=[0, 0, 1, 1, 0, 0, 1, 1], value=2.0)],
                       [], [1, 2, 3, 4], 4),
        "dropout9_bn9": (9, [h.make_node("Dropout", ["x"], ["t", "mask"], ratio=0.3),
                             h.make_node("BatchNormalization", ["t", "sc", "b", "m", "v"], ["y"], epsilon=1e-3)],
                         [const(n, [1.5, 0.5]) for n in ("sc", "b", "m", "v")], [1, 2, 3, 4], 4),
    }
    out = {}
    for name, (opset, nodes, inits, shape, rank) in specs.items():
        g = h.make_graph(nodes, name, [h.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                         [h.make_tensor_value_info("y", TensorProto.FLOAT, ["d%d" % i for i in range(rank)])], inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
        m.ir_version = 7
        onnx.checker.check_model(m, full_check=True)
        path = os.path.join(work, name + ".onnx")
        onnx.save(m, path)
        out[name] = (path, tuple(d if isinstance(d, int) else 2 + i for i, d in enumerate(shape)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", required=True, help="the opset_upgrade_driver executable")
    ap.add_argument("--work", default="opset_upgrade_work")
    ap.add_argument("--models")
    ap.add_argument("--targets", default="13,21")
    ap.add_argument("--threshold", type=float, default=1e-5)
    ap.add_argument("--no-converter", action="store_true", help="skip the onnx.version_converter comparison")
    args = ap.parse_args()

    mdir = models_dir(args.models)
    os.makedirs(args.work, exist_ok=True)
    targets = [int(t) for t in args.targets.split(",")]
    failures = 0
    cases = [(name, os.path.join(mdir, fname), shape, seed) for name, (fname, shape, seed) in MODELS.items()]
    cases += [(name, path, shape, 21) for name, (path, shape) in synthetic_models(args.work).items()]
    for name, src, shape, seed in cases:
        fname = os.path.basename(src)
        if not os.path.exists(src):
            print("FAIL %s: model not found at %s (set ONNXQ_MODELS or run tools/fetch_models.py)" % (name, src))
            failures += 1
            continue
        x = np.random.default_rng(seed).uniform(-1.0, 1.0, shape).astype(np.float32)
        ref = ort_run(src, x)
        for target in targets:
            out = os.path.join(args.work, "%s_%d.onnx" % (name, target))
            cmd = [args.driver, src, out, str(target)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            tag = "%s %s -> %d" % (name, fname, target)
            if r.returncode != 0:
                print("FAIL %s: driver exit %d: %s\n  command: %s" % (tag, r.returncode, r.stderr.strip(), " ".join(cmd)))
                failures += 1
                continue
            problem = check_upgraded(out, target)
            if problem:
                print("FAIL %s: %s" % (tag, problem))
                failures += 1
                continue
            got = ort_run(out, x)
            ratio, where = rel_err(got, ref)
            ok = ratio <= args.threshold
            failures += not ok
            print("%s %s: %s; checker ok; ORT upgraded vs original max rel err %.3e (limit %.0e); %s"
                  % ("ok  " if ok else "FAIL", tag, r.stdout.strip().split(": ", 1)[-1], ratio, args.threshold, where))
            if not args.no_converter:
                print("     onnx.version_converter: %s" % try_version_converter(src, target, x, ref, args.threshold))
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
