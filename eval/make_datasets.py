#!/usr/bin/env python3
"""Generate the labeled OCR evaluation and calibration sets (rec, cls, det) with a fixed seed, outside the repo.

    python eval/make_datasets.py [--out DIR] [--seed S] [--tasks rec,cls,det] [--rec-eval N] [--jobs J] ...

DIR defaults to ${ONNXQ_CACHE:-${XDG_CACHE_HOME:-~/.cache}/onnxq}/eval. Layout:
  DIR/rec/{eval,calib}/images/00000.png ...   text-line images
  DIR/rec/{eval,calib}/labels.tsv             file \\t exact text
  DIR/cls/{eval,calib}/images/*.png           the same kind of lines (own seed stream), half turned 180 degrees
  DIR/cls/{eval,calib}/labels.tsv             file \\t 0|180 \\t text
  DIR/det/{eval,calib}/images/*.png           pages (sizes multiples of 32, <= 960: det preprocessing is exact)
  DIR/det/{eval,calib}/labels/*.json          {"height", "width", "lines": [{"text", "box": [[x, y] x4]
                                               (tl, tr, br, bl; continuous pixel coordinates, the tight ink box
                                               of the line, rotated with it), "font", "size", "angle"}]}
  DIR/det/{eval,calib}/masks/*.png            uint8 label map: 0 background, k = line k-1 (alpha > 50%)
  DIR/<task>/manifest.json                    version, seed, counts, fonts, charset sizes, alphabet sha256

Deterministic: every sample draws from numpy PCG64 seeded with (seed, task, split, index), so the output does not
depend on --jobs; the same seed, fonts and Pillow version give the same images. Idempotent: a task whose
manifest has the same version, seed, counts and alphabet is skipped (--force regenerates). A task is built in
a temporary folder and renamed into place, so an interrupted run leaves no half-written set.

Text: strings drawn from the rec model's alphabet (ppocr_keys_v1.txt from tools/fetch_models.py): CJK
characters (those of GB 2312 level 1, the 3755 common simplified ones: rare and traditional characters are
read poorly even in FP32), ASCII letters and digits, a set of ASCII and Chinese punctuation, single spaces
between Latin words; lengths 1..25 (det lines 2..20). Only characters that every font of the kind chosen for a
line has a glyph for are used: coverage is checked by rendering each character and comparing it with the
font's .notdef glyph (and rejecting empty glyphs). Calibration strings never equal an evaluation string.
Fonts (Debian fonts-noto-cjk, fonts-wqy-microhei, fonts-dejavu-core): Noto Sans/Serif CJK SC regular/bold,
WenQuanYi Micro Hei, DejaVu Sans/Serif/Mono (Latin-only lines may use either kind).
Images: font size 20..56 px for lines, 16..44 for pages; backgrounds flat, gradients, textured paper or
blurred, faded crops of the non-text photographs of tools/fetch_images.py; ink with a luminance contrast
>= 90 to its background; slight rotation, blur, Gaussian noise, JPEG re-encoding, down-up scaling.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import multiprocessing as mp
import os
import shutil
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, HERE)

VERSION = 1
TASK_IDS = {"rec": 1, "cls": 2, "det": 3}
SPLIT_IDS = {"eval": 1, "calib": 2}
DEFAULT_COUNTS = {"rec": (1000, 300), "cls": (1000, 300), "det": (300, 100)}
DET_SIZES = [(640, 640), (512, 736), (736, 512), (576, 768), (768, 576), (480, 640), (640, 480)]  # (H, W)
PHOTOS = ("coffee.png", "astronaut.png", "chelsea.png", "motorcycle_left.png", "rocket.jpg", "camera.png")

# (key, file name under /usr/share/fonts, face index, kind)
FONTS = [
    ("noto-sans-sc", "NotoSansCJK-Regular.ttc", 2, "cjk"),
    ("noto-sans-sc-bold", "NotoSansCJK-Bold.ttc", 2, "cjk"),
    ("noto-serif-sc", "NotoSerifCJK-Regular.ttc", 2, "cjk"),
    ("noto-serif-sc-bold", "NotoSerifCJK-Bold.ttc", 2, "cjk"),
    ("wqy-microhei", "wqy-microhei.ttc", 0, "cjk"),
    ("dejavu-sans", "DejaVuSans.ttf", 0, "latin"),
    ("dejavu-sans-bold", "DejaVuSans-Bold.ttf", 0, "latin"),
    ("dejavu-serif", "DejaVuSerif.ttf", 0, "latin"),
    ("dejavu-serif-bold", "DejaVuSerif-Bold.ttf", 0, "latin"),
    ("dejavu-sans-mono", "DejaVuSansMono.ttf", 0, "latin"),
]
FONT_PACKAGES = "fonts-noto-cjk fonts-wqy-microhei fonts-dejavu-core"
FONT_ROOTS = ("/usr/share/fonts", "/usr/local/share/fonts")

PUNCT_ASCII = ".,:;!?-()%/+&@#"
# Full-width forms that look like an ASCII one ('，' ',', '：' ':', '（' '(', ...) are left out: the model cannot
# tell them apart from the glyph alone, and a label it cannot read measures nothing.
PUNCT_CJK = "。、《》“”"


def gb2312_level1(c: str) -> bool:
    """One of the 3755 most frequent simplified characters (GB 2312 level 1, lead bytes 0xB0..0xD7)."""
    try:
        b = c.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(b) == 2 and 0xB0 <= b[0] <= 0xD7


def default_out() -> str:
    base = os.environ.get("ONNXQ_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "onnxq")
    return os.path.join(base, "eval")


def find_font(name: str) -> str:
    for root in FONT_ROOTS:
        for d, _, files in os.walk(root):
            if name in files:
                return os.path.join(d, name)
    raise SystemExit(f"make_datasets: font {name} not found under {', '.join(FONT_ROOTS)}; "
                     f"install the Debian packages: apt-get install -y {FONT_PACKAGES}")


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------- charset
class Charset:
    """Character pools, each restricted to the alphabet and to glyphs every font of the kind has."""

    def __init__(self, alphabet_keys: list[str], font_paths: dict[str, tuple[str, int, str]]):
        keys = set(alphabet_keys)
        cjk = sorted(c for c in keys if len(c) == 1 and "\u4e00" <= c <= "\u9fff" and gb2312_level1(c))
        letters = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c in keys]
        digits = [c for c in "0123456789" if c in keys]
        pa = [c for c in PUNCT_ASCII if c in keys]
        pc = [c for c in PUNCT_CJK if c in keys]
        self.coverage = {}
        ascii_pool = letters + digits + pa
        for key, (path, index, kind) in font_paths.items():
            cand = ascii_pool + (cjk + pc if kind == "cjk" else [])
            self.coverage[key] = covered(path, index, cand)
        cjk_fonts = [k for k, v in font_paths.items() if v[2] == "cjk"]
        all_fonts = list(font_paths)
        both = set.intersection(*(self.coverage[k] for k in all_fonts))
        cjk_ok = set.intersection(*(self.coverage[k] for k in cjk_fonts))
        self.cjk = [c for c in cjk if c in cjk_ok]
        self.punct_cjk = [c for c in pc if c in cjk_ok]
        self.letters = [c for c in letters if c in both]
        self.digits = [c for c in digits if c in both]
        self.punct_ascii = [c for c in pa if c in both]
        self.cjk_fonts = cjk_fonts
        self.latin_fonts = [k for k, v in font_paths.items() if v[2] == "latin"]
        self.alphabet = keys

    def sizes(self) -> dict:
        return {"cjk": len(self.cjk), "letters": len(self.letters), "digits": len(self.digits),
                "punct_ascii": "".join(self.punct_ascii), "punct_cjk": "".join(self.punct_cjk)}


def covered(path: str, index: int, chars: list[str]) -> set[str]:
    """Characters the face renders with a real glyph: a non-empty mask that differs from .notdef's."""
    font = ImageFont.truetype(path, 32, index=index)

    def sig(c):
        m = font.getmask(c)
        return m.size, bytes(m)
    notdef = {sig(c) for c in ("\U0010FFFD", "\uFFFF", "\u0378")}
    out = set()
    for c in chars:
        s = sig(c)
        if s in notdef or s[0][0] == 0 or s[0][1] == 0 or not any(s[1]):
            continue
        out.add(c)
    return out


