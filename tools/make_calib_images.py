#!/usr/bin/env python3
"""Write N deterministic synthetic text-like images (PNG) for calibration demos and tests.

    make_calib_images.py [OUT_DIR] --n 16 --seed 0 [--height 32..64] [--kind line|page]

Each image is a light, slightly tinted background with dark glyph-like strokes arranged in words: "line"
images look like a cropped text line (PaddleOCR rec/cls input), "page" images hold several lines on a
larger canvas (det input). Pixels come from numpy's seeded generator and the PNG writer below (zlib +
numpy, no Pillow), so the same --seed always gives byte-identical files.

OUT_DIR defaults to $XDG_CACHE_HOME/onnxq/calib_images (~/.cache/onnxq/calib_images): outside the repo.
"""
import argparse
import os
import struct
import sys
import zlib

import numpy as np


def write_png(path, img):
    """Write an 8-bit image ([H, W] gray or [H, W, 3] RGB, uint8) as PNG (filter 0 on every row)."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape[:2]
    color = 2 if img.ndim == 3 else 0
    rows = img.reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9))
    png += chunk(b"IEND", b"")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)


def draw_glyph(canvas, y, x, gh, gw, ink, rng):
    """A glyph: 2-4 strokes (bars, diagonals, dots) inside a gh x gw cell."""
    h, w = canvas.shape[:2]
    t = max(1, gh // 8)
    for _ in range(rng.integers(2, 5)):
        kind = rng.integers(0, 4)
        if kind == 0:  # vertical bar
            cx = x + rng.integers(0, max(1, gw - t))
            canvas[y:min(h, y + gh), cx:min(w, cx + t)] = ink
        elif kind == 1:  # horizontal bar
            cy = y + rng.integers(0, max(1, gh - t))
            canvas[cy:min(h, cy + t), x:min(w, x + gw)] = ink
        elif kind == 2:  # diagonal
            n = max(gh, gw)
            flip = rng.integers(0, 2)
            for i in range(n):
                yy = y + i * gh // n
                xx = x + (i * gw // n if not flip else gw - 1 - i * gw // n)
                canvas[yy:min(h, yy + t), xx:min(w, xx + t)] = ink
        else:  # dot
            cy, cx = y + rng.integers(0, gh), x + rng.integers(0, gw)
            canvas[cy:min(h, cy + t + 1), cx:min(w, cx + t + 1)] = ink


def text_line(canvas, y, x0, x1, gh, rng):
    ink = rng.integers(0, 70, size=3).astype(np.uint8)
    x = x0
    while x < x1 - gh:
        for _ in range(rng.integers(2, 8)):  # one word
            gw = int(gh * rng.uniform(0.45, 0.8))
            if x + gw >= x1:
                break
            draw_glyph(canvas, y, x, gh, gw, ink, rng)
            x += gw + max(1, gh // 10)
        x += gh // 2  # space


def make_image(rng, kind, hmin, hmax):
    if kind == "line":
        h = int(rng.integers(hmin, hmax + 1))
        w = int(h * rng.uniform(3.0, 10.0))
    else:
        h = int(rng.integers(240, 481))
        w = int(rng.integers(320, 641))
    bg = rng.integers(200, 256, size=3)
    yy, xx = np.mgrid[0:h, 0:w]
    grad = (8 * np.sin(xx / w * 3.1 + rng.uniform(0, 6)) + 6 * np.cos(yy / h * 2.3)).astype(np.int16)
    img = np.clip(bg[None, None, :].astype(np.int16) + grad[..., None], 0, 255).astype(np.uint8)
    if kind == "line":
        gh = int(h * rng.uniform(0.55, 0.8))
        text_line(img, (h - gh) // 2, int(h * 0.2), w - int(h * 0.2), gh, rng)
    else:
        y = int(rng.integers(10, 40))
        while y < h - 40:
            gh = int(rng.integers(14, 36))
            x0 = int(rng.integers(5, w // 4))
            text_line(img, y, x0, int(rng.integers(w // 2, w - 5)), gh, rng)
            y += gh + int(rng.integers(gh // 2, 2 * gh))
    noise = rng.normal(0, 4, size=img.shape)
    return np.clip(img.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def main(argv=None):
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", default=os.path.join(cache, "onnxq", "calib_images"))
    ap.add_argument("--n", type=int, default=16, help="number of images (default 16)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--kind", choices=["line", "page"], default="line",
                    help="text line crops (rec/cls) or pages (det)")
    ap.add_argument("--min-height", type=int, default=32)
    ap.add_argument("--max-height", type=int, default=64)
    a = ap.parse_args(argv)
    if a.n < 1:
        ap.error("--n must be at least 1")
    os.makedirs(a.out_dir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    for k in range(a.n):
        write_png(os.path.join(a.out_dir, f"{a.kind}_{k:05d}.png"), make_image(rng, a.kind, a.min_height,
                                                                                a.max_height))
    print(f"wrote {a.n} {a.kind} images to {a.out_dir} (seed {a.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
