#!/usr/bin/env python3
"""Write the seed corpora and dictionaries of the libFuzzer targets (tests/fuzz) from real files.

    tools/fuzz_seeds.py --out build-fuzz/seeds [--onnxq build-fuzz/onnxq] [--models DIR] [--images DIR]

Writes OUT/<target>/* (one seed per file) and OUT/<target>.dict for
  fuzz_onnx_load   small models built with onnx.helper (conv net, shape chain, QDQ, Constant nodes, external
                   data, attributes of many kinds, opset 7 .. 21) and the PaddleOCR cls model from the cache
  fuzz_config      `onnxq config` of the cls model and of the conv model fuzz_config holds in memory, plus
                   hand-written variants (per-layer overrides, tensors, pow2, weights_only)
  fuzz_npy         .npy (v1/v2/v3, every dtype, 0-d, empty, Fortran order, big-endian) and .npz (savez,
                   savez_compressed) written by numpy
  fuzz_image       the real images of ~/.cache/onnxq/images (tools/fetch_images.py) cropped and shrunk to a
                   few KB: PNG (RGB, RGBA, gray, palette, 16-bit), JPEG (baseline, progressive,
                   gray), BMP
  fuzz_preprocess  the specs of src/data/source.h, README.md and eval/export_calib.py, and variants
Nothing here is committed: the corpora are regenerated into the build folder (deterministic output).
"""
import argparse
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CLS = "ch_ppocr_mobile_v2.0_cls_infer.onnx"


def write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def model_bytes(graph, opset=13, ir=None, extra_opsets=()) -> bytes:
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), *extra_opsets],
                          producer_name="fuzz_seeds")
    m.ir_version = ir if ir is not None else min(8, helper.find_min_ir_version_for([m.opset_import[0]]))
    return m.SerializeToString()


