"""onnxq.compare, onnxq.sensitivity and onnxq.tune: why a quantized model lost accuracy and a config that loses
less, with a Python function as the metric, through the C library's analysis API (include/onnxq/onnxq_analyse.h:
the same code as `onnxq compare`, `onnxq sensitivity` and `onnxq tune`).

A metric is any callable taking the path of an ONNX model (FP32 or quantized) and returning a number, higher is
better (e.g. an accuracy): run it with onnxq.Model(path) or with ONNX Runtime, as the deployment will. Whatever
the metric raises stops the search and is raised again, unchanged, by the call that ran it.
"""
from __future__ import annotations

import ctypes
import json
import math
import numbers
import os
from dataclasses import dataclass

import numpy as np

from ._lib import (COMPARE_BINS, OQ_ERR_CANCELLED, CompareLayer, Error, Feeds, LogFn, MetricFn, Sensitivity,
                   byref, c_void_p, check, lib)
from ._lib import TuneResult as _CTuneResult
from .model import Model, _threads_arg
from .quantize import QuantOptions, _batches


def loss_percent(metric: float, metric_fp32: float) -> float:
    """|metric - metric_fp32| / |metric_fp32| x 100 (|metric_fp32| = 0: the difference x 100), as tune defines it."""
    return abs(metric - metric_fp32) / (abs(metric_fp32) if metric_fp32 else 1.0) * 100.0


class _Callback:
    """A Python callable as a C callback. The first exception it raises is kept (and the C call stopped with
    OQ_ERR_CANCELLED); reraise() raises it again once the C call has returned."""

    def __init__(self):
        self.exc = None

    def _stop(self, e: BaseException, err) -> int:
        if self.exc is None:
            self.exc = e
        if err:
            msg = f"the metric raised {type(e).__name__}: {e}".encode("utf-8", "replace")[:1000]
            err.contents.code = OQ_ERR_CANCELLED
            err.contents.msg = msg
        return OQ_ERR_CANCELLED

    def reraise(self) -> None:
        if self.exc is not None:
            e, self.exc = self.exc, None
            raise e


class _Metric(_Callback):
    def __init__(self, fn):
        super().__init__()
        if not callable(fn):
            raise TypeError(f"metric must be a callable taking a model path and returning a number, not "
                            f"{type(fn).__name__}")
        self.fn = fn
        self.calls = 0
        self.c = MetricFn(self._call)

    def _call(self, _user, path, out, err):
        try:
            self.calls += 1
            v = self.fn(path.decode("utf-8", "replace"))
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"the metric must return a number, not {type(v).__name__} ({v!r})")
            out[0] = float(v)  # a non-finite number is refused by the library, with its message
            return 0
        except BaseException as e:  # noqa: B036 - KeyboardInterrupt too: the C search must stop, then it is raised
            return self._stop(e, err)


class _Log(_Callback):
    def __init__(self, fn):
        super().__init__()
        if fn is True:
            fn = print
        if not callable(fn):
            raise TypeError(f"log must be a callable taking a str (or True to print), not {type(fn).__name__}")
        self.fn = fn
        self.c = LogFn(self._call)

    def _call(self, _user, line):
        if self.exc is not None:
            return
        try:
            self.fn(line.decode("utf-8", "replace"))
        except BaseException as e:  # noqa: B036 - raised again after the C call
            self.exc = e


def _str(b) -> str | None:
    return b.decode("utf-8", "replace") if b is not None else None


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def _model(arg, what: str):
    """(Model, owned): a path is loaded (and closed by the caller), a Model is borrowed."""
    if isinstance(arg, Model):
        return arg, False
    if isinstance(arg, (str, os.PathLike)):
        return Model(arg), True
    raise TypeError(f"{what} must be a path or an onnxq.Model, not {type(arg).__name__}")


# ------------------------------------------------------------------------------------------------ compare
@dataclass(frozen=True)
class LayerComparison:
    """One tensor of the FP32 model against what the quantized model computes there (see onnxq_analyse.h).
    q_range: the quantizer's float range (None when the tensor has no QuantizeLinear); histogram: counts of the
    FP32 values in 64 bins over hist_range (the range widened by half on each side), None when not quantized;
    sqnr_weights_db / sqnr_acts_db: only with split=True (None otherwise)."""
    tensor: str
    node: str
    op: str
    quant_tensor: str
    quantized: bool
    left_float: bool
    count: int
    cosine: float
    sqnr_db: float
    rel_l2: float
    max_abs: float
    clipped: float
    q_range: tuple | None
    sqnr_weights_db: float | None
    sqnr_acts_db: float | None
    histogram: np.ndarray | None
    hist_range: tuple | None


