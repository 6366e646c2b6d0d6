#!/usr/bin/env python3
"""The catalogue of bad inputs (docs/bad_inputs.md) checked against the real `onnxq`.

usage: test_bad_inputs_cli.py --onnxq BUILD/onnxq [--work DIR] [--doc docs/bad_inputs.md] [--show]

Reads the table of docs/bad_inputs.md: each row has an id, the command (run in a scratch folder holding the
fixtures made below) and the exact line onnxq prints. For every row the test makes the fixtures, runs the
command and requires exit status 1 and the printed `onnxq: error: ...` line to equal the documented message
character for character (so the catalogue cannot drift from the code). Rows with a special outcome are
checked further: `disk-full` runs under a 64 KiB file-size limit and requires the previous output file to
survive byte for byte and no temporary file to be left; `zero-range` is not an error and requires the
documented scale 1 and zero point 0 in the calibration table; `output-is-input` requires the model untouched.
--show prints what onnxq says for each row instead (to update the document after a deliberate change).
Exit status 0 iff every row matches.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import struct
import subprocess
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PREVIOUS = b"previous contents of big.int8.onnx\n"


# ---------------------------------------------------------------- fixtures

def make_fixtures(d: str) -> None:
    import onnx
    from onnx import TensorProto as T
    from onnx import helper, numpy_helper

    def vi(name, shape, dt=T.FLOAT):
        return helper.make_tensor_value_info(name, dt, shape)

    def save(graph, name, opset=13, ir=8):
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="bad_inputs")
        m.ir_version = ir
        onnx.save(m, os.path.join(d, name))

    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)

    def conv(wdata, x_shape=(1, 3, 8, 8), y_shape=(1, 4, 8, 8)):
        nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv0", pads=[1, 1, 1, 1]),
                 helper.make_node("Relu", ["c"], ["y"], name="relu0")]
        inits = [numpy_helper.from_array(wdata, "W"), numpy_helper.from_array(np.zeros(4, np.float32), "B")]
        return helper.make_graph(nodes, "conv", [vi("x", list(x_shape))], [vi("y", list(y_shape))], inits)

    save(conv(w), "conv.onnx")
    save(conv(w, ("batch", 3, "height", "width"), ("batch", 4, "height", "width")), "conv_dyn.onnx")
    wn = w.copy()
    wn[1, 2, 0, 1] = np.nan
    save(conv(wn), "nan_weight.onnx")
    save(conv(w), "opset1.onnx", opset=1, ir=3)
    save(conv(w), "opset30.onnx", opset=30)
    with open(os.path.join(d, "conv.onnx"), "rb") as f:
        data = f.read()
    with open(os.path.join(d, "truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    open(os.path.join(d, "empty.onnx"), "wb").close()

    # structure
    g = helper.make_graph([helper.make_node("Add", ["x", "W2"], ["y"], name="add0")], "missing",
                          [vi("x", [1, 4])], [vi("y", [1, 4])])
    save(g, "missing_init.onnx")
    g = helper.make_graph([helper.make_node("Relu", ["b"], ["a"], name="n1"),
                          helper.make_node("Relu", ["a"], ["b"], name="n2"),
                          helper.make_node("Relu", ["x"], ["y"], name="n3")], "cycle",
                         [vi("x", [1, 4])], [vi("y", [1, 4])])
    save(g, "cycle.onnx")
    g = helper.make_graph([helper.make_node("NonMaxSuppression", ["x", "s"], ["y"], name="nms0")], "unsupported",
                          [vi("x", [1, 4, 4]), vi("s", [1, 1, 4])], [vi("y", [3, 3], T.INT64)])
    save(g, "unsupported.onnx")

    # external data whose file is missing
    os.makedirs(os.path.join(d, "ext"), exist_ok=True)
    m = helper.make_model(conv(w), opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save_model(m, os.path.join(d, "ext", "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.weights", size_threshold=0)
    os.remove(os.path.join(d, "ext", "model.weights"))

    # y = relu(x * 0): a tensor whose range is exactly zero
    g = helper.make_graph([helper.make_node("Mul", ["x", "z"], ["m"], name="mul0"),
                           helper.make_node("Relu", ["m"], ["y"], name="relu0")], "zero",
                          [vi("x", [1, 4])], [vi("y", [1, 4])], [numpy_helper.from_array(np.zeros((1, 4), np.float32), "z")])
    save(g, "zero_range.onnx")

    # a model whose INT8 file is > 64 KiB (MatMul 512x512), for the disk-full case
    g = helper.make_graph([helper.make_node("MatMul", ["x", "Wb"], ["y"], name="mm0")], "big", [vi("x", [1, 512])],
                          [vi("y", [1, 512])],
                          [numpy_helper.from_array(rng.standard_normal((512, 512)).astype(np.float32), "Wb")])
    save(g, "big.onnx")

    # calibration data
    def folder(name):
        p = os.path.join(d, name)
        os.makedirs(p, exist_ok=True)
        return p

    folder("empty")
    with open(os.path.join(folder("corrupt"), "s0.npy"), "wb") as f:
        f.write(b"not a numpy file")
    ok = np.zeros((1, 3, 8, 8), np.float32)
    with open(os.path.join(folder("truncated_npy"), "s0.npy"), "wb") as f:
        b = _npy(ok)
        f.write(b[: len(b) - 100])
    np.save(os.path.join(folder("wrong_shape"), "s0.npy"), np.zeros((1, 3, 9, 8), np.float32))
    a = ok.copy()
    a[0, 0, 0, 0] = np.nan
    np.save(os.path.join(folder("nan"), "s0.npy"), a)
    a = ok.copy()
    a[0, 1, 2, 3] = np.inf
    np.save(os.path.join(folder("inf"), "s0.npy"), a)
    npz = os.path.join(folder("bad_crc"), "s0.npz")
    np.savez(npz, x=ok)
    with open(npz, "r+b") as f:  # flip one byte of the stored array data (the member's CRC-32 then fails)
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))

    # images
    from PIL import Image
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(os.path.join(folder("images"), "ok.png"))
    with open(os.path.join(folder("bad_jpeg"), "a.jpg"), "wb") as f:  # SOI + a DHT of 2 x 255 codes
        f.write(bytes([0xFF, 0xD8, 0xFF, 0xC4, 0x00, 19, 0x00, 0xFF, 0xFF]) + bytes(14))
    with open(os.path.join(folder("huge_image"), "a.bmp"), "wb") as f:
        f.write(_bmp_header(20000, 20000) + bytes(16))
    with open(os.path.join(folder("empty_image"), "a.bmp"), "wb") as f:
        f.write(_bmp_header(40, 0) + bytes(16))

    # configs and tables
    def text(name, s):
        with open(os.path.join(d, name), "w") as f:
            f.write(s)

    text("layers_unknown.json", '{"layers": {"conv9": {"quant_enable": false}}}\n')
    text("unknown_key.json", '{"activation": {"algo": "kl"}}\n')
    text("bad_json.json", '{\n  "activation": {"algorithm": "kl",}\n}\n')
    text("hist_bins.json", '{"activation": {"algorithm": "percentile", "hist_bins": 1e9}}\n')
    text("pow2.json", '{"activation": {"power_of_two": true, "pow2_range": [20, 31]}}\n')
    text("table_unknown.json", json.dumps({"tensors": {"conv_out": {"scale": 0.1, "zero_point": 0,
                                                                    "type": "uint8"}}}) + "\n")


def _npy(arr) -> bytes:
    import io
    b = io.BytesIO()
    np.save(b, arr)
    return b.getvalue()


def _bmp_header(w: int, h: int) -> bytes:
    return b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 0, 0, 0, 0)


# ---------------------------------------------------------------- the document

def code_span(cell: str) -> str | None:
    cell = cell.strip()
    m = re.fullmatch(r"(`+)(.*?)\1", cell)
    if not m:
        return None
    s = m.group(2)
    if len(s) >= 2 and s[0] == " " and s[-1] == " ":
        s = s[1:-1]
    return s.replace("\\|", "|")


def read_rows(doc: str) -> list[dict]:
    rows = []
    with open(doc, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("| ") or line.startswith("| id ") or line.startswith("| ---"):
                continue
            cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
            if len(cells) < 5:
                continue
            rid = code_span(cells[0])
            cmd = code_span(cells[2])
            msg = code_span(cells[3])
            if rid and cmd:
                rows.append({"id": rid, "cmd": cmd, "msg": msg, "raw": cells[3].strip()})
    return rows


# ---------------------------------------------------------------- running

def disk_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write() instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))


def run_row(onnxq: str, work: str, row: dict) -> tuple[int, str, list[str]]:
    """Run the row's command in work; return (exit status, the error line, problems of its extra checks)."""
    argv = shlex.split(row["cmd"])
    if argv[0] != "onnxq":
        raise SystemExit("docs: row %s: the command must start with onnxq: %s" % (row["id"], row["cmd"]))
    argv[0] = onnxq
    pre = None
    big_out = os.path.join(work, "big.int8.onnx")
    model = os.path.join(work, "conv.onnx")
    with open(model, "rb") as f:
        model_before = f.read()
    if row["id"] == "disk-full":
        with open(big_out, "wb") as f:
            f.write(PREVIOUS)
        pre = disk_limit
    r = subprocess.run(argv, cwd=work, capture_output=True, text=True, preexec_fn=pre)
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("onnxq: error: ")]
    problems = []
    if row["id"] == "disk-full":
        with open(big_out, "rb") as f:
            if f.read() != PREVIOUS:
                problems.append("the previous big.int8.onnx did not survive the failed write")
        left = [n for n in os.listdir(work) if ".tmp." in n]
        if left:
            problems.append("temporary files left behind: %s" % left)
    with open(model, "rb") as f:
        if f.read() != model_before:
            problems.append("the input model conv.onnx was modified")
    return r.returncode, err[0] if err else r.stderr.strip(), problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnxq", required=True)
    ap.add_argument("--work", default="bad_inputs_work")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "bad_inputs.md"))
    ap.add_argument("--show", action="store_true", help="print onnxq's messages instead of checking them")
    a = ap.parse_args()
    onnxq = os.path.abspath(a.onnxq)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    make_fixtures(a.work)
    rows = read_rows(a.doc)
    if len(rows) < 20:
        print("FAIL: %s lists %d checked bad inputs; the catalogue needs at least 20" % (a.doc, len(rows)))
        return 1
    failures = 0
    for row in rows:
        rc, line, problems = run_row(onnxq, a.work, row)
        if a.show:
            print("%-26s exit %d  %s" % (row["id"], rc, line))
            continue
        if row["id"] == "zero-range":
            if rc != 0:
                problems.append("exit %d: %s" % (rc, line))
            else:
                with open(os.path.join(a.work, "zero.int8.calib.json")) as f:
                    t = json.load(f)["tensors"]["m"]
                if t["scale"] != 1 or t["zero_point"] != 0:
                    problems.append("tensor 'm': scale %r zero point %r, documented 1 and 0" % (t["scale"],
                                                                                           t["zero_point"]))
        else:
            if rc != 1:
                problems.append("exit status %d, expected 1" % rc)
            if line != row["msg"]:
                problems.append("message differs from the document:\n    onnxq: %s\n    doc:   %s" % (line, row["msg"]))
        if problems:
            failures += 1
            print("FAIL %s: %s" % (row["id"], "; ".join(problems)))
        else:
            print("ok   %s" % row["id"])
    if a.show:
        return 0
    print("%d of %d documented bad inputs behave as documented" % (len(rows) - failures, len(rows)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
