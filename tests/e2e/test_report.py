#!/usr/bin/env python3
"""`onnxq compare --report` (issue 5): the Markdown and HTML reports, and the HTML page rendered by headless
Chromium (Debian's `chromium`, installed by tools/setup.sh) into a screenshot.

usage: test_report.py --onnxq BUILD/onnxq --work DIR [--models DIR] [--chromium PATH]

Checks: both files are written; the HTML is one self-contained page (no scripts, no external resources) with
the two per-layer charts and one histogram per worst layer, whose tensors are the lowest-SQNR quantized layers
of the JSON written in the same run; the Markdown names the same worst layers; Chromium renders the page
(a PNG of the window size whose pixels include the chart colours, not a blank page).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ort_models import CLS, models_dir  # noqa: E402

DATA = ["--data", "random:seed=9", "--shape", "x=4x3x48x192", "--batch-size", "4", "--batches", "2"]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        sys.exit("FAIL: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    fp = os.path.join(models_dir(args.models), CLS)
    q = os.path.join(args.work, "cls.qdq.onnx")
    run([args.onnxq, "quantize", fp, "-o", q, "--data", "random", "--shape", "x=4x3x48x192", "--quiet"])
    rep, js = os.path.join(args.work, "report"), os.path.join(args.work, "cmp.json")
    for f in glob.glob(os.path.join(rep, "*")):
        os.remove(f)
    run([args.onnxq, "compare", fp, q, "--split", "--json", js, "--report", rep] + DATA)
    html = open(os.path.join(rep, "report.html"), encoding="utf-8").read()
    md = open(os.path.join(rep, "report.md"), encoding="utf-8").read()
    layers = [L for L in json.load(open(js))["layers"] if L["quantized"]]
    worst = [L["tensor"] for L in sorted(layers, key=lambda L: L["sqnr_db"] if isinstance(L["sqnr_db"], float)
                                          else 1e9)[:6]]
    figs = re.findall(r"<figcaption[^>]*>([^<]+?) \(", html)
    ok = html.count("<svg") == 2 + 6 and figs == worst
    ok = ok and "<script" not in html and not re.search(r"(src|href)=['\"]?(http|//|file:)", html)
    md_worst = re.findall(r"^\| ([^|]+?) \|", md.split("## Every layer")[0], re.M)[1:]
    ok = ok and md_worst == worst
    print("html: %d svg charts, histograms of %s; markdown worst layers match: %s" % (html.count("<svg"), figs,
                                                                                     md_worst == worst))
    png = os.path.join(args.work, "report.png")
    if os.path.exists(png):
        os.remove(png)
    p = subprocess.run([args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--screenshot=" + png, "--window-size=1000,1400",
                        "file://" + os.path.abspath(os.path.join(rep, "report.html"))],
                       capture_output=True, text=True, timeout=120)
    if not os.path.exists(png):
        print("FAIL: chromium wrote no screenshot (exit %d): %s" % (p.returncode, p.stderr[-2000:]))
        return 1
    im = Image.open(png).convert("RGB")
    colors = im.getcolors(maxcolors=1 << 20) or []
    chart_blue = sum(c for c, rgb in colors if abs(rgb[0] - 0x7a) < 12 and abs(rgb[1] - 0x9c) < 12 and
                     abs(rgb[2] - 0xc6) < 12)
    print("screenshot %s: %dx%d, %d colours, %d pixels of the SQNR bars' blue" % (png, im.width, im.height,
                                                                                 len(colors), chart_blue))
    ok = ok and im.size == (1000, 1400) and len(colors) > 50 and chart_blue > 2000
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
