#!/usr/bin/env python3
"""The main job, end to end on a real model: quantize PaddleOCR's PP-OCRv4 text recognizer to INT8 with
onnxq and report what the user cares about.

  .venv/bin/python tools/demo.py [--onnxq build/onnxq] [--method percentile] [--eval-limit 500]

Steps (each prints what it did):
  1. fetch the models and build the labeled text-line sets (eval/make_datasets.py, cached),
  2. `onnxq info` on the FP32 model,
  3. `onnxq quantize` calibrating on 300 text-line images through onnxq's own image preprocessing,
  4. accuracy of FP32 and INT8 on held-out labeled lines (character accuracy = 1 - CER, exact match), with
     ONNX Runtime running both, and onnxq's own executor running the INT8 model,
  5. the report: size, accuracy drop, calibration time.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "eval"))


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnxq", default=os.path.join(REPO, "build", "onnxq"))
    ap.add_argument("--method", default="percentile")
    ap.add_argument("--calib", type=int, default=300)
    ap.add_argument("--eval-limit", type=int, default=500)
    args = ap.parse_args()
    py = sys.executable

    mdir = subprocess.run([py, os.path.join(REPO, "tools", "fetch_models.py")], check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]
    run([py, os.path.join(REPO, "eval", "make_datasets.py"), "--tasks", "rec"], stdout=subprocess.DEVNULL)
    import evaluate  # noqa: E402  (after the datasets exist)

    fp32 = os.path.join(mdir, "ch_PP-OCRv4_rec_infer.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        calib = os.path.join(tmp, "calib")
        run([py, os.path.join(REPO, "eval", "export_calib.py"), "--model", "rec", "--out", calib, "--n",
             str(args.calib)], stdout=subprocess.DEVNULL)
        images = open(os.path.join(calib, "images.txt")).read().strip()
        int8 = os.path.join(tmp, "rec.int8.onnx")

        print("\n== 1. the FP32 model")
        run([args.onnxq, "info", fp32, "--shape", "x=1x3x48x320"])
        print("\n== 2. quantize: calibrate on real text-line images, onnxq's own preprocessing")
        t0 = time.perf_counter()
        run([args.onnxq, "quantize", fp32, "-o", int8, "--data", images, "--preprocess",
             os.path.join(calib, "preprocess.json"), "--batch-size", "8", "--method", args.method, "--quiet"])
        t_q = time.perf_counter() - t0

        print(f"\n== 3. accuracy on {args.eval_limit} held-out labeled text lines")
        r_fp = evaluate.evaluate("rec", fp32, runtime="ort", limit=args.eval_limit)
        r_q = evaluate.evaluate("rec", int8, runtime="ort", limit=args.eval_limit)
        r_qq = evaluate.evaluate("rec", int8, runtime="onnxq", onnxq=args.onnxq, limit=args.eval_limit)
        size_fp, size_q = os.path.getsize(fp32), os.path.getsize(int8)

    def pct(x):
        return f"{100 * x:.2f}%"

    print("\n== report: PP-OCRv4 rec, onnxq INT8 (QDQ, uint8 activations by "
          f"{args.method}, int8 per-channel weights)")
    print(f"size            {size_fp / 2**20:.2f} MiB -> {size_q / 2**20:.2f} MiB "
          f"({100 * size_q / size_fp:.1f}% of FP32)")
    print(f"quantize time   {t_q:.1f} s for {args.calib} calibration images (load, calibrate, write)")
    print(f"char accuracy   FP32 {pct(r_fp['char_accuracy'])}  INT8 {pct(r_q['char_accuracy'])}  "
          f"(drop {100 * (r_fp['char_accuracy'] - r_q['char_accuracy']):.2f} points; ORT runs both)")
    print(f"exact match     FP32 {pct(r_fp['exact_match'])}  INT8 {pct(r_q['exact_match'])}")
    print(f"INT8 in onnxq   char accuracy {pct(r_qq['char_accuracy'])} (onnxq's executor on the same QDQ model)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
