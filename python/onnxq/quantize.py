"""onnxq.quantize: calibrate on batches from Python and write a QDQ (or weights-only) model, through the C
quantizer of include/onnxq/onnxq_quant.h (the same code as `onnxq quantize`)."""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ._lib import (PER_CHANNEL_DEFAULT, PER_CHANNEL_OFF, PER_CHANNEL_ON, Error, Feeds, QuantizeOptions, byref,
                   c_char_p, c_int64, c_void_p, check, lib)
from .model import Model, _threads_arg


@dataclass(frozen=True)
class QuantizeResult:
    """What quantize() wrote: the model (and table) paths, the batches and samples calibrated on (0 in
    weights-only mode) and the size of the written model in bytes."""
    path: str
    batches: int
    samples: int
    size: int
    table: str | None
    weights_only: bool


def _names(arg, what: str) -> list[bytes]:
    """A str is a comma-separated list (as the CLI's --skip); otherwise an iterable of str."""
    if arg is None:
        return []
    if isinstance(arg, str):
        items = [s for s in arg.split(",") if s]
    else:
        try:
            items = list(arg)
        except TypeError:
            raise TypeError(f"{what} must be a str or an iterable of str, not {type(arg).__name__}") from None
    for s in items:
        if not isinstance(s, str) or not s:
            raise TypeError(f"{what}: every entry must be a non-empty str, got {s!r}")
    return [s.encode("utf-8") for s in items]


def _opt_str(arg, what: str):
    if arg is None:
        return None
    if not isinstance(arg, str):
        raise TypeError(f"{what} must be a str or None, not {type(arg).__name__}")
    return arg.encode("utf-8")


def _config_text(config):
    """(JSON text, name for messages) from a dict, JSON text or a file path; (None, None) for the default."""
    if config is None:
        return None, None
    if isinstance(config, Mapping):
        return json.dumps(config).encode("utf-8"), b"config (dict)"
    if isinstance(config, (str, os.PathLike)):
        s = os.fspath(config)
        if isinstance(s, str) and s.lstrip().startswith("{"):
            return s.encode("utf-8"), b"config (JSON text)"
        with open(s, "rb") as f:
            return f.read(), os.fsencode(s)
    raise TypeError(f"config must be a dict, JSON text or a path to a JSON file, not {type(config).__name__}")


def _batches(data):
    """Batches from an ONNX Runtime CalibrationDataReader (get_next() until None) or any iterable of dicts.
    Whatever the user's code raises propagates unchanged."""
    get_next = getattr(data, "get_next", None)
    if callable(get_next):
        while True:
            b = get_next()
            if b is None:
                return
            yield b
        return
    try:
        it = iter(data)
    except TypeError:
        raise TypeError("data must be an object with get_next() (ONNX Runtime's CalibrationDataReader) or an "
                        f"iterable of dicts {{input_name: array}}, not {type(data).__name__}") from None
    yield from it


class QuantOptions:
    """The C library's oq_quantize_options and config text from quantize()'s keyword arguments, checked; keeps
    the encoded strings alive as long as the object (shared by quantize, sensitivity and tune)."""

    def __init__(self, *, method=None, per_channel=None, symmetric=False, bits=None, weights_only=False,
                 target=None, config=None, skip=(), skip_op_types=(), threads=None, percentile=None, pow2=False):
        opt = QuantizeOptions()
        opt.method = _opt_str(method, "method")
        opt.target = _opt_str(target, "target")
        if per_channel is None:
            opt.per_channel = PER_CHANNEL_DEFAULT
        elif isinstance(per_channel, bool):
            opt.per_channel = PER_CHANNEL_ON if per_channel else PER_CHANNEL_OFF
        else:
            raise TypeError(f"per_channel must be None, True or False, not {per_channel!r}")
        if bits is not None and (isinstance(bits, bool) or bits not in (8, 16)):
            raise ValueError(f"bits must be 8 or 16 (or None for the config's), not {bits!r}")
        opt.bits = bits or 0
        opt.symmetric = bool(symmetric)
        opt.weights_only = bool(weights_only)
        opt.pow2 = bool(pow2)
        if percentile is not None:
            if isinstance(percentile, bool) or not isinstance(percentile, (int, float)):
                raise TypeError(f"percentile must be a number, not {type(percentile).__name__}")
            if not 0 < percentile <= 100:
                raise ValueError(f"percentile must be in (0, 100], not {percentile}")
            opt.percentile = float(percentile)
        skip_b = _names(skip, "skip")
        ops_b = _names(skip_op_types, "skip_op_types")
        self._skip = (c_char_p * max(1, len(skip_b)))(*skip_b)
        self._ops = (c_char_p * max(1, len(ops_b)))(*ops_b)
        opt.skip_nodes, opt.n_skip_nodes = self._skip, len(skip_b)
        opt.skip_op_types, opt.n_skip_op_types = self._ops, len(ops_b)
        opt.threads = _threads_arg(threads)
        self.config_text, cfg_name = _config_text(config)
        opt.config_source = cfg_name
        self.opt = opt