# ---------------------------------------------------------------------------------------------- strings
def _pick(rng, pool):
    return pool[int(rng.integers(len(pool)))]


def _word(rng, cs: Charset, n: int) -> str:
    style = rng.random()
    w = "".join(_pick(rng, cs.letters) for _ in range(n))
    if style < 0.5:
        return w.lower()
    if style < 0.8:
        return w[:1].upper() + w[1:].lower()
    return w.upper()


def _number(rng, cs: Charset) -> str:
    kind = int(rng.integers(5))
    d = lambda n: "".join(_pick(rng, cs.digits) for _ in range(n))  # noqa: E731
    if kind == 0:
        return d(int(rng.integers(1, 9)))
    if kind == 1:  # date / time
        sep = _pick(rng, [c for c in "-/.:" if c in cs.punct_ascii] or [""])
        return sep.join(d(int(rng.integers(2, 5))) for _ in range(int(rng.integers(2, 4))))
    if kind == 2:  # decimal, percentage
        s = d(int(rng.integers(1, 5))) + "." + d(int(rng.integers(1, 3)))
        return s + ("%" if rng.random() < 0.3 and "%" in cs.punct_ascii else "")
    if kind == 3:  # phone-like
        return d(3) + "-" + d(int(rng.integers(3, 5))) + "-" + d(4)
    return d(int(rng.integers(1, 4))) + "," + d(3)


