#!/usr/bin/env python3
"""End-to-end check of the QDQ writer (src/quant/qdq.c) against ONNX Runtime on the PaddleOCR models.

usage: test_qdq_ort.py --driver BUILD/tests/qdq_writer_driver --onnxq BUILD/onnxq [--case NAME ...]
                       [--work DIR] [--models DIR]

For each case it
  1. writes calibration batches (tools/ort_reference.make_input: crops of real text photographs, seeded)
     and quantizes the FP32 model with the writer through the test-only driver (min/max calibration,
     uint8 asymmetric activations, int8 per-channel weights; or weights only),
  2. checks the QDQ model: onnx.checker passes; input/output names and dtypes equal the FP32 model's;
     file size ratio to FP32 (int8 static: rec <= 0.30 (the int8 payload alone is 0.248), every model < 0.6; int8 weights-only <= 0.6;
     int16 weights-only rec <= 0.52),
  3. loads it in ORT with graph optimizations (ORT_ENABLE_EXTENDED, optimized_model_filepath) and counts
     the integer ops ORT fused: static cases require >= 90% of Conv to become QLinearConv,
  4. runs onnxq (`onnxq run`, float simulation of the Q/DQ) and ORT on the same QDQ model and input:
       - ORT without graph optimizations (the same float Q/DQ semantics): <= 0.1% of the output elements
         more than 1 step apart,
       - ORT with its integer kernels: <= 0.1% of the elements more than 2 steps apart,
     in steps of the output's DequantizeLinear scale (max, mean and p99.9 are printed: a 1-ulp difference
     in a float accumulation flips an occasional rounding, which then propagates through later layers),
     and reports the QDQ model's deviation from the FP32 model (informational).
Exit status 0 iff every case passed. Needs numpy, onnx, onnxruntime (run with ONNXQ_PYTHON).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
import ort_reference  # noqa: E402
from test_ort_models import CLS, DET, REC, models_dir  # noqa: E402

# name -> (model, shape, calibration batches, driver flags, size limit, fused-Conv share, steps vs ORT int)
CASES = {
    "cls": (CLS, (1, 3, 48, 192), 8, [], 0.60, 0.9, 2.0),
    "rec": (REC, (1, 3, 48, 320), 8, [], 0.30, 0.9, 2.0),
    "det": (DET, (1, 3, 320, 320), 4, [], 0.60, 0.9, 2.0),
    "cls_weights_only": (CLS, (1, 3, 48, 192), 0, ["--weights-only"], 0.60, 0.0, None),
    "rec_weights_only16": (REC, (1, 3, 48, 320), 0, ["--weights-only", "--bits", "16"], 0.52, 0.0, None),
}
TEST_SEED = 5


def run(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (r.returncode, shlex.join(cmd), r.stderr.strip()))
    return r.stdout


def out_scale(model, out_name: str):
    """Scale of the DequantizeLinear that writes a graph output (None when the output is not quantized)."""
    from onnx import numpy_helper
    inits = {t.name: t for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == out_name and n.input[1] in inits:
            return float(numpy_helper.to_array(inits[n.input[1]]).reshape(-1)[0])
    return None


def ort_session(path: str, level, opt_path: str | None = None):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = level
    so.log_severity_level = 3
    if opt_path:
        so.optimized_model_filepath = opt_path
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def run_case(case: str, args) -> bool:
    import onnx
    import onnxruntime as ort
    model_file, shape, batches, flags, size_limit, fused_share, tol_int = CASES[case]
    fp32 = os.path.join(args.models, model_file)
    d = os.path.join(args.work, case)
    os.makedirs(d, exist_ok=True)
    print("== %s: %s, shape %s, %s" % (case, model_file, "x".join(map(str, shape)),
                                       "static, %d calibration batches" % batches if batches else "weights only"))
    if not os.path.isfile(fp32):
        print("FAIL %s: model %s not found" % (case, fp32))
        return False
    ok = True
    inp_name = ort_session(fp32, ort.GraphOptimizationLevel.ORT_DISABLE_ALL).get_inputs()[0].name

    # 1. quantize
    cmd = [args.driver, fp32, os.path.join(d, "model.qdq.onnx")] + flags
    for b in range(batches):
        p = os.path.join(d, "calib%d.npy" % b)
        np.save(p, ort_reference.make_input(shape, 1000 + b))
        cmd += ["--data", "%s=%s" % (inp_name, p)]
    qdq = os.path.join(d, "model.qdq.onnx")
    stats = json.loads(run(cmd).strip().splitlines()[-1])
    print("writer: %s" % json.dumps(stats))

    # 2. structure and size
    m32, mq = onnx.load(fp32), onnx.load(qdq)
    onnx.checker.check_model(mq)
    io32 = [(v.name, v.type.tensor_type.elem_type) for v in list(m32.graph.input) + list(m32.graph.output)]
    ioq = [(v.name, v.type.tensor_type.elem_type) for v in list(mq.graph.input) + list(mq.graph.output)]
    if io32 != ioq:
        print("FAIL inputs/outputs changed: %s -> %s" % (io32, ioq))
        ok = False
    ratio = os.path.getsize(qdq) / os.path.getsize(fp32)
    print("size: FP32 %d bytes, QDQ %d bytes, ratio %.3f (limit %.2f); initializers %.3f"
          % (os.path.getsize(fp32), os.path.getsize(qdq), ratio, size_limit,
             stats["init_bytes_after"] / max(stats["init_bytes_before"], 1)))
    if ratio > size_limit:
        print("FAIL size ratio %.3f > %.2f" % (ratio, size_limit))
        ok = False

    # 3. what ORT fuses
    opt = os.path.join(d, "model.qdq.ort_opt.onnx")
    sess_opt = ort_session(qdq, ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, opt)
    ops = collections.Counter(n.op_type for n in onnx.load(opt).graph.node)
    ops32 = collections.Counter(n.op_type for n in m32.graph.node)
    n_conv = ops32["Conv"]
    fused = {k: v for k, v in sorted(ops.items()) if k.startswith("QLinear") or k in ("QGemm", "MatMulInteger",
                                                                                        "ConvInteger")}
    left = {k: ops[k] for k in ("Conv", "MatMul", "Gemm", "ConvTranspose", "QuantizeLinear", "DequantizeLinear")
            if ops[k]}
    print("ORT fused: %s; still float/QDQ: %s; FP32 model had Conv x%d, MatMul x%d, ConvTranspose x%d"
          % (fused, left, n_conv, ops32["MatMul"], ops32["ConvTranspose"]))
    if fused_share and ops["QLinearConv"] < fused_share * n_conv:
        print("FAIL only %d of %d Conv became QLinearConv" % (ops["QLinearConv"], n_conv))
        ok = False

    # 4. onnxq vs ORT on the same QDQ model
    x = ort_reference.make_input(shape, TEST_SEED)
    xin = os.path.join(d, "input.npy")
    np.save(xin, x)
    outdir = os.path.join(d, "onnxq")
    os.makedirs(outdir, exist_ok=True)
    run([args.onnxq, "run", qdq, "--input", "%s=%s" % (inp_name, xin), "--output-dir", outdir])
    sess_plain = ort_session(qdq, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    ref32 = ort_session(fp32, ort.GraphOptimizationLevel.ORT_ENABLE_ALL).run(None, {inp_name: x})
    r_plain = sess_plain.run(None, {inp_name: x})
    r_opt = sess_opt.run(None, {inp_name: x})
    for k, meta in enumerate(sess_plain.get_outputs()):
        got = np.load(os.path.join(outdir, ort_reference.safe_name(meta.name) + ".npy")).astype(np.float64)
        a, b, f = r_plain[k].astype(np.float64), r_opt[k].astype(np.float64), ref32[k].astype(np.float64)
        if got.shape != a.shape:
            print("FAIL %s: onnxq shape %s, ORT %s" % (meta.name, got.shape, a.shape))
            ok = False
            continue
        step = out_scale(mq, meta.name)
        e_plain, e_opt, e32 = np.abs(got - a).max(), np.abs(got - b).max(), np.abs(b - f).max()
        if step:
            ep, eo = np.abs(got - a) / step, np.abs(got - b) / step
            bad_p, bad_o = float((ep > 1.0 + 1e-3).mean()), float((eo > tol_int + 1e-3).mean())
            print("%s: output step %.4g; onnxq vs ORT (no optimizations): max %.2f steps, mean %.4f, %.4f%% of "
                  "elements > 1 step; onnxq vs ORT (integer kernels): max %.2f steps, mean %.4f, p99.9 %.2f, "
                  "%.4f%% > %g steps; ORT QDQ vs FP32 max %.3g"
                  % (meta.name, step, ep.max(), ep.mean(), 100 * bad_p, eo.max(), eo.mean(),
                     float(np.quantile(eo, 0.999)), 100 * bad_o, tol_int, e32))
            # A 1-ulp difference in a float accumulation flips an occasional rounding, and the flip propagates:
            # the bound is on the share of elements off by more than the tolerance, the maximum is reported.
            if bad_p > 1e-3 or bad_o > 1e-3:
                print("FAIL %s: more than 0.1%% of the elements beyond tolerance (1 step float, %g steps "
                      "integer)" % (meta.name, tol_int))
                ok = False
        else:
            rel = e_plain / max(np.abs(a).max(), 1e-12)
            print("%s: (float output) onnxq vs ORT max %.3g (rel %.2e), vs ORT optimized %.3g; QDQ vs FP32 max %.3g"
                  % (meta.name, e_plain, rel, e_opt, e32))
            if rel > 1e-4:
                print("FAIL %s: relative error %.2e > 1e-4" % (meta.name, rel))
                ok = False
        if f.ndim == 3:  # rec: greedy CTC argmax agreement
            agree = float((got.argmax(-1) == b.argmax(-1)).mean())
            print("%s: argmax agreement onnxq vs ORT %.3f, ORT QDQ vs FP32 %.3f"
                  % (meta.name, agree, float((b.argmax(-1) == f.argmax(-1)).mean())))
            if agree < 0.95:  # 40 time steps: one flipped near-tie is 0.025
                print("FAIL %s: onnxq and ORT argmax agree on %.3f < 0.95 of the time steps" % (meta.name, agree))
                ok = False
        elif f.ndim == 2:
            print("%s: FP32 %s, QDQ (ORT) %s" % (meta.name, np.round(f[0], 4), np.round(b[0], 4)))
    print("%s %s" % ("PASS" if ok else "FAIL", case))
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--driver", required=True)
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--case", action="append", choices=sorted(CASES))
    ap.add_argument("--work", default=os.path.join(os.getcwd(), "e2e_qdq"))
    ap.add_argument("--models")
    args = ap.parse_args()
    args.models = models_dir(args.models)
    cases = args.case or list(CASES)
    results = {}
    for c in cases:
        try:
            results[c] = run_case(c, args)
        except Exception as e:  # a failed command or check: report it and go on
            print("FAIL %s: %s" % (c, e))
            results[c] = False
    failed = [c for c, ok in results.items() if not ok]
    print("%d passed, %d failed%s" % (len(cases) - len(failed), len(failed), (": " + " ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
