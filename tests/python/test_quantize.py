"""onnxq.quantize on the PaddleOCR cls model: from a generator and from a CalibrationDataReader, the output loads
in ONNX Runtime and stays close to FP32; the same batches give the same bytes as `onnxq quantize`; zero
batches, a raising reader and bad batches give the right exceptions and free everything."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import onnxq
from conftest import cosine, rss_bytes

SHAPE = (1, 3, 48, 192)


def batches(n, seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield {"x": rng.uniform(-1, 1, shape).astype(np.float32)}


class Reader:
    """ONNX Runtime's CalibrationDataReader contract: get_next() -> dict or None."""

    def __init__(self, n, seed=0):
        self.it = batches(n, seed)

    def get_next(self):
        return next(self.it, None)


def ort_outputs(path, xs):
    import onnxruntime as ort
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, {"x": x})[0] for x in xs])


def check_close_to_fp32(fp32, int8):
    import onnx
    m = onnx.load(int8)
    ops = {n.op_type for n in m.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops, ops
    xs = [b["x"] for b in batches(6, seed=99)]
    a, b = ort_outputs(fp32, xs), ort_outputs(int8, xs)
    c = cosine(a, b)
    assert c > 0.98, f"cosine FP32 vs INT8 = {c:.4f}"
    return c


def test_quantize_from_generator(cls_model, tmp_path):
    out, table = str(tmp_path / "cls.int8.onnx"), str(tmp_path / "cls.calib.json")
    r = onnxq.quantize(cls_model, out, batches(4), method="percentile", table=table, threads=2)
    assert (r.batches, r.samples, r.path, r.table, r.weights_only) == (4, 4, out, table, False)
    assert r.size == os.path.getsize(out) and r.size < os.path.getsize(cls_model)
    t = json.load(open(table))
    assert t["tensors"]["x"]["algorithm"] == "percentile"
    check_close_to_fp32(cls_model, out)
    # the quantized model runs in onnxq too, close to what ORT computes on it
    x = next(batches(1, seed=5))["x"]
    with onnxq.Model(out) as m:
        y = m.run({"x": x})[m.outputs[0].name]
    assert cosine(y, ort_outputs(out, [x])) > 0.999


def test_quantize_from_calibration_data_reader(cls_model, tmp_path):
    from onnxruntime.quantization import CalibrationDataReader

    class OrtReader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": np.concatenate([b["x"] for b in batches(3, seed=s)])} for s in (1, 2)])

        def get_next(self):
            return next(self.it, None)

    out = str(tmp_path / "cls.int8.onnx")
    r = onnxq.quantize(cls_model, out, OrtReader(), per_channel=True, symmetric=True, target="ort-cpu")
    assert (r.batches, r.samples) == (2, 6)
    check_close_to_fp32(cls_model, out)
    out2 = str(tmp_path / "cls.plain_reader.onnx")
    r = onnxq.quantize(cls_model, out2, Reader(3), per_channel=False, skip_op_types=["Conv"])
    assert r.batches == 3


def test_same_bytes_as_the_cli(cls_model, tmp_path):
    """The API and `onnxq quantize` share the code: the same batches give byte-identical model and table."""
    cli = os.environ.get("ONNXQ_CLI")
    if not cli or not os.path.exists(cli):
        pytest.skip("ONNXQ_CLI (the onnxq executable) not given")
    data = tmp_path / "calib"
    data.mkdir()
    for i, b in enumerate(batches(3, seed=3)):
        np.save(data / f"{i:03d}.npy", b["x"])
    cfg = {"activation": {"algorithm": "kl"}}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    cli_out = str(tmp_path / "cli.onnx")
    subprocess.run([cli, "quantize", cls_model, "-o", cli_out, "--data", str(data), "--config",
                    str(tmp_path / "cfg.json"), "--skip-op-type", "Add", "--threads", "1", "--quiet"],
                   check=True, capture_output=True)
    py_out = str(tmp_path / "py.onnx")
    onnxq.quantize(cls_model, py_out, batches(3, seed=3), config=cfg, skip_op_types="Add", threads=1,
                   table=str(tmp_path / "py.calib.json"))
    assert open(cli_out, "rb").read() == open(py_out, "rb").read()
    assert open(str(tmp_path / "cli.calib.json"), "rb").read() == open(str(tmp_path / "py.calib.json"), "rb").read()


def test_weights_only_needs_no_data(cls_model, tmp_path):
    out = str(tmp_path / "cls.w8.onnx")
    r = onnxq.quantize(cls_model, out, None, weights_only=True)
    assert (r.batches, r.samples, r.weights_only) == (0, 0, True)
    import onnx
    m = onnx.load(out)
    assert "DequantizeLinear" in {n.op_type for n in m.graph.node}
    assert "QuantizeLinear" not in {n.op_type for n in m.graph.node}
    # the config's "mode" selects it as well; the data is then not read at all
    def never():
        raise AssertionError("data read in weights-only mode")
        yield
    r = onnxq.quantize(cls_model, str(tmp_path / "cls.w16.onnx"), never(), config={"mode": "weights_only"},
                       bits=16)
    assert r.weights_only
    with pytest.raises(onnxq.OnnxqError, match="weights-only"):
        onnxq.quantize(cls_model, str(tmp_path / "t.onnx"), None, weights_only=True, table=str(tmp_path / "t.json"))


def test_zero_batches(cls_model, tmp_path):
    out = str(tmp_path / "never.onnx")
    with pytest.raises(onnxq.OnnxqError, match="zero batches") as e:
        onnxq.quantize(cls_model, out, Reader(0))
    assert e.value.status == "OQ_ERR_ARG" and cls_model in str(e.value)
    with pytest.raises(onnxq.OnnxqError, match="zero batches"):
        onnxq.quantize(cls_model, out, [])
    assert not os.path.exists(out)
    with pytest.raises(ValueError, match="data is None"):
        onnxq.quantize(cls_model, out, None)


class Boom(Exception):
    pass


def test_reader_exception_propagates_and_frees(cls_model, tmp_path):
    out = str(tmp_path / "never.onnx")

    class Raising:
        def __init__(self):
            self.n = 0

        def get_next(self):
            self.n += 1
            if self.n == 3:
                raise Boom("reader failed")
            return {"x": np.zeros(SHAPE, np.float32)}

    def gen():
        yield {"x": np.zeros(SHAPE, np.float32)}
        raise KeyError("from the generator")

    with pytest.raises(Boom, match="reader failed"):
        onnxq.quantize(cls_model, out, Raising())
    with pytest.raises(KeyError, match="from the generator"):
        onnxq.quantize(cls_model, out, gen())
    assert not os.path.exists(out) and os.listdir(tmp_path) == []  # no output, no temporary file
    # the C model, quantizer and session are freed on the way out: no growth over repeated failures
    for _ in range(3):
        with pytest.raises(Boom):
            onnxq.quantize(cls_model, out, Raising(), threads=1)
    before = rss_bytes()
    for _ in range(15):
        with pytest.raises(Boom):
            onnxq.quantize(cls_model, out, Raising(), threads=1)
    grown = rss_bytes() - before
    assert grown < 8 << 20, f"RSS grew by {grown / 2**20:.1f} MiB over 15 failed quantize() calls"


def test_bad_batches_and_options(cls_model, tmp_path):
    out = str(tmp_path / "bad.onnx")
    with pytest.raises(onnxq.OnnxqError, match=r"calibration batch 1: .*input 'x' has rank 3"):
        onnxq.quantize(cls_model, out, [{"x": np.zeros(SHAPE, np.float32)}, {"x": np.zeros(SHAPE[1:], np.float32)}])
    with pytest.raises(onnxq.OnnxqError, match="dtype double"):
        onnxq.quantize(cls_model, out, [{"x": np.zeros(SHAPE, np.float64)}])
    with pytest.raises(onnxq.OnnxqError, match="NaN"):
        onnxq.quantize(cls_model, out, [{"x": np.full(SHAPE, np.nan, np.float32)}])
    with pytest.raises(TypeError, match="calibration batch 0 must be a dict"):
        onnxq.quantize(cls_model, out, [np.zeros(SHAPE, np.float32)])
    with pytest.raises(TypeError, match="get_next"):
        onnxq.quantize(cls_model, out, 42)
    # option values are checked by the library, with its lists of valid names
    with pytest.raises(onnxq.OnnxqError, match="unknown calibration algorithm 'best'.*kl_v2"):
        onnxq.quantize(cls_model, out, batches(1), method="best")
    with pytest.raises(onnxq.OnnxqError, match="target 'gpu' is not a preset"):
        onnxq.quantize(cls_model, out, batches(1), target="gpu")
    with pytest.raises(onnxq.OnnxqError, match="no_such_node"):
        onnxq.quantize(cls_model, out, batches(1), skip=["no_such_node"])
    with pytest.raises(onnxq.OnnxqError, match="unknown key 'activations'"):
        onnxq.quantize(cls_model, out, batches(1), config={"activations": {}})
    cfg = tmp_path / "c.json"
    cfg.write_text('{"weight": {"bits": 3}}')
    with pytest.raises(onnxq.OnnxqError, match=str(cfg)):
        onnxq.quantize(cls_model, out, batches(1), config=str(cfg))
    with pytest.raises(onnxq.OnnxqError, match="is the input model"):
        onnxq.quantize(cls_model, cls_model, batches(1))
    with pytest.raises(onnxq.OnnxqError, match="cannot create a temporary file"):
        onnxq.quantize(cls_model, str(tmp_path / "no" / "such" / "dir.onnx"), batches(1))
    # Python-side argument errors
    with pytest.raises(ValueError, match="bits"):
        onnxq.quantize(cls_model, out, batches(1), bits=4)
    with pytest.raises(TypeError, match="per_channel"):
        onnxq.quantize(cls_model, out, batches(1), per_channel="yes")
    with pytest.raises(ValueError, match="threads"):
        onnxq.quantize(cls_model, out, batches(1), threads=0)
    with pytest.raises(ValueError, match="percentile"):
        onnxq.quantize(cls_model, out, batches(1), percentile=120)
    with pytest.raises(TypeError, match="skip"):
        onnxq.quantize(cls_model, out, batches(1), skip=[3])
    with pytest.raises(TypeError, match="method"):
        onnxq.quantize(cls_model, out, batches(1), method=1)
    assert not os.path.exists(out)
    shutil.rmtree(tmp_path)
