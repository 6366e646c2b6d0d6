#!/usr/bin/env python3
"""Hand-made checks of the accuracy bench's metrics (eval/ocr_metrics.py): CTC greedy decoding, edit distance and
CER, polygon IoU, detection matching and F-score, the numpy DB post-processing, and the preprocessing geometry.

    python tests/eval/test_metrics.py [-v]        (ctest -R eval/metrics; needs numpy and Pillow only)
"""
import math
import os
import sys
import tempfile
import unittest

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "eval"))
import ocr_metrics as om  # noqa: E402

ALPHA = ["", "a", "b", "c", " "]  # blank, three keys, the space class last


def onehot(seq, classes=len(ALPHA)):
    p = np.full((len(seq), classes), 0.01, np.float32)
    p[np.arange(len(seq)), seq] = 0.9
    return p


def rect(x0, y0, x1, y1):
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def rotated_rect(cx, cy, w, h, deg):
    t = math.radians(deg)
    u, v = np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])
    c = np.array([cx, cy])
    return np.array([c - u * w / 2 - v * h / 2, c + u * w / 2 - v * h / 2, c + u * w / 2 + v * h / 2,
                     c - u * w / 2 + v * h / 2])


class CTC(unittest.TestCase):
    def test_repeats_blanks_space(self):
        # a a _ a b b ' ' c c _  ->  "aab c": repeats collapse, a blank separates a real repeat
        self.assertEqual(om.ctc_greedy_decode(onehot([1, 1, 0, 1, 2, 2, 4, 3, 3, 0]), ALPHA), ["aab c"])

    def test_all_blank_and_empty(self):
        self.assertEqual(om.ctc_greedy_decode(onehot([0, 0, 0]), ALPHA), [""])

    def test_repeated_space_collapses(self):
        self.assertEqual(om.ctc_greedy_decode(onehot([1, 4, 4, 0, 4, 2]), ALPHA), ["a  b"])

    def test_batch(self):
        p = np.stack([onehot([1, 0, 1]), onehot([3, 3, 3])])
        self.assertEqual(om.ctc_greedy_decode(p, ALPHA), ["aa", "c"])

    def test_class_count_checked(self):
        with self.assertRaises(ValueError):
            om.ctc_greedy_decode(onehot([1, 2], classes=7), ALPHA)

    def test_load_alphabet(self):
        with tempfile.TemporaryDirectory() as d:
            for text in ("x\ny\n中", "x\ny\n中\n"):
                path = os.path.join(d, "keys.txt")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                self.assertEqual(om.load_alphabet(path), ["", "x", "y", "中", " "])


class EditDistance(unittest.TestCase):
    def test_cases(self):
        for a, b, d in [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3), ("abc", "abc", 0),
                        ("abc", "acb", 2), ("中文识别", "中文字识别", 1), ("", "", 0), ("ab", "ba", 2)]:
            self.assertEqual(om.edit_distance(a, b), d, (a, b))
            self.assertEqual(om.edit_distance(b, a), d, (b, a))

    def test_cer_over_the_set(self):
        r = om.rec_metrics(["abc", "ab", "xyz"], ["abc", "abd", "xy"])
        self.assertEqual((r["edits"], r["ref_chars"]), (2, 8))
        self.assertAlmostEqual(r["char_accuracy"], 0.75)
        self.assertAlmostEqual(r["cer"], 0.25)
        self.assertAlmostEqual(r["exact_match"], 1 / 3)

    def test_insertions_can_exceed_reference(self):
        r = om.rec_metrics(["abcdef"], ["ab"])
        self.assertAlmostEqual(r["char_accuracy"], 1 - 4 / 2)

    def test_ignore_space(self):
        self.assertEqual(om.rec_metrics([" ab c "], ["abc"])["exact_match"], 1.0)
        r = om.rec_metrics([" ab c "], ["ab c"], ignore_space=False)
        self.assertEqual((r["exact_match"], r["edits"]), (0.0, 2))

    def test_length_mismatch(self):
        with self.assertRaises(ValueError):
            om.rec_metrics(["a"], ["a", "b"])


