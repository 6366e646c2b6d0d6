#!/usr/bin/env python3
"""Determinism (issue 7): the same inputs give a byte-identical quantized model and calibration table,
across runs and across thread counts.

usage: test_determinism.py --onnxq BUILD/onnxq [--work DIR] [--models DIR]

For each calibration algorithm (min_max, and percentile, whose histograms are the state most likely to
depend on the order threads deliver values in) it quantizes the PaddleOCR cls model three times with
`onnxq quantize --data random` -- twice with --threads 1, once with --threads 2 -- each run in its own
folder with the same file names, and requires the three OUT.onnx and the three OUT.calib.json to be equal
byte for byte. On a difference it names the file and the first differing byte (and, for the table, the
first differing line). Exit status 0 iff every file is identical.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from test_ort_models import CLS, models_dir  # noqa: E402

RUNS = (("threads1_a", 1), ("threads1_b", 1), ("threads2", 2))
METHODS = ("min_max", "percentile")


def quantize(onnxq: str, model: str, out_dir: str, method: str, threads: int) -> tuple[bytes, bytes]:
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "cls.int8.onnx")
    table = os.path.join(out_dir, "cls.int8.calib.json")
    for f in (out, table):
        if os.path.exists(f):
            os.remove(f)
    cmd = [onnxq, "quantize", model, "-o", out, "--data", "random:seed=7", "--shape", "x=2x3x48x192",
           "--batch-size", "2", "--batches", "4", "--method", method, "--threads", str(threads), "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("FAIL: %s\n%s" % (shlex.join(cmd), r.stderr.strip()))
    with open(out, "rb") as f, open(table, "rb") as g:
        return f.read(), g.read()


def first_difference(a: bytes, b: bytes) -> str:
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    msg = "sizes %d and %d, first differing byte at offset %d" % (len(a), len(b), i)
    if a[:1] == b"{":  # the JSON table: show the line
        la, lb = a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines()
        j = next((k for k in range(min(len(la), len(lb))) if la[k] != lb[k]), None)
        if j is not None:
            msg += "; line %d: %r vs %r" % (j + 1, la[j].strip(), lb[j].strip())
    return msg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--work", default="determinism_work")
    ap.add_argument("--models")
    a = ap.parse_args()
    model = os.path.join(models_dir(a.models), CLS)
    if not os.path.isfile(model):
        print("FAIL: %s not found (run tools/fetch_models.py)" % model)
        return 1
    failures = 0
    for method in METHODS:
        results = {}
        for name, threads in RUNS:
            results[name] = quantize(a.onnxq, model, os.path.join(a.work, method, name), method, threads)
        ref_name = RUNS[0][0]
        ref = results[ref_name]
        before = failures
        for name, _ in RUNS[1:]:
            for k, what in enumerate(("cls.int8.onnx", "cls.int8.calib.json")):
                if results[name][k] != ref[k]:
                    failures += 1
                    print("FAIL: %s, %s: %s differs from %s: %s" % (method, what, name, ref_name,
                                                                     first_difference(ref[k], results[name][k])))
        print("%s: model %d bytes, table %d bytes, %s" % (
            method, len(ref[0]), len(ref[1]),
            "identical across %s" % ", ".join(n for n, _ in RUNS) if failures == before else "DIFFERENT"))
    if failures:
        return 1
    print("OK: byte-identical models and calibration tables across runs and thread counts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
