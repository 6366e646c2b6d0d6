#!/usr/bin/env python3
"""Write a deterministic image-like input and ONNX Runtime's outputs for it, with provenance.

usage: ort_reference.py MODEL --shape NxCxHxW [--seed S] --out DIR

DIR/input.npy       float32 [N,C,H,W], normalized as PaddleOCR/RapidOCR do: (x/255 - 0.5) / 0.5
DIR/<output>.npy    one per model output, named like `onnxq run` names them ('/', '\\', ':' -> '_')
DIR/PROVENANCE      one line: onnxruntime/onnx/numpy versions, model file and sha256, shape, seed, generator

The input is not noise: each image is a synthetic "document" -- a lit paper background (smooth gradient,
vignette, low-frequency texture, a faint coloured tint) with dark, anti-aliased glyph-like strokes set in
lines of text, plus a few rules/boxes. Text detection sees text-like regions, recognition sees a text line,
so activations stay in the ranges real inputs produce (random noise saturates the DB head). N > 1 draws a
different image per batch item. Everything derives from numpy's PCG64 seeded with --seed: the same seed
gives the same bytes on every machine.

ORT runs with CPUExecutionProvider and default session options (graph optimizations at their default).
Only numpy, onnx and onnxruntime are needed.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys

import numpy as np

GENERATOR = "crops of real photographs of text (scikit-image 0.26.0 page.png, text.png), bilinear, BGR"


def parse_shape(s: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in s.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("shape must look like 1x3x640x640, got %r" % s)
    if len(dims) != 4 or dims[1] != 3 or min(dims) <= 0:
        raise argparse.ArgumentTypeError("shape must be Nx3xHxW with positive dims, got %r" % s)
    return dims


def safe_name(name: str) -> str:
    """The file name `onnxq run` gives an output (src/cli/run.c safe_name)."""
    return "".join("_" if c in "/\\:" else c for c in name)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Bilinearly upsampled coarse noise in [-1, 1]: paper texture and uneven lighting."""
    gh, gw = h // cell + 2, w // cell + 2
    g = rng.uniform(-1.0, 1.0, size=(gh, gw))
    y = np.arange(h) / cell
    x = np.arange(w) / cell
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a = g[y0][:, x0]
    b = g[y0][:, x0 + 1]
    c = g[y0 + 1][:, x0]
    d = g[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _stroke(img: np.ndarray, p0, p1, width: float, ink: np.ndarray) -> None:
    """Blend an anti-aliased line segment of the given width into img [H,W,3] (float, 0..255)."""
    h, w, _ = img.shape
    r = width / 2 + 1
    y_lo = int(max(0, np.floor(min(p0[0], p1[0]) - r)))
    y_hi = int(min(h, np.ceil(max(p0[0], p1[0]) + r) + 1))
    x_lo = int(max(0, np.floor(min(p0[1], p1[1]) - r)))
    x_hi = int(min(w, np.ceil(max(p0[1], p1[1]) + r) + 1))
    if y_lo >= y_hi or x_lo >= x_hi:
        return
    yy, xx = np.mgrid[y_lo:y_hi, x_lo:x_hi].astype(np.float64)
    dy, dx = p1[0] - p0[0], p1[1] - p0[1]
    ll = dy * dy + dx * dx
    t = np.clip(((yy - p0[0]) * dy + (xx - p0[1]) * dx) / ll, 0, 1) if ll > 0 else 0.0
    dist = np.hypot(yy - (p0[0] + t * dy), xx - (p0[1] + t * dx))
    alpha = np.clip(width / 2 + 0.5 - dist, 0.0, 1.0)[..., None]
    region = img[y_lo:y_hi, x_lo:x_hi]
    region *= 1 - alpha
    region += alpha * ink


def _glyph(img, rng, y, x, gh, gw, ink) -> None:
    """2-4 strokes inside a gh x gw box: verticals, horizontals, diagonals and hooks like CJK/Latin glyphs."""
    width = max(1.2, gh * rng.uniform(0.08, 0.13))
    for _ in range(rng.integers(2, 5)):
        kind = rng.integers(0, 4)
        if kind == 0:  # vertical
            cx = x + rng.uniform(0.15, 0.85) * gw
            p0, p1 = (y + rng.uniform(0, 0.3) * gh, cx), (y + rng.uniform(0.7, 1.0) * gh, cx)
        elif kind == 1:  # horizontal
            cy = y + rng.uniform(0.1, 0.9) * gh
            p0, p1 = (cy, x + rng.uniform(0, 0.3) * gw), (cy, x + rng.uniform(0.7, 1.0) * gw)
        else:  # diagonal / hook
            p0 = (y + rng.uniform(0, 1) * gh, x + rng.uniform(0, 1) * gw)
            p1 = (y + rng.uniform(0, 1) * gh, x + rng.uniform(0, 1) * gw)
        _stroke(img, p0, p1, width, ink)


def _text_line(img, rng, y, x0, x1, gh, ink) -> None:
    x = x0
    while True:
        gw = gh * rng.uniform(0.55, 1.0)
        if x + gw > x1:
            break
        _glyph(img, rng, y + rng.uniform(-0.04, 0.04) * gh, x, gh, gw, ink)
        x += gw + gh * rng.uniform(0.08, 0.2)
        if rng.random() < 0.12:  # word gap
            x += gh * rng.uniform(0.3, 0.8)


def synth_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """One synthetic document image, uint8 [H, W, 3]."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(205, 245)
    light = base + rng.uniform(-18, 18) * (xx / w - 0.5) + rng.uniform(-18, 18) * (yy / h - 0.5)
    vignette = 1 - 0.12 * (((yy - h / 2) / h) ** 2 + ((xx - w / 2) / w) ** 2) * 4
    bg = light * vignette + 6 * _smooth_noise(rng, h, w, max(8, min(h, w) // 6))
    tint = rng.uniform(-8, 8, size=3)
    img = np.clip(bg[..., None] + tint, 0, 255).astype(np.float64)

    if h <= 64:
        # A recognition/classification crop: one line of text filling most of the height.
        gh = h * rng.uniform(0.55, 0.75)
        y = (h - gh) / 2 + rng.uniform(-0.08, 0.08) * h
        ink = rng.uniform(10, 70, size=3)
        _text_line(img, rng, y, rng.uniform(2, 0.08 * w), w - rng.uniform(2, 0.25 * w), gh, ink)
    else:
        # A page: a few blocks of text lines at different sizes, some rules and a shaded box.
        for _ in range(rng.integers(1, 4)):
            y0, x0 = rng.uniform(0, 0.8) * h, rng.uniform(0, 0.6) * w
            y1, x1 = y0 + rng.uniform(0.1, 0.3) * h, x0 + rng.uniform(0.15, 0.4) * w
            img[int(y0):int(y1), int(x0):int(x1)] *= rng.uniform(0.8, 0.95, size=3)
        for _ in range(rng.integers(2, 5)):
            y, x0 = rng.uniform(0.02, 0.95) * h, rng.uniform(0, 0.5) * w
            _stroke(img, (y, x0), (y, x0 + rng.uniform(0.2, 0.5) * w), rng.uniform(1, 2.5), rng.uniform(40, 120, 3))
        y = rng.uniform(0.02, 0.06) * h
        while y < 0.95 * h:
            gh = rng.uniform(14, 40)
            if y + gh > 0.97 * h:
                break
            x0 = rng.uniform(0.02, 0.3) * w
            x1 = min(w - 4, x0 + rng.uniform(0.2, 0.9) * w)
            ink = rng.uniform(5, 90, size=3)
            _text_line(img, rng, y, x0, x1, gh, ink)
            y += gh * rng.uniform(1.3, 2.2)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# Real photographs of text (tools/fetch_images.py: scikit-image's sample data, pinned and checksummed).
REAL_IMAGES = ("page.png", "text.png")


def real_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A seeded crop of a real photograph of text, with the target's aspect ratio, resized (bilinear) to
    [h, w, 3] uint8, in BGR order as PaddleOCR feeds its models."""
    import fetch_images
    from PIL import Image

    d = fetch_images.cache_dir()
    if not fetch_images.verified(d):
        fetch_images.fetch(d)
    img = Image.open(os.path.join(d, REAL_IMAGES[int(rng.integers(len(REAL_IMAGES)))])).convert("RGB")
    iw, ih = img.size
    aspect = w / h
    cw = min(iw, int(ih * aspect)) if aspect >= iw / ih else iw
    cw = int(cw * rng.uniform(0.6, 1.0)) or 1
    ch = max(1, min(ih, int(round(cw / aspect))))
    x0 = int(rng.integers(0, iw - cw + 1))
    y0 = int(rng.integers(0, ih - ch + 1))
    crop = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.BILINEAR)
    return np.asarray(crop, dtype=np.uint8)[:, :, ::-1]