@dataclass(frozen=True)
class CompareReport:
    """compare()'s result: every matched layer in execution order; with a metric, its value on both models and
    the loss in percent."""
    batches: int
    layers: tuple
    metric_fp32: float | None = None
    metric_quant: float | None = None
    loss: float | None = None

    def worst(self, n: int = 10) -> list:
        """The n layers with the lowest SQNR."""
        return sorted(self.layers, key=lambda L: L.sqnr_db)[:n]

    def table(self, n: int | None = None) -> str:
        """A plain-text table (execution order; the n worst by SQNR when n is given)."""
        rows = self.layers if n is None else self.worst(n)
        out = [f"{'tensor':40} {'op':14} {'cosine':>9} {'SQNR dB':>8} {'max err':>10} {'clipped':>8}"]
        for L in rows:
            out.append(f"{L.tensor[:40]:40} {L.op[:14]:14} {L.cosine:9.6f} {L.sqnr_db:8.2f} {L.max_abs:10.4g} "
                       f"{100 * L.clipped:7.3f}%")
        return "\n".join(out)


def _layer_comparison(L: CompareLayer) -> LayerComparison:
    hist = None
    if L.hist:
        hist = np.ctypeslib.as_array(L.hist, shape=(COMPARE_BINS,)).copy()
    return LayerComparison(
        tensor=_str(L.tensor), node=_str(L.node), op=_str(L.op), quant_tensor=_str(L.quant_tensor),
        quantized=bool(L.quantized), left_float=bool(L.left_float), count=int(L.count), cosine=L.cosine,
        sqnr_db=L.sqnr_db, rel_l2=L.rel_l2, max_abs=L.max_abs, clipped=L.clipped,
        q_range=(L.q_lo, L.q_hi) if L.quantized else None,
        sqnr_weights_db=_num(L.sqnr_weights_db) if L.split else None,
        sqnr_acts_db=_num(L.sqnr_acts_db) if L.split else None,
        histogram=hist, hist_range=(L.hist_lo, L.hist_hi) if hist is not None else None)


def compare(fp32_model, quant_model, data, *, split: bool = False, threads=None, metric=None) -> CompareReport:
    """Run the FP32 model and its quantized (QDQ) version on the same batches and compare every layer, as
    `onnxq compare`.

    fp32_model, quant_model  paths or onnxq.Model objects
    data     batches: a CalibrationDataReader (get_next() until None) or an iterable of {input_name: array}
    split    also split each layer's error into its weights' and its activations' part (runs two more models)
    metric   optional callable(model_path) -> number: measured on both files, reported with the loss in percent
             (needs both models as files: a Model loaded from a path is fine)
    """
    fp, own_fp = _model(fp32_model, "fp32_model")
    try:
        q, own_q = _model(quant_model, "quant_model")
    except BaseException:
        if own_fp:
            fp.close()
        raise
    m = _Metric(metric) if metric is not None else None
    err = Error()
    c = c_void_p()
    try:
        check(lib.oq_compare_create(fp._handle(), q._handle(), _threads_arg(threads), bool(split), byref(c),
                                    byref(err)), err)
        for i, batch in enumerate(_batches(data)):
            f = Feeds(batch, what=f"batch {i}")
            check(lib.oq_compare_feed(c, f.n, f.refs, byref(err)), err)
        nb = int(lib.oq_compare_batches(c))
        if nb == 0:
            raise ValueError("compare: data gave no batch; give at least one {input_name: array} dict")
        layers = []
        for i in range(lib.oq_compare_num_layers(c)):
            L = CompareLayer()
            lib.oq_compare_layer_at(c, i, byref(L))
            layers.append(_layer_comparison(L))
        mf = mq = loss = None
        if m is not None:
            mf, mq = (_call_metric(m, x.path) for x in (fp, q))
            loss = loss_percent(mq, mf)
        return CompareReport(batches=nb, layers=tuple(layers), metric_fp32=mf, metric_quant=mq, loss=loss)
    finally:
        lib.oq_compare_free(c)
        if own_q:
            q.close()
        if own_fp:
            fp.close()


def _call_metric(m: _Metric, path: str) -> float:
    """The metric on one file from Python: the same checks as the C callback."""
    v = m.fn(path)
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"the metric must return a number, not {type(v).__name__} ({v!r}) for {path}")
    if not math.isfinite(v):
        raise ValueError(f"the metric returned {v} for {path}; it must return a finite number")
    return float(v)


