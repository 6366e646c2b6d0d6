"""Shared scaffolding of the latency benchmarks (bench_fp32.py, bench_int8.py): finding the models, the input
every runner gets, timing ONNX Runtime sessions, and running and parsing `onnxq bench`.

Timing rules, the same for every runner: `warmup` untimed runs, then `runs` timed ones; the median and the
p90 use the formulas of src/cli/bench.c, so numbers from both sides are comparable.
"""
import os
import re
import shlex
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DET = "ch_PP-OCRv4_det_infer.onnx"
REC = "ch_PP-OCRv4_rec_infer.onnx"
CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"


def models_dir():
    """$ONNXQ_MODELS, else the cache of tools/fetch_models.py (fetched and verified if needed)."""
    if os.environ.get("ONNXQ_MODELS"):
        return os.environ["ONNXQ_MODELS"]
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "fetch_models.py")], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()
    return out[-1]


def shape_str(shape):
    return "x".join(map(str, shape))


def lcg_input(shape, index=0):
    """The float input `onnxq bench` feeds to graph input number `index` (src/cli/bench.c): an LCG seeded
    with 12345 + index, st = st * 1664525 + 1013904223 (mod 2^32), value (st >> 8) / 2^23 - 1, i.e. U[-1, 1).
    Giving ORT the very same tensor makes every runner see the same data. Vectorized by jumping the LCG
    ahead a block at a time: st[k + B] = A * st[k] + C with A = a^B, C = c * (a^(B-1) + ... + 1)."""
    a, c, mask = 1664525, 1013904223, 0xFFFFFFFF
    n = int(np.prod(shape))
    block = 4096
    first = np.empty(block, np.uint64)
    st = (12345 + index) & mask
    for k in range(block):
        st = (st * a + c) & mask
        first[k] = st
    big_a, big_c = 1, 0
    for _ in range(block):  # compose the map x -> a*x + c with itself `block` times
        big_a, big_c = (big_a * a) & mask, (big_c * a + c) & mask
    nblocks = (n + block - 1) // block
    states = np.empty((nblocks, block), np.uint64)
    states[0] = first
    for b in range(1, nblocks):
        states[b] = (states[b - 1] * np.uint64(big_a) + np.uint64(big_c)) & np.uint64(mask)
    v = (states.reshape(-1)[:n] >> np.uint64(8)).astype(np.float32) / np.float32(8388608.0) - np.float32(1.0)
    return v.reshape(shape)


def stats(times_ms):
    """(median, p90, min) as src/cli/bench.c computes them."""
    t = sorted(times_ms)
    n = len(t)
    med = t[n // 2] if n % 2 else 0.5 * (t[n // 2 - 1] + t[n // 2])
    return med, t[int((n - 1) * 0.9 + 0.5)], t[0]


def ort_session(path, threads):
    """ORT CPU session as the benchmarks use it: all graph optimizations (so QDQ models are fused into
    QLinearConv / QLinearMatMul / ...), `threads` intra-op threads, no inter-op parallelism."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def time_interleaved(calls, runs, warmup):
    """Warm up each callable, then time them in turn (A, B, A, B, ...) so that machine noise hits all alike.
    Returns one (median, p90, min) per callable."""
    for f in calls:
        for _ in range(warmup):
            f()
    times = [[] for _ in calls]
    for _ in range(runs):
        for f, t in zip(calls, times):
            t0 = time.perf_counter()
            f()
            t.append((time.perf_counter() - t0) * 1e3)
    return [stats(t) for t in times]


def ort_runner(path, shape, threads):
    """A callable running the model once in ORT on lcg_input(shape)."""
    s = ort_session(path, threads)
    feed = {s.get_inputs()[0].name: lcg_input(shape)}
    return lambda: s.run(None, feed)


def ort_time(path, shape, threads, runs, warmup):
    """(median, p90) of ORT on the model."""
    med, p90, _ = time_interleaved([ort_runner(path, shape, threads)], runs, warmup)[0]
    return med, p90


class OnnxqBenchError(RuntimeError):
    pass


def onnxq_bench(exe, path, shape, threads, runs, warmup, compare=None, profile=False):
    """Run `onnxq bench` and parse it: {"models": [{key: value} per model line], "ratio": float or None,
    "profiles": [{"rows": [...], "classes": {kind: {...}}, "nodes_ms": float} per model], "cmd": str}.
    Raises OnnxqBenchError with the last stderr line when it fails."""
    cmd = [exe, "bench", path, "--shape", "x=" + shape_str(shape), "--threads", str(threads), "--runs",
           str(runs), "--warmup", str(warmup)]
    if compare:
        cmd += ["--compare", compare]
    if profile:
        cmd += ["--profile"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "exit code %d" % r.returncode
        raise OnnxqBenchError(last)
    return parse_onnxq_bench(r.stdout, shlex.join(cmd))


def _num(v):
    try:
        return float(v)
    except ValueError:
        return v


def parse_onnxq_bench(out, cmd=""):
    res = {"models": [], "ratio": None, "profiles": [], "cmd": cmd}
    prof = None
    for ln in out.splitlines():
        if ln.startswith("model="):
            res["models"].append({k: _num(v) for k, v in re.findall(r"(\w+)=(\S+)", ln)})
        elif ln.startswith("ratio (OTHER/MODEL median):"):
            res["ratio"] = float(ln.split(":")[1].strip().rstrip("x"))
        elif ln.startswith("profile"):
            m = re.search(r"nodes ([0-9.]+) ms", ln)
            prof = {"rows": [], "classes": {}, "nodes_ms": float(m.group(1)) if m else None}
            res["profiles"].append(prof)
        elif prof is not None and ln.startswith("  gops "):
            kv = {k: _num(v) for k, v in re.findall(r"(\w+)=(\S+)", ln)}
            prof["classes"][kv["kind"]] = kv
        elif prof is not None and ln.startswith("  "):
            f = ln.split()
            row = {"op": f[0], "nodes": int(f[1]), "ms": float(f[3]), "pct": float(f[5].rstrip("%"))}
            if "GOP/s" in f:
                row["gmac"], row["gops"] = float(f[6]), float(f[8])
            prof["rows"].append(row)
    return res


def onnxq_time(exe, path, shape, threads, runs, warmup):
    """(median, p90) of `onnxq bench` on the model, or (None, error message)."""
    try:
        m = onnxq_bench(exe, path, shape, threads, runs, warmup)["models"][0]
    except OnnxqBenchError as e:
        return None, str(e)
    return m["median_ms"], m["p90_ms"]
