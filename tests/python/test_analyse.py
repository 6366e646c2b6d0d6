"""onnxq.compare, onnxq.sensitivity and onnxq.tune from Python with a Python metric (include/onnxq/onnxq_analyse.h
underneath). The tiny model has a known answer: x's channel 0 is 300x the others while the output depends on the
others, so 8-bit per-tensor quantization of x ruins the first MatMul and 16 bits do not."""
from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import onnxq
from conftest import cosine, make_model, rss_bytes

K, N1, N2, ROWS = 8, 6, 4, 64


@pytest.fixture(scope="module")
def outlier_model(tmp_path_factory) -> str:
    from onnx import TensorProto, helper, numpy_helper
    w1 = ((np.arange(K * N1) * 7 % 11) / 11.0 - 0.45).astype(np.float32).reshape(K, N1)
    w1[0] = 1e-4
    w2 = ((np.arange(N1 * N2) * 5 % 9) / 9.0 - 0.4).astype(np.float32).reshape(N1, N2)
    nodes = [helper.make_node("Constant", [], ["W1"], value=numpy_helper.from_array(w1), name="c1"),
             helper.make_node("Constant", [], ["W2"], value=numpy_helper.from_array(w2), name="c2"),
             helper.make_node("MatMul", ["x", "W1"], ["a"], name="mm1"),
             helper.make_node("MatMul", ["a", "W2"], ["y"], name="mm2")]
    path = str(tmp_path_factory.mktemp("analyse") / "outlier.onnx")
    return make_model(path, nodes, [("x", TensorProto.FLOAT, ["n", K])], [("y", TensorProto.FLOAT, ["n", N2])])


def outlier_batch(seed: int) -> dict:
    x = np.random.default_rng(seed).uniform(-1, 1, (ROWS, K)).astype(np.float32)
    x[:, 0] *= 300
    return {"x": x}


class CosineMetric:
    """The user's metric: cosine of the model's output to the FP32 model's on a fixed batch, run with onnxq."""

    def __init__(self, fp32_path: str):
        self.x = outlier_batch(99)
        with onnxq.Model(fp32_path) as m:
            self.ref = m.run(self.x)["y"]
        self.calls = 0

    def __call__(self, path: str) -> float:
        self.calls += 1
        with onnxq.Model(path) as m:
            return cosine(m.run(self.x)["y"], self.ref)


def test_sensitivity_ranks_the_outlier_layer_first(outlier_model):
    metric = CosineMetric(outlier_model)
    s = onnxq.sensitivity(outlier_model, (outlier_batch(i) for i in range(4)), [outlier_batch(99)],
                          per_channel=True, metric=metric, metric_top=1)
    assert [L.node for L in s.layers] == ["mm1", "mm2"]
    assert s.layers[0].float_gain_db > 10 and s.layers[0].op == "MatMul"
    assert s.metric_fp32 == pytest.approx(1.0) and s.metric < 0.99
    assert s.layers[0].metric > s.metric and s.layers[1].metric is None
    assert metric.calls == 3
    assert "mm1" in s.table()


def test_tune_with_a_python_metric_chooses_int16(outlier_model, tmp_path):
    metric = CosineMetric(outlier_model)
    lines = []
    out = tmp_path / "tuned.onnx"
    r = onnxq.tune(outlier_model, out, (outlier_batch(i) for i in range(4)), [outlier_batch(99)],
                   per_channel=True, metric=metric, max_loss=0.1, int16=True, log=lines.append)
    assert r.target_met and r.loss <= 0.1 and r.metric_fp32 == pytest.approx(1.0)
    assert r.int16_layers == ("mm1",) and r.float_layers == ()
    assert r.steps[0].what.startswith("start: activations min_max") and len(lines) > len(r.steps)
    assert metric.calls >= len(r.steps) and r.evaluations >= len(r.steps)
    assert "`mm1`" in r.report and os.path.exists(out)
    assert metric(str(out)) == pytest.approx(r.metric)
    # the returned config, given to quantize(), reproduces the model's quality
    again = tmp_path / "again.onnx"
    onnxq.quantize(outlier_model, again, [outlier_batch(i) for i in range(4)], config=r.config)
    assert metric(str(again)) >= 0.999
    # without int16 the layer stays float
    r2 = onnxq.tune(outlier_model, tmp_path / "t2.onnx", [outlier_batch(i) for i in range(4)], per_channel=True,
                    metric=metric, max_loss=0.1)
    assert r2.target_met and r2.float_layers == ("mm1",) and r2.int16_layers == ()


def test_tune_default_metric_is_output_cosine(outlier_model, tmp_path):
    r = onnxq.tune(outlier_model, tmp_path / "t.onnx", [outlier_batch(i) for i in range(4)], max_loss=0.1,
                   per_channel=True)
    assert r.metric_fp32 == 1.0 and r.target_met and r.float_layers == ("mm1",)