# ------------------------------------------------------------------------------------ sensitivity and tune
@dataclass(frozen=True)
class LayerSensitivity:
    """float_gain_db: output SQNR gained when only this layer stays float; alone_sqnr_db: output SQNR with only
    this layer quantized; metric: the caller's metric with only this layer in float (None: not measured)."""
    node: str
    op: str
    float_gain_db: float
    alone_sqnr_db: float
    metric: float | None


@dataclass(frozen=True)
class SensitivityReport:
    """sensitivity()'s result: layers ranked by float_gain_db, largest first."""
    sqnr_db: float
    cosine: float
    metric_fp32: float | None
    metric: float | None
    layers: tuple

    def table(self, n: int = 20) -> str:
        out = [f"{'rank':4} {'node':40} {'op':14} {'float: +dB':>10} {'alone dB':>9}" +
               (f" {'metric':>10}" if self.metric is not None else "")]
        for r, L in enumerate(self.layers[:n], 1):
            row = f"{r:<4} {L.node[:40]:40} {L.op[:14]:14} {L.float_gain_db:+10.2f} {L.alone_sqnr_db:9.2f}"
            if self.metric is not None:
                row += f" {L.metric:10.6g}" if L.metric is not None else f" {'-':>10}"
            out.append(row)
        return "\n".join(out)


@dataclass(frozen=True)
class TuneStep:
    what: str
    metric: float
    loss: float
    sqnr_db: float
    kept: bool


@dataclass(frozen=True)
class TuneResult:
    """tune()'s result. path: the model written (the best found); config: the config that reproduces it (a dict
    for quantize(config=...) or `onnxq quantize --config`); report: the markdown report (outcome, layers left in
    float and in int16, every step); loss in percent of metric_fp32."""
    path: str
    target_met: bool
    metric_fp32: float
    metric: float
    loss: float
    float_layers: tuple
    int16_layers: tuple
    steps: tuple
    evaluations: int
    seconds: float
    config: dict
    report: str


class _Tuner:
    """An oq_tuner fed from Python: calibration batches from data, evaluation batches from eval_data (else the
    first eval_batches batches of data)."""

    def __init__(self, model, data, eval_data, eval_batches, opts: QuantOptions):
        if isinstance(eval_batches, bool) or not isinstance(eval_batches, int) or eval_batches < 1:
            raise ValueError(f"eval_batches must be an int >= 1, not {eval_batches!r}")
        self.model, self.own = _model(model, "model")
        self.h = c_void_p()
        try:
            err = Error()
            check(lib.oq_tuner_create(self.model._handle(), opts.config_text, byref(opts.opt), byref(self.h),
                                      byref(err)), err)
            n_cal = 0
            for i, batch in enumerate(_batches(data)):
                f = Feeds(batch, what=f"calibration batch {i}")
                check(lib.oq_tuner_feed(self.h, f.n, f.refs, byref(err)), err)
                if eval_data is None and i < eval_batches:
                    check(lib.oq_tuner_add_eval(self.h, f.n, f.refs, byref(err)), err)
                n_cal += 1
            if eval_data is not None:
                for i, batch in enumerate(_batches(eval_data)):
                    f = Feeds(batch, what=f"evaluation batch {i}")
                    check(lib.oq_tuner_add_eval(self.h, f.n, f.refs, byref(err)), err)
        except BaseException:
            self.close()
            raise

    def close(self):
        if self.h:
            lib.oq_tuner_free(self.h)
            self.h = c_void_p()
        if self.own:
            self.model.close()
            self.own = False


