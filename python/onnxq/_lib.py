"""ctypes bindings of libonnxq: the C structs and prototypes of include/onnxq/onnxq.h, onnxq_quant.h and
onnxq_analyse.h, the one table mapping oq_dtype to numpy, and the conversions between numpy arrays and
oq_tensor_ref.

Nothing here computes anything: every operation is a call into the C library. The library is the
`libonnxq.so` built by `pip install .` next to this file, or the file named by $ONNXQ_LIB (a development
build, e.g. `ONNXQ_LIB=build/libonnxq.so`).
"""
from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping
from ctypes import POINTER, byref, c_bool, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_int64, c_void_p

import numpy as np

OQ_MAX_DIMS = 8


class OnnxqError(RuntimeError):
    """An error reported by the C library. `str(e)` is the library's message (it names the model, tensor or
    option involved); `status` is the status name ("OQ_ERR_SHAPE") and `code` its number."""

    def __init__(self, code: int, status: str, message: str):
        super().__init__(message)
        self.code = code
        self.status = status


# ------------------------------------------------------------------------------------------ structs
class Error(ctypes.Structure):
    _fields_ = [("code", c_int), ("msg", c_char * 1024)]


class TensorRef(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_int), ("ndim", c_int32), ("dims", c_int64 * OQ_MAX_DIMS),
                ("data", c_void_p)]


NodeHook = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_char_p, c_char_p, c_int, POINTER(TensorRef))


class SessionOptions(ctypes.Structure):
    _fields_ = [("num_threads", c_int), ("kernels", c_int), ("check_nan", c_int), ("no_fusion", c_int),
                ("profile", c_int), ("no_int8_lowering", c_int), ("hook", NodeHook), ("hook_user", c_void_p)]


class QuantizeOptions(ctypes.Structure):
    _fields_ = [("method", c_char_p), ("target", c_char_p), ("per_channel", c_int), ("symmetric", c_int),
                ("bits", c_int), ("weights_only", c_int), ("pow2", c_int), ("percentile", c_float),
                ("skip_nodes", POINTER(c_char_p)), ("n_skip_nodes", c_int),
                ("skip_op_types", POINTER(c_char_p)), ("n_skip_op_types", c_int),
                ("threads", c_int), ("config_source", c_char_p)]


PER_CHANNEL_DEFAULT, PER_CHANNEL_ON, PER_CHANNEL_OFF = 0, 1, 2
OQ_ERR_CANCELLED = 8

# include/onnxq/onnxq_analyse.h
MetricFn = ctypes.CFUNCTYPE(c_int, c_void_p, c_char_p, POINTER(c_double), POINTER(Error))
LogFn = ctypes.CFUNCTYPE(None, c_void_p, c_char_p)


class CompareLayer(ctypes.Structure):
    _fields_ = [("tensor", c_char_p), ("node", c_char_p), ("op", c_char_p), ("quant_tensor", c_char_p),
                ("quantized", c_bool), ("left_float", c_bool), ("count", c_int64), ("cosine", c_double),
                ("sqnr_db", c_double), ("rel_l2", c_double), ("max_abs", c_double), ("clipped", c_double),
                ("q_lo", c_float), ("q_hi", c_float), ("split", c_bool), ("sqnr_weights_db", c_double),
                ("sqnr_acts_db", c_double), ("hist", POINTER(c_int64)), ("hist_lo", c_float), ("hist_hi", c_float)]


COMPARE_BINS = 64


class SensitivityLayer(ctypes.Structure):
    _fields_ = [("node", c_char_p), ("op", c_char_p), ("float_gain_db", c_double), ("alone_sqnr_db", c_double),
                ("metric", c_double)]


class Sensitivity(ctypes.Structure):
    _fields_ = [("sqnr_db", c_double), ("cosine", c_double), ("metric_fp32", c_double), ("metric", c_double),
                ("n_layers", c_int), ("layers", POINTER(SensitivityLayer))]


class TuneOptions(ctypes.Structure):
    _fields_ = [("max_loss", c_double), ("max_steps", c_int), ("time_budget", c_double), ("try_int16", c_bool),
                ("metric", MetricFn), ("metric_user", c_void_p), ("log", LogFn), ("log_user", c_void_p),
                ("model_path", c_char_p)]


class TuneStep(ctypes.Structure):
    _fields_ = [("what", c_char_p), ("metric", c_double), ("loss", c_double), ("sqnr_db", c_double),
                ("kept", c_bool)]


class TuneResult(ctypes.Structure):
    _fields_ = [("target_met", c_bool), ("metric_fp32", c_double), ("metric", c_double), ("loss", c_double),
                ("evaluations", c_int), ("seconds", c_double), ("n_float", c_int),
                ("float_layers", POINTER(c_char_p)), ("n_int16", c_int), ("int16_layers", POINTER(c_char_p)),
                ("n_steps", c_int), ("steps", POINTER(TuneStep)), ("config_json", c_char_p),
                ("report_md", c_char_p)]