def make_text(rng, cs: Charset, lo: int, hi: int) -> str:
    """A string of lo..hi characters from the charset (no leading/trailing or double spaces)."""
    n = int(rng.integers(lo, hi + 1))
    kind = rng.choice(4, p=[0.45, 0.25, 0.2, 0.1])
    parts: list[str] = []
    length = 0
    while length < n + 2:
        if kind == 0:  # Chinese, with some punctuation and digits
            r = rng.random()
            if r < 0.82 or not parts:
                s = _pick(rng, cs.cjk)
            elif r < 0.94:
                s = _pick(rng, cs.punct_cjk)
            else:
                s = _number(rng, cs)
        elif kind == 1:  # Latin words
            s = _word(rng, cs, int(rng.integers(1, 9))) if rng.random() < 0.85 else _number(rng, cs)
            if rng.random() < 0.15:
                s += _pick(rng, [c for c in ".,:;!?" if c in cs.punct_ascii])
            if parts:
                s = " " + s
        elif kind == 2:  # mixed runs
            r = rng.random()
            if r < 0.5:
                s = "".join(_pick(rng, cs.cjk) for _ in range(int(rng.integers(1, 5))))
            elif r < 0.75:
                s = _word(rng, cs, int(rng.integers(1, 6)))
            elif r < 0.92:
                s = _number(rng, cs)
            else:
                s = _pick(rng, cs.punct_cjk + cs.punct_ascii)
        else:  # numbers with units
            s = _number(rng, cs)
            if rng.random() < 0.5:
                s += _pick(rng, cs.cjk)
            if parts:
                s = _pick(rng, [" ", ""] + cs.punct_cjk[:3]) + s
        parts.append(s)
        length += len(s)
    text = "".join(parts)[:n]
    text = " ".join(text.split())  # trim, no double spaces
    while not text:  # only possible when the cut left spaces
        text = _pick(rng, cs.cjk if kind != 1 else cs.letters)
    return text


