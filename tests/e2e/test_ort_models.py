#!/usr/bin/env python3
"""End-to-end check: onnxq's `run` against ONNX Runtime on the PaddleOCR models.

usage: test_ort_models.py --onnxq BUILD/onnxq [--case NAME ...] [--work DIR] [--models DIR] [--threshold T]

For each case (default: all) it
  1. writes a deterministic input cropped from real photographs of text and ORT's outputs with tools/ort_reference.py (seeded; see its
     docstring) into WORK/<case>/ref, with a PROVENANCE line,
  2. runs `onnxq run MODEL --input x=input.npy --output-dir WORK/<case>/onnxq`,
  3. for every ORT output requires the same shape, no NaN/Inf, and
         ratio = max|onnxq - ort| / max|ort| <= threshold (1e-4),
     and prints the achieved ratio, the max abs error and where it is, and the timings.
Exit status 0 iff every case passed. On failure the provenance line and the exact commands are printed.

Models directory: --models, else $ONNXQ_MODELS, else `tools/fetch_models.py --print-dir` when that script
exists, else ../shared/models next to the repo. Needs numpy, onnx, onnxruntime; run with ONNXQ_PYTHON.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import ort_reference  # noqa: E402

DET = "ch_PP-OCRv4_det_infer.onnx"
REC = "ch_PP-OCRv4_rec_infer.onnx"
CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"

# name -> (model file, input shape, seed). Seeds differ per case so every case sees different images.
CASES = {
    "det_640": (DET, (1, 3, 640, 640), 1),
    "det_960": (DET, (1, 3, 960, 960), 2),
    "rec_1x320": (REC, (1, 3, 48, 320), 3),
    "rec_8x320": (REC, (8, 3, 48, 320), 4),
    "cls_1x192": (CLS, (1, 3, 48, 192), 5),
}
THRESHOLD = 1e-4


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
        print("note: %s --print-dir failed (%d): %s" % (fetch, r.returncode, r.stderr.strip()))
    return os.path.join(os.path.dirname(REPO), "shared", "models")


def compare(name: str, got: np.ndarray, ref: np.ndarray, threshold: float) -> tuple[bool, str]:
    if got.shape != ref.shape:
        return False, "%s: shape %s, ORT %s" % (name, got.shape, ref.shape)
    if got.dtype != ref.dtype:
        return False, "%s: dtype %s, ORT %s" % (name, got.dtype, ref.dtype)
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    bad = ~np.isfinite(g)
    if bad.any():
        i = np.unravel_index(np.flatnonzero(bad)[0], g.shape)
        return False, "%s: %d non-finite values, first at %s = %r" % (name, int(bad.sum()), i, got[i])
    err = np.abs(g - r)
    scale = float(np.abs(r).max()) if r.size else 0.0
    maxerr = float(err.max()) if err.size else 0.0
    ratio = maxerr / scale if scale > 0 else (0.0 if maxerr == 0 else float("inf"))
    ok = ratio <= threshold
    where = np.unravel_index(int(err.argmax()), err.shape) if err.size else ()
    msg = ("%s %s: max|a-b|/max|b| = %.3e (limit %.0e) %s; max abs err %.3e at %s (onnxq %.7g, ORT %.7g), "
           "mean abs err %.3e, max|ORT| %.4g"
           % (name, "x".join(map(str, ref.shape)), ratio, threshold, "ok" if ok else "FAIL", maxerr,
              tuple(int(v) for v in where), g[where] if err.size else 0, r[where] if err.size else 0,
              float(err.mean()) if err.size else 0.0, scale))
    return ok, msg


def run_case(case: str, onnxq: str, mdir: str, work: str, threshold: float) -> bool:
    model_file, shape, seed = CASES[case]
    model = os.path.join(mdir, model_file)
    print("== %s: %s, input %s, seed %d" % (case, model_file, "x".join(map(str, shape)), seed))
    if not os.path.isfile(model):
        print("FAIL %s: model %s not found (set ONNXQ_MODELS or run tools/fetch_models.py)" % (case, model))
        return False
    d = os.path.join(work, case)
    ref_dir, out_dir = os.path.join(d, "ref"), os.path.join(d, "onnxq")
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):  # never compare against a previous run's output
        os.unlink(os.path.join(out_dir, f))

    t0 = time.perf_counter()
    info = ort_reference.generate(model, shape, seed, ref_dir)
    t_ort = time.perf_counter() - t0
    print("reference: %s" % info["provenance"])

    cmd = [onnxq, "run", model, "--input", "%s=%s" % (info["input_name"], os.path.join(ref_dir, "input.npy")),
           "--output-dir", out_dir]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    t_oq = time.perf_counter() - t0
    if r.returncode != 0:
        print("FAIL %s: onnxq run exited %d after %.1f s\n  command: %s\n  stderr: %s"
              % (case, r.returncode, t_oq, shlex.join(cmd), r.stderr.strip().replace("\n", "\n          ")))
        return False
    print("timing: ORT (input + run) %.2f s, onnxq run %.2f s" % (t_ort, t_oq))

    ok = True
    for name in info["outputs"]:
        fname = ort_reference.safe_name(name) + ".npy"
        got_path = os.path.join(out_dir, fname)
        ref = np.load(os.path.join(ref_dir, fname))
        if not os.path.exists(got_path):
            print("FAIL %s: onnxq wrote no %s (it wrote: %s)" % (case, fname, ", ".join(sorted(os.listdir(out_dir)))))
            ok = False
            continue
        good, msg = compare(name, np.load(got_path), ref, threshold)
        print(("  " if good else "FAIL ") + msg)
        ok &= good
    if not ok:
        print("  provenance: %s\n  command: %s" % (info["provenance"], shlex.join(cmd)))
    print("%s %s" % ("PASS" if ok else "FAIL", case))
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--onnxq", required=True, help="the built onnxq executable")
    ap.add_argument("--case", action="append", choices=sorted(CASES), help="default: all")
    ap.add_argument("--work", default=os.path.join(os.getcwd(), "e2e"), help="scratch directory")
    ap.add_argument("--models", help="directory with the PaddleOCR .onnx files")
    ap.add_argument("--threshold", type=float, default=THRESHOLD)
    args = ap.parse_args()
    mdir = models_dir(args.models)
    cases = args.case or list(CASES)
    results = {c: run_case(c, os.path.abspath(args.onnxq), mdir, args.work, args.threshold) for c in cases}
    failed = [c for c, ok in results.items() if not ok]
    print("%d passed, %d failed%s" % (len(cases) - len(failed), len(failed),
                                      (": " + " ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
