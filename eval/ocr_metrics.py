#!/usr/bin/env python3
"""Preprocessing, post-processing and metrics for the PaddleOCR models (numpy only, no OpenCV).

Preprocessing (what PaddleOCR / RapidOCR feed the models; images are read as RGB and handed over in BGR order,
as cv2.imread gives them, and every model normalizes with (x/255 - 0.5) / 0.5):
  rec   resize to height 48 keeping the ratio, width ceil(48*w/h) capped at 320, pad right with 0 (after
        normalization) to 48x320                                  -- PaddleOCR resize_norm_img, onnxq "fixed_height_pad"
  cls   the same with 48x192                                       -- PaddleOCR ClsPredictor
  det   limit the longer side to 960 (limit_type "max", PaddleOCR's default; RapidOCR uses "min" 736), truncate,
        round each side to the nearest multiple of 32 (half to even, >= 32), stretch     -- DetResizeForTest
        Normalization: (x/255 - 0.5)/0.5 as RapidOCR's DetPreProcess (PaddleOCR's own tools use ImageNet
        mean/std); we follow RapidOCR because these ONNX files are RapidOCR's and the onnxq docs use it too.
Resampling is cv2.resize INTER_LINEAR, reproduced exactly as onnxq's src/data/preprocess.c does it (float32
weights, round half up to an integer pixel), so tensors from evaluate.py/export_calib.py equal what
`onnxq quantize --data DIR --preprocess ...` computes from the same PNGs.

Metrics
  rec   CTC greedy decoding (argmax per step, collapse repeats, drop blank 0; class len(keys)+1 is the space),
        exact match (fraction of lines decoded exactly) and character accuracy = 1 - CER, where
        CER = sum(Levenshtein(pred, ref)) / sum(len(ref)) over the whole set (can go below 0 with many insertions);
        spaces are ignored on both sides by default, as PaddleOCR's RecMetric(ignore_space=True) does.
  cls   accuracy of argmax over [0, 180].
  det   DB post-processing (db_postprocess below), then one-to-one matching of detections to ground-truth
        quadrilaterals at polygon IoU >= 0.5 (greedy, best IoU first); precision = matched / detections,
        recall = matched / ground truth, F = 2PR/(P+R), all summed over the whole set before dividing.

DB post-processing follows PaddleOCR's DBPostProcess (thresh 0.3, box_thresh 0.6, unclip_ratio 1.5,
max_candidates 1000, min_size 3, score_mode "fast", no dilation) with these simplifications:
  - cv2.findContours(RETR_LIST) -> 8-connected components of the binary map (hole contours are not returned;
    PaddleOCR's would normally be discarded by the score or size filters anyway);
  - cv2.minAreaRect -> rotating calipers over the convex hull of the component's pixel centres (the same points
    cv2 sees on the contour, so the same rectangle up to ties);
  - pyclipper unclip (round joins) + minAreaRect of the result -> the rectangle grown by
    d = area * unclip_ratio / perimeter on every side, which is what minAreaRect of a rounded offset of a
    rectangle is (up to pyclipper's integer rounding);
  - box_score_fast's cv2.fillPoly -> pixels whose centres lie inside (or on) the quadrilateral.
"""
from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np

REC_SHAPE = (48, 320)
CLS_SHAPE = (48, 192)
DET_MAX_SIDE = 960
CLS_LABELS = (0, 180)


# ---------------------------------------------------------------------------------------------- alphabet
def load_alphabet(path: str) -> list[str]:
    """CTC classes of the rec model: index 0 the blank (""), then the lines of ppocr_keys_v1.txt, then " "."""
    with open(path, encoding="utf-8") as f:
        keys = f.read().split("\n")
    if keys and keys[-1] == "":  # a trailing newline
        keys.pop()
    return [""] + keys + [" "]


def models_dir(arg: str | None = None) -> str:
    """--models, else $ONNXQ_MODELS, else tools/fetch_models.py's cache (fetched if missing)."""
    if arg:
        return arg
    if os.environ.get("ONNXQ_MODELS"):
        return os.environ["ONNXQ_MODELS"]
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, os.path.join(repo, "tools", "fetch_models.py")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("tools/fetch_models.py failed: " + r.stderr.strip())
    return r.stdout.strip().splitlines()[-1]