def text_kind(text: str) -> str:
    return "latin" if all(ord(c) < 128 for c in text) else "cjk"


# ---------------------------------------------------------------------------------------------- rendering
_FONTS: dict = {}
_PHOTOS: list = []
_STATE: dict = {}


def get_font(key: str, size: int) -> ImageFont.FreeTypeFont:
    f = _FONTS.get((key, size))
    if f is None:
        path, index, _ = _STATE["fonts"][key]
        f = _FONTS[(key, size)] = ImageFont.truetype(path, size, index=index)
    return f


def photos() -> list:
    if not _PHOTOS:
        for name in PHOTOS:
            with Image.open(os.path.join(_STATE["images"], name)) as im:
                _PHOTOS.append(im.convert("RGB"))
    return _PHOTOS


def _smooth_noise(rng, h, w, cell):
    gh, gw = h // cell + 2, w // cell + 2
    g = rng.uniform(-1, 1, size=(gh, gw)).astype(np.float32)
    y = np.arange(h) / cell
    x = np.arange(w) / cell
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0)[:, None].astype(np.float32), (x - x0)[None, :].astype(np.float32)
    return ((g[y0][:, x0] * (1 - fx) + g[y0][:, x0 + 1] * fx) * (1 - fy) +
            (g[y0 + 1][:, x0] * (1 - fx) + g[y0 + 1][:, x0 + 1] * fx) * fy)


def _random_colour(rng, lum_lo, lum_hi):
    lum = rng.uniform(lum_lo, lum_hi)
    tint = rng.uniform(-35, 35, size=3) * rng.uniform(0, 1)
    c = lum + tint - (0.299 * tint[0] + 0.587 * tint[1] + 0.114 * tint[2])
    return np.clip(c, 0, 255).astype(np.float32)


def background(rng, h: int, w: int) -> np.ndarray:
    """float32 [h, w, 3] in 0..255: flat, gradient, paper texture or a faded, blurred photo crop."""
    kind = rng.choice(4, p=[0.25, 0.25, 0.2, 0.3])
    dark = rng.random() < 0.25
    lo, hi = (15, 90) if dark else (165, 250)
    c0 = _random_colour(rng, lo, hi)
    if kind == 0:
        return np.broadcast_to(c0, (h, w, 3)).astype(np.float32)
    if kind == 1:
        c1 = _random_colour(rng, lo, hi)
        a = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * math.cos(a) + yy * math.sin(a)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        return c0 * (1 - t[..., None]) + c1 * t[..., None]
    if kind == 2:
        n = _smooth_noise(rng, h, w, max(4, int(min(h, w) * rng.uniform(0.1, 0.5))))
        fine = rng.normal(0, 1, size=(h, w)).astype(np.float32)
        return np.clip(c0 + (n * rng.uniform(5, 15) + fine * rng.uniform(0, 4))[..., None], 0, 255)
    ph = photos()[int(rng.integers(len(PHOTOS)))]
    pw, phh = ph.size
    scale = rng.uniform(0.3, 1.0)
    cw = max(8, min(pw, int(pw * scale)))
    ch = max(8, min(phh, int(cw * h / w)))
    x0 = int(rng.integers(0, pw - cw + 1))
    y0 = int(rng.integers(0, phh - ch + 1))
    crop = ph.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.BILINEAR)
    crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 3.0) * max(1.0, min(h, w) / 160)))
    p = np.asarray(crop, np.float32)
    alpha = rng.uniform(0.25, 0.55)
    return c0 * (1 - alpha) + p * alpha


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def ink_for(rng, bg_region: np.ndarray) -> np.ndarray:
    """A text colour whose luminance is >= 90 below the region's 5th percentile or >= 90 above its 95th (the side
    with more room; on a region spanning nearly the whole range that falls back to black or white)."""
    lum = luminance(bg_region)
    lo_l, hi_l = float(np.percentile(lum, 5)), float(np.percentile(lum, 95))
    # dark ink below the background's darker pixels or light ink above its lighter ones, whichever has room
    if lo_l - 90 >= 255 - (hi_l + 90):
        return _random_colour(rng, 0, max(0.0, lo_l - 90))
    return _random_colour(rng, min(255.0, hi_l + 90), 255)


