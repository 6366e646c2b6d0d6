"""onnxq.Model / Session: numpy round trips of every dtype numpy and oq_dtype share, the PaddleOCR cls model
against ONNX Runtime, errors carrying the C library's messages, and no memory growth over many runs."""
from __future__ import annotations

import os

import numpy as np
import pytest
from onnx import TensorProto

import onnxq
from conftest import cosine, make_model, rss_bytes

# numpy dtype -> ONNX elem type: every dtype onnxq maps (python/onnxq/_lib.py DTYPES)
DTYPES = [
    (np.float32, TensorProto.FLOAT), (np.float16, TensorProto.FLOAT16), (np.float64, TensorProto.DOUBLE),
    (np.int8, TensorProto.INT8), (np.uint8, TensorProto.UINT8), (np.int16, TensorProto.INT16),
    (np.uint16, TensorProto.UINT16), (np.int32, TensorProto.INT32), (np.uint32, TensorProto.UINT32),
    (np.int64, TensorProto.INT64), (np.uint64, TensorProto.UINT64), (np.bool_, TensorProto.BOOL),
]


def sample(dt, shape, rng):
    """Values that exercise the type: extremes for integers, specials-free spread for floats."""
    dt = np.dtype(dt)
    if dt == np.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, shape, dtype=dt, endpoint=True)
        flat = a.reshape(-1)
        flat[:2] = [info.min, info.max]
        return a
    return (rng.standard_normal(shape) * 1000).astype(dt)


@pytest.mark.parametrize("dt,et", DTYPES, ids=[np.dtype(d).name for d, _ in DTYPES])
def test_dtype_round_trip(tmp_path, dt, et):
    """x -> Identity -> y and x -> Cast(double) -> z: y must equal x bit for bit, z equal numpy's cast."""
    from onnx import helper
    path = make_model(str(tmp_path / "m.onnx"),
                      [helper.make_node("Identity", ["x"], ["y"]),
                       helper.make_node("Cast", ["x"], ["z"], to=TensorProto.DOUBLE)],
                      [("x", et, ["n", 3])], [("y", et, ["n", 3]), ("z", TensorProto.DOUBLE, ["n", 3])])
    rng = np.random.default_rng(1)
    with onnxq.Model(path) as m:
        assert m.inputs[0].dtype == np.dtype(dt)
        assert m.inputs[0].shape == ("n", 3)
        assert [o.dtype for o in m.outputs] == [np.dtype(dt), np.dtype(np.float64)]
        for n in (1, 5):
            x = sample(dt, (n, 3), rng)
            out = m.run({"x": x})
            assert list(out) == ["y", "z"]
            assert out["y"].dtype == np.dtype(dt) and out["y"].shape == x.shape
            np.testing.assert_array_equal(out["y"], x)
            assert out["y"].tobytes() == x.tobytes()
            np.testing.assert_array_equal(out["z"], x.astype(np.float64))


def test_non_native_and_strided_inputs(tmp_path):
    """Big-endian and non-contiguous arrays are converted before the call (the library reads native C order)."""
    from onnx import helper
    path = make_model(str(tmp_path / "m.onnx"), [helper.make_node("Identity", ["x"], ["y"])],
                      [("x", TensorProto.INT32, [3, 4])], [("y", TensorProto.INT32, [3, 4])])
    x = np.arange(12, dtype=np.int32).reshape(4, 3).T  # a transposed (Fortran-order) [3, 4] view
    assert not x.flags.c_contiguous
    with onnxq.Model(path) as m:
        np.testing.assert_array_equal(m.run({"x": x})["y"], x)
        s = np.arange(24, dtype=np.int32).reshape(3, 8)[:, ::2]  # a strided view
        np.testing.assert_array_equal(m.run({"x": s})["y"], s)
        np.testing.assert_array_equal(m.run({"x": x.astype(">i4")})["y"], x)  # big-endian


def test_outputs_are_owned_by_python(tmp_path):
    """An output array survives the next run and the model's close: it is a copy, not a view of the arena."""
    from onnx import helper
    path = make_model(str(tmp_path / "m.onnx"), [helper.make_node("Relu", ["x"], ["y"])],
                      [("x", TensorProto.FLOAT, [2, 2])], [("y", TensorProto.FLOAT, [2, 2])])
    m = onnxq.Model(path)
    a = m.run({"x": np.full((2, 2), 3, np.float32)})["y"]
    b = m.run({"x": np.full((2, 2), 5, np.float32)})["y"]
    m.close()
    assert a.flags.owndata and (a == 3).all() and (b == 5).all()
    with pytest.raises(ValueError, match="closed"):
        m.run({"x": np.zeros((2, 2), np.float32)})