def quantize(model_path, output_path, data=None, *, method=None, per_channel=None, symmetric=False, bits=None,
             weights_only=False, target=None, config=None, skip=(), skip_op_types=(), threads=None, table=None,
             percentile=None, pow2=False) -> QuantizeResult:
    """Quantize the FP32 ONNX model at model_path into output_path (written atomically), as `onnxq quantize`.

    data          calibration batches: an object with ONNX Runtime's CalibrationDataReader contract
                  (get_next() returns {input_name: ndarray} or None at the end) or any iterable of such dicts;
                  each dict is one batch (dim 0 = samples) with every model input, in its declared dtype.
                  Not read in weights-only mode (and may then be None).
    method        activation algorithm: min_max, abs_max, moving_average_abs_max, percentile, mse, kl, kl_v2
                  (None: the config's, min_max by default)
    per_channel   None: the config's (per channel by default); True / False: per-channel / per-tensor weights
    symmetric     int8 symmetric activations instead of uint8 asymmetric
    bits          None: the config's (8); 8 or 16
    weights_only  int8/int16 weights + DequantizeLinear, float activations; needs no data
    target        preset: "ort-cpu", "tensorrt", "npu-pow2" (applied first, the other options refine it)
    config        the quantization config (the JSON `onnxq config MODEL` writes): a dict, JSON text or a path
    skip          node names left in float (an iterable, or a comma-separated str)
    skip_op_types op types left in float (same forms)
    threads       calibration threads (None: every CPU)
    table         where to write the calibration table (JSON); None: no table. Not in weights-only mode.
    percentile    for method "percentile" (None: the config's, 99.99)
    pow2          power-of-two scales

    Errors from the library raise onnxq.OnnxqError with its message (e.g. zero batches, an input of the
    wrong shape or dtype, an unknown method or node name); bad Python arguments raise TypeError/ValueError.
    """
    model_path = os.fspath(model_path)
    output_path = os.fspath(output_path)
    table = os.fspath(table) if table is not None else None
    opts = QuantOptions(method=method, per_channel=per_channel, symmetric=symmetric, bits=bits,
                        weights_only=weights_only, target=target, config=config, skip=skip,
                        skip_op_types=skip_op_types, threads=threads, percentile=percentile, pow2=pow2)
    opt, cfg_text = opts.opt, opts.config_text

    err = Error()
    with Model(model_path) as model:
        q = c_void_p()
        check(lib.oq_quantizer_create(model._handle(), cfg_text, byref(opt), byref(q), byref(err)), err)
        try:
            # before calibrating, which can take minutes: the output is not the input and its folder is writable
            check(lib.oq_quantize_check_output(model._handle(), output_path.encode(), byref(err)), err)
            if table is not None:
                check(lib.oq_quantize_check_output(model._handle(), table.encode(), byref(err)), err)
            needs_data = bool(lib.oq_quantizer_needs_data(q))
            if needs_data:
                if data is None:
                    raise ValueError("data is None: static quantization calibrates on batches; give a "
                                     "CalibrationDataReader or an iterable of {input_name: array} dicts, or "
                                     "pass weights_only=True")
                for i, batch in enumerate(_batches(data)):
                    f = Feeds(batch, what=f"calibration batch {i}")
                    check(lib.oq_quantizer_feed(q, f.n, f.refs, byref(err)), err)
            check(lib.oq_quantizer_save(q, output_path.encode(), table.encode() if table else None, byref(err)),
                  err)
            nb, ns = c_int64(), c_int64()
            lib.oq_quantizer_counts(q, byref(nb), byref(ns))
        finally:
            lib.oq_quantizer_free(q)
    return QuantizeResult(path=output_path, batches=nb.value, samples=ns.value, size=os.path.getsize(output_path),
                          table=table, weights_only=not needs_data)


__all__ = ["quantize", "QuantizeResult", "QuantOptions"]
