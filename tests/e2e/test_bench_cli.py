#!/usr/bin/env python3
"""`onnxq bench --compare` and the --profile GOP/s lines (issue 4, benchmark part).

usage: test_bench_cli.py --onnxq BUILD/onnxq [--work DIR] [--models DIR]

Quantizes the PaddleOCR cls model (`onnxq quantize --data random`, 2 batches) and checks:
  1. `onnxq bench INT8 --compare FP32 --profile`: two key=value model lines (MODEL first) with every key,
     min <= median <= p90, then `ratio (OTHER/MODEL median): X.XXx` equal to median_B / median_A as printed
     (within the rounding of the printed numbers), then one profile per model; the INT8 one has QConv rows
     and a `gops kind=int8` line, the FP32 one a `gops kind=float` line, each with GOP/s = 2*GMAC/ms;
  2. without --compare: one model line and no ratio line;
  3. --compare with a missing file: nonzero exit, nothing benchmarked, the error names the file and --compare.
Exit status 0 iff all checks pass.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
from test_ort_models import CLS, models_dir  # noqa: E402

SHAPE = "x=8x3x48x192"
KEYS = ["model", "threads", "median_ms", "p90_ms", "min_ms", "throughput_per_s", "gmacs", "arena_mib",
        "peak_live_mib", "peak_rss_mib"]
RATIO = re.compile(r"^ratio \(OTHER/MODEL median\): (\d+\.\d\d)x$")

failures = []


def check(cond: bool, what: str) -> None:
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        failures.append(what)


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    print("$ " + shlex.join(cmd))
    return subprocess.run(cmd, capture_output=True, text=True)


def model_lines(out: str) -> list[dict]:
    return [dict(re.findall(r"(\w+)=(\S+)", ln)) for ln in out.splitlines() if ln.startswith("model=")]


def check_gops_line(line: str, kind: str) -> None:
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    gmac, ms, gops = float(kv["gmac"]), float(kv["ms"]), float(kv["gops"])
    expect = 2.0 * gmac / ms * 1e3  # 2 ops per MAC, GMAC per run / ms per run
    check(kv["kind"] == kind and gmac > 0 and ms > 0, "gops line of kind %s has MACs and time: %s" % (kind, line))
    # gmac and ms are printed rounded to 3 decimals: allow their rounding, not more
    tol = expect * (0.0005 / gmac + 0.0005 / ms) + 0.05
    check(abs(gops - expect) <= tol, "gops %.1f == 2*gmac/ms = %.1f (+-%.1f)" % (gops, expect, tol))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--work", default=os.path.join(os.getcwd(), "e2e_bench_cli"))
    ap.add_argument("--models")
    args = ap.parse_args()
    fp32 = os.path.join(models_dir(args.models), CLS)
    if not os.path.isfile(fp32):
        print("FAIL: model %s not found (tools/fetch_models.py fetches it)" % fp32)
        return 1
    os.makedirs(args.work, exist_ok=True)
    int8 = os.path.join(args.work, "cls.int8.onnx")
    r = run([args.onnxq, "quantize", fp32, "-o", int8, "--data", "random", "--shape", SHAPE, "--batches", "2",
             "--quiet"])
    check(r.returncode == 0, "quantize exits 0 (%s)" % r.stderr.strip()[-300:])
    if r.returncode:
        return 1

    # 1. --compare
    r = run([args.onnxq, "bench", int8, "--compare", fp32, "--shape", SHAPE, "--threads", "1", "--runs", "5",
             "--warmup", "1", "--profile"])
    print(r.stdout)
    check(r.returncode == 0, "bench --compare exits 0 (%s)" % r.stderr.strip())
    lines = r.stdout.splitlines()
    ms = model_lines(r.stdout)
    check(len(ms) == 2, "two model lines")
    if len(ms) == 2:
        check(lines[0].startswith("model=") and lines[1].startswith("model="), "model lines come first")
        check([m["model"] for m in ms] == [int8, fp32], "MODEL first, OTHER second")
        for m in ms:
            check(list(m) == KEYS, "keys in order: %s" % " ".join(m))
            if list(m) == KEYS:
                check(float(m["min_ms"]) <= float(m["median_ms"]) <= float(m["p90_ms"]), "min <= median <= p90")
                check(m["threads"] == "1", "threads=1")
        ratio = [RATIO.match(ln) for ln in lines if ln.startswith("ratio")]
        check(len(ratio) == 1 and ratio[0] is not None and lines[2].startswith("ratio"),
              "third line is 'ratio (OTHER/MODEL median): X.XXx'")
        if len(ratio) == 1 and ratio[0] and all(list(m) == KEYS for m in ms):
            a, b, got = float(ms[0]["median_ms"]), float(ms[1]["median_ms"]), float(ratio[0].group(1))
            # printed ratio rounds to 0.01; the printed medians round to 0.001 ms
            tol = 0.005 + 0.0005 * (1 + b / a) / a + 1e-9
            check(abs(got - b / a) <= tol, "ratio %.2f == %.3f / %.3f = %.4f (+-%.4f)" % (got, b, a, b / a, tol))
    heads = [i for i, ln in enumerate(lines) if ln.startswith("profile")]
    check(len(heads) == 2, "two profiles")
    if len(heads) == 2:
        check(int8 in lines[heads[0]] and fp32 in lines[heads[1]], "profiles name their model, MODEL first")
        p_int8, p_fp32 = lines[heads[0] + 1:heads[1]], lines[heads[1] + 1:]
        qconv = [ln for ln in p_int8 if ln.split()[:1] == ["QConv"]]
        check(len(qconv) == 1 and "GOP/s" in qconv[0], "INT8 profile has a QConv row with GOP/s")
        g8 = [ln for ln in p_int8 if ln.startswith("  gops kind=int8 ")]
        check(len(g8) == 1 and "QConv" in g8[0], "INT8 profile has a 'gops kind=int8' line with QConv")
        if g8:
            check_gops_line(g8[0], "int8")
        gf = [ln for ln in p_fp32 if ln.startswith("  gops kind=float ")]
        check(len(gf) == 1, "FP32 profile has a 'gops kind=float' line")
        if gf:
            check_gops_line(gf[0], "float")
        # rows keep the "OP N nodes" layout tests/e2e/test_int8_numerics.py parses
        rows = [ln for ln in p_int8 if not ln.startswith("  gops ")]
        check(all(ln.split()[2] == "nodes" and ln.split()[1].isdigit() for ln in rows), "profile rows: OP N nodes")

    # 2. single model: no ratio
    r = run([args.onnxq, "bench", fp32, "--shape", SHAPE, "--threads", "1", "--runs", "2", "--warmup", "0"])
    check(r.returncode == 0 and len(model_lines(r.stdout)) == 1 and "ratio" not in r.stdout,
          "without --compare: one model line, no ratio (%s)" % r.stderr.strip())

    # 3. missing --compare file
    missing = os.path.join(args.work, "no_such_model.onnx")
    r = run([args.onnxq, "bench", fp32, "--compare", missing, "--shape", SHAPE, "--runs", "2"])
    print(r.stderr.strip())
    check(r.returncode != 0, "missing --compare file: nonzero exit")
    check(missing in r.stderr and "--compare" in r.stderr, "the error names --compare and the file")
    check("model=" not in r.stdout, "nothing benchmarked")

    print("%s: %d check(s) failed" % ("FAIL" if failures else "PASS", len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