def test_cls_vs_onnxruntime(cls_model):
    import onnxruntime as ort
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 3, 48, 192)).astype(np.float32)
    ref = ort.InferenceSession(cls_model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    with onnxq.Model(cls_model) as m:
        assert [i.name for i in m.inputs] == ["x"]
        assert m.inputs[0].shape[1] == 3 and all(isinstance(d, str) for d in
                                                (m.inputs[0].shape[0], m.inputs[0].shape[2]))
        for threads in (None, 1):
            out = m.run({"x": x}, threads=threads)
            y = out[m.outputs[0].name]
            assert y.shape == ref.shape and y.dtype == np.float32
            ratio = np.abs(y - ref).max() / np.abs(ref).max()
            assert ratio <= 1e-4, f"max|onnxq-ort|/max|ort| = {ratio:.3g}"
        s = m.session(threads=2)
        y2 = s.run({"x": x})[m.outputs[0].name]
        assert cosine(y2, ref) > 0.9999


def test_bad_inputs_raise_onnxq_error(cls_model):
    with onnxq.Model(cls_model) as m:
        with pytest.raises(onnxq.OnnxqError, match=r"input 'x' has rank 3") as e:  # the C message, whole
            m.run({"x": np.zeros((3, 48, 192), np.float32)})
        assert e.value.status == "OQ_ERR_SHAPE" and cls_model in str(e.value)
        with pytest.raises(onnxq.OnnxqError, match=r"input 'x' has dtype double, the model expects float"):
            m.run({"x": np.zeros((1, 3, 48, 192), np.float64)})
        with pytest.raises(onnxq.OnnxqError, match=r"dim 1 must be 3, got 4") as e:
            m.run({"x": np.zeros((1, 4, 48, 192), np.float32)})
        with pytest.raises(onnxq.OnnxqError, match="NaN"):
            m.run({"x": np.full((1, 3, 48, 192), np.nan, np.float32)})
        with pytest.raises(onnxq.OnnxqError):  # missing input
            m.run({})
        with pytest.raises(onnxq.OnnxqError):  # wrong name
            m.run({"y": np.zeros((1, 3, 48, 192), np.float32)})
        with pytest.raises(TypeError, match="dict"):
            m.run([np.zeros((1, 3, 48, 192), np.float32)])
        with pytest.raises(TypeError, match="complex64"):
            m.run({"x": np.zeros((1, 3, 48, 192), np.complex64)})
        with pytest.raises(ValueError, match="threads"):
            m.run({"x": np.zeros((1, 3, 48, 192), np.float32)}, threads=0)
        assert isinstance(e.value, RuntimeError)
    with pytest.raises(onnxq.OnnxqError, match="no_such_model"):
        onnxq.Model("/nonexistent/no_such_model.onnx")


def test_no_memory_growth(tmp_path):
    """1000 runs of a small model after a warm-up: RSS within a few MiB (outputs are freed, nothing leaks)."""
    from onnx import helper
    path = make_model(str(tmp_path / "m.onnx"),
                      [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "x"], ["y"])],
                      [("x", TensorProto.FLOAT, ["n", 256])], [("y", TensorProto.FLOAT, ["n", 256])])
    x = np.random.default_rng(0).standard_normal((16, 256)).astype(np.float32)
    with onnxq.Model(path) as m:
        for _ in range(100):
            m.run({"x": x})
        before = rss_bytes()
        for i in range(1000):
            y = m.run({"x": x})["y"]
        grown = rss_bytes() - before
    np.testing.assert_array_equal(y, np.maximum(x, 0) + x)
    assert grown < 4 << 20, f"RSS grew by {grown / 2**20:.2f} MiB over 1000 runs"
    # models and sessions made and dropped again and again are freed too
    before = rss_bytes()
    for _ in range(200):
        with onnxq.Model(path) as m:
            m.session(threads=1).run({"x": x})
    grown = rss_bytes() - before
    assert grown < 4 << 20, f"RSS grew by {grown / 2**20:.2f} MiB over 200 load/run/free cycles"


def test_imported_from_installed_package():
    """Under run_tests.py, `import onnxq` is the pip-installed package with its own libonnxq.so."""
    want = os.environ.get("ONNXQ_EXPECT_PACKAGE_DIR")
    if not want:
        pytest.skip("not run by tests/python/run_tests.py")
    here = os.path.dirname(os.path.abspath(onnxq.__file__))
    assert here == os.path.abspath(want)
    assert os.path.isfile(os.path.join(here, "libonnxq.so"))
    assert onnxq.__version__ == "0.1.0"
