#!/usr/bin/env python3
"""Quantize the PaddleOCR PP-OCRv4 recognizer from Python and compare FP32 with INT8 on labeled text lines.

    pip install .                                         # the onnxq package (builds libonnxq)
    python examples/python_quantize_rec.py [--limit 1000] [--calib 300] [--method kl_v2] [--out DIR]
                                           [--tune [--max-loss 1] [--int16] [--tune-lines 200]]

Calibration batches come from a CalibrationDataReader-style object over the `calib` split of eval/'s labeled
text-line set (eval/make_datasets.py; generated on first use), preprocessed exactly as eval/evaluate.py does.
onnxq.quantize writes the QDQ model; onnxq.Model then runs the FP32 and the INT8 model over the first --limit
lines of the `eval` split, and the script prints character accuracy (1 - CER) and exact match for both, scored
with eval/ocr_metrics.py as eval/evaluate.py scores rec. Needs numpy and Pillow (eval's image loading).

--tune also runs onnxq.tune with a Python metric: character accuracy on the first --tune-lines labeled lines of
the calib split (disjoint from the eval lines of the table), target --max-loss percent of FP32's; --int16 lets it
give int16 instead of float to the layers it sets aside. The tuned model is a third row of the table.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "eval"))
import evaluate as ev  # noqa: E402
import ocr_metrics as om  # noqa: E402

import onnxq  # noqa: E402

REC = "ch_PP-OCRv4_rec_infer.onnx"


class RecCalibrationReader:
    """ONNX Runtime's CalibrationDataReader contract: get_next() returns {"x": batch} or None at the end.
    Images are loaded and preprocessed one batch at a time, so memory stays at one batch."""

    def __init__(self, samples: list[dict], batch: int):
        self.samples, self.batch, self.pos = samples, batch, 0

    def get_next(self):
        if self.pos >= len(self.samples):
            return None
        chunk = self.samples[self.pos:self.pos + self.batch]
        self.pos += len(chunk)
        return {"x": np.stack([ev.preprocess("rec", om.load_rgb(s["path"])) for s in chunk])}


def score(model_path: str, samples: list[dict], alphabet: list[str], batch: int, threads: int | None) -> dict:
    """Character accuracy and exact match of a model run by onnxq over samples (eval/evaluate.py's scoring)."""
    preds: list = [None] * len(samples)
    t0 = time.time()
    with onnxq.Model(model_path) as m:
        out_name = m.outputs[0].name
        for idx, x in ev._batches(samples, "rec", batch):
            y = m.run({"x": x}, threads=threads)[out_name]
            for i, text in zip(idx, om.ctc_greedy_decode(y, alphabet)):
                preds[i] = text
    res = om.rec_metrics(preds, [s["text"] for s in samples])
    res["seconds"] = time.time() - t0
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=1000, help="eval lines to score (default 1000, the whole split)")
    ap.add_argument("--calib", type=int, default=300, help="calibration lines (default 300)")
    ap.add_argument("--batch", type=int, default=8, help="lines per calibration / evaluation batch")
    ap.add_argument("--method", default="kl_v2", help="activation algorithm (default kl_v2, the best on rec)")
    ap.add_argument("--threads", type=int, default=None, help="threads (default: every CPU)")
    ap.add_argument("--out", help="folder for the INT8 model (default: a temporary folder)")
    ap.add_argument("--data", help="dataset root (default: eval/make_datasets.py's)")
    ap.add_argument("--models", help="models folder (default: tools/fetch_models.py's cache)")
    ap.add_argument("--tune", action="store_true", help="also run onnxq.tune with character accuracy as the metric")
    ap.add_argument("--max-loss", type=float, default=1.0, help="tune's target, percent of FP32's accuracy")
    ap.add_argument("--int16", action="store_true", help="tune may give int16 instead of float to the layers set aside")
    ap.add_argument("--tune-lines", type=int, default=200, help="labeled calib lines the tune metric scores")
    a = ap.parse_args(argv)

    fp32 = os.path.join(om.models_dir(a.models), REC)
    if not os.path.exists(fp32):
        raise SystemExit(f"{fp32} not found: run tools/fetch_models.py")
    root = ev.data_dir(a.data, "rec")
    calib = ev.load_split(root, "rec", "calib", a.calib)
    evalset = ev.load_split(root, "rec", "eval", a.limit)
    alphabet = om.load_alphabet(os.path.join(om.models_dir(a.models), "ppocr_keys_v1.txt"))
    tmp = None
    if not a.out:
        tmp = tempfile.TemporaryDirectory(prefix="onnxq-rec-")
    out_dir = a.out or tmp.name
    os.makedirs(out_dir, exist_ok=True)
    int8 = os.path.join(out_dir, "rec.int8.onnx")

    t0 = time.time()
    r = onnxq.quantize(fp32, int8, RecCalibrationReader(calib, a.batch), method=a.method, threads=a.threads,
                       table=os.path.join(out_dir, "rec.int8.calib.json"))
    qt = time.time() - t0
    print(f"quantized {REC} with {a.method} on {r.samples} lines ({r.batches} batches) in {qt:.1f} s -> {r.path}")

    models = [("FP32", fp32), (f"INT8 ({a.method})", int8)]
    if a.tune:
        tune_set = ev.load_split(root, "rec", "calib", a.tune_lines)

        def char_accuracy(path: str) -> float:  # the metric: any callable, a model path in, a number out
            return score(path, tune_set, alphabet, a.batch, a.threads)["char_accuracy"]

        tuned = os.path.join(out_dir, "rec.tuned.onnx")
        t = onnxq.tune(fp32, tuned, RecCalibrationReader(calib, a.batch), metric=char_accuracy, method=a.method,
                       per_channel=True, max_loss=a.max_loss, int16=a.int16, threads=a.threads, log=print)
        print(f"tune: target {'met' if t.target_met else 'NOT met'}, loss {t.loss:.2f}% on {len(tune_set)} lines, "
              f"{len(t.float_layers)} layers in float, {len(t.int16_layers)} in int16, {t.evaluations} evaluations, "
              f"{t.seconds:.0f} s")
        models.append((f"INT8 tuned ({len(t.float_layers)} float, {len(t.int16_layers)} int16)", tuned))
    rows = []
    for name, path in models:
        res = score(path, evalset, alphabet, a.batch, a.threads)
        rows.append((name, os.path.getsize(path) / 2**20, res["char_accuracy"], res["exact_match"], res["seconds"]))
    print(f"\nrec on {len(evalset)} eval lines (onnxq runtime)\n")
    print("| model | size MiB | char accuracy (1-CER) | exact match | eval s |")
    print("| --- | --- | --- | --- | --- |")
    for name, size, ca, em, s in rows:
        print(f"| {name} | {size:.2f} | {ca:.4f} | {em:.4f} | {s:.1f} |")
    for row in rows[1:]:
        print(f"\n{row[0]} - FP32: {(row[2] - rows[0][2]) * 100:+.2f} points of character accuracy", end="")
    print()
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
