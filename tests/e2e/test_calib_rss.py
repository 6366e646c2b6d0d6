#!/usr/bin/env python3
"""Calibration memory (issue 7): peak RSS does not grow with the number of samples.

usage: test_calib_rss.py --onnxq BUILD/onnxq [--work DIR] [--models DIR] [--few 10] [--many 1000]

Quantizes the PaddleOCR cls model with `onnxq quantize --data random --batch-size 1 --method percentile
--threads 1` (per-tensor histograms: the statistics that could grow; one thread, as a spinning pool on a
busy CI machine only costs time) once with --batches 10 and once with --batches
1000, each in a fresh process whose own peak RSS is read with os.wait4, and requires the two peaks within
10% of each other. Memory per sample would show at once: the 1000 inputs alone are 105 MiB (108 KiB each),
against a peak of ~31 MiB for the whole run. Exit status 0 iff within the bound.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from test_ort_models import CLS, models_dir  # noqa: E402

LIMIT = 0.10


def peak_rss_mib(cmd: list[str]) -> tuple[float, float, str]:
    """Run cmd; return (its own peak RSS in MiB, wall seconds, its output)."""
    t0 = time.monotonic()
    env = dict(os.environ)
    # Under AddressSanitizer (the sanitizer pass of tools/test.sh) freed memory is held in a quarantine of up
    # to 256 MiB to catch use-after-free, which would make the peak grow with the number of allocations; the
    # quarantine is switched off so the measure is the program's own (ignored by a build without ASan).
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS", ""), "quarantine_size_mb=0",
                                                 "thread_local_quarantine_size_kb=0"]))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    err = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit("FAIL: exit %d: %s\n%s" % (p.returncode, shlex.join(cmd), err.strip()))
    return ru.ru_maxrss / 1024.0, time.monotonic() - t0, err  # ru_maxrss is in KiB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--work", default="calib_rss_work")
    ap.add_argument("--models")
    ap.add_argument("--few", type=int, default=10)
    ap.add_argument("--many", type=int, default=1000)
    a = ap.parse_args()
    model = os.path.join(models_dir(a.models), CLS)
    if not os.path.isfile(model):
        print("FAIL: %s not found (run tools/fetch_models.py)" % model)
        return 1
    os.makedirs(a.work, exist_ok=True)
    rss = {}
    for n in (a.few, a.many):
        out = os.path.join(a.work, "cls_%d.onnx" % n)
        cmd = [a.onnxq, "quantize", model, "-o", out, "--data", "random:seed=5,n=%d" % n, "--shape",
               "x=1x3x48x192", "--batch-size", "1", "--batches", str(n), "--method", "percentile",
               "--threads", "1", "--quiet"]
        mib, secs, err = peak_rss_mib(cmd)
        m = re.search(r"calibration: (\d+) samples", err)
        if not m or int(m.group(1)) != n:
            print("FAIL: expected %d calibration samples, onnxq reported: %s" % (n, m.group(0) if m else err))
            return 1
        rss[n] = mib
        print("%5d samples: peak RSS %.1f MiB, %.1f s" % (n, mib, secs))
    growth = (rss[a.many] - rss[a.few]) / rss[a.few]
    print("peak RSS %d -> %d samples: %+.1f%% (limit +-%d%%)" % (a.few, a.many, 100 * growth, 100 * LIMIT))
    if abs(growth) > LIMIT:
        print("FAIL: calibration memory depends on the number of samples")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
