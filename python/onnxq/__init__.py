"""onnxq: post-training quantization of ONNX models and an INT8 runtime, from Python.

A thin layer over the C library libonnxq (ctypes; built by `pip install .`): nothing is computed in Python.

    import numpy as np, onnxq

    m = onnxq.Model("cls.onnx")                       # load (and check) an ONNX model
    print(m.inputs)                                   # name, numpy dtype, shape (None / str for symbolic dims)
    y = m.run({"x": np.zeros((1, 3, 48, 192), np.float32)})   # {output name: numpy array}

    def batches():                                    # or an ONNX Runtime CalibrationDataReader
        for _ in range(8):
            yield {"x": np.random.rand(1, 3, 48, 192).astype(np.float32)}

    r = onnxq.quantize("cls.onnx", "cls.int8.onnx", batches(), method="percentile")
    print(r.batches, r.samples, r.size)

    def accuracy(model_path):                         # any metric: a path in, a number out
        ...
    t = onnxq.tune("cls.onnx", "cls.tuned.onnx", batches(), metric=accuracy, max_loss=0.5, int16=True)
    print(t.target_met, t.loss, t.float_layers, t.int16_layers)   # also onnxq.compare / onnxq.sensitivity

Every error the library reports raises onnxq.OnnxqError (a RuntimeError) carrying its message.
"""
from ._lib import OnnxqError
from .analyse import (CompareReport, LayerComparison, LayerSensitivity, SensitivityReport, TuneResult, TuneStep,
                      compare, loss_percent, sensitivity, tune)
from .model import Model, Session, TensorInfo
from .quantize import QuantizeResult, quantize

__version__ = "0.1.0"

__all__ = ["Model", "Session", "TensorInfo", "quantize", "QuantizeResult", "OnnxqError", "compare", "CompareReport",
           "LayerComparison", "sensitivity", "SensitivityReport", "LayerSensitivity", "tune", "TuneResult",
           "TuneStep", "loss_percent", "__version__"]