# ------------------------------------------------------------------------------------------ loading
def _find_library() -> str:
    env = os.environ.get("ONNXQ_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "libonnxq.so")
    if not os.path.exists(path):
        raise ImportError(
            f"onnxq: {path} not found; install the package with `pip install .` from the onnxq repository "
            "(it builds the C library), or set ONNXQ_LIB to a built libonnxq.so")
    return path


lib = ctypes.CDLL(_find_library())

_PROTOS = {
    # name: (restype, argtypes)
    "oq_status_str": (c_char_p, [c_int]),
    "oq_dtype_name": (c_char_p, [c_int]),
    "oq_model_load": (c_int, [c_char_p, POINTER(c_void_p), POINTER(Error)]),
    "oq_model_free": (None, [c_void_p]),
    "oq_model_num_inputs": (c_int, [c_void_p]),
    "oq_model_num_outputs": (c_int, [c_void_p]),
    "oq_model_input": (c_int, [c_void_p, c_int, POINTER(TensorRef)]),
    "oq_model_output": (c_int, [c_void_p, c_int, POINTER(TensorRef)]),
    "oq_model_input_dim_param": (c_char_p, [c_void_p, c_int, c_int]),
    "oq_session_options_default": (SessionOptions, []),
    "oq_session_create": (c_int, [c_void_p, POINTER(SessionOptions), POINTER(c_void_p), POINTER(Error)]),
    "oq_session_free": (None, [c_void_p]),
    "oq_session_run": (c_int, [c_void_p, c_int, POINTER(TensorRef), POINTER(Error)]),
    "oq_session_num_outputs": (c_int, [c_void_p]),
    "oq_session_output": (c_int, [c_void_p, c_int, POINTER(TensorRef)]),
    "oq_quantize_options_default": (QuantizeOptions, []),
    "oq_quantizer_create": (c_int, [c_void_p, c_char_p, POINTER(QuantizeOptions), POINTER(c_void_p),
                                    POINTER(Error)]),
    "oq_quantizer_free": (None, [c_void_p]),
    "oq_quantizer_needs_data": (c_int, [c_void_p]),
    "oq_quantizer_feed": (c_int, [c_void_p, c_int, POINTER(TensorRef), POINTER(Error)]),
    "oq_quantizer_counts": (None, [c_void_p, POINTER(c_int64), POINTER(c_int64)]),
    "oq_quantizer_save": (c_int, [c_void_p, c_char_p, c_char_p, POINTER(Error)]),
    "oq_quantize_check_output": (c_int, [c_void_p, c_char_p, POINTER(Error)]),
    "oq_compare_create": (c_int, [c_void_p, c_void_p, c_int, c_bool, POINTER(c_void_p), POINTER(Error)]),
    "oq_compare_free": (None, [c_void_p]),
    "oq_compare_feed": (c_int, [c_void_p, c_int, POINTER(TensorRef), POINTER(Error)]),
    "oq_compare_batches": (c_int64, [c_void_p]),
    "oq_compare_num_layers": (c_int, [c_void_p]),
    "oq_compare_layer_at": (None, [c_void_p, c_int, POINTER(CompareLayer)]),
    "oq_tuner_create": (c_int, [c_void_p, c_char_p, POINTER(QuantizeOptions), POINTER(c_void_p), POINTER(Error)]),
    "oq_tuner_free": (None, [c_void_p]),
    "oq_tuner_feed": (c_int, [c_void_p, c_int, POINTER(TensorRef), POINTER(Error)]),
    "oq_tuner_add_eval": (c_int, [c_void_p, c_int, POINTER(TensorRef), POINTER(Error)]),
    "oq_tuner_sensitivity": (c_int, [c_void_p, MetricFn, c_void_p, c_int, POINTER(POINTER(Sensitivity)),
                                     POINTER(Error)]),
    "oq_tune_options_default": (TuneOptions, []),
    "oq_tuner_run": (c_int, [c_void_p, POINTER(TuneOptions), c_char_p, POINTER(POINTER(TuneResult)),
                             POINTER(Error)]),
}
for _name, (_res, _args) in _PROTOS.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def status_name(code: int) -> str:
    s = lib.oq_status_str(code)
    return s.decode() if s else f"status {code}"


def check(status: int, err: Error, what: str = "") -> None:
    """Raise OnnxqError with the library's message when status is not OQ_OK."""
    if status:
        msg = err.msg.decode("utf-8", "replace") or f"{what}: {status_name(status)}"
        raise OnnxqError(status, status_name(status), msg)


def check_code(status: int, what: str) -> None:
    """For the calls that return a status without a message (e.g. index out of range)."""
    if status:
        raise OnnxqError(status, status_name(status), f"{what}: {status_name(status)}")


# ------------------------------------------------------------------------------------------ dtypes
# The one table: oq_dtype value (= ONNX TensorProto.DataType) <-> numpy dtype. oq_dtype also has string (8)
# and bfloat16 (16), which numpy cannot represent: they are absent here and reported where they show up.
DTYPES = (
    (1, np.dtype(np.float32)),
    (2, np.dtype(np.uint8)),
    (3, np.dtype(np.int8)),
    (4, np.dtype(np.uint16)),
    (5, np.dtype(np.int16)),
    (6, np.dtype(np.int32)),
    (7, np.dtype(np.int64)),
    (9, np.dtype(np.bool_)),
    (10, np.dtype(np.float16)),
    (11, np.dtype(np.float64)),
    (12, np.dtype(np.uint32)),
    (13, np.dtype(np.uint64)),
)
OQ_TO_NP = {code: dt for code, dt in DTYPES}
NP_TO_OQ = {dt: code for code, dt in DTYPES}


def dtype_name(code: int) -> str:
    s = lib.oq_dtype_name(code)
    return s.decode() if s else "?"


def numpy_dtype(code: int):
    """The numpy dtype of an oq_dtype, None when numpy has none (string, bfloat16, undefined)."""
    return OQ_TO_NP.get(code)


# ------------------------------------------------------------------------------------------ tensors
class Feeds:
    """A dict of named arrays as an oq_tensor_ref array. Keeps the (contiguous, native-order) arrays and the
    encoded names alive for as long as the C call needs them."""

    def __init__(self, feeds, what: str = "feeds"):
        if not isinstance(feeds, Mapping):
            raise TypeError(f"{what} must be a dict {{input_name: numpy array}}, not {type(feeds).__name__}")
        self.arrays = []
        self.names = []
        self.refs = (TensorRef * max(1, len(feeds)))()
        self.n = len(feeds)
        for i, (name, value) in enumerate(feeds.items()):
            if not isinstance(name, str):
                raise TypeError(f"{what}: input names must be str, not {type(name).__name__} ({name!r})")
            a = np.asarray(value)
            if a.dtype.kind in "biuf" and not a.dtype.isnative:  # big-endian data: the library reads native
                a = a.astype(a.dtype.newbyteorder("="))
            if a.dtype not in NP_TO_OQ:
                supported = ", ".join(str(dt) for _, dt in DTYPES)
                raise TypeError(f"{what}: input '{name}' has numpy dtype {a.dtype}, which onnxq cannot take; "
                                f"supported: {supported}")
            if a.ndim > OQ_MAX_DIMS:
                raise ValueError(f"{what}: input '{name}' has {a.ndim} dimensions; onnxq supports at most "
                                 f"{OQ_MAX_DIMS}")
            a = np.ascontiguousarray(a)
            bname = name.encode("utf-8")
            r = self.refs[i]
            r.name = bname
            r.dtype = NP_TO_OQ[a.dtype]
            r.ndim = a.ndim
            for d, n in enumerate(a.shape):
                r.dims[d] = n
            r.data = a.ctypes.data if a.size else None
            self.arrays.append(a)
            self.names.append(bname)


def to_numpy(ref: TensorRef, what: str) -> np.ndarray:
    """Copy a tensor the library owns into a new numpy array."""
    dt = OQ_TO_NP.get(ref.dtype)
    if dt is None:
        raise TypeError(f"{what} has dtype {dtype_name(ref.dtype)}, which numpy cannot represent")
    shape = tuple(int(ref.dims[d]) for d in range(ref.ndim))
    out = np.empty(shape, dt)
    if out.nbytes:
        if not ref.data:
            raise OnnxqError(1, "OQ_ERR_ARG", f"{what}: the library returned no data for shape {shape}")
        ctypes.memmove(out.ctypes.data, ref.data, out.nbytes)
    return out


__all__ = ["OnnxqError", "lib", "check", "check_code", "Error", "TensorRef", "SessionOptions", "QuantizeOptions",
           "Feeds", "to_numpy", "numpy_dtype", "dtype_name", "byref", "c_void_p", "c_int64", "c_char_p",
           "PER_CHANNEL_DEFAULT", "PER_CHANNEL_ON", "PER_CHANNEL_OFF", "OQ_ERR_CANCELLED", "MetricFn", "LogFn",
           "CompareLayer", "COMPARE_BINS", "SensitivityLayer", "Sensitivity", "TuneOptions", "TuneStep", "TuneResult"]
