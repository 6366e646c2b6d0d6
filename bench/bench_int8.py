#!/usr/bin/env python3
"""onnxq INT8 vs onnxq FP32 vs ONNX Runtime FP32 and INT8 on the PaddleOCR models, same machine, one run.

  .venv/bin/python bench/bench_int8.py [--onnxq build/onnxq] [--runs 10] [--threads 1,2] [--models det,rec,cls]
                                       [--json FILE] [--peak-gops N] [--cache-dir DIR] [--smoke]

1. Quantizes det, rec and cls with `onnxq quantize` (default method, per-channel int8 weights, uint8
   activations; calibration on `--data random` at the benchmark shape) into --cache-dir (outside the repo).
2. Per (model, shape, threads), median latency of four runners on the same input (bench_common.lcg_input,
   the tensor `onnxq bench` generates):
     onnxq INT8  the QDQ model; onnxq lowers it to integer kernels (exec/lower_qdq.h)
     onnxq FP32  the original model        (both through `onnxq bench INT8 --compare FP32`: interleaved runs)
     ORT FP32    the original model        (both ORT_ENABLE_ALL, intra_op = threads, inter_op = 1, runs
     ORT INT8    the same QDQ model         interleaved; ORT fuses the QDQ model into QLinearConv etc.)
   and the ratios ORT-FP32/oq-INT8, ORT-INT8/oq-INT8, oq-FP32/oq-INT8 (> 1: onnxq INT8 is faster).
3. The INT8 profile (`onnxq bench QDQ --profile`): the time share of QConv/QMatMul and the rest, the largest
   other op types, and the GOP/s (2 * MACs / time) reached in QConv/QMatMul against the VNNI peak
   (per core, times the thread count): measured by `bench_qgemm peak` (a register-only vpdpbusd loop, built
   beside onnxq in BUILD/bench) unless --peak-gops gives it.

--smoke (for ctest): cls only, 1 thread, 2 runs, 1 warm-up. Exit status 1 if any runner failed.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time

import onnxruntime as ort

from bench_common import (CLS, DET, REC, REPO, OnnxqBenchError, models_dir, onnxq_bench, ort_runner,
                          shape_str, time_interleaved)

MODELS = {  # key -> (model file, calibration input shape, benchmark shapes)
    "det": (DET, (1, 3, 640, 640), [(1, 3, 640, 640)]),
    "rec": (REC, (1, 3, 48, 320), [(1, 3, 48, 320), (8, 3, 48, 320)]),
    "cls": (CLS, (8, 3, 48, 192), [(8, 3, 48, 192)]),
}
RUNNERS = ["oq_int8", "oq_fp32", "ort_fp32", "ort_int8"]
HEAD = {"oq_int8": "oq-INT8", "oq_fp32": "oq-FP32", "ort_fp32": "ORT-FP32", "ort_int8": "ORT-INT8"}


def cpu_info():
    name, flags = "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name") and name == "?":
                    name = ln.split(":", 1)[1].strip()
                elif ln.startswith("flags") and not flags:
                    flags = set(ln.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [x for x in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if x in flags]
    return name, isa


def quantize(exe, key, mdir, cache):
    fname, calib_shape, _ = MODELS[key]
    src = os.path.join(mdir, fname)
    out = os.path.join(cache, fname.replace(".onnx", ".int8.onnx"))
    cmd = [exe, "quantize", src, "-o", out, "--data", "random", "--shape", "x=" + shape_str(calib_shape),
           "--quiet"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (shlex.join(cmd), r.returncode, r.stderr.strip()))
    return {"fp32": src, "int8": out, "cmd": shlex.join(cmd), "seconds": time.perf_counter() - t0}


def run_onnxq(exe, q, shape, thr, runs, warmup):
    """onnxq INT8 and FP32, interleaved by `onnxq bench --compare`; if that fails, each alone so that the
    one that works still gets a number. -> ({runner: {median, p90, min}}, {runner: error})."""
    res, errs = {}, {}
    pairs = [("oq_int8", q["int8"]), ("oq_fp32", q["fp32"])]
    try:
        ms = onnxq_bench(exe, q["int8"], shape, thr, runs, warmup, compare=q["fp32"])["models"]
        for (name, _), m in zip(pairs, ms):
            res[name] = {"median": m["median_ms"], "p90": m["p90_ms"], "min": m["min_ms"]}
        return res, errs
    except OnnxqBenchError:
        pass
    for name, path in pairs:
        try:
            m = onnxq_bench(exe, path, shape, thr, runs, warmup)["models"][0]
            res[name] = {"median": m["median_ms"], "p90": m["p90_ms"], "min": m["min_ms"]}
        except OnnxqBenchError as e:
            errs[name] = str(e)
    return res, errs


def run_ort(q, shape, thr, runs, warmup):
    """ORT FP32 and INT8, interleaved. -> ({runner: {median, p90, min}}, {runner: error})."""
    res, errs, calls = {}, {}, []
    for name, path in (("ort_fp32", q["fp32"]), ("ort_int8", q["int8"])):
        try:
            calls.append((name, ort_runner(path, shape, thr)))
        except Exception as e:  # noqa: BLE001 - ORT raises several types; report and go on
            errs[name] = str(e).strip().splitlines()[0]
    if calls:
        for (name, _), (med, p90, mn) in zip(calls, time_interleaved([f for _, f in calls], runs, warmup)):
            res[name] = {"median": med, "p90": p90, "min": mn}
    return res, errs


def int8_profile(exe, q, shape, thr, runs, warmup, peak_gops):
    """The INT8 profile summary from `onnxq bench QDQ --profile`."""
    p = onnxq_bench(exe, q["int8"], shape, thr, runs, warmup, profile=True)["profiles"][0]
    total = p["nodes_ms"] or sum(r["ms"] for r in p["rows"])
    c = p["classes"].get("int8", {})
    qms = float(c.get("ms", 0.0))
    peak = peak_gops * thr
    others = [r for r in p["rows"] if r["op"] not in str(c.get("ops", "")).split(",")]
    return {
        "nodes_ms": total,
        "int8_mm_ops": c.get("ops", ""),
        "int8_mm_nodes": int(c.get("nodes", 0)),
        "int8_mm_ms": qms,
        "int8_mm_share_pct": 100.0 * qms / total if total else 0.0,
        "rest_ms": total - qms,
        "int8_mm_gmac": float(c.get("gmac", 0.0)),
        "int8_mm_gops": float(c.get("gops", 0.0)),
        "peak_gops": peak,
        "pct_of_peak": 100.0 * float(c.get("gops", 0.0)) / peak if peak else 0.0,
        "float_mm": p["classes"].get("float"),
        "top_rest": [(r["op"], r["pct"]) for r in others[:3]],
        "rows": p["rows"],
    }


def fmt_ms(d, k):
    return "%9.2f" % d[k]["median"] if k in d else "%9s" % "error"


def fmt_ratio(d, num, den):
    return "%8.2fx" % (d[num]["median"] / d[den]["median"]) if num in d and den in d else "%9s" % "-"


def measure_peak(onnxq):
    """This core's VNNI peak from bench_qgemm's register-only vpdpbusd loop (the issue's 667 GOP/s is one
    Sapphire Rapids core; other machines differ)."""
    exe = os.path.join(os.path.dirname(os.path.abspath(onnxq)), "bench", "bench_qgemm")
    try:
        out = subprocess.run([exe, "peak"], capture_output=True, text=True, timeout=60).stdout
        m = re.search(r"([0-9.]+) GOP/s per core", out)
        if m and float(m.group(1)) > 0:
            print("VNNI peak measured by `%s peak`: %s GOP/s per core" % (exe, m.group(1)))
            return float(m.group(1))
    except (OSError, subprocess.TimeoutExpired):
        pass
    print("VNNI peak: %s unavailable or no AVX512-VNNI; using 667 GOP/s per core (pass --peak-gops)" % exe)
    return 667.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--onnxq", default=os.path.join(REPO, "build", "onnxq"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--models", default="det,rec,cls")
    ap.add_argument("--peak-gops", type=float, default=0.0,
                    help="INT8 VNNI peak GOP/s per core (default: measured by BUILD/bench/bench_qgemm peak)")
    ap.add_argument("--cache-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "onnxq", "bench"),
                    help="where the quantized models go (outside the repo)")
    ap.add_argument("--json", help="write the raw numbers here")
    ap.add_argument("--smoke", action="store_true", help="cls only, 1 thread, 2 runs, 1 warm-up (for ctest)")
    args = ap.parse_args()
    if args.smoke:
        args.models, args.threads, args.runs, args.warmup = "cls", "1", 2, 1
    keys = [k.strip() for k in args.models.split(",") if k.strip()]
    bad = [k for k in keys if k not in MODELS]
    if bad or not keys:
        ap.error("--models: unknown %s; choose from %s" % (",".join(bad) or "(none)", ",".join(MODELS)))
    threads = [int(t) for t in args.threads.split(",")]
    if not os.path.isfile(args.onnxq):
        ap.error("--onnxq %s does not exist; build it (cmake --build build) or point --onnxq at it" % args.onnxq)

    command = shlex.join([sys.executable] + sys.argv)
    print("$ " + command)
    cpu, isa = cpu_info()
    print("onnxruntime %s, %d CPUs (%s; %s), median of %d runs after %d warm-up; onnxq INT8/FP32 interleaved by "
          "`onnxq bench --compare`, ORT FP32/INT8 interleaved"
          % (ort.__version__, os.cpu_count(), cpu, " ".join(isa) or "no AVX2", args.runs, args.warmup))
    if args.peak_gops <= 0:
        args.peak_gops = measure_peak(args.onnxq)
    mdir = models_dir()
    os.makedirs(args.cache_dir, exist_ok=True)
    quant = {}
    for k in keys:
        quant[k] = quantize(args.onnxq, k, mdir, args.cache_dir)
        print("quantized %s in %.1f s: %s" % (k, quant[k]["seconds"], quant[k]["cmd"]))

    cases, failed = [], False
    for thr in threads:
        for k in keys:
            for shape in MODELS[k][2]:
                c = {"model": k, "file": MODELS[k][0], "shape": list(shape), "threads": thr}
                res, errs = run_onnxq(args.onnxq, quant[k], shape, thr, args.runs, args.warmup)
                r2, e2 = run_ort(quant[k], shape, thr, args.runs, args.warmup)
                res.update(r2)
                errs.update(e2)
                try:
                    c["profile"] = int8_profile(args.onnxq, quant[k], shape, thr, args.runs, args.warmup,
                                                args.peak_gops)
                except OnnxqBenchError as e:
                    errs["profile"] = str(e)
                c["ms"], c["errors"] = res, errs
                c["ratios"] = {"%s/oq_int8" % n: res[n]["median"] / res["oq_int8"]["median"]
                               for n in ("ort_fp32", "ort_int8", "oq_fp32") if n in res and "oq_int8" in res}
                failed |= bool(errs)
                cases.append(c)
                print("  done %s %s %d thread(s)" % (k, shape_str(shape), thr), file=sys.stderr)

    print()
    print("latency, ms (median); ORTf/oqI = ORT-FP32 / oq-INT8, ORTi/oqI = ORT-INT8 / oq-INT8, oqF/oqI = "
          "oq-FP32 / oq-INT8 (> 1: onnxq INT8 faster)")
    print("%-5s %-12s %3s %9s %9s %9s %9s %9s %9s %9s" % (
        "model", "shape", "thr", "oq-INT8", "oq-FP32", "ORT-FP32", "ORT-INT8", "ORTf/oqI", "ORTi/oqI", "oqF/oqI"))
    for c in cases:
        d = c["ms"]
        print("%-5s %-12s %3d %s %s %s %s %s %s %s" % (
            c["model"], shape_str(c["shape"]), c["threads"], fmt_ms(d, "oq_int8"), fmt_ms(d, "oq_fp32"),
            fmt_ms(d, "ort_fp32"), fmt_ms(d, "ort_int8"), fmt_ratio(d, "ort_fp32", "oq_int8"),
            fmt_ratio(d, "ort_int8", "oq_int8"), fmt_ratio(d, "oq_fp32", "oq_int8")))
    print()
    print("onnxq INT8 profile (`onnxq bench QDQ --profile`): QConv/QMatMul vs the rest; GOP/s = 2*MACs/time in "
          "QConv/QMatMul, peak = %.0f GOP/s per core x threads" % args.peak_gops)
    print("%-5s %-12s %3s %9s %9s %6s %9s %7s %7s %6s  %s" % (
        "model", "shape", "thr", "nodes ms", "QMM ms", "QMM %", "rest ms", "GMAC", "GOP/s", "%peak",
        "largest other ops (% of node time)"))
    for c in cases:
        p = c.get("profile")
        if not p:
            print("%-5s %-12s %3d  error: %s" % (c["model"], shape_str(c["shape"]), c["threads"],
                                                  c["errors"].get("profile")))
            continue
        print("%-5s %-12s %3d %9.2f %9.2f %5.1f%% %9.2f %7.3f %7.1f %5.1f%%  %s" % (
            c["model"], shape_str(c["shape"]), c["threads"], p["nodes_ms"], p["int8_mm_ms"],
            p["int8_mm_share_pct"], p["rest_ms"], p["int8_mm_gmac"], p["int8_mm_gops"], p["pct_of_peak"],
            ", ".join("%s %.1f" % (op, pct) for op, pct in p["top_rest"])))
    for c in cases:
        for n, e in c["errors"].items():
            print("error: %s %s %d thread(s), %s: %s" % (c["model"], shape_str(c["shape"]), c["threads"], n, e))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "onnxruntime": ort.__version__, "cpus": os.cpu_count(), "cpu": cpu,
                       "isa": isa, "runs": args.runs, "warmup": args.warmup, "peak_gops_per_core": args.peak_gops,
                       "quantize": quant, "cases": cases}, f, indent=1)
        print("wrote %s" % args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
