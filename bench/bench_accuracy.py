#!/usr/bin/env python3
"""Side-by-side PTQ bench: onnxq vs ONNX Runtime's quantize_static on the PaddleOCR models (issue 6).

    .venv/bin/python bench/bench_accuracy.py [--models rec,cls,det] [--methods all|onnxq|ort|NAME,...] [--quick]
                                             [--methods percentile,percentile+bc,percentile+ada+sq,...]
                                             [--rec-calib 300] [--det-calib 50] [--det-eval 100] [--out FILE]

For each model, on the same calibration tensors (the first N samples of eval/make_datasets.py's calib split,
exported by eval/export_calib.py as one float32 .npy per sample, batch 1):
  onnxq   `onnxq quantize --method M` for min_max, moving_average_abs_max, percentile, mse, kl, kl_v2 (uint8
          asymmetric activations) and abs_max (--symmetric, int8); per-channel int8 weights, default op types;
          METHOD+pt+bc+eq+ab+ada+sq adds --per-tensor, --bias-correction, --equalize, --absorb-bias (with
          --equalize), --adaround, --smoothquant
          (the ablation of the algorithms beyond min/max and KL)
  ORT     onnxruntime.quantization.quantize_static with MinMax, Entropy, Percentile (QDQ, per_channel=True,
          activations QUInt8, weights QInt8, ORT's defaults otherwise) after
          onnxruntime.quantization.shape_inference.quant_pre_process
Each quantizer runs in a subprocess of its own; its wall time (load + calibrate + choose scales + write) and
peak RSS come from os.wait4 on that process. ORT's subprocess gets an address-space cap (--ort-mem-gib, default
8) so that a calibrator that holds every activation of every sample fails with MemoryError instead of taking the
machine down; such a method is a failed row with its error, and the bench goes on.

Every model (FP32, each INT8) is then scored on the eval split with ONNX Runtime as the runtime (eval/evaluate.py's
evaluate()), so that all quantized models are judged by the same engine; onnxq's best model per task is also
scored with `--runtime onnxq` to show the two runtimes agree.

ORT and these models: the PaddleOCR ONNX files are opset 9/11, and ORT's QDQ per-channel output puts an `axis`
attribute on DequantizeLinear, which exists only from opset 13; quantize_static does not upgrade the opset for
that, so its model fails to load ("Unrecognized attribute: axis"). The bench therefore converts the
pre-processed model to opset 13 with onnx.version_converter before quantize_static (--ort-opset 0 turns this off
to show the failure). quant_pre_process's ORT optimization pass turns the models' Constant-node weights into
initializers (and folds BatchNormalization), so ORT does quantize the weights; the `float W` column counts the
Conv/ConvTranspose/Gemm/MatMul nodes whose constant weight is still float, for both tools. When sympy is not
installed, quant_pre_process runs with skip_symbolic_shape=True (ONNX shape inference only); the header says so.

Output: one table per model on stdout and as Markdown in --out (default /tmp/accuracy_table.md) with the exact
command line and the versions at the top. Deterministic given the datasets (timings aside).
--quick: few samples and a short method list, for a smoke run in CI (< 3 min). Exit status 1 when an onnxq row
failed (ORT's failures are reported, not errors).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "eval"))
sys.path.insert(0, os.path.join(REPO, "tools"))

MODEL_FILES = {
    "rec": "ch_PP-OCRv4_rec_infer.onnx",
    "cls": "ch_ppocr_mobile_v2.0_cls_infer.onnx",
    "det": "ch_PP-OCRv4_det_infer.onnx",
}
ONNXQ_METHODS = ["min_max", "abs_max", "moving_average_abs_max", "percentile", "mse", "kl", "kl_v2"]
ORT_METHODS = ["MinMax", "Entropy", "Percentile"]
QUICK_METHODS = ["min_max", "kl_v2", "ort-MinMax", "ort-Percentile"]
# onnxq variants for the ablation of issue 8: METHOD+bc+eq+... adds these flags to `onnxq quantize`
VARIANT_FLAGS = {"pt": ["--per-tensor"], "bc": ["--bias-correction"], "eq": ["--equalize"], "ab": ["--absorb-bias"],
                 "ada": ["--adaround"], "sq": ["--smoothquant"]}
# defaults sized for ~25 min on 2 busy cores; --quick for the smoke run
DEFAULT_CALIB = {"rec": 300, "cls": 300, "det": 50}
DEFAULT_EVAL = {"rec": None, "cls": None, "det": 100}  # None = the whole eval split
QUICK_CALIB = {"rec": 8, "cls": 16, "det": 2}
QUICK_EVAL = {"rec": 64, "cls": 128, "det": 6}
PRIMARY = {"rec": "char_accuracy", "cls": "accuracy", "det": "fscore"}
WEIGHT_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


# ---------------------------------------------------------------------------------------------- subprocess
def run_measured(cmd, log_prefix, timeout=None, mem_limit=None, env=None):
    """Run cmd to completion; -> dict(rc, wall, peak_rss_mib, stdout, stderr, timed_out).

    Peak RSS and wall time are the child's own (os.wait4). stdout/stderr go to files (no pipe deadlock)."""
    out_f = open(log_prefix + ".out", "w+")
    err_f = open(log_prefix + ".err", "w+")

    def limit():
        if mem_limit:
            resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))

    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, preexec_fn=limit, env=env, start_new_session=True)
    timed_out = []

    def kill():
        timed_out.append(True)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if timer:
        timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    out_f.seek(0)
    err_f.seek(0)
    res = dict(rc=p.returncode, wall=wall, peak_rss_mib=ru.ru_maxrss / 1024.0, stdout=out_f.read(),
               stderr=err_f.read(), timed_out=bool(timed_out))
    out_f.close()
    err_f.close()
    return res