def make_input(shape: tuple[int, ...], seed: int, source: str = "real") -> np.ndarray:
    """float32 [N,3,H,W], (x/255 - 0.5) / 0.5, each batch item its own image: a crop of a real photograph
    of text (default) or a synthetic document (source="synthetic")."""
    n, _, h, w = shape
    rng = np.random.Generator(np.random.PCG64(seed))
    make = real_image if source == "real" else synth_image
    imgs = [make(rng, h, w) for _ in range(n)]
    x = np.stack(imgs).astype(np.float32)  # [N,H,W,3]
    x = (x / 255.0 - 0.5) / 0.5
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def provenance(model: str, shape, seed: int) -> str:
    import onnx
    import onnxruntime as ort

    return ("onnxruntime==%s, onnx==%s, numpy==%s, model %s sha256 %s, input %s, seed %d, %s, "
            "CPUExecutionProvider default options"
            % (ort.__version__, onnx.__version__, np.__version__, os.path.basename(model), sha256(model)[:16],
               "x".join(map(str, shape)), seed, GENERATOR))


def generate(model: str, shape, seed: int, out: str) -> dict:
    """Write input.npy, ORT's outputs and PROVENANCE into out. Returns {"input_name", "outputs": [names],
    "provenance"}."""
    import onnxruntime as ort

    os.makedirs(out, exist_ok=True)
    x = make_input(shape, seed)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    if len(inputs) != 1:
        raise SystemExit("%s: expected one input, the model has %d" % (model, len(inputs)))
    outs = sess.run(None, {inputs[0].name: x})
    np.save(os.path.join(out, "input.npy"), x)
    names = []
    for meta, arr in zip(sess.get_outputs(), outs):
        np.save(os.path.join(out, safe_name(meta.name) + ".npy"), arr)
        names.append(meta.name)
    prov = provenance(model, shape, seed)
    with open(os.path.join(out, "PROVENANCE"), "w") as f:
        f.write(prov + "\n")
    return {"input_name": inputs[0].name, "outputs": names, "provenance": prov}


def write_png(path: str, rgb: np.ndarray) -> None:
    """Minimal RGB8 PNG writer (stdlib zlib), so looking at the input needs no imaging package."""
    import struct
    import zlib

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--shape", type=parse_shape, required=True, help="NxCxHxW, e.g. 1x3x640x640")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-png", action="store_true", help="also write input_<n>.png to look at the images")
    args = ap.parse_args()
    info = generate(args.model, args.shape, args.seed, args.out)
    if args.save_png:
        x = np.load(os.path.join(args.out, "input.npy"))
        for i, im in enumerate(x):
            u8 = np.clip(np.rint((im.transpose(1, 2, 0) * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8)
            write_png(os.path.join(args.out, "input_%d.png" % i), u8)
    print(info["provenance"])
    for n in info["outputs"]:
        print("%s -> %s" % (n, os.path.join(args.out, safe_name(n) + ".npy")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
