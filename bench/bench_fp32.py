#!/usr/bin/env python3
"""onnxq FP32 vs ONNX Runtime FP32 on the PaddleOCR models, same machine, same thread count, one run.

  .venv/bin/python bench/bench_fp32.py [--onnxq build/onnxq] [--runs 20] [--threads 1,2]

For each model/shape/thread count: median and p90 latency of both (after warm-up, on the same seeded
random input distribution), and the ratio ORT/onnxq (> 1 means onnxq is faster).
"""
import argparse
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [  # model file, input shape
    ("ch_PP-OCRv4_det_infer.onnx", (1, 3, 640, 640)),
    ("ch_PP-OCRv4_rec_infer.onnx", (1, 3, 48, 320)),
    ("ch_PP-OCRv4_rec_infer.onnx", (8, 3, 48, 320)),
    ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (8, 3, 48, 192)),
]


def models_dir():
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "fetch_models.py")], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()
    return out[-1]


def ort_time(path, shape, threads, runs, warmup):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    name = s.get_inputs()[0].name
    for _ in range(warmup):
        s.run(None, {name: x})
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        s.run(None, {name: x})
        t.append((time.perf_counter() - t0) * 1e3)
    t.sort()
    return float(np.median(t)), t[int(round((len(t) - 1) * 0.9))]


def onnxq_time(exe, path, shape, threads, runs, warmup):
    cmd = [exe, "bench", path, "--shape", "x=" + "x".join(map(str, shape)), "--threads", str(threads),
           "--runs", str(runs), "--warmup", str(warmup)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"
    kv = dict(re.findall(r"(\w+)=(\S+)", r.stdout))
    return float(kv["median_ms"]), float(kv["p90_ms"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnxq", default=os.path.join(REPO, "build", "onnxq"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    mdir = models_dir()
    print(f"onnxruntime {ort.__version__}, {os.cpu_count()} CPUs, median of {args.runs} runs after "
          f"{args.warmup} warm-up")
    print(f"{'model':<38} {'shape':<14} {'thr':>3} {'ORT ms':>9} {'onnxq ms':>9} {'ORT p90':>8} "
          f"{'oq p90':>8} {'ORT/onnxq':>9}")
    for thr in [int(t) for t in args.threads.split(",")]:
        for fname, shape in CASES:
            path = os.path.join(mdir, fname)
            om, op90 = ort_time(path, shape, thr, args.runs, args.warmup)
            qm, qp90 = onnxq_time(args.onnxq, path, shape, thr, args.runs, args.warmup)
            shp = "x".join(map(str, shape))
            if qm is None:
                print(f"{fname:<38} {shp:<14} {thr:>3} {om:9.2f} {'error':>9}  {qp90}")
                continue
            print(f"{fname:<38} {shp:<14} {thr:>3} {om:9.2f} {qm:9.2f} {op90:8.2f} {qp90:8.2f} "
                  f"{om / qm:9.2f}x")


if __name__ == "__main__":
    main()