def error_text(r, what, mem_limit=None, progress=None):
    """One line for a failed quantizer process: the kind of failure and the gist of its last error line."""
    if r["timed_out"]:
        return f"{what}: killed after the {r['wall']:.0f} s timeout"
    lines = [ln.strip() for ln in r["stderr"].strip().splitlines() if ln.strip()]
    tail = lines[-1] if lines else ""
    where = f" after {progress}" if progress else ""
    err = r["stderr"]
    if "MemoryError" in err or "bad_alloc" in err or "Failed to allocate" in err:
        cap = f" (address space capped at {mem_limit / 2**30:g} GiB by the bench)" if mem_limit else ""
        m = re.search(r"while running (\w+) node\. Name:'([^']*)'.*Failed to allocate memory for requested buffer "
                      r"of size (\d+)", err)
        gist = (f"ORT arena failed to allocate {int(m.group(3)) / 2**20:.1f} MiB in {m.group(1)} '{m.group(2)}'"
                if m else tail[:160])
        return f"{what}: out of memory{cap}{where}, peak RSS {r['peak_rss_mib']:.0f} MiB: {gist}"
    if progress:
        tail = f"{tail[:200]} ({progress})"
    if r["rc"] < 0:
        return f"{what}: killed by signal {-r['rc']} ({signal.Signals(-r['rc']).name}); {tail[:160]}"
    return f"{what}: exit {r['rc']}: {tail[:240]}"


