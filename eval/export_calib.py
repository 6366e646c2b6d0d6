#!/usr/bin/env python3
"""Export a calibration split as a folder `onnxq quantize --data` reads.

    python eval/export_calib.py --model rec --out DIR [--n 300] [--data ROOT] [--split calib]

Writes
  DIR/x/00000.npy ...      one preprocessed sample per file, float32 [1, 3, H, W] (rec 48x320, cls 48x192,
                           det: the page's own size, multiples of 32), exactly the tensors evaluate.py feeds
                           (ocr_metrics' preprocessing); `x` is the models' input name
  DIR/preprocess.json      onnxq's --preprocess spec that computes the same tensors from the PNGs
  DIR/images.txt           the folder of the split's raw PNGs, for image-based calibration
and prints the two ways to calibrate, e.g.
  onnxq quantize MODEL -o OUT.onnx --data DIR                                          (tensors)
  onnxq quantize MODEL -o OUT.onnx --data IMAGES --preprocess DIR/preprocess.json       (images)
The first n samples of the split are used (sorted file names); det pages differ in size, so calibrate det with
--batch-size 1. An existing DIR/x is replaced.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import evaluate  # noqa: E402
import ocr_metrics as om  # noqa: E402

INPUT = "x"


def preprocess_spec(task: str) -> dict:
    """onnxq's image preprocessing (src/data/source.h) equal to ocr_metrics' for this task."""
    norm = {"scale": 1 / 255, "mean": 0.5, "std": 0.5, "channel_order": "BGR", "layout": "NCHW"}
    if task == "rec":
        return {INPUT: {"resize": "fixed_height_pad", "size": list(om.REC_SHAPE), "pad_value": 0, **norm}}
    if task == "cls":
        return {INPUT: {"resize": "fixed_height_pad", "size": list(om.CLS_SHAPE), "pad_value": 0, **norm}}
    return {INPUT: {"resize": "stretch", "size": "multiple_of_32", "max_side": om.DET_MAX_SIDE, **norm}}


def export(task: str, out: str, n: int | None = None, data: str | None = None, split: str = "calib") -> dict:
    root = evaluate.data_dir(data, task)
    samples = evaluate.load_split(root, task, split)
    if n is not None:
        if n > len(samples):
            raise SystemExit(f"export_calib: {task}/{split} has {len(samples)} samples, {n} asked "
                             f"(regenerate with eval/make_datasets.py --{task}-{split} {n})")
        samples = samples[:n]
    xdir = os.path.join(out, INPUT)
    if os.path.isdir(xdir):
        shutil.rmtree(xdir)
    os.makedirs(xdir)
    for i, s in enumerate(samples):
        x = evaluate.preprocess(task, om.load_rgb(s["path"]))[None]
        np.save(os.path.join(xdir, f"{i:05d}.npy"), x)
    images = os.path.join(root, task, split, "images")
    with open(os.path.join(out, "preprocess.json"), "w") as f:
        json.dump(preprocess_spec(task), f, indent=1)
    with open(os.path.join(out, "images.txt"), "w") as f:
        f.write(images + "\n")
    return {"task": task, "n": len(samples), "tensors": out, "images": images,
            "preprocess": os.path.join(out, "preprocess.json")}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("rec", "cls", "det"), required=True, help="which task's split")
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, help="first N samples (default: all)")
    ap.add_argument("--data", help="dataset root (default: make_datasets' cache folder)")
    ap.add_argument("--split", choices=("calib", "eval"), default="calib")
    args = ap.parse_args(argv)
    r = export(args.model, os.path.abspath(args.out), args.n, args.data, args.split)
    bs = " --batch-size 1" if args.model == "det" else ""
    print(f"export_calib: {r['n']} {args.model} samples")
    print(f"  tensors: onnxq quantize MODEL -o OUT.onnx --data {r['tensors']}{bs}")
    print(f"  images:  onnxq quantize MODEL -o OUT.onnx --data {r['images']} --preprocess {r['preprocess']}{bs}")
    if r["n"] != len(os.listdir(r["images"])):
        print("  (the image folder holds the whole split: "
              f"{len(os.listdir(r['images']))} images; cap it with --batches)")


if __name__ == "__main__":
    main()