def f32(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def i64(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.int64), name)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def conv_net() -> onnx.GraphProto:
    """The graph fuzz_config builds in memory (same node and tensor names)."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu0"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["v"], name="flat"),
        helper.make_node("Gemm", ["v", "Wf"], ["y"], name="fc", transB=1),
    ]
    inits = [f32("W", rng.standard_normal((4, 3, 3, 3)) * 0.3), f32("B", np.zeros(4)),
             f32("Wf", rng.standard_normal((2, 4)) * 0.5)]
    return helper.make_graph(nodes, "conv_net", [vi("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                             [vi("y", TensorProto.FLOAT, [1, 2])], inits)


def onnx_seeds(out: str, models: str) -> None:
    d = os.path.join(out, "fuzz_onnx_load")
    write(f"{d}/conv_net.onnx", model_bytes(conv_net()))
    write(f"{d}/conv_net_opset7.onnx", model_bytes(conv_net(), opset=7, ir=3))

    # Shape -> Gather -> Unsqueeze -> Concat -> Reshape with symbolic dims (plan-time evaluation)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"], name="unsq"),
        helper.make_node("Concat", ["n1", "m1"], ["ns"], name="concat", axis=0),
        helper.make_node("Reshape", ["x", "ns"], ["r"], name="reshape"),
        helper.make_node("Softmax", ["r"], ["y"], name="softmax", axis=-1),
    ]
    g = helper.make_graph(nodes, "shape_chain", [vi("x", TensorProto.FLOAT, ["batch", 3, "h", "w"])],
                          [vi("y", TensorProto.FLOAT, ["batch", None])],
                          [i64("i0", 0), i64("ax", [0]), i64("m1", [-1])])
    write(f"{d}/shape_chain.onnx", model_bytes(g))

    # QDQ: DequantizeLinear -> Conv -> QuantizeLinear (the INT8 lowering path), per-channel weights
    wq = numpy_helper.from_array(np.arange(-36, 36, dtype=np.int8).reshape(8, 1, 3, 3), "wq")
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="qx"),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dqx"),
        helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], name="dqw", axis=0),
        helper.make_node("Conv", ["xd", "wd"], ["c"], name="conv", group=1, strides=[2, 2]),
        helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["cq"], name="qy"),
        helper.make_node("DequantizeLinear", ["cq", "ys", "yz"], ["y"], name="dqy"),
    ]
    inits = [f32("xs", 0.02), numpy_helper.from_array(np.array(128, np.uint8), "xz"), wq,
             f32("ws", np.full(8, 0.01)), numpy_helper.from_array(np.zeros(8, np.int8), "wz"),
             f32("ys", 0.05), numpy_helper.from_array(np.array(0, np.uint8), "yz")]
    g = helper.make_graph(nodes, "qdq", [vi("x", TensorProto.FLOAT, [1, 1, 9, 9])],
                          [vi("y", TensorProto.FLOAT, [1, 8, 4, 4])], inits)
    write(f"{d}/qdq_conv.onnx", model_bytes(g, opset=13))

    # Constant nodes of every form, MatMul/Add/Transpose/Pad/Slice/Resize/Concat, attributes of many kinds
    nodes = [
        helper.make_node("Constant", [], ["k"], name="const_t", value=f32("kv", np.ones((4, 4)))),
        helper.make_node("Constant", [], ["kf"], name="const_f", value_float=0.5),
        helper.make_node("Constant", [], ["ki"], name="const_ints", value_ints=[0, 0, 1, 1, 0, 0, 1, 1]),
        helper.make_node("MatMul", ["x", "k"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "kf"], ["a"], name="add"),
        helper.make_node("Transpose", ["a"], ["t"], name="transpose", perm=[0, 1, 3, 2]),
        helper.make_node("Pad", ["t", "ki"], ["pd"], name="pad", mode="constant"),
        helper.make_node("Slice", ["pd", "st", "en", "axs"], ["sl"], name="slice"),
        helper.make_node("Resize", ["sl", "", "sc"], ["rs"], name="resize", mode="nearest"),
        helper.make_node("MaxPool", ["rs"], ["mp"], name="maxpool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["mp", "mp"], ["y"], name="concat", axis=1),
        helper.make_node("HardSwish", ["y"], ["z"], name="hswish"),
    ]
    inits = [i64("st", [1, 1]), i64("en", [5, 5]), i64("axs", [2, 3]), f32("sc", [1, 1, 2, 2])]
    g = helper.make_graph(nodes, "mixed", [vi("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                          [vi("z", TensorProto.FLOAT, None)], inits,
                          value_info=[vi("a", TensorProto.FLOAT, [1, 2, 4, 4])])
    write(f"{d}/mixed.onnx", model_bytes(g, opset=14))

    # external data (resolves against a folder the fuzzer never has: the error path), typed fields, raw data
    ext = TensorProto()
    ext.name = "E"
    ext.data_type = TensorProto.FLOAT
    ext.dims.extend([2, 2])
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "16")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    typed = helper.make_tensor("T", TensorProto.FLOAT, [2, 2], [1.0, 2.0, 3.0, 4.0])
    nodes = [helper.make_node("Mul", ["x", "E"], ["m"], name="mul"),
             helper.make_node("Add", ["m", "T"], ["y"], name="add")]
    g = helper.make_graph(nodes, "ext", [vi("x", TensorProto.FLOAT, [2, 2])], [vi("y", TensorProto.FLOAT, [2, 2])],
                          [ext, typed])
    write(f"{d}/external_data.onnx", model_bytes(g))
    g = helper.make_graph([nodes[1]], "typed", [vi("m", TensorProto.FLOAT, [2, 2])],
                          [vi("y", TensorProto.FLOAT, [2, 2])], [typed])
    write(f"{d}/typed_fields.onnx", model_bytes(g, opset=21, ir=10))

    # an unsupported op and an int64 input (error paths and integer inputs)
    nodes = [helper.make_node("Cast", ["i"], ["f"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["f"], ["y"], name="rmean", keepdims=0)]
    g = helper.make_graph(nodes, "ints", [vi("i", TensorProto.INT64, [3, "n"])], [vi("y", TensorProto.FLOAT, [])])
    write(f"{d}/int_input.onnx", model_bytes(g, opset=13))
    g = helper.make_graph([helper.make_node("NotAnOp", ["x"], ["y"], name="bad")], "unsupported",
                          [vi("x", TensorProto.FLOAT, [1])], [vi("y", TensorProto.FLOAT, [1])])
    write(f"{d}/unsupported.onnx", model_bytes(g))

    cls = os.path.join(models, CLS) if models else None
    if cls and os.path.isfile(cls):
        with open(cls, "rb") as f:
            write(f"{d}/cls.onnx", f.read())
    else:
        print(f"fuzz_seeds: {CLS} not found in {models!r}; the ONNX corpus has only the built models",
              file=sys.stderr)


def config_seeds(out: str, onnxq: str | None, models: str | None) -> None:
    d = os.path.join(out, "fuzz_config")
    small = {
        "mode": "static",
        "activation": {"algorithm": "percentile", "bits": 8, "symmetric": False, "percentile": 99.99},
        "weight": {"algorithm": "channel_wise_abs_max", "bits": 8},
        "op_types": ["Conv", "Gemm", "Relu"],
        "skip_layers": ["relu0"],
        "layers": {"conv0": {"quant_enable": True, "activation": {"algorithm": "mse", "hist_bins": 512},
                             "weight": {"bits": 16, "per_channel": False, "algorithm": "abs_max"}},
                   "fc": {"quant_enable": False}},
        "tensors": {"x": {"algorithm": "min_max", "symmetric": True}},
    }
    write(f"{d}/overrides.json", json.dumps(small, indent=1).encode())
    pow2 = {"activation": {"algorithm": "kl", "power_of_two": True, "pow2_range": [-4, 20], "bits": 16},
            "weight": {"power_of_two": True, "pow2_range": [0, 7]}}
    write(f"{d}/pow2.json", json.dumps(pow2).encode())
    write(f"{d}/weights_only.json", json.dumps({"mode": "weights_only", "weight": {"bits": 16},
                                                "version": 1}).encode())
    write(f"{d}/ema.json", json.dumps({"activation": {"algorithm": "moving_average_abs_max", "ema_rate": 0.5},
                                       "tensors": {"c": {"algorithm": "kl_v2"}, "v": {"algorithm": "abs_max"}}})
          .encode())
    write(f"{d}/empty.json", b"{}")
    if not onnxq:
        return
    with tempfile.TemporaryDirectory() as tmp:
        conv = os.path.join(tmp, "conv_net.onnx")
        write(conv, model_bytes(conv_net()))
        targets = [("conv_net", conv)]
        if models and os.path.isfile(os.path.join(models, CLS)):
            targets.append(("cls", os.path.join(models, CLS)))
        for name, path in targets:
            r = subprocess.run([onnxq, "config", path], capture_output=True)
            if r.returncode != 0:
                raise SystemExit(f"fuzz_seeds: `onnxq config {path}` failed: {r.stderr.decode()}")
            write(f"{d}/onnxq_config_{name}.json", r.stdout)


def npy_bytes(arr, version=None) -> bytes:
    b = io.BytesIO()
    if version is None:
        np.save(b, arr)
    else:
        np.lib.format.write_array(b, arr, version=version)
    return b.getvalue()


def npy_seeds(out: str) -> None:
    d = os.path.join(out, "fuzz_npy")
    rng = np.random.default_rng(1)
    arrays = {
        "f32": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "f16": np.arange(6, dtype=np.float16).reshape(2, 3),
        "i8": np.arange(-4, 4, dtype=np.int8),
        "u8": np.arange(12, dtype=np.uint8).reshape(1, 3, 2, 2),
        "i16": np.arange(3, dtype=np.int16),
        "u16": np.arange(3, dtype=np.uint16),
        "i32": np.arange(4, dtype=np.int32).reshape(2, 2),
        "u32": np.arange(2, dtype=np.uint32),
        "i64": np.array([1, 3, 48, 320], dtype=np.int64),
        "u64": np.arange(2, dtype=np.uint64),
        "bool": np.array([True, False, True]),
        "scalar": np.float32(2.5),
        "empty": np.zeros((0, 3), np.float32),
        "rank8": np.zeros((1,) * 8, np.float32),
    }
    for k, a in arrays.items():
        write(f"{d}/{k}.npy", npy_bytes(np.asarray(a)))
    write(f"{d}/v2.npy", npy_bytes(arrays["f32"], version=(2, 0)))
    write(f"{d}/v3.npy", npy_bytes(arrays["i8"], version=(3, 0)))
    write(f"{d}/fortran.npy", npy_bytes(np.asfortranarray(arrays["i32"])))
    write(f"{d}/bigendian.npy", npy_bytes(arrays["f32"].astype(">f4")))
    for name, fn in (("savez", np.savez), ("savez_compressed", np.savez_compressed)):
        b = io.BytesIO()
        fn(b, x=arrays["f32"], y=arrays["i64"])
        write(f"{d}/{name}.npz", b.getvalue())
    b = io.BytesIO()
    np.savez_compressed(b, x=np.zeros((3, 48, 64), np.float32))  # highly compressible: a real inflate
    write(f"{d}/zeros_compressed.npz", b.getvalue())


def image_seeds(out: str, images: str | None) -> None:
    from PIL import Image

    d = os.path.join(out, "fuzz_image")
    srcs = sorted(f for f in os.listdir(images) if f.lower().endswith((".png", ".jpg", ".jpeg"))) \
        if images and os.path.isdir(images) else []
    if not srcs:
        print(f"fuzz_seeds: no images in {images!r} (tools/fetch_images.py); using a synthetic one",
              file=sys.stderr)
        img = Image.fromarray(np.indices((32, 48)).sum(0).astype(np.uint8) * 4).convert("RGB")
        srcs_imgs = [("synthetic", img)]
    else:
        srcs_imgs = []
        for f in srcs:
            with Image.open(os.path.join(images, f)) as im:
                srcs_imgs.append((os.path.splitext(f)[0], im.convert("RGB")))
    for name, im in srcs_imgs:
        w, h = im.size
        crop = im.crop((w // 3, h // 3, w // 3 + min(40, w - w // 3), h // 3 + min(24, h - h // 3)))
        thumb = im.copy()
        thumb.thumbnail((64, 64))
        variants = {
            "crop.png": (crop, "PNG", {}),
            "thumb.jpg": (thumb, "JPEG", {"quality": 60}),
            "thumb_progressive.jpg": (thumb, "JPEG", {"quality": 50, "progressive": True}),
            "gray.jpg": (crop.convert("L"), "JPEG", {"quality": 70}),
            "gray.png": (crop.convert("L"), "PNG", {}),
            "rgba.png": (crop.convert("RGBA"), "PNG", {}),
            "palette.png": (crop.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG", {}),
            "crop.bmp": (crop, "BMP", {}),
        }
        for suffix, v in variants.items():
            img, fmt, kw = v
            b = io.BytesIO()
            img.save(b, fmt, **kw)
            write(f"{d}/{name}_{suffix}", b.getvalue())
        b = io.BytesIO()
        Image.fromarray((np.asarray(crop.convert("L"), np.uint16) * 257)).save(b, "PNG")  # 16-bit gray
        write(f"{d}/{name}_gray16.png", b.getvalue())
        if len(os.listdir(d)) > 40:
            break


def preprocess_seeds(out: str) -> None:
    d = os.path.join(out, "fuzz_preprocess")
    norm = {"scale": 1 / 255, "mean": 0.5, "std": 0.5, "channel_order": "BGR", "layout": "NCHW"}
    specs = {
        # src/data/source.h
        "source_h": {"x": {"resize": "keep_ratio_pad", "size": [48, 320], "pad_value": 0,
                           "scale": 0.00392156862745098, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                           "channel_order": "BGR", "layout": "NCHW"}},
        # eval/export_calib.py: rec, cls, det
        "rec": {"x": {"resize": "fixed_height_pad", "size": [48, 320], "pad_value": 0, **norm}},
        "cls": {"x": {"resize": "fixed_height_pad", "size": [48, 192], "pad_value": 0, **norm}},
        "det": {"x": {"resize": "stretch", "size": "multiple_of_32", "max_side": 960, **norm}},
        "clas": {"x": {"resize": "short_side_crop", "size": [224, 224], "short_side": 256,
                       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}},
        "two_inputs": {"x": {"size": [32, 32], "channels": 1, "layout": "NHWC"},
                       "y": {"resize": "stretch", "size": [24, 24], "channels": 3}},
    }
    for k, v in specs.items():
        write(f"{d}/{k}.json", json.dumps(v).encode())
    write(f"{d}/empty.json", b"{}")


DICTS = {
    "fuzz_config": [
        "mode", "static", "weights_only", "activation", "weight", "op_types", "skip_layers", "layers", "tensors",
        "version", "algorithm", "bits", "symmetric", "percentile", "ema_rate", "power_of_two", "pow2_range",
        "hist_bins", "per_channel", "quant_enable", "op_type", "min_max", "abs_max", "moving_average_abs_max",
        "mse", "kl", "kl_v2", "channel_wise_abs_max", "conv0", "relu0", "gap", "flat", "fc", "Conv", "Gemm",
        "true", "false", "null", "1e308", "-0", "16",
    ],
    "fuzz_preprocess": [
        "x", "y", "resize", "size", "max_side", "short_side", "channels", "pad_value", "scale", "mean", "std",
        "channel_order", "layout", "stretch", "keep_ratio_pad", "fixed_height_pad", "short_side_crop",
        "multiple_of_32", "RGB", "BGR", "NCHW", "NHWC", "32768", "1e-45", "true",
    ],
    "fuzz_npy": [
        "\\x93NUMPY", "'descr':", "'fortran_order':", "'shape':", "False", "True", "<f4", "<f8", "<f2", "|i1",
        "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "|b1", "PK\\x03\\x04", "PK\\x01\\x02", "PK\\x05\\x06",
        "PK\\x06\\x06", "PK\\x06\\x07", "\\x01\\x00\\x10\\x00", ".npy", "\\xff\\xff\\xff\\xff",
    ],
    "fuzz_onnx_load": [
        "Conv", "Relu", "Gemm", "MatMul", "Add", "Mul", "Reshape", "Shape", "Gather", "Concat", "Slice", "Resize",
        "Pad", "Transpose", "Softmax", "Constant", "QuantizeLinear", "DequantizeLinear", "BatchNormalization",
        "Identity", "Squeeze", "Unsqueeze", "Expand", "ConstantOfShape", "Range", "Split", "Where", "Cast",
        "kernel_shape", "strides", "pads", "dilations", "group", "axis", "axes", "perm", "transB", "value",
        "location", "offset", "length", "ai.onnx", "com.microsoft",
    ],
}


def write_dicts(out: str) -> None:
    for target, words in DICTS.items():
        lines = [f'"{w}"' if "\\x" in w else json.dumps(w) for w in words]
        if target in ("fuzz_config", "fuzz_preprocess"):
            lines += [json.dumps(f'"{w}"') for w in words if w.isidentifier()]
        write(os.path.join(out, f"{target}.dict"), ("\n".join(lines) + "\n").encode())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="corpus root (one folder per fuzz target)")
    ap.add_argument("--onnxq", help="an onnxq binary, for `onnxq config` seeds")
    ap.add_argument("--models", default=os.environ.get("ONNXQ_MODELS") or
                    os.path.join(os.environ.get("ONNXQ_CACHE", os.path.expanduser("~/.cache/onnxq")), "models"))
    ap.add_argument("--images", default=os.path.join(
        os.environ.get("ONNXQ_CACHE", os.path.expanduser("~/.cache/onnxq")), "images"))
    a = ap.parse_args()
    onnx_seeds(a.out, a.models)
    config_seeds(a.out, a.onnxq, a.models)
    npy_seeds(a.out)
    image_seeds(a.out, a.images)
    preprocess_seeds(a.out)
    write_dicts(a.out)
    for t in sorted(os.listdir(a.out)):
        p = os.path.join(a.out, t)
        if os.path.isdir(p):
            files = os.listdir(p)
            print(f"fuzz_seeds: {t}: {len(files)} seeds, "
                  f"{sum(os.path.getsize(os.path.join(p, f)) for f in files) // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