# ---------------------------------------------------------------------------------------------- model facts
def weight_report(path):
    """(quantized, float) constant weights of the Conv/ConvTranspose/Gemm/MatMul nodes (a float constant behind a
    QuantizeLinear -> DequantizeLinear pair counts as float: it is stored float and quantized at run time)."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    g = m.graph
    consts = {i.name: i.data_type for i in g.initializer}
    producer = {}
    for n in g.node:
        for o in n.output:
            producer[o] = n
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    consts[n.output[0]] = a.t.data_type
    flt = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE)
    q = f = 0
    for n in g.node:
        if n.op_type not in WEIGHT_OPS or len(n.input) < 2:
            continue
        w = n.input[1]
        if w in consts:
            if consts[w] in flt:
                f += 1
        elif w in producer and producer[w].op_type == "DequantizeLinear":
            src = producer[w].input[0]
            if src in consts:
                q += 1
            elif src in producer and producer[src].op_type == "QuantizeLinear" and producer[src].input[0] in consts:
                f += 1  # a float constant quantized at run time (Q -> DQ): stored float
    return q, f


def opset_of(path):
    import onnx
    m = onnx.load(path, load_external_data=False)
    return max((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), default=0)


# ---------------------------------------------------------------------------------------------- ORT worker
class _NpyReader:
    """CalibrationDataReader over the exported .npy files, one sample per get_next()."""

    def __init__(self, files, name, progress=None):
        self.files, self.name, self.i, self.progress = files, name, 0, progress

    def get_next(self):
        import numpy as np
        if self.i >= len(self.files):
            return None
        x = np.load(self.files[self.i])
        self.i += 1
        if self.progress:
            with open(self.progress, "w") as f:
                f.write(f"{self.i} of {len(self.files)} samples read")
        return {self.name: x}

    def rewind(self):
        self.i = 0


def ort_worker(spec_path):
    """Runs in its own process: quant_pre_process (+ opset upgrade) + quantize_static. Writes spec['result']."""
    import numpy as np  # noqa: F401
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    spec = json.load(open(spec_path))
    info = {"notes": []}
    t0 = time.monotonic()
    pre = spec["out"][:-5] + ".pre.onnx"
    try:
        import sympy  # noqa: F401
        skip_sym = False
    except ImportError:
        skip_sym = True
        info["notes"].append("no sympy: skip_symbolic_shape")
    quant_pre_process(spec["model"], pre, skip_symbolic_shape=skip_sym)
    m = onnx.load(pre)
    op = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    if spec["opset"] and op < spec["opset"]:
        from onnx import version_converter
        m = version_converter.convert_version(m, spec["opset"])
        onnx.save(m, pre)
        info["notes"].append(f"opset {op}->{spec['opset']}")
    info["pre_seconds"] = time.monotonic() - t0
    inits = {i.name for i in m.graph.initializer}
    name = [i.name for i in m.graph.input if i.name not in inits][0]
    del m

    class Reader(_NpyReader, CalibrationDataReader):
        pass

    t1 = time.monotonic()
    reader = Reader(spec["files"], name, spec["result"] + ".progress")
    quantize_static(pre, spec["out"], reader, quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=getattr(CalibrationMethod, spec["method"]))
    info["quantize_seconds"] = time.monotonic() - t1
    os.remove(pre)
    json.dump(info, open(spec["result"], "w"))


# ---------------------------------------------------------------------------------------------- bench
def parse_methods(arg):
    allm = ONNXQ_METHODS + ["ort-" + m for m in ORT_METHODS]
    if arg in (None, "all"):
        return allm
    out = []
    for tok in arg.split(","):
        tok = tok.strip()
        if not tok:
            continue
        if tok == "onnxq":
            out += ONNXQ_METHODS
        elif tok == "ort":
            out += ["ort-" + m for m in ORT_METHODS]
        elif "+" in tok:
            base, *flags = tok.split("+")
            if base not in ONNXQ_METHODS or not flags or any(f not in VARIANT_FLAGS for f in flags):
                raise SystemExit(f"bench_accuracy: bad variant {tok!r}: an onnxq method followed by +FLAG for FLAG in "
                                 f"{', '.join(VARIANT_FLAGS)} (e.g. percentile+bc+eq)")
            out.append(tok)
        else:
            hit = [m for m in allm if m.lower() == tok.lower() or m.lower() == "ort-" + tok.lower()
                   and tok.lower() not in ONNXQ_METHODS]
            if not hit:
                raise SystemExit(f"bench_accuracy: unknown method {tok!r}; use {', '.join(allm)}, onnxq, ort or all")
            out += hit
    return list(dict.fromkeys(out))


def quantize_onnxq(args, task, fp32, calib_dir, variant, work):
    method, *flags = variant.split("+")
    tag = variant.replace("+", "_")
    out = os.path.join(work, f"{task}_onnxq_{tag}.onnx")
    cmd = [args.onnxq, "quantize", fp32, "-o", out, "--data", calib_dir, "--batch-size", "1", "--method", method,
           "--quiet"]
    for f in flags:
        cmd += VARIANT_FLAGS[f]
    if method == "abs_max":
        cmd.append("--symmetric")
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    r = run_measured(cmd, os.path.join(work, f"{task}_onnxq_{tag}"), timeout=args.timeout)
    row = dict(tool="onnxq", method=variant + (" (sym int8)" if method == "abs_max" else ""), wall=r["wall"],
               rss=r["peak_rss_mib"], cmd=" ".join(shlex.quote(c) for c in cmd), notes=[])
    if r["rc"] != 0 or not os.path.exists(out):
        row["error"] = error_text(r, "onnxq quantize")
        return row
    for ln in r["stdout"].splitlines():
        if ln.startswith("calibration:") and " s (" in ln:
            row["calib_only"] = float(ln.split(" s (")[0].rsplit(", ", 1)[1])
        if ln.startswith("nodes:"):
            row["nodes"] = ln.split(";")[0][len("nodes: "):]
    row["path"] = out
    return row


def quantize_ort(args, task, fp32, files, method, work):
    out = os.path.join(work, f"{task}_ort_{method}.onnx")
    spec = dict(model=fp32, out=out, files=files, method=method, opset=args.ort_opset,
                result=os.path.join(work, f"{task}_ort_{method}.json"))
    spec_path = os.path.join(work, f"{task}_ort_{method}.spec.json")
    json.dump(spec, open(spec_path, "w"))
    for f in (spec["result"], spec["result"] + ".progress"):
        if os.path.exists(f):
            os.remove(f)
    cap = int(args.ort_mem_gib * 2**30) if args.ort_mem_gib > 0 else None
    env = dict(os.environ)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    r = run_measured([sys.executable, os.path.abspath(__file__), "--ort-worker", spec_path],
                     os.path.join(work, f"{task}_ort_{method}"), timeout=args.timeout, mem_limit=cap, env=env)
    row = dict(tool="ORT", method=method, wall=r["wall"], rss=r["peak_rss_mib"], notes=[])
    if r["rc"] != 0 or not os.path.exists(out) or not os.path.exists(spec["result"]):
        prog = open(spec["result"] + ".progress").read() if os.path.exists(spec["result"] + ".progress") else None
        row["error"] = error_text(r, "quantize_static", cap, prog)
        return row
    info = json.load(open(spec["result"]))
    row["notes"] += info["notes"]
    row["calib_only"] = info["quantize_seconds"]
    row["path"] = out
    return row


def evaluate_row(args, task, row, fp32_size, runtime="ort"):
    import evaluate as ev
    path = row["path"]
    try:
        row["size"] = os.path.getsize(path)
        row["size_pct"] = 100.0 * row["size"] / fp32_size
        row["wq"], row["wf"] = weight_report(path)
        res = ev.evaluate(task, path, runtime=runtime, onnxq=args.onnxq, data=args.data,
                          limit=args.eval_n[task], threads=args.threads)
        row["metrics"] = {k: res[k] for k in ("char_accuracy", "exact_match", "accuracy", "fscore", "precision",
                                              "recall", "n") if k in res}
        row["eval_seconds"] = res["seconds"]
    except Exception as e:  # a model ORT cannot load or run is a failed row, not the end of the bench
        msg = str(e).strip().splitlines()
        row["error"] = f"evaluation ({runtime}): {type(e).__name__}: {(msg[-1] if msg else '')[:240]}"
    return row


def fmt_row(task, row, fp32):
    """Markdown cells for one row."""
    keys = ["char_accuracy", "exact_match"] if task == "rec" else [PRIMARY[task]]
    cells = [row["method"], row["tool"]]
    if "metrics" in row:
        cells += [f"{row['metrics'][k]:.4f}" for k in keys]
        if fp32 is not None and row is not fp32:
            cells += [f"{100 * (row['metrics'][k] - fp32['metrics'][k]):+.2f}" for k in keys]
        else:
            cells += ["" for _ in keys]
    else:
        cells += ["FAILED"] + [""] * (2 * len(keys) - 1)
    cells.append(f"{row['wall']:.1f}" if "wall" in row else "")
    cells.append(f"{row['calib_only']:.1f}" if "calib_only" in row else "")
    cells.append(f"{row['rss']:.0f}" if "rss" in row else "")
    cells.append(f"{row['size'] / 2**20:.2f} ({row['size_pct']:.0f}%)" if "size" in row else "")
    cells.append(f"{row['wq']}/{row['wf']}" if "wq" in row else "")
    notes = list(row.get("notes", []))
    if "error" in row:
        notes.append(row["error"].replace("|", "/"))
    cells.append("; ".join(notes))
    return cells


def header(task):
    keys = ["char acc", "exact"] if task == "rec" else [{"cls": "accuracy", "det": "F-score"}[task]]
    return (["method", "tool"] + keys + [f"Δ {k} (pts)" for k in keys] +
            ["quantize wall s", "calib s", "peak RSS MiB", "size MiB (% FP32)", "W int8/float", "notes"])


def md_table(task, rows, fp32):
    h = header(task)
    lines = ["| " + " | ".join(h) + " |", "|" + "|".join(" --- " for _ in h) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(fmt_row(task, r, fp32)) + " |")
    return lines


def text_table(task, rows, fp32):
    h = header(task)[:-1]
    data = [fmt_row(task, r, fp32)[:-1] for r in rows]
    w = [max(len(str(x)) for x in col) for col in zip(h, *data)]
    out = ["  ".join(str(c).ljust(w[i]) for i, c in enumerate(h))]
    for r, d in zip(rows, data):
        out.append("  ".join(str(c).ljust(w[i]) for i, c in enumerate(d)))
        if "error" in r:
            out.append("    " + r["error"])
    return out


def summary(task, rows, fp32):
    key = PRIMARY[task]
    ok = [r for r in rows if "metrics" in r and r is not fp32 and r.get("runtime", "ort") == "ort"]
    best = {}
    for tool in ("onnxq", "ORT"):
        c = [r for r in ok if r["tool"] == tool]
        if c:
            best[tool] = max(c, key=lambda r: (r["metrics"][key], -r["wall"]))
    parts = []
    for tool, r in best.items():
        parts.append(f"best {tool}: {r['method']} {key} {r['metrics'][key]:.4f} "
                     f"({100 * (r['metrics'][key] - fp32['metrics'][key]):+.2f} pts vs FP32)")
    if len(best) == 2:
        a, b = best["onnxq"], best["ORT"]
        parts.append(f"best vs best: ORT/onnxq wall time {b['wall'] / a['wall']:.1f}x, "
                     f"peak RSS {b['rss'] / a['rss']:.1f}x")
    return "; ".join(parts)


def versions(args):
    import numpy
    import onnx
    import onnxruntime
    try:
        oq = subprocess.run([args.onnxq, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        oq = "?"
    try:
        import sympy
        sym = f"sympy {sympy.__version__}"
    except ImportError:
        sym = "no sympy (quant_pre_process without symbolic shape inference)"
    cpu = ""
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{oq}; onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}, numpy {numpy.__version__}, "
            f"Python {platform.python_version()}; {sym}; {os.cpu_count()} CPUs ({cpu}), "
            f"load average at start {os.getloadavg()[0]:.1f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="rec,cls,det", help="comma list of rec, cls, det (default all)")
    ap.add_argument("--methods", default=None,
                    help="comma list: onnxq methods (" + ", ".join(ONNXQ_METHODS) + "), ORT methods (" +
                         ", ".join("ort-" + m for m in ORT_METHODS) + "), 'onnxq', 'ort' or 'all' (default)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: calib {QUICK_CALIB}, eval {QUICK_EVAL}, methods {','.join(QUICK_METHODS)} "
                         "(unless --methods)")
    for t in ("rec", "cls", "det"):
        ap.add_argument(f"--{t}-calib", type=int, help=f"{t} calibration samples (default {DEFAULT_CALIB[t]})")
        ap.add_argument(f"--{t}-eval", type=int,
                        help=f"{t} evaluation samples (default {DEFAULT_EVAL[t] or 'the whole eval split'})")
    ap.add_argument("--onnxq", default=os.path.join(REPO, "build", "onnxq"))
    ap.add_argument("--no-onnxq-runtime", action="store_true", help="skip the onnxq-runtime check of the best model")
    ap.add_argument("--threads", type=int, help="threads for onnxq, ORT calibration and evaluation (default: all)")
    ap.add_argument("--ort-mem-gib", type=float, default=8.0,
                    help="address-space cap for each ORT quantize_static process (default 8; 0 = none)")
    ap.add_argument("--ort-opset", type=int, default=13,
                    help="upgrade the pre-processed model to this opset before quantize_static when it is older "
                         "(default 13, needed for per-channel QDQ; 0 = leave as is)")
    ap.add_argument("--timeout", type=float, default=1800, help="per quantizer process, seconds")
    ap.add_argument("--data", help="dataset root (default: eval/make_datasets.py's cache)")
    ap.add_argument("--models-dir", help="folder with the .onnx files (default: tools/fetch_models.py)")
    ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "onnxq-bench-accuracy"))
    ap.add_argument("--keep", action="store_true", help="keep the quantized models in --work")
    ap.add_argument("--out", default="/tmp/accuracy_table.md", help="Markdown output (default %(default)s)")
    ap.add_argument("--ort-worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.ort_worker:
        return ort_worker(args.ort_worker)

    t_start = time.monotonic()
    cmdline = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.executable, REPO) if sys.executable.startswith(
        REPO) else sys.executable, os.path.relpath(os.path.abspath(__file__), REPO)] + list(sys.argv[1:] if argv is
                                                                                          None else argv))
    tasks = [t.strip() for t in args.models.split(",") if t.strip()]
    for t in tasks:
        if t not in MODEL_FILES:
            raise SystemExit(f"bench_accuracy: unknown model {t!r}; use rec, cls, det")
    methods = parse_methods(args.methods if args.methods or not args.quick else ",".join(QUICK_METHODS))
    base_calib, base_eval = (QUICK_CALIB, QUICK_EVAL) if args.quick else (DEFAULT_CALIB, DEFAULT_EVAL)
    args.calib_n = {t: getattr(args, f"{t}_calib") or base_calib[t] for t in MODEL_FILES}
    args.eval_n = {t: getattr(args, f"{t}_eval") or base_eval[t] for t in MODEL_FILES}
    args.onnxq = os.path.abspath(args.onnxq)
    if any(not m.startswith("ort-") for m in methods) and not os.path.exists(args.onnxq):
        raise SystemExit(f"bench_accuracy: {args.onnxq} not found; build it (cmake --build build) or pass --onnxq")
    if args.models_dir:
        mdir = args.models_dir
    else:
        out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "fetch_models.py")], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()
        mdir = out[-1]
    os.makedirs(args.work, exist_ok=True)
    import evaluate as ev
    import export_calib

    ver = versions(args)
    md = ["# onnxq vs ONNX Runtime quantize_static: accuracy, calibration time, memory, size", "",
          "```", f"$ {cmdline}", "```", "", f"Versions: {ver}.", ""]
    print(f"bench_accuracy: {ver}", flush=True)
    all_tables = {}
    for task in tasks:
        fp32_path = os.path.join(mdir, MODEL_FILES[task])
        fp32_size = os.path.getsize(fp32_path)
        calib_dir = os.path.join(args.work, f"calib_{task}")
        exp = export_calib.export(task, calib_dir, args.calib_n[task], args.data)
        files = [os.path.join(calib_dir, "x", f) for f in sorted(os.listdir(os.path.join(calib_dir, "x")))]
        print(f"\n== {task}: {MODEL_FILES[task]}, {exp['n']} calibration samples", flush=True)
        fp32 = evaluate_row(args, task, dict(tool="—", method="FP32", path=fp32_path, notes=[
            f"opset {opset_of(fp32_path)}"]), fp32_size)
        if "error" in fp32:
            raise SystemExit(f"bench_accuracy: FP32 {task} evaluation failed: {fp32['error']}")
        rows = [fp32]
        print(f"  FP32: {fp32['metrics']} ({fp32['eval_seconds']:.0f} s)", flush=True)
        for m in methods:
            if m.startswith("ort-"):
                row = quantize_ort(args, task, fp32_path, files, m[4:], args.work)
            else:
                row = quantize_onnxq(args, task, fp32_path, calib_dir, m, args.work)
            if "error" not in row:
                evaluate_row(args, task, row, fp32_size)
            rows.append(row)
            if "metrics" in row:
                msg = f"{PRIMARY[task]} {row['metrics'][PRIMARY[task]]:.4f}"
            else:
                msg = row["error"]
            print(f"  {row['tool']:5s} {row['method']:24s} {row['wall']:7.1f} s {row['rss']:7.0f} MiB  {msg}",
                  flush=True)
        ok = [r for r in rows[1:] if r["tool"] == "onnxq" and "metrics" in r]
        if ok and not args.no_onnxq_runtime:
            best = max(ok, key=lambda r: (r["metrics"][PRIMARY[task]], -r["wall"]))
            chk = {k: v for k, v in best.items() if k not in ("metrics", "wall", "calib_only", "rss")}
            chk.update(method=best["method"] + " [onnxq runtime]", runtime="onnxq", notes=[
                f"the {best['method']} model above run by `onnxq run` instead of ORT"])
            evaluate_row(args, task, chk, fp32_size, runtime="onnxq")
            rows.append(chk)
            if "metrics" in chk:
                print(f"  onnxq runtime, {best['method']}: {chk['metrics']}", flush=True)
            else:
                print(f"  onnxq runtime, {best['method']}: {chk['error']}", flush=True)
        n_eval = fp32["metrics"]["n"]
        what = {"rec": "character accuracy (1 - CER) and exact match", "cls": "accuracy (0/180)",
                "det": "F-score at IoU 0.5 after DB post-processing"}[task]
        unit = {"rec": "lines", "cls": "lines", "det": "pages"}[task]
        title = (f"## {task}: {MODEL_FILES[task][:-5]} ({fp32_size / 2**20:.2f} MiB) — {what}; "
                 f"{n_eval} eval {unit}, {exp['n']} calibration {unit}")
        summ = summary(task, rows, fp32)
        print("\n" + title)
        print("\n".join(text_table(task, rows, fp32)))
        print(summ, flush=True)
        md += [title, "", *md_table(task, rows, fp32), "", summ, ""]
        all_tables[task] = rows
        if not args.keep:
            for r in rows[1:]:
                if r.get("runtime") != "onnxq" and r.get("path") and os.path.exists(r["path"]):
                    os.remove(r["path"])
    total = time.monotonic() - t_start
    md += ["Columns: Δ is the change vs FP32 in percentage points (negative = worse). *quantize wall s* and "
           "*peak RSS* are the quantizer process's own (os.wait4): onnxq = the whole `onnxq quantize` (load, "
           "calibrate, choose scales, write the model and its table); ORT = a Python process doing "
           "quant_pre_process, the opset upgrade and quantize_static (interpreter and imports included). "
           "*calib s* is the calibration part alone (onnxq's own report; ORT's quantize_static call). "
           "*W int8/float* counts the Conv/ConvTranspose/Gemm/MatMul nodes whose constant weight is stored "
           "quantized / still float. All INT8 models are scored by ONNX Runtime 1.x's CPU provider "
           "except the *[onnxq runtime]* row. Calibration: the first N samples of the calib split, one "
           "float32 .npy per sample (eval/export_calib.py), batch 1, identical for both tools; "
           "onnxq: uint8 asymmetric activations (abs_max: int8 symmetric), int8 per-channel weights; "
           "ORT: QDQ, per_channel=True, QUInt8/QInt8, otherwise its defaults (Percentile 99.999, "
           "onnxq's percentile 99.99). ORT processes run under an address-space cap of "
           f"{args.ort_mem_gib:g} GiB.", "",
           f"Total bench time: {total / 60:.1f} min (load average at the end {os.getloadavg()[0]:.1f})."]
    md = [ln.replace("ONNX Runtime 1.x", "ONNX Runtime") for ln in md]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")
    print(f"\nbench_accuracy: total {total / 60:.1f} min; wrote {args.out}", flush=True)
    failed = [f"{t}/{r['tool']}/{r['method']}" for t, rows in all_tables.items() for r in rows if "error" in r]
    if failed:
        print(f"bench_accuracy: failed rows: {', '.join(failed)}", flush=True)
    # for CI: an onnxq row that fails (quantize, or its model not loading/running) is an error; ORT's are findings
    return 1 if any(r["tool"] == "onnxq" and "error" in r for rows in all_tables.values() for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
