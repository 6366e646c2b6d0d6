#!/usr/bin/env python3
"""Run a PaddleOCR model (FP32 or quantized) over a labeled split and print its accuracy.

    python eval/evaluate.py --model rec MODEL.onnx [--runtime ort|onnxq] [--onnxq build/onnxq] [--limit N]
                            [--data DIR] [--split eval|calib] [--batch B] [--json] [--errors K]

  rec  character accuracy (1 - CER over the set) and exact match, CTC greedy decoding with ppocr_keys_v1.txt
  cls  accuracy (0 / 180)
  det  precision, recall, F-score at IoU 0.5 after DB post-processing (see ocr_metrics.py)

--runtime ort runs onnxruntime's CPUExecutionProvider in-process; --runtime onnxq saves each batch as .npy and
calls `onnxq run MODEL --input x=batch.npy --output-dir DIR` once per batch. Both see exactly the same input
tensors (ocr_metrics' preprocessing). DIR defaults to eval/make_datasets.py's output (generated if missing).
As a library: evaluate(task, model, runtime="ort", ...) -> dict of metrics (for the side-by-side bench).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import ocr_metrics as om  # noqa: E402

DEFAULT_BATCH = {"rec": 32, "cls": 64, "det": 4}


# ---------------------------------------------------------------------------------------------- data
def data_dir(arg: str | None, task: str) -> str:
    """The dataset root: --data, else make_datasets' default (generating `task` when its manifest is missing)."""
    import make_datasets
    d = os.path.abspath(arg or make_datasets.default_out())
    if not os.path.exists(os.path.join(d, task, "manifest.json")):
        if arg:
            raise SystemExit(f"evaluate: {d}/{task}/manifest.json not found; run eval/make_datasets.py --out {d}")
        print(f"evaluate: generating the {task} sets in {d}", file=sys.stderr)
        make_datasets.main(["--out", d, "--tasks", task])
    return d