def composite(bg: np.ndarray, alpha: np.ndarray, ink: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return bg * (1 - a) + ink * a


def degrade(rng, img: Image.Image, size: int) -> Image.Image:
    """Blur, down-up scaling, noise and JPEG re-encoding, each with some probability."""
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0) * min(1.0, size / 28)))
    if rng.random() < 0.2 and size >= 28:
        w, h = img.size
        f = rng.uniform(0.5, 0.8)
        img = img.resize((max(1, int(w * f)), max(1, int(h * f))), Image.BILINEAR).resize((w, h), Image.BILINEAR)
    if rng.random() < 0.5:
        a = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(2, 8), size=(img.size[1], img.size[0], 3))
        img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if rng.random() < 0.3:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(rng.integers(40, 91)))
        buf.seek(0)
        with Image.open(buf) as j:
            img = j.convert("RGB")
    return img


def choose_font(rng, cs: Charset, text: str) -> str:
    keys = cs.cjk_fonts if text_kind(text) == "cjk" or rng.random() < 0.5 else cs.latin_fonts
    key = keys[int(rng.integers(len(keys)))]
    missing = [c for c in text if c != " " and c not in cs.coverage[key]]
    if missing:  # cannot happen with the pools above; kept as the guard the charset promises
        raise AssertionError(f"font {key} lacks {missing!r} for {text!r}")
    return key


def line_mask(text: str, font: ImageFont.FreeTypeFont, pad: tuple[int, int, int, int]) -> Image.Image:
    """L-mode mask of the text with margins (left, top, right, bottom); the line box spans the font's ascent
    + descent vertically and the ink horizontally."""
    ascent, descent = font.getmetrics()
    l, _, r, _ = font.getbbox(text)
    w = int(math.ceil(r - l)) + pad[0] + pad[2]
    h = ascent + descent + pad[1] + pad[3]
    m = Image.new("L", (max(1, w), max(1, h)), 0)
    ImageDraw.Draw(m).text((pad[0] - l, pad[1]), text, font=font, fill=255)
    return m


def render_line(rng, cs: Charset, text: str) -> tuple[Image.Image, str, int]:
    """A cropped text line as PaddleOCR's detector would hand it to rec/cls: RGB image, font key, size."""
    key = choose_font(rng, cs, text)
    size = int(rng.integers(20, 57))
    font = get_font(key, size)
    pad = (int(size * rng.uniform(0.05, 0.6)), int(size * rng.uniform(0.05, 0.3)),
           int(size * rng.uniform(0.05, 0.6)), int(size * rng.uniform(0.05, 0.3)))
    m = line_mask(text, font, pad)
    w, h = m.size
    if rng.random() < 0.5:
        # a slight tilt, small enough that no ink leaves the canvas
        lim = math.degrees(math.atan(max(0, min(pad[1], pad[3]) - 1) / max(1.0, w / 2)))
        ang = rng.uniform(-1, 1) * min(2.0, lim)
        if abs(ang) > 0.05:
            m = m.rotate(ang, resample=Image.BICUBIC)
    bg = background(rng, h, w)
    alpha = np.asarray(m, np.float32) / 255
    ink = ink_for(rng, bg[alpha > 0.5] if (alpha > 0.5).any() else bg.reshape(-1, 3))
    img = Image.fromarray(np.clip(np.rint(composite(bg, alpha, ink)), 0, 255).astype(np.uint8))
    return degrade(rng, img, size), key, size


