#!/usr/bin/env python3
"""`onnxq tune` (issue 5) on the PaddleOCR cls model with random data.

usage: test_tune.py --onnxq BUILD/onnxq --work DIR [--models DIR]

  - from a poor start (per-tensor weights, min_max) with the built-in metric, every step is printed, the kept
    loss never increases, and the final loss is below the start;
  - the config it writes reproduces its model byte for byte through `onnxq quantize --config`;
  - its final metric is the output cosine `onnxq compare` measures on the same batches, and the report of
    `onnxq compare --report` names the layers it left in float, as does tune's own report OUT.tune.md;
  - with --eval CMD (here: a command printing the model file's size), the FP32 and candidate metrics come from
    the command, and an unreachable target ends with exit status 3 and "target NOT met".
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ort_models import CLS, models_dir  # noqa: E402

DATA = ["--data", "random:seed=3", "--shape", "x=8x3x48x192", "--batch-size", "8", "--batches", "2"]


def run(cmd, codes=(0,)):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in codes:
        sys.exit("FAIL: %s (exit %d)\n%s%s" % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    fp = os.path.join(models_dir(args.models), CLS)
    out = os.path.join(args.work, "tuned.onnx")
    p = run([args.onnxq, "tune", fp, "-o", out, "--per-tensor", "--max-loss", "0.01", "--eval-batches", "1",
             "--max-steps", "3"] + DATA, codes=(0, 3))
    print(p.stdout)
    kept = [float(x) for x in re.findall(r"^kept: .*\(loss ([0-9.]+)%\)", p.stdout, re.M)]
    steps = re.findall(r"^step +(\d+) +(start|algorithm|float): .*loss ([0-9.]+)%(.*)$", p.stdout, re.M)
    start = float(steps[0][2])
    final = float(re.findall(r"(?:target met|target NOT met): loss ([0-9.]+)%", p.stdout)[0])
    ok = len(steps) >= 8 and kept and kept[0] <= start and final <= kept[0] and final < start
    print("start loss %.4f%%, after algorithm search %.4f%%, final %.4f%%" % (start, kept[0], final))

    cfg = os.path.join(args.work, "tuned.tune.json")
    re_q = os.path.join(args.work, "requantized.onnx")
    run([args.onnxq, "quantize", fp, "-o", re_q, "--config", cfg, "--quiet"] + DATA)
    same = open(out, "rb").read() == open(re_q, "rb").read()
    print("config reproduces the model byte for byte: %s" % same)
    ok = ok and same

    js = os.path.join(args.work, "cmp.json")
    run([args.onnxq, "compare", fp, out, "--all", "--json", js] + DATA + ["--batches", "1"])  # = the eval batches
    cos = json.load(open(js))["layers"][-1]["cosine"]
    # the report names the layers tune left in float
    left = re.findall(r"^left in float \(\d+\): (.*)$", p.stdout, re.M)[0]
    left = [] if left == "none" else left.split(", ")
    rep = os.path.join(args.work, "report")
    run([args.onnxq, "compare", fp, out, "--report", rep] + DATA + ["--batches", "1"])
    md = open(os.path.join(rep, "report.md")).read()
    named = re.findall(r"^- `([^`]+)` \(", md.split("## Layers left in float")[1].split("##")[0], re.M)
    print("tune left in float: %s; the report names: %s" % (left, named))
    ok = ok and sorted(named) == sorted(left) and len(left) > 0
    # tune's own report, OUT.tune.md: the outcome, every layer left in float, every step
    rep_md = open(os.path.join(args.work, "tuned.tune.md")).read()
    in_md = re.findall(r"^\| `([^`]+)` \| (\w+) \|$", rep_md, re.M)
    print("tuned.tune.md lists in float: %s" % in_md)
    ok = ok and [n for n, _ in in_md] == left and all(op != "?" for _, op in in_md) and "step 0  start" in rep_md
    print("compare: output cosine %.9f -> loss %.6f%% (tune printed %.4f%%)" % (cos, (1 - cos) * 100, final))
    ok = ok and abs((1 - cos) * 100 - final) < 1e-4

    size_cmd = "%s -c 'import os,sys; print(\"size:\", os.path.getsize(sys.argv[1]))'" % sys.executable
    p = run([args.onnxq, "tune", fp, "-o", os.path.join(args.work, "t2.onnx"), "--eval", size_cmd, "--max-loss", "1",
             "--eval-batches", "1", "--max-steps", "0"] + DATA, codes=(3,))
    fp_size = os.path.getsize(fp)
    print(p.stdout.splitlines()[1])
    ok = ok and ("FP32: %d" % fp_size) in p.stdout and "target NOT met" in p.stdout
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