def load_split(root: str, task: str, split: str = "eval", limit: int | None = None) -> list[dict]:
    """Samples of a split: {"path", "text"} (rec), {"path", "label", "text"} (cls), {"path", "label"} (det)."""
    d = os.path.join(root, task, split)
    out = []
    if task in ("rec", "cls"):
        with open(os.path.join(d, "labels.tsv"), encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                s = {"path": os.path.join(d, "images", parts[0])}
                if task == "rec":
                    s["text"] = parts[1]
                else:
                    s["label"], s["text"] = int(parts[1]), parts[2]
                out.append(s)
    else:
        for name in sorted(os.listdir(os.path.join(d, "labels"))):
            with open(os.path.join(d, "labels", name), encoding="utf-8") as f:
                lab = json.load(f)
            out.append({"path": os.path.join(d, "images", lab["image"]), "label": lab})
    return out[:limit] if limit else out


def preprocess(task: str, img: np.ndarray) -> np.ndarray:
    return {"rec": om.preprocess_rec, "cls": om.preprocess_cls, "det": om.preprocess_det}[task](img)


# ---------------------------------------------------------------------------------------------- runtimes
def safe_name(name: str) -> str:
    """The file name `onnxq run` gives an output (src/cli/run.c)."""
    return "".join("_" if c in "/\\:" else c for c in name)


class OrtRunner:
    def __init__(self, model: str, threads: int | None = None, optimize: bool = True):
        import onnxruntime as ort
        so = ort.SessionOptions()
        if not optimize:  # the graph as written: ORT's optimizer changes partially quantized QDQ graphs' numerics
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if threads:
            so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.sess.run(None, {self.input: x})[0]


class OnnxqRunner:
    def __init__(self, model: str, exe: str, threads: int | None = None):
        import onnx
        m = onnx.load(model, load_external_data=False)
        inits = {i.name for i in m.graph.initializer}
        self.input = [i.name for i in m.graph.input if i.name not in inits][0]
        self.output = m.graph.output[0].name
        self.model, self.exe, self.threads = model, exe, threads
        if not os.path.exists(exe):
            raise SystemExit(f"evaluate: {exe} not found; build onnxq (cmake --build build) or pass --onnxq")
        self.tmp = tempfile.TemporaryDirectory(prefix="onnxq-eval-")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        inp = os.path.join(self.tmp.name, "x.npy")
        outdir = os.path.join(self.tmp.name, "out")
        np.save(inp, np.ascontiguousarray(x, np.float32))
        cmd = [self.exe, "run", self.model, "--input", f"{self.input}={inp}", "--output-dir", outdir]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
        return np.load(os.path.join(outdir, safe_name(self.output) + ".npy"))


def make_runner(model: str, runtime: str, exe: str | None = None, threads: int | None = None):
    if runtime in ("ort", "ort-noopt"):
        return OrtRunner(model, threads, optimize=runtime == "ort")
    if runtime == "onnxq":
        return OnnxqRunner(model, exe or os.path.join(REPO, "build", "onnxq"), threads)
    raise ValueError(f"unknown runtime {runtime!r}")


# ---------------------------------------------------------------------------------------------- evaluation
def _batches(samples, task, batch):
    """(sample indices, stacked input) per batch; det pages are grouped by their preprocessed size."""
    if task != "det":
        for s in range(0, len(samples), batch):
            idx = list(range(s, min(len(samples), s + batch)))
            yield idx, np.stack([preprocess(task, om.load_rgb(samples[i]["path"])) for i in idx])
        return
    groups: dict = {}
    for i, s in enumerate(samples):
        lab = s["label"]
        groups.setdefault(om.det_size(lab["height"], lab["width"]), []).append(i)
    for shape in sorted(groups):
        idx_all = groups[shape]
        for s in range(0, len(idx_all), batch):
            idx = idx_all[s:s + batch]
            yield idx, np.stack([preprocess(task, om.load_rgb(samples[i]["path"])) for i in idx])


def evaluate(task: str, model: str, runtime: str = "ort", onnxq: str | None = None, data: str | None = None,
             split: str = "eval", limit: int | None = None, batch: int | None = None, threads: int | None = None,
             models: str | None = None, keep_predictions: bool = False) -> dict:
    """Metrics of `model` on a split (see the module docstring); adds n, seconds, runtime, model."""
    if task not in DEFAULT_BATCH:
        raise ValueError(f"task must be rec, cls or det, not {task!r}")
    root = data_dir(data, task)
    samples = load_split(root, task, split, limit)
    if not samples:
        raise SystemExit(f"evaluate: no samples in {root}/{task}/{split}")
    run = make_runner(model, runtime, onnxq, threads)
    alphabet = om.load_alphabet(os.path.join(om.models_dir(models), "ppocr_keys_v1.txt")) if task == "rec" else None
    preds: list = [None] * len(samples)
    t0 = time.time()
    for idx, x in _batches(samples, task, batch or DEFAULT_BATCH[task]):
        y = run(x)
        if task == "rec":
            for i, t in zip(idx, om.ctc_greedy_decode(y, alphabet)):
                preds[i] = t
        elif task == "cls":
            for i, lab in zip(idx, om.cls_decode(y)):
                preds[i] = lab
        else:
            for k, i in enumerate(idx):
                lab = samples[i]["label"]
                boxes, scores = om.db_postprocess(y[k, 0], (lab["height"], lab["width"]))
                preds[i] = boxes
    seconds = time.time() - t0
    if task == "rec":
        res = om.rec_metrics(preds, [s["text"] for s in samples])
    elif task == "cls":
        res = om.cls_metrics(preds, [s["label"] for s in samples])
    else:
        c = om.DetCounter(0.5)
        for s, boxes in zip(samples, preds):
            c.add([np.array(ln["box"]) for ln in s["label"]["lines"]], boxes)
        res = c.result()
    res.update(task=task, model=os.path.abspath(model), runtime=runtime, split=split, n=len(samples),
               seconds=round(seconds, 2), data=root)
    if keep_predictions:
        res["predictions"] = preds
        res["samples"] = samples
    return res


def summary(res: dict) -> str:
    head = f"{res['task']} {os.path.basename(res['model'])} [{res['runtime']}] on {res['n']} {res['split']} samples: "
    if res["task"] == "rec":
        body = f"char accuracy (1-CER) {res['char_accuracy']:.4f}, exact match {res['exact_match']:.4f}"
    elif res["task"] == "cls":
        body = f"accuracy {res['accuracy']:.4f}"
    else:
        body = (f"precision {res['precision']:.4f}, recall {res['recall']:.4f}, F-score {res['fscore']:.4f} "
                f"({res['matched']} matched, {res['gt']} ground truth, {res['det']} detections)")
    return head + body + f" ({res['seconds']:.1f} s)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", nargs=2, metavar=("TASK", "PATH"), required=True, help="det|rec|cls and the .onnx")
    ap.add_argument("--runtime", choices=("ort", "ort-noopt", "onnxq"), default="ort",
                    help="ort-noopt: ONNX Runtime with graph optimizations off (the QDQ graph as written)")
    ap.add_argument("--onnxq", default=os.path.join(REPO, "build", "onnxq"))
    ap.add_argument("--data", help="dataset root (default: make_datasets' cache folder)")
    ap.add_argument("--split", choices=("eval", "calib"), default="eval")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--models", help="folder with ppocr_keys_v1.txt (default: tools/fetch_models.py)")
    ap.add_argument("--json", action="store_true", help="print the metrics as one JSON line too")
    ap.add_argument("--errors", type=int, default=0, help="rec/cls: print the first K wrong samples")
    ap.add_argument("--metric", help="end with one line 'NAME: value' for this metric (for `onnxq tune --eval`)")
    args = ap.parse_args(argv)
    task, model = args.model
    res = evaluate(task, model, args.runtime, args.onnxq, args.data, args.split, args.limit, args.batch,
                   args.threads, args.models, keep_predictions=args.errors > 0)
    if args.errors:
        shown = 0
        for s, p in zip(res.pop("samples"), res.pop("predictions")):
            ref = s.get("text") if task == "rec" else s.get("label")
            wrong = p.replace(" ", "") != ref.replace(" ", "") if task == "rec" else p != ref
            if task != "det" and wrong and shown < args.errors:
                print(f"  {os.path.basename(s['path'])}: ref {ref!r} got {p!r}" +
                      (f" ({s['text']!r})" if task == "cls" else ""))
                shown += 1
    print(summary(res))
    if args.json:
        print(json.dumps(res, ensure_ascii=False))
    if args.metric:
        if not isinstance(res.get(args.metric), (int, float)):
            sys.exit("evaluate: no metric %r; %s has %s" % (args.metric, task,
                     ", ".join(k for k, v in res.items() if isinstance(v, float))))
        print(f"{args.metric}: {res[args.metric]}")


if __name__ == "__main__":
    main()