def affine_rotate(m: Image.Image, angle: float) -> tuple[Image.Image, callable]:
    """Rotate an L image by `angle` degrees (counter-clockwise on screen) with an expanded canvas; returns the
    image and the forward map of continuous pixel coordinates (x, y) [N, 2] -> rotated coordinates."""
    w, h = m.size
    t = math.radians(angle)
    c, s = math.cos(t), math.sin(t)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64) - [w / 2, h / 2]
    fwd = np.array([[c, s], [-s, c]])   # x' = c dx + s dy ; y' = -s dx + c dy  (y down: counter-clockwise)
    rc = corners @ fwd.T
    W = int(math.ceil(rc[:, 0].max() - rc[:, 0].min()))
    H = int(math.ceil(rc[:, 1].max() - rc[:, 1].min()))
    cx, cy, ox, oy = w / 2, h / 2, W / 2, H / 2
    # input = inv(fwd) @ (out - o) + c ; inv(fwd) = [[c, -s], [s, c]]
    data = (c, -s, cx - c * ox + s * oy, s, c, cy - s * ox - c * oy)
    out = m.transform((W, H), Image.AFFINE, data, resample=Image.BICUBIC)

    def forward(p):
        return (np.asarray(p, np.float64) - [cx, cy]) @ fwd.T + [ox, oy]
    return out, forward


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask > 64)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def render_page(rng, cs: Charset) -> tuple[Image.Image, np.ndarray, dict]:
    """A page with text blocks; returns the RGB image, the label mask and the JSON label."""
    H, W = DET_SIZES[int(rng.integers(len(DET_SIZES)))]
    bg = background(rng, H, W)
    img = bg.copy()
    label = np.zeros((H, W), np.uint8)
    occupied: list[tuple[float, float, float, float]] = []
    lines = []
    for _ in range(int(rng.integers(3, 8))):
        n_lines = int(rng.integers(1, 5))
        texts = [make_text(rng, cs, 2, 20) for _ in range(n_lines)]
        key = choose_font(rng, cs, "".join(texts))
        size = int(rng.integers(16, 45))
        font = get_font(key, size)
        spacing = rng.uniform(1.5, 2.2)
        angle = 0.0 if rng.random() < 0.7 else rng.uniform(-6, 6)
        masks = [line_mask(t, font, (0, 0, 0, 0)) for t in texts]
        ascent, descent = font.getmetrics()
        step = int(round(size * spacing))
        bw = max(mk.size[0] for mk in masks)
        bh = step * (n_lines - 1) + ascent + descent
        if bw > W - 16:
            continue
        layers = []
        for k, mk in enumerate(masks):
            lay = Image.new("L", (bw, bh), 0)
            lay.paste(mk, (0, k * step))
            layers.append(lay)
        fwd = None
        if abs(angle) > 0.05:
            rot = [affine_rotate(lay, angle) for lay in layers]
            layers = [r[0] for r in rot]
            fwd = rot[0][1]
        lw, lh = layers[0].size
        if lw > W - 16 or lh > H - 16:
            continue
        margin = 0.6 * size
        for _try in range(30):
            x0 = int(rng.integers(8, W - lw - 7))
            y0 = int(rng.integers(8, H - lh - 7))
            r = (x0 - margin, y0 - margin, x0 + lw + margin, y0 + lh + margin)
            if all(r[2] <= o[0] or o[2] <= r[0] or r[3] <= o[1] or o[3] <= r[1] for o in occupied):
                break
        else:
            continue
        occupied.append((x0, y0, x0 + lw, y0 + lh))
        alphas = [np.asarray(lay, np.float32) / 255 for lay in layers]
        total = np.clip(np.sum(alphas, axis=0), 0, 1)
        region = img[y0:y0 + lh, x0:x0 + lw]
        ink = ink_for(rng, region[total > 0.5] if (total > 0.5).any() else region.reshape(-1, 3))
        img[y0:y0 + lh, x0:x0 + lw] = composite(region, total, ink)
        for k, (t, mk) in enumerate(zip(texts, masks)):
            bx = ink_box(np.asarray(mk))
            if bx is None:
                continue
            quad = np.array([[bx[0], bx[1]], [bx[2], bx[1]], [bx[2], bx[3]], [bx[0], bx[3]]], np.float64)
            quad[:, 1] += k * step
            if fwd is not None:
                quad = fwd(quad)
            quad += [x0, y0]
            sub = label[y0:y0 + lh, x0:x0 + lw]
            sub[(alphas[k] > 0.5) & (sub == 0)] = len(lines) + 1
            lines.append({"text": t, "box": [[round(float(x), 2), round(float(y), 2)] for x, y in quad],
                          "font": key, "size": size, "angle": round(float(angle), 3)})
    out = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    out = degrade(rng, out, 28)
    return out, label, {"height": H, "width": W, "lines": lines}