def sensitivity(model, data, eval_data=None, *, eval_batches: int = 4, metric=None, metric_top: int = 10,
                **quantize_options) -> SensitivityReport:
    """Rank the layers by how much they move the outputs when quantized, as `onnxq sensitivity`: calibrate on
    data once, then for every quantized layer measure the output SQNR (vs FP32, on the evaluation batches) with
    only that layer in float and with only that layer quantized.

    data / eval_data  batches as quantize()'s data; eval_data None: the first eval_batches batches of data
    metric            optional callable(model_path) -> number, higher is better: also measured on the FP32
                      model, the fully quantized one, and with each of the metric_top first ranked layers alone in
                      float (metric_top=None: every layer; each is one call of the metric)
    quantize_options  quantize()'s options (method, per_channel, config, skip, bits, ...)
    """
    opts = QuantOptions(**quantize_options)
    if metric_top is not None and (isinstance(metric_top, bool) or not isinstance(metric_top, int) or metric_top < 0):
        raise ValueError(f"metric_top must be an int >= 0 or None (every layer), not {metric_top!r}")
    m = _Metric(metric) if metric is not None else None
    t = _Tuner(model, data, eval_data, eval_batches, opts)
    try:
        err = Error()
        out = ctypes.POINTER(Sensitivity)()
        st = lib.oq_tuner_sensitivity(t.h, m.c if m else MetricFn(), None, -1 if metric_top is None else metric_top,
                                      byref(out), byref(err))
        if m:
            m.reraise()
        check(st, err)
        S = out.contents
        layers = tuple(LayerSensitivity(node=_str(L.node), op=_str(L.op), float_gain_db=L.float_gain_db,
                                        alone_sqnr_db=L.alone_sqnr_db, metric=_num(L.metric))
                       for L in (S.layers[i] for i in range(S.n_layers)))
        return SensitivityReport(sqnr_db=S.sqnr_db, cosine=S.cosine, metric_fp32=_num(S.metric_fp32),
                                 metric=_num(S.metric), layers=layers)
    finally:
        t.close()


def tune(model, output, data, eval_data=None, *, metric=None, max_loss: float = 1.0, max_steps: int = 30,
         time_budget: float | None = None, int16: bool = False, eval_batches: int = 4, log=None,
         **quantize_options) -> TuneResult:
    """Search a quantization config that meets an accuracy target and write the best model found to output,
    as `onnxq tune`: the starting config, each activation algorithm (with per-channel weights too), the first and
    last layer in float, the shortest prefix of the sensitivity ranking in float, those layers quantized again
    where the target holds, and with int16=True int16 instead of float for the layers set aside.

    metric       callable(model_path) -> number, higher is better (None: cosine similarity of the outputs to
                 FP32 on the evaluation batches); loss = |metric - metric_fp32| / |metric_fp32| x 100
    max_loss     the target loss in percent; max_steps: evaluations spent setting layers aside (and on int16);
                 time_budget: seconds, None for none
    log          callable(str) receiving each line the search prints, or True to print them
    quantize_options  quantize()'s options; method is the starting activation algorithm

    Returns a TuneResult whether or not the target was met (see target_met).
    """
    output = os.fspath(output)
    opts = QuantOptions(**quantize_options)
    if not isinstance(int16, bool):
        raise TypeError(f"int16 must be True or False, not {int16!r}")
    to = lib.oq_tune_options_default()
    if isinstance(max_loss, bool) or not isinstance(max_loss, numbers.Real) or not max_loss >= 0:
        raise ValueError(f"max_loss must be a number >= 0 (percent), not {max_loss!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
        raise ValueError(f"max_steps must be an int >= 0, not {max_steps!r}")
    if time_budget is not None and (isinstance(time_budget, bool) or not isinstance(time_budget, numbers.Real)
                                    or not time_budget > 0):
        raise ValueError(f"time_budget must be a number of seconds > 0 or None, not {time_budget!r}")
    to.max_loss, to.max_steps, to.time_budget, to.try_int16 = float(max_loss), max_steps, float(time_budget or 0), int16
    m = _Metric(metric) if metric is not None else None
    lg = _Log(log) if log is not None else None
    if m:
        to.metric = m.c
    if lg:
        to.log = lg.c
    t = _Tuner(model, data, eval_data, eval_batches, opts)
    try:
        err = Error()
        out = ctypes.POINTER(_CTuneResult)()
        st = lib.oq_tuner_run(t.h, byref(to), output.encode(), byref(out), byref(err))
        if m:
            m.reraise()
        if lg:
            lg.reraise()
        check(st, err)
        R = out.contents
        steps = tuple(TuneStep(what=_str(s.what), metric=s.metric, loss=s.loss, sqnr_db=s.sqnr_db, kept=bool(s.kept))
                      for s in (R.steps[i] for i in range(R.n_steps)))
        return TuneResult(path=output, target_met=bool(R.target_met), metric_fp32=R.metric_fp32, metric=R.metric,
                          loss=R.loss, float_layers=tuple(_str(R.float_layers[i]) for i in range(R.n_float)),
                          int16_layers=tuple(_str(R.int16_layers[i]) for i in range(R.n_int16)), steps=steps,
                          evaluations=R.evaluations, seconds=R.seconds, config=json.loads(_str(R.config_json)),
                          report=_str(R.report_md))
    finally:
        t.close()


__all__ = ["compare", "CompareReport", "LayerComparison", "sensitivity", "SensitivityReport", "LayerSensitivity",
           "tune", "TuneResult", "TuneStep", "loss_percent"]
