"""onnxq.Model and onnxq.Session: load an ONNX model with libonnxq and run it on numpy arrays."""
from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from ._lib import (Error, Feeds, OnnxqError, TensorRef, byref, c_void_p, check, check_code, dtype_name, lib,
                   numpy_dtype, to_numpy)


@dataclass(frozen=True)
class TensorInfo:
    """A declared graph input or output. `dtype` is the numpy dtype (None for types numpy lacks, e.g.
    bfloat16; `onnx_type` always names it); `shape` is a tuple of ints, with the symbolic name (str) or None
    for dims that are not fixed, or None when the rank itself is unknown."""
    name: str
    dtype: np.dtype | None
    shape: tuple | None
    onnx_type: str


def _threads_arg(threads) -> int:
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise TypeError(f"threads must be an int or None, not {type(threads).__name__}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1 (or None for every CPU), not {threads}")
    return threads


class Model:
    """An ONNX model loaded by libonnxq (graph passes applied, every op checked at load time).

        m = onnxq.Model("cls.onnx")
        m.inputs                      # (TensorInfo(name='x', dtype=float32, shape=(None, 3, 48, 192), ...),)
        out = m.run({"x": x})         # {"softmax_0.tmp_0": array(...)}, arrays owned by Python

    Errors raise onnxq.OnnxqError with the library's message. Use as a context manager, or call close(), to
    free the C model deterministically; otherwise it is freed with the object.
    """

    def __init__(self, path):
        path = os.fspath(path)
        if not isinstance(path, str):
            raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
        self.path = path
        self._h = None
        self._sessions: dict[int, _SessionHandle] = {}
        self._all_sessions = weakref.WeakSet()
        h = c_void_p()
        err = Error()
        check(lib.oq_model_load(path.encode(), byref(h), byref(err)), err)
        self._h = h
        self.inputs = tuple(self._info(i, True) for i in range(lib.oq_model_num_inputs(h)))
        self.outputs = tuple(self._info(i, False) for i in range(lib.oq_model_num_outputs(h)))

    def _info(self, i: int, is_input: bool) -> TensorInfo:
        r = TensorRef()
        check_code((lib.oq_model_input if is_input else lib.oq_model_output)(self._h, i, byref(r)),
                   f"{self.path}: {'input' if is_input else 'output'} {i}")
        if r.ndim < 0:
            shape = None
        else:
            dims = []
            for d in range(r.ndim):
                if r.dims[d] >= 0:
                    dims.append(int(r.dims[d]))
                else:
                    p = lib.oq_model_input_dim_param(self._h, i, d) if is_input else None
                    dims.append(p.decode("utf-8", "replace") if p else None)
            shape = tuple(dims)
        return TensorInfo(r.name.decode("utf-8", "replace"), numpy_dtype(r.dtype), shape, dtype_name(r.dtype))

    def _handle(self):
        if self._h is None:
            raise ValueError(f"onnxq.Model({self.path!r}) is closed")
        return self._h

    def session(self, threads=None) -> "Session":
        """A new session (execution plan, arena, thread pool) on this model; threads None = every CPU."""
        return Session(self, threads)

    def run(self, feeds, threads=None) -> dict:
        """Run the model once: feeds {input name: array} (every input, the declared dtype and rank); returns
        {output name: array} in graph order, copied into arrays Python owns. Reuses one session per thread
        count, so repeated calls do not re-plan unless input shapes change."""
        n = _threads_arg(threads)
        s = self._sessions.get(n)
        if s is None:
            # held by the model, not holding it (no reference cycle): freed by close() or with the model
            s = self._sessions[n] = _SessionHandle(self._handle(), n)
        return s.run(self, feeds)

    def close(self) -> None:
        """Free the C model and every session made on it (idempotent)."""
        for s in list(self._all_sessions) + list(self._sessions.values()):
            s.close()
        self._sessions.clear()
        h, self._h = self._h, None
        if h is not None:
            lib.oq_model_free(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone already
            pass

    def __repr__(self):
        return f"onnxq.Model({self.path!r}, inputs={[i.name for i in self.inputs]}, " \
               f"outputs={[o.name for o in self.outputs]})"


class _SessionHandle:
    """One oq_session and the lock that serializes calls on it."""

    def __init__(self, model_handle, threads: int):
        self._h = None
        self._lock = threading.Lock()
        opt = lib.oq_session_options_default()
        opt.num_threads = threads
        h = c_void_p()
        err = Error()
        check(lib.oq_session_create(model_handle, byref(opt), byref(h), byref(err)), err)
        self._h = h

    def run(self, model: "Model", feeds) -> dict:
        f = Feeds(feeds)
        err = Error()
        with self._lock:
            if self._h is None:
                raise ValueError(f"the session on onnxq.Model({model.path!r}) is closed")
            check(lib.oq_session_run(self._h, f.n, f.refs, byref(err)), err)
            out = {}
            for i in range(lib.oq_session_num_outputs(self._h)):
                r = TensorRef()
                check_code(lib.oq_session_output(self._h, i, byref(r)), f"{model.path}: output {i}")
                name = r.name.decode("utf-8", "replace") if r.name else model.outputs[i].name
                out[name] = to_numpy(r, f"{model.path}: output '{name}'")
        return out

    def close(self) -> None:
        with self._lock:
            h, self._h = self._h, None
            if h is not None:
                lib.oq_session_free(h)

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


class Session:
    """Runs a Model. Holds the execution plan, so runs with the same input shapes reuse it. Calls on one
    session are serialized (a lock); use one session per thread to run in parallel. Keeps its model alive;
    Model.close() closes it too."""

    def __init__(self, model: Model, threads=None):
        if not isinstance(model, Model):
            raise TypeError(f"model must be an onnxq.Model, not {type(model).__name__}")
        self.model = model
        self._s = _SessionHandle(model._handle(), _threads_arg(threads))
        model._all_sessions.add(self)

    def run(self, feeds) -> dict:
        """See Model.run."""
        return self._s.run(self.model, feeds)

    def close(self) -> None:
        self._s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = ["Model", "Session", "TensorInfo", "OnnxqError"]