# ---------------------------------------------------------------------------------------------- jobs
def sample_rng(seed: int, task: str, split: str, i: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, TASK_IDS[task], SPLIT_IDS[split],
                                                                       i, stream])))


def plan_texts(seed, task, split, n, cs, exclude: set) -> list[str]:
    out = []
    for i in range(n):
        rng = sample_rng(seed, task, split, i, 0)
        t = make_text(rng, cs, 1, 25)
        while t in exclude:
            t = make_text(rng, cs, 1, 25)
        out.append(t)
    return out


def _init(state):
    _STATE.update(state)


def _job(args):
    task, split, i, text, label, d = args
    rng = sample_rng(_STATE["seed"], task, split, i, 1)
    cs = _STATE["charset"]
    name = f"{i:05d}.png"
    if task in ("rec", "cls"):
        img, key, size = render_line(rng, cs, text)
        if label == 180:
            img = img.transpose(Image.Transpose.ROTATE_180)
        img.save(os.path.join(d, "images", name), compress_level=3)
        return name
    img, mask, lab = render_page(rng, cs)
    img.save(os.path.join(d, "images", name), compress_level=1)
    Image.fromarray(mask).save(os.path.join(d, "masks", name), compress_level=1)
    lab["image"] = name
    with open(os.path.join(d, "labels", f"{i:05d}.json"), "w", encoding="utf-8") as f:
        json.dump(lab, f, ensure_ascii=False)
    return name


def wanted(seed, counts, alphabet_sha) -> dict:
    return {"version": VERSION, "seed": seed, "counts": {"eval": counts[0], "calib": counts[1]},
            "alphabet_sha256": alphabet_sha}


def up_to_date(out, task, want) -> bool:
    try:
        with open(os.path.join(out, task, "manifest.json"), encoding="utf-8") as f:
            have = json.load(f)
    except (OSError, ValueError):
        return False
    return all(have.get(k) == v for k, v in want.items())