class Boom(Exception):
    pass


def test_metric_that_raises(outlier_model, tmp_path):
    """The user's exception comes back unchanged, nothing is written, and repeated failures do not leak."""
    out = tmp_path / "t.onnx"
    calls = []

    def bad(path):
        calls.append(path)
        if len(calls) % 3 == 0:
            raise Boom(f"no accuracy for {path}")
        return 0.5

    data = [outlier_batch(i) for i in range(2)]
    with pytest.raises(Boom, match="no accuracy for"):
        onnxq.tune(outlier_model, out, data, metric=bad)
    assert not out.exists() and not list(tmp_path.iterdir())
    with pytest.raises(Boom):
        onnxq.sensitivity(outlier_model, data, metric=bad)
    with pytest.raises(TypeError, match="must return a number"):
        onnxq.tune(outlier_model, out, data, metric=lambda p: "0.9")
    with pytest.raises(onnxq.OnnxqError, match="finite number"):
        onnxq.tune(outlier_model, out, data, metric=lambda p: float("nan"))
    with pytest.raises(ZeroDivisionError):
        onnxq.tune(outlier_model, out, data, log=lambda line: 1 / 0)


def test_failing_metric_no_memory_growth(outlier_model, tmp_path):
    """Many searches stopped by the metric (each loads the model, calibrates and fails): RSS stays flat."""
    out = tmp_path / "t.onnx"
    calls = []

    def bad(path):
        calls.append(path)
        if len(calls) % 3 == 0:
            raise Boom("stop")
        return 0.5

    data = [outlier_batch(i) for i in range(2)]
    for _ in range(10):
        with pytest.raises(Boom):
            onnxq.tune(outlier_model, out, data, metric=bad)
    gc.collect()
    before = rss_bytes()
    for _ in range(60):
        with pytest.raises(Boom):
            onnxq.tune(outlier_model, out, data, metric=bad)
    gc.collect()
    grown = rss_bytes() - before
    assert grown < 8 << 20, f"RSS grew by {grown / 2**20:.1f} MiB over 60 failing tune calls"


def test_bad_arguments(outlier_model, tmp_path):
    data = [outlier_batch(0)]
    with pytest.raises(TypeError, match="metric must be a callable"):
        onnxq.tune(outlier_model, tmp_path / "t.onnx", data, metric=0.9)
    with pytest.raises(ValueError, match="max_loss"):
        onnxq.tune(outlier_model, tmp_path / "t.onnx", data, max_loss=-1)
    with pytest.raises(onnxq.OnnxqError, match="zero batches"):
        onnxq.tune(outlier_model, tmp_path / "t.onnx", [])
    with pytest.raises(onnxq.OnnxqError, match="weights-only"):
        onnxq.sensitivity(outlier_model, data, weights_only=True)
    with pytest.raises(onnxq.OnnxqError, match="unknown calibration algorithm"):
        onnxq.sensitivity(outlier_model, data, method="best")


def test_compare_cls_with_a_metric(cls_model, tmp_path):
    rng = np.random.default_rng(0)
    xs = [{"x": rng.random((2, 3, 48, 192), dtype=np.float32)} for _ in range(3)]
    q = tmp_path / "cls.int8.onnx"
    onnxq.quantize(cls_model, q, xs, method="percentile")
    calls = []

    def top1_agreement(path):  # a metric from Python: agreement of the argmax with FP32 on the batches
        calls.append(path)
        with onnxq.Model(path) as m, onnxq.Model(cls_model) as f:
            return float(np.mean([np.argmax(m.run(x)[m.outputs[0].name], 1) == np.argmax(f.run(x)[f.outputs[0].name], 1)
                                  for x in xs]))

    rep = onnxq.compare(cls_model, q, xs, metric=top1_agreement, split=True)
    assert rep.batches == 3 and len(rep.layers) > 20 and len(calls) == 2
    assert rep.metric_fp32 == 1.0 and rep.loss == onnxq.loss_percent(rep.metric_quant, 1.0)
    quantized = [L for L in rep.layers if L.quantized]
    assert quantized and all(L.histogram.shape == (64,) and L.histogram.sum() > 0 for L in quantized)
    assert all(-1.0001 <= L.cosine <= 1.0001 for L in rep.layers)
    assert any(L.sqnr_weights_db is not None for L in rep.layers)
    worst = rep.worst(3)
    assert len(worst) == 3 and worst[0].sqnr_db == min(L.sqnr_db for L in rep.layers)
    assert "cosine" in rep.table(5)
    # the same numbers from an onnxq.Model (borrowed, still usable after)
    with onnxq.Model(cls_model) as f:
        rep2 = onnxq.compare(f, q, xs)
        assert [L.sqnr_db for L in rep2.layers] == [L.sqnr_db for L in rep.layers]
        assert f.run(xs[0])
    with pytest.raises(ValueError, match="no batch"):
        onnxq.compare(cls_model, q, [])