# ---------------------------------------------------------------------------------------------- preprocessing
def _lin_coords(dst: int, src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cv2 INTER_LINEAR source indices and weights for `dst` output samples over `src` input samples."""
    scale = 1.0 / (dst / src)
    f = ((np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    s0 = np.floor(f).astype(np.int64)
    f = f - s0.astype(np.float32)
    low = s0 < 0
    s0[low] = 0
    f[low] = 0
    high = s0 >= src - 1
    s0[high] = src - 1
    f[high] = 0
    s1 = np.minimum(s0 + 1, src - 1)
    return s0, s1, f.astype(np.float32)


def resize_linear(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """uint8 [H, W, C] -> uint8 [out_h, out_w, C], bilinear like cv2.resize(INTER_LINEAR) (onnxq's convention)."""
    h, w = img.shape[:2]
    if (h, w) == (out_h, out_w):
        return img.copy()
    y0, y1, fy = _lin_coords(out_h, h)
    x0, x1, fx = _lin_coords(out_w, w)
    p = img.astype(np.float32)
    fx = fx[None, :, None]
    one = np.float32(1)
    top = (one - fx) * p[y0][:, x0] + fx * p[y0][:, x1]
    bot = (one - fx) * p[y1][:, x0] + fx * p[y1][:, x1]
    fy = fy[:, None, None]
    val = (one - fy) * top + fy * bot
    return np.clip(np.floor(val + np.float32(0.5)), 0, 255).astype(np.uint8)


def normalize(img: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] RGB -> float32 [3, H, W] BGR, (x/255 - 0.5)/0.5 (float32 arithmetic as onnxq)."""
    x = img[:, :, ::-1].astype(np.float32) * np.float32(1 / 255) - np.float32(0.5)
    x = x / np.float32(0.5)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def preprocess_line(img: np.ndarray, shape: tuple[int, int] = REC_SHAPE) -> np.ndarray:
    """A text line (uint8 RGB [h, w, 3]) -> float32 [3, H, W]: height H, width ceil(H*w/h) <= W, pad right 0."""
    H, W = shape
    h, w = img.shape[:2]
    rw = min(W, int(math.ceil(H * (w / h))))
    out = np.zeros((3, H, W), np.float32)
    out[:, :, :rw] = normalize(resize_linear(img, H, max(1, rw)))
    return out


def preprocess_rec(img: np.ndarray) -> np.ndarray:
    return preprocess_line(img, REC_SHAPE)


def preprocess_cls(img: np.ndarray) -> np.ndarray:
    return preprocess_line(img, CLS_SHAPE)


def det_size(h: int, w: int, max_side: int = DET_MAX_SIDE) -> tuple[int, int]:
    """DetResizeForTest, limit_type "max": the resized (H, W), multiples of 32."""
    ratio = max_side / max(h, w) if max(h, w) > max_side else 1.0
    rh, rw = int(h * ratio), int(w * ratio)
    rh = max(int(round(rh / 32)) * 32, 32)
    rw = max(int(round(rw / 32)) * 32, 32)
    return rh, rw


def preprocess_det(img: np.ndarray, max_side: int = DET_MAX_SIDE) -> np.ndarray:
    """A page (uint8 RGB [h, w, 3]) -> float32 [3, H, W] with H, W multiples of 32."""
    rh, rw = det_size(img.shape[0], img.shape[1], max_side)
    return normalize(resize_linear(img, rh, rw))


def load_rgb(path: str) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------- rec / cls
def ctc_greedy_decode(probs: np.ndarray, alphabet: Sequence[str]) -> list[str]:
    """probs [N, T, C] (or [T, C]) -> N strings: argmax per step, collapse repeats, drop the blank (0)."""
    p = np.asarray(probs)
    if p.ndim == 2:
        p = p[None]
    if p.shape[-1] != len(alphabet):
        raise ValueError("model has %d classes, alphabet %d" % (p.shape[-1], len(alphabet)))
    idx = p.argmax(axis=-1)
    out = []
    for row in idx:
        keep = np.ones(len(row), bool)
        keep[1:] = row[1:] != row[:-1]
        keep &= row != 0
        out.append("".join(alphabet[i] for i in row[keep]))
    return out


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (unit insert/delete/substitute)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def rec_metrics(preds: Sequence[str], refs: Sequence[str], ignore_space: bool = True) -> dict:
    """exact_match, char_accuracy = 1 - CER (CER = total edits / total reference characters), cer, n.
    ignore_space (default, as PaddleOCR's RecMetric): spaces are removed from both sides first, so a space the
    model puts at a line's margin or beside a full-width character is not counted."""
    if len(preds) != len(refs):
        raise ValueError("%d predictions for %d references" % (len(preds), len(refs)))
    if ignore_space:
        preds = [p.replace(" ", "") for p in preds]
        refs = [r.replace(" ", "") for r in refs]
    edits = sum(edit_distance(p, r) for p, r in zip(preds, refs))
    chars = sum(len(r) for r in refs)
    exact = sum(p == r for p, r in zip(preds, refs))
    cer = edits / chars if chars else 0.0
    return {"n": len(refs), "exact_match": exact / len(refs) if refs else 0.0, "char_accuracy": 1.0 - cer,
            "cer": cer, "edits": edits, "ref_chars": chars}


def cls_metrics(pred: Sequence[int], ref: Sequence[int]) -> dict:
    if len(pred) != len(ref):
        raise ValueError("%d predictions for %d references" % (len(pred), len(ref)))
    correct = sum(int(p) == int(r) for p, r in zip(pred, ref))
    return {"n": len(ref), "accuracy": correct / len(ref) if ref else 0.0, "correct": correct}


def cls_decode(probs: np.ndarray) -> list[int]:
    """[N, 2] softmax -> labels 0 / 180."""
    return [CLS_LABELS[i] for i in np.asarray(probs).argmax(axis=-1)]


# ---------------------------------------------------------------------------------------------- geometry
def polygon_area(poly: np.ndarray) -> float:
    """Signed shoelace area (positive when the vertices run counter-clockwise in x-right/y-up terms)."""
    p = np.asarray(poly, np.float64)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _ccw(poly: np.ndarray) -> np.ndarray:
    p = np.asarray(poly, np.float64)
    return p if polygon_area(p) >= 0 else p[::-1]


def _clip(subject: list, a: np.ndarray, b: np.ndarray) -> list:
    """Sutherland-Hodgman: keep the part of `subject` left of the directed edge a->b."""
    def side(p):
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    out = []
    n = len(subject)
    for i in range(n):
        cur, nxt = subject[i], subject[(i + 1) % n]
        sc, sn = side(cur), side(nxt)
        if sc >= 0:
            out.append(cur)
        if (sc >= 0) != (sn >= 0):
            t = sc / (sc - sn)
            out.append(cur + t * (nxt - cur))
    return out


def convex_intersection_area(p: np.ndarray, q: np.ndarray) -> float:
    """Area of the intersection of two convex polygons (any vertex order)."""
    p, q = _ccw(p), _ccw(q)
    poly = [v for v in p]
    for i in range(len(q)):
        if not poly:
            return 0.0
        poly = _clip(poly, q[i], q[(i + 1) % len(q)])
    return abs(polygon_area(np.array(poly))) if len(poly) >= 3 else 0.0


def polygon_iou(p: np.ndarray, q: np.ndarray) -> float:
    """IoU of two convex polygons (the boxes here are quadrilaterals: rotated rectangles)."""
    inter = convex_intersection_area(p, q)
    union = abs(polygon_area(p)) + abs(polygon_area(q)) - inter
    return inter / union if union > 0 else 0.0


def box_iou_aabb(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of axis-aligned boxes (x0, y0, x1, y1)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_boxes(gt: Sequence[np.ndarray], det: Sequence[np.ndarray], iou_thresh: float = 0.5) -> list:
    """One-to-one matches (gt index, det index, iou), greedily by decreasing IoU, IoU >= iou_thresh."""
    pairs = []
    for i, g in enumerate(gt):
        gb = np.asarray(g, np.float64)
        for j, d in enumerate(det):
            db = np.asarray(d, np.float64)
            # cheap reject on the bounding boxes
            if (db[:, 0].min() > gb[:, 0].max() or gb[:, 0].min() > db[:, 0].max() or
                    db[:, 1].min() > gb[:, 1].max() or gb[:, 1].min() > db[:, 1].max()):
                continue
            iou = polygon_iou(gb, db)
            if iou >= iou_thresh:
                pairs.append((iou, i, j))
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    used_g, used_d, out = set(), set(), []
    for iou, i, j in pairs:
        if i in used_g or j in used_d:
            continue
        used_g.add(i)
        used_d.add(j)
        out.append((i, j, iou))
    return out


class DetCounter:
    """Accumulates matches over images; .result() gives precision, recall and F-score over the set."""

    def __init__(self, iou_thresh: float = 0.5):
        self.iou_thresh = iou_thresh
        self.n_gt = self.n_det = self.n_match = self.images = 0

    def add(self, gt: Sequence[np.ndarray], det: Sequence[np.ndarray]) -> int:
        m = len(match_boxes(gt, det, self.iou_thresh))
        self.n_gt += len(gt)
        self.n_det += len(det)
        self.n_match += m
        self.images += 1
        return m

    def result(self) -> dict:
        return det_scores(self.n_match, self.n_gt, self.n_det) | {"images": self.images}


def det_scores(n_match: int, n_gt: int, n_det: int) -> dict:
    p = n_match / n_det if n_det else 0.0
    r = n_match / n_gt if n_gt else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "fscore": f, "matched": n_match, "gt": n_gt, "det": n_det}


# ---------------------------------------------------------------------------------------------- DB post-processing
def connected_components(mask: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """8-connected components of a 2-D boolean mask, as runs: a list of (rows, starts, ends) arrays per
    component (ends exclusive), ordered by their first pixel in raster order. numpy only: row runs are found
    with np.diff, runs of adjacent rows that touch (8-connectivity) are joined, and labels are merged by
    repeated min-propagation along those joins with pointer jumping."""
    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise ValueError("mask must be 2-D")
    h, w = m.shape
    pad = np.zeros((h, w + 2), np.int8)
    pad[:, 1:-1] = m
    d = np.diff(pad, axis=1)
    sr, sc = np.nonzero(d == 1)     # run starts (row-major order)
    er, ec = np.nonzero(d == -1)    # run ends, exclusive, same order
    n = len(sr)
    if n == 0:
        return []
    stride = w + 2
    # A run b in row r+1 touches run a in row r iff start_a <= end_b and start_b <= end_a (ends exclusive).
    # Runs of row r are sorted and disjoint, so the touching a's form a range found by two searchsorted.
    end_key = er * stride + ec
    start_key = sr * stride + sc
    has_prev = sr > 0
    b = np.nonzero(has_prev)[0]
    lo = np.searchsorted(end_key, (sr[b] - 1) * stride + sc[b], side="left")
    hi = np.searchsorted(start_key, (sr[b] - 1) * stride + ec[b], side="right")
    cnt = np.maximum(hi - lo, 0)
    ea = np.repeat(lo, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    eb = np.repeat(b, cnt)
    labels = np.arange(n)
    if len(ea):
        while True:
            m_ab = np.minimum(labels[ea], labels[eb])
            new = labels.copy()
            np.minimum.at(new, ea, m_ab)
            np.minimum.at(new, eb, m_ab)
            while True:  # pointer jumping: labels point at smaller run indices of the same component
                nxt = new[new]
                if np.array_equal(nxt, new):
                    break
                new = nxt
            if np.array_equal(new, labels):
                break
            labels = new
    order = np.argsort(labels, kind="stable")
    uniq, first = np.unique(labels[order], return_index=True)
    comps = []
    bounds = list(first) + [n]
    for k in range(len(uniq)):
        idx = order[bounds[k]:bounds[k + 1]]
        comps.append((sr[idx], sc[idx], ec[idx]))
    return comps


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain; points [N, 2] -> hull [K, 2] counter-clockwise (x right, y up), no repeats."""
    p = np.unique(np.asarray(points, np.float64), axis=0)  # sorted by x then y
    if len(p) <= 2:
        return p

    def half(pts):
        out = []
        for q in pts:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (q[1] - out[-2][1]) -
                                     (out[-1][1] - out[-2][1]) * (q[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(q)
        return out
    lower = half(p)
    upper = half(p[::-1])
    return np.array(lower[:-1] + upper[:-1])


def min_area_rect(points: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Minimum-area enclosing rectangle (rotating calipers over the hull edges): (4 corners [4, 2],
    side along the chosen edge, the other side). Degenerate inputs give a zero-width rectangle."""
    hull = convex_hull(points)
    if len(hull) == 1:
        return np.repeat(hull, 4, axis=0), 0.0, 0.0
    if len(hull) == 2:
        a, b = hull
        return np.array([a, b, b, a]), float(np.hypot(*(b - a))), 0.0
    edges = np.roll(hull, -1, axis=0) - hull
    lens = np.hypot(edges[:, 0], edges[:, 1])
    keep = lens > 0
    u = edges[keep] / lens[keep, None]                     # [E, 2] edge directions
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)             # normals
    pu = hull @ u.T                                       # [K, E]
    pv = hull @ v.T
    umin, umax, vmin, vmax = pu.min(0), pu.max(0), pv.min(0), pv.max(0)
    area = (umax - umin) * (vmax - vmin)
    k = int(np.argmin(area))
    uu, vv = u[k], v[k]
    corners = np.array([umin[k] * uu + vmin[k] * vv, umax[k] * uu + vmin[k] * vv,
                        umax[k] * uu + vmax[k] * vv, umin[k] * uu + vmax[k] * vv])
    return corners, float(umax[k] - umin[k]), float(vmax[k] - vmin[k])


def order_box(pts: np.ndarray) -> np.ndarray:
    """PaddleOCR get_mini_boxes ordering: sort by x; left pair -> (top-left, bottom-left), right pair ->
    (top-right, bottom-right); returns [tl, tr, br, bl] (image coordinates, y down)."""
    p = sorted([tuple(q) for q in np.asarray(pts, np.float64)], key=lambda q: q[0])
    i1, i4 = (0, 1) if p[1][1] > p[0][1] else (1, 0)
    i2, i3 = (2, 3) if p[3][1] > p[2][1] else (3, 2)
    return np.array([p[i1], p[i2], p[i3], p[i4]])


def points_in_quad(quad: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Boolean grid [len(ys), len(xs)]: pixel centres inside or on the convex quadrilateral."""
    q = _ccw(quad)
    X, Y = np.meshgrid(xs, ys)
    inside = np.ones(X.shape, bool)
    eps = 1e-6
    for i in range(len(q)):
        a, b = q[i], q[(i + 1) % len(q)]
        # _ccw orders the vertices so that the shoelace area is positive: the interior is where cross >= 0
        cross = (b[0] - a[0]) * (Y - a[1]) - (b[1] - a[1]) * (X - a[0])
        inside &= cross >= -eps
    return inside


def box_score_fast(prob: np.ndarray, box: np.ndarray) -> float:
    """Mean probability inside the box (PaddleOCR score_mode "fast": the box is truncated to integers)."""
    h, w = prob.shape
    b = np.asarray(box, np.float64)
    xmin = int(np.clip(np.floor(b[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(b[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(b[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(b[:, 1].max()), 0, h - 1))
    q = np.trunc(b).astype(np.float64)
    inside = points_in_quad(q, np.arange(xmin, xmax + 1, dtype=np.float64),
                            np.arange(ymin, ymax + 1, dtype=np.float64))
    if not inside.any():
        return 0.0
    return float(prob[ymin:ymax + 1, xmin:xmax + 1][inside].mean())


def unclip_rect(corners: np.ndarray, unclip_ratio: float) -> np.ndarray:
    """Grow a rectangle by d = area * ratio / perimeter on every side (PaddleOCR's unclip + minAreaRect)."""
    c = np.asarray(corners, np.float64)
    e1 = c[1] - c[0]
    e2 = c[3] - c[0]
    l1, l2 = float(np.hypot(*e1)), float(np.hypot(*e2))
    if l1 == 0 or l2 == 0:
        return c
    d = l1 * l2 * unclip_ratio / (2 * (l1 + l2))
    u1, u2 = e1 / l1, e2 / l2
    return np.array([c[0] - d * u1 - d * u2, c[1] + d * u1 - d * u2,
                     c[2] + d * u1 + d * u2, c[3] - d * u1 + d * u2])


def db_postprocess(prob: np.ndarray, dest_hw: tuple[int, int] | None = None, thresh: float = 0.3,
                   box_thresh: float = 0.6, unclip_ratio: float = 1.5, max_candidates: int = 1000,
                   min_size: float = 3) -> tuple[list[np.ndarray], list[float]]:
    """DB probability map [H, W] (or [1, 1, H, W]) -> (boxes [4, 2] float in dest coordinates, scores).
    dest_hw: the original image size (boxes are scaled from the map's size to it); default the map's size."""
    p = np.asarray(prob, np.float32)
    while p.ndim > 2:
        p = p[0]
    h, w = p.shape
    dh, dw = dest_hw if dest_hw else (h, w)
    boxes, scores = [], []
    for rows, starts, ends in connected_components(p > thresh)[:max_candidates]:
        pts = np.concatenate([np.stack([starts, rows], 1), np.stack([ends - 1, rows], 1)]).astype(np.float64)
        corners, s1, s2 = min_area_rect(pts)
        if min(s1, s2) < min_size:
            continue
        box = order_box(corners)
        score = box_score_fast(p, box)
        if score < box_thresh:
            continue
        big = unclip_rect(corners, unclip_ratio)
        e1, e2 = big[1] - big[0], big[3] - big[0]
        if min(np.hypot(*e1), np.hypot(*e2)) < min_size + 2:
            continue
        big = order_box(big)
        big[:, 0] = np.clip(np.round(big[:, 0] / w * dw), 0, dw)
        big[:, 1] = np.clip(np.round(big[:, 1] / h * dh), 0, dh)
        boxes.append(big)
        scores.append(score)
    return boxes, scores
