#!/usr/bin/env python3
"""`onnxq sensitivity` (issue 5): its figures are consistent with independent measurements.

usage: test_sensitivity.py --onnxq BUILD/onnxq --work DIR [--models DIR]

On the PaddleOCR cls model with random data:
  - the JSON lists every quantized layer once, with finite figures;
  - its all-layers output SQNR matches `onnxq compare`'s figure for the model output on the same samples
    (a separate code path: the model written by `onnxq quantize`, run node by node), within 0.1 dB;
  - quantizing with --skip <the top-ranked layer> and measuring with `onnxq compare` gives the gain the ranking
    announced (within 0.5 dB), and that gain is positive.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ort_models import CLS, models_dir  # noqa: E402

DATA = ["--data", "random:seed=3", "--shape", "x=8x3x48x192", "--batch-size", "8", "--batches", "2"]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("FAIL: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def output_sqnr(onnxq, fp, q, work, tag):
    js = os.path.join(work, "cmp_%s.json" % tag)
    run([onnxq, "compare", fp, q, "--all", "--json", js] + DATA)
    return json.load(open(js))["layers"][-1]  # the model output is the last tensor


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    fp = os.path.join(models_dir(args.models), CLS)
    js = os.path.join(args.work, "sens.json")
    out = run([args.onnxq, "sensitivity", fp, "--eval-batches", "2", "--top", "5", "--json", js] + DATA)
    print(out)
    rep = json.load(open(js))
    layers = rep["layers"]
    names = [L["node"] for L in layers]
    ok = len(names) == len(set(names)) and len(names) >= 50
    ok = ok and all(math.isfinite(L["float_gain_db"]) and math.isfinite(L["alone_sqnr_db"]) for L in layers)
    ok = ok and ("%d layers quantized" % len(names)) in out

    full = os.path.join(args.work, "full.onnx")
    run([args.onnxq, "quantize", fp, "-o", full, "--quiet"] + DATA)
    L = output_sqnr(args.onnxq, fp, full, args.work, "full")
    print("output %s: compare SQNR %.3f dB, sensitivity %.3f dB" % (L["tensor"], L["sqnr_db"], rep["full_sqnr_db"]))
    ok = ok and abs(L["sqnr_db"] - rep["full_sqnr_db"]) < 0.1

    top = layers[0]
    skip = os.path.join(args.work, "skip.onnx")
    run([args.onnxq, "quantize", fp, "-o", skip, "--skip", top["node"], "--quiet"] + DATA)
    S = output_sqnr(args.onnxq, fp, skip, args.work, "skip")
    gain = S["sqnr_db"] - L["sqnr_db"]
    print("--skip %s: measured gain %.3f dB, announced %.3f dB" % (top["node"], gain, top["float_gain_db"]))
    ok = ok and top["float_gain_db"] > 0 and abs(gain - top["float_gain_db"]) < 0.1
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
