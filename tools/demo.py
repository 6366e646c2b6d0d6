#!/usr/bin/env python3
"""The main job, end to end, on a real model: fetch PP-OCRv4 det, describe it (`onnxq info`), run it in
onnxq (`onnxq run`) and in ONNX Runtime on the same real input (a scanned page), and print the comparison and timings.

  .venv/bin/python tools/demo.py [--onnxq build/onnxq] [--size 640]

(Quantization lands with the next issue; this demo then becomes `onnxq quantize` + report.)
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
import ort_reference  # noqa: E402  (real photographs of text, fetched by tools/fetch_images.py)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnxq", default=os.path.join(REPO, "build", "onnxq"))
    ap.add_argument("--size", type=int, default=640)
    args = ap.parse_args()
    mdir = subprocess.run([sys.executable, os.path.join(REPO, "tools", "fetch_models.py")], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]
    model = os.path.join(mdir, "ch_PP-OCRv4_det_infer.onnx")
    shape = f"x=1x3x{args.size}x{args.size}"
    print(f"== onnxq info {os.path.basename(model)} --shape {shape}")
    subprocess.run([args.onnxq, "info", model, "--shape", shape], check=True)

    x = ort_reference.make_input((1, 3, args.size, args.size), seed=1)  # a crop of a scanned page
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), x)
        r = subprocess.run([args.onnxq, "run", model, "--input", f"x={tmp}/x.npy", "--output-dir", tmp],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr.strip())
            return 1
        outname = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).get_outputs()[0].name
        got = np.load(os.path.join(tmp, outname.replace("/", "_") + ".npy"))
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {"x": x})[0]
    rel = float(np.abs(got - ref).max() / np.abs(ref).max())
    text_px_oq = int((got > 0.3).sum())
    text_px_ref = int((ref > 0.3).sum())
    print(f"\n== report: PP-OCRv4 det on a {args.size}x{args.size} scanned page, onnxq FP32 vs ONNX Runtime "
          f"{ort.__version__}")
    print(f"output {outname} {list(got.shape)}: max|onnxq-ORT|/max|ORT| = {rel:.2e} "
          f"({'OK' if rel <= 1e-4 else 'MISMATCH'}, limit 1e-4)")
    print(f"text pixels (prob > 0.3): onnxq {text_px_oq}, ORT {text_px_ref}")
    # latency: same thread count, median of 10 runs after warm-up, both measured now
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s1 = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    s1.run(None, {"x": x})
    ts = []
    for _ in range(10):
        t0 = time.perf_counter()
        s1.run(None, {"x": x})
        ts.append((time.perf_counter() - t0) * 1e3)
    b = subprocess.run([args.onnxq, "bench", model, "--shape", shape, "--threads", "1", "--runs", "10"],
                       capture_output=True, text=True, check=True).stdout
    oq_ms = float(b.split("median_ms=")[1].split()[0])
    ort_ms = float(np.median(ts))
    print(f"latency, 1 thread, median of 10: onnxq {oq_ms:.1f} ms, ORT {ort_ms:.1f} ms "
          f"(ORT/onnxq = {ort_ms / oq_ms:.2f}x)")
    return 0 if rel <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