def build_task(task, out, seed, counts, cs, state, jobs, alphabet_sha) -> str:
    final = os.path.join(out, task)
    want = wanted(seed, counts, alphabet_sha)
    t0 = time.time()
    tmp = os.path.join(out, f".{task}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    work = []
    eval_texts: set = set()
    for split, n in (("eval", counts[0]), ("calib", counts[1])):
        d = os.path.join(tmp, split)
        os.makedirs(os.path.join(d, "images"))
        if task == "det":
            os.makedirs(os.path.join(d, "labels"))
            os.makedirs(os.path.join(d, "masks"))
            work += [(task, split, i, None, None, d) for i in range(n)]
            continue
        texts = plan_texts(seed, task, split, n, cs, eval_texts if split == "calib" else set())
        if split == "eval":
            eval_texts = set(texts)
        labels = [None] * n
        if task == "cls":
            perm = np.random.Generator(np.random.PCG64(
                np.random.SeedSequence([seed, TASK_IDS[task], SPLIT_IDS[split], 1 << 30]))).permutation(n)
            labels = [180 if perm[i] < n // 2 else 0 for i in range(n)]
        with open(os.path.join(d, "labels.tsv"), "w", encoding="utf-8", newline="\n") as f:
            for i, t in enumerate(texts):
                assert "\t" not in t and "\n" not in t
                f.write(f"{i:05d}.png\t{t}\n" if task == "rec" else f"{i:05d}.png\t{labels[i]}\t{t}\n")
        work += [(task, split, i, texts[i], labels[i], d) for i in range(n)]
    if jobs > 1:
        with mp.get_context("fork").Pool(jobs, initializer=_init, initargs=(state,)) as pool:
            for _ in pool.imap_unordered(_job, work, chunksize=8):
                pass
    else:
        _init(state)
        for w in work:
            _job(w)
    man = dict(want, task=task, generator="eval/make_datasets.py", seconds=round(time.time() - t0, 1),
               fonts={k: {"file": os.path.basename(v[0]), "index": v[1], "kind": v[2]}
                      for k, v in state["fonts"].items()},
               charset=cs.sizes(), pillow=Image.__version__, numpy=np.__version__)
    if task == "det":
        man["page_sizes_hw"] = DET_SIZES
    with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(man, f, ensure_ascii=False, indent=1)
    if os.path.exists(final):
        shutil.rmtree(final)
    os.replace(tmp, final)
    return f"generated in {time.time() - t0:.1f} s"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=default_out())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tasks", default="rec,cls,det")
    for t, (ne, nc) in DEFAULT_COUNTS.items():
        ap.add_argument(f"--{t}-eval", type=int, default=ne, help=f"{t} evaluation samples (default {ne})")
        ap.add_argument(f"--{t}-calib", type=int, default=nc, help=f"{t} calibration samples (default {nc})")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--models", help="models dir holding ppocr_keys_v1.txt (default: tools/fetch_models.py)")
    ap.add_argument("--force", action="store_true", help="regenerate even when the manifest matches")
    args = ap.parse_args(argv)

    out = os.path.abspath(args.out)
    if os.path.commonpath([out, REPO]) == REPO:
        raise SystemExit(f"make_datasets: refusing to write into the repository ({out}); pick a cache folder")
    tasks = [t for t in args.tasks.split(",") if t]
    for t in tasks:
        if t not in TASK_IDS:
            raise SystemExit(f"make_datasets: unknown task {t!r} (rec, cls, det)")
    import ocr_metrics
    keys_path = os.path.join(ocr_metrics.models_dir(args.models), "ppocr_keys_v1.txt")
    alphabet = ocr_metrics.load_alphabet(keys_path)
    import fetch_images
    images = fetch_images.cache_dir()
    if not fetch_images.verified(images):
        fetch_images.fetch(images)
    fonts = {k: (find_font(f), idx, kind) for k, f, idx, kind in FONTS}
    os.makedirs(out, exist_ok=True)
    sha = sha256_file(keys_path)
    state = None
    for t in tasks:
        counts = (getattr(args, f"{t}_eval"), getattr(args, f"{t}_calib"))
        if not args.force and up_to_date(out, t, wanted(args.seed, counts, sha)):
            status = "up to date"
        else:
            if state is None:
                t0 = time.time()
                cs = Charset(alphabet[1:-1], fonts)
                print(f"make_datasets: charset {cs.sizes()} ({time.time() - t0:.1f} s)", file=sys.stderr)
                state = {"seed": args.seed, "charset": cs, "fonts": fonts, "images": images}
            status = build_task(t, out, args.seed, counts, cs, state, max(1, args.jobs), sha)
        print(f"make_datasets: {t}: eval {counts[0]}, calib {counts[1]}: {status}", file=sys.stderr)
    print(out)


if __name__ == "__main__":
    main()
