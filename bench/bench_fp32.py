#!/usr/bin/env python3
"""onnxq FP32 vs ONNX Runtime FP32 on the PaddleOCR models, same machine, same thread count, one run.

  .venv/bin/python bench/bench_fp32.py [--onnxq build/onnxq] [--runs 20] [--threads 1,2]

For each model/shape/thread count: median and p90 latency of both (after warm-up, on the same seeded
random input: the tensor `onnxq bench` generates, bench_common.lcg_input), and the ratio ORT/onnxq (> 1 means
onnxq is faster).
"""
import argparse
import os

import onnxruntime as ort

from bench_common import CLS, DET, REC, REPO, models_dir, onnxq_time, ort_time

CASES = [  # model file, input shape
    (DET, (1, 3, 640, 640)),
    (REC, (1, 3, 48, 320)),
    (REC, (8, 3, 48, 320)),
    (CLS, (8, 3, 48, 192)),
]


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