class Cls(unittest.TestCase):
    def test_decode_and_accuracy(self):
        labels = om.cls_decode(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
        self.assertEqual(labels, [0, 180, 0])
        self.assertAlmostEqual(om.cls_metrics(labels, [0, 180, 180])["accuracy"], 2 / 3)


class IoU(unittest.TestCase):
    def test_identical_disjoint_touching(self):
        a = rect(0, 0, 2, 2)
        self.assertAlmostEqual(om.polygon_iou(a, a), 1.0)
        self.assertEqual(om.polygon_iou(a, rect(5, 5, 6, 6)), 0.0)
        self.assertAlmostEqual(om.polygon_iou(a, rect(2, 0, 4, 2)), 0.0)

    def test_partial(self):
        self.assertAlmostEqual(om.polygon_iou(rect(0, 0, 2, 2), rect(1, 0, 3, 2)), 2 / 6)
        self.assertAlmostEqual(om.polygon_iou(rect(0, 0, 4, 4), rect(1, 1, 3, 3)), 4 / 16)
        self.assertAlmostEqual(om.box_iou_aabb((0, 0, 2, 2), (1, 0, 3, 2)), 2 / 6)

    def test_vertex_order_does_not_matter(self):
        a, b = rect(0, 0, 2, 2), rect(1, 1, 3, 3)
        self.assertAlmostEqual(om.polygon_iou(a[::-1], b), 1 / 7)
        self.assertAlmostEqual(om.polygon_iou(np.roll(a, 1, axis=0), b[::-1]), 1 / 7)

    def test_rotated(self):
        # a diamond inscribed in a square has half its area
        diamond = np.array([[1, 0], [2, 1], [1, 2], [0, 1]], np.float64)
        self.assertAlmostEqual(om.polygon_iou(rect(0, 0, 2, 2), diamond), 0.5)
        r = rotated_rect(10, 10, 8, 2, 30)
        self.assertAlmostEqual(abs(om.polygon_area(r)), 16.0)
        self.assertAlmostEqual(om.polygon_iou(r, r[::-1]), 1.0)


class Matching(unittest.TestCase):
    def test_perfect(self):
        gt = [rect(0, 0, 10, 5), rect(0, 10, 10, 15)]
        c = om.DetCounter()
        c.add(gt, [g + 0.2 for g in gt])
        r = c.result()
        self.assertEqual((r["precision"], r["recall"], r["fscore"]), (1.0, 1.0, 1.0))

    def test_partial(self):
        gt = [rect(0, 0, 10, 5), rect(0, 10, 10, 15), rect(0, 20, 10, 25)]
        det = [rect(0, 0, 10, 5), rect(0, 10, 10, 15)]
        r = om.det_scores(len(om.match_boxes(gt, det)), len(gt), len(det))
        self.assertAlmostEqual(r["precision"], 1.0)
        self.assertAlmostEqual(r["recall"], 2 / 3)
        self.assertAlmostEqual(r["fscore"], 0.8)

    def test_no_detections(self):
        c = om.DetCounter()
        c.add([rect(0, 0, 10, 5)], [])
        r = c.result()
        self.assertEqual((r["precision"], r["recall"], r["fscore"]), (0.0, 0.0, 0.0))

    def test_low_iou_and_duplicates(self):
        gt = [rect(0, 0, 10, 10)]
        # IoU 0.4 does not match; two good duplicates match once (the better one)
        self.assertEqual(om.match_boxes(gt, [rect(0, 0, 4, 10)]), [])
        m = om.match_boxes(gt, [rect(0, 0, 9, 10), rect(0, 0, 10, 10)])
        self.assertEqual([(i, j) for i, j, _ in m], [(0, 1)])
        self.assertEqual(om.det_scores(1, 1, 2)["precision"], 0.5)

    def test_one_to_one_prefers_best(self):
        gt = [rect(0, 0, 10, 10), rect(8, 0, 18, 10)]
        det = [rect(1, 0, 11, 10), rect(8, 0, 18, 10)]
        self.assertEqual(sorted((i, j) for i, j, _ in om.match_boxes(gt, det)), [(0, 0), (1, 1)])

    def test_accumulates_over_images(self):
        c = om.DetCounter()
        c.add([rect(0, 0, 10, 10)], [rect(0, 0, 10, 10)])
        c.add([rect(0, 0, 10, 10), rect(20, 0, 30, 10)], [rect(50, 50, 60, 60)])
        r = c.result()
        self.assertEqual((r["matched"], r["gt"], r["det"], r["images"]), (1, 3, 2, 2))
        self.assertAlmostEqual(r["fscore"], 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


class Components(unittest.TestCase):
    def test_eight_connectivity_and_holes(self):
        m = np.zeros((12, 12), bool)
        m[1, 1] = m[2, 2] = m[3, 3] = True        # a diagonal: one component
        m[6:11, 6:11] = True
        m[7:10, 7:10] = False                      # a ring: one component
        m[1, 8:11] = True                          # a separate bar
        comps = om.connected_components(m)
        self.assertEqual(len(comps), 3)
        sizes = sorted(int((e - s).sum()) for _, s, e in comps)
        self.assertEqual(sizes, [3, 3, 16])

    def test_u_shape_merges(self):
        m = np.zeros((6, 7), bool)
        m[0:5, 0] = m[0:5, 6] = True
        m[5, 0:7] = True
        self.assertEqual(len(om.connected_components(m)), 1)

    def test_empty(self):
        self.assertEqual(om.connected_components(np.zeros((4, 4), bool)), [])

    def test_min_area_rect(self):
        r = rotated_rect(50, 40, 60, 10, 20)
        pts = np.concatenate([r, (r[0] + r[2]) / 2 + 0 * r])  # corners and the centre
        _, s1, s2 = om.min_area_rect(pts)
        self.assertAlmostEqual(max(s1, s2), 60, places=6)
        self.assertAlmostEqual(min(s1, s2), 10, places=6)


class DBPostprocess(unittest.TestCase):
    @staticmethod
    def expected(c0, r0, c1, r1, ratio=1.5):
        # pixel centres c0..c1-1, r0..r1-1 -> sides (c1-1-c0, r1-1-r0), grown by d on every side
        w, h = c1 - 1 - c0, r1 - 1 - r0
        d = w * h * ratio / (2 * (w + h))
        return rect(round(c0 - d), round(r0 - d), round(c1 - 1 + d), round(r1 - 1 + d))

    def test_rectangles(self):
        p = np.zeros((120, 200), np.float32)
        p[20:40, 20:150] = 0.9     # a text line
        p[60:90, 40:80] = 0.8      # a block
        p[100:110, 160:190] = 0.5  # above thresh, below box_thresh 0.6: dropped
        p[115:117, 5:7] = 0.9      # too small (min_size 3): dropped
        boxes, scores = om.db_postprocess(p)
        self.assertEqual(len(boxes), 2)
        np.testing.assert_allclose(boxes[0], self.expected(20, 20, 150, 40), atol=1)
        np.testing.assert_allclose(boxes[1], self.expected(40, 60, 80, 90), atol=1)
        np.testing.assert_allclose(scores, [0.9, 0.8], atol=1e-5)

    def test_scaled_to_original(self):
        p = np.zeros((64, 64), np.float32)
        p[10:20, 10:50] = 1.0
        (b,), _ = om.db_postprocess(p, dest_hw=(128, 256))
        e = self.expected(10, 10, 50, 20)
        np.testing.assert_allclose(b, np.round(e * [256 / 64, 128 / 64]), atol=4)

    def test_rotated_rectangle(self):
        h, w = 160, 240
        q = rotated_rect(120, 80, 150, 24, 15)
        p = om.points_in_quad(q, np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)).astype(np.float32)
        boxes, _ = om.db_postprocess(p, unclip_ratio=0.0)
        self.assertEqual(len(boxes), 1)
        self.assertGreater(om.polygon_iou(boxes[0], q), 0.9)
        e = boxes[0][1] - boxes[0][0]
        self.assertAlmostEqual(math.degrees(math.atan2(e[1], e[0])), 15, delta=2)

    def test_empty_and_low_threshold(self):
        self.assertEqual(om.db_postprocess(np.zeros((32, 32), np.float32)), ([], []))
        self.assertEqual(om.db_postprocess(np.full((1, 1, 32, 32), 0.2, np.float32))[0], [])

    def test_matches_ground_truth(self):
        # end to end: a map from two known lines, post-processed, scores F = 1 against their ink boxes
        p = np.zeros((100, 300), np.float32)
        gt = [rect(20, 10, 220, 40), rect(20, 60, 120, 85)]
        for g in gt:
            x0, y0, x1, y1 = (int(v) for v in (*g[0], *g[2]))
            # DB maps are shrunk text regions: shrink by D = A (1 - 0.4^2) / L, as in training
            d = int((x1 - x0) * (y1 - y0) * (1 - 0.16) / (2 * ((x1 - x0) + (y1 - y0))))
            p[y0 + d:y1 - d, x0 + d:x1 - d] = 0.95
        boxes, _ = om.db_postprocess(p)
        c = om.DetCounter()
        c.add(gt, boxes)
        self.assertEqual(c.result()["fscore"], 1.0)


class Preprocess(unittest.TestCase):
    def test_rec_geometry_and_padding(self):
        img = np.full((30, 60, 3), 255, np.uint8)
        x = om.preprocess_rec(img)
        self.assertEqual(x.shape, (3, 48, 320))
        self.assertTrue(np.all(x[:, :, :96] == 1.0))   # ceil(48 * 60/30) = 96 columns of white
        self.assertTrue(np.all(x[:, :, 96:] == 0.0))   # padded
        long = np.zeros((10, 1000, 3), np.uint8)
        self.assertTrue(np.all(om.preprocess_rec(long) == -1.0))  # capped at 320, no padding
        self.assertEqual(om.preprocess_cls(img).shape, (3, 48, 192))

    def test_bgr_order(self):
        img = np.zeros((48, 48, 3), np.uint8)
        img[..., 0] = 255  # red
        x = om.preprocess_rec(img)
        self.assertTrue(np.all(x[2, :, :48] == 1.0) and np.all(x[0, :, :48] == -1.0))

    def test_resize_linear(self):
        img = (np.arange(12, dtype=np.uint8).reshape(3, 4, 1) * 20)
        np.testing.assert_array_equal(om.resize_linear(img, 3, 4), img)
        up = om.resize_linear(np.array([[[0], [100]]], np.uint8), 1, 4)   # cv2: 0, 25, 75, 100
        np.testing.assert_array_equal(up[0, :, 0], [0, 25, 75, 100])

    def test_det_size(self):
        self.assertEqual(om.det_size(640, 640), (640, 640))
        self.assertEqual(om.det_size(1000, 500), (960, 480))
        self.assertEqual(om.det_size(100, 50), (96, 64))
        self.assertEqual(om.det_size(10, 10), (32, 32))
        self.assertEqual(om.preprocess_det(np.zeros((100, 50, 3), np.uint8)).shape, (3, 96, 64))


if __name__ == "__main__":
    unittest.main()
