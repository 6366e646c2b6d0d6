#!/usr/bin/env python3
"""Guard for OQ_OPSET_MAX: every op in src/ops/registry.c must have had each of its ONNX revisions up to
OQ_OPSET_MAX reviewed (listed in REVIEWED below, with what changed). Fails, naming the op and version, when
the installed onnx wheel knows a revision that is not in the list, so raising OQ_OPSET_MAX or upgrading onnx
forces a look at what changed.

  python tools/check_op_versions.py [--repo .]
"""
import argparse
import os
import re
import sys

from onnx import defs

# Revisions above 21 of registered ops, and why accepting them is safe.
REVIEWED = {
    ("AveragePool", 22): "types", ("Conv", 22): "types", ("ConvTranspose", 22): "types",
    ("Dropout", 22): "types", ("GlobalAveragePool", 22): "types", ("GlobalMaxPool", 22): "types",
    ("HardSigmoid", 22): "types", ("HardSwish", 22): "types", ("MaxPool", 22): "types",
    ("Softplus", 22): "types",
    ("Cast", 23): "types", ("Cast", 24): "round_mode attribute, float8e8m0 only (rejected)",
    ("Cast", 25): "types", ("Cast", 28): "types",
    ("Range", 27): "stash_type attribute, float16/bfloat16 only",
    ("QuantizeLinear", 23): "precision attribute (non-float precision rejected)",
    ("DequantizeLinear", 23): "output_dtype attribute (non-float output rejected)",
}
for op in ("QuantizeLinear", "DequantizeLinear"):
    for v in (24, 25, 28):
        REVIEWED[(op, v)] = "new element types only (float8/int4/int2/float4: rejected)"
for op in ("ConstantOfShape", "Flatten", "Identity", "Pad", "Reshape", "Shape", "Squeeze", "Transpose",
           "Unsqueeze"):
    for v in (23, 24, 25):
        REVIEWED[(op, v)] = "types"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    op_h = open(os.path.join(args.repo, "src/ops/op.h")).read()
    max_opset = int(re.search(r"#define OQ_OPSET_MAX (\d+)", op_h).group(1))
    reg = open(os.path.join(args.repo, "src/ops/registry.c")).read()
    ops = [o for o in re.findall(r"/\* (\w+) \*/", reg)]
    hist = {}
    for s in defs.get_all_schemas_with_history():
        if s.domain == "":
            hist.setdefault(s.name, set()).add(s.since_version)
    bad = []
    for op in ops:
        for v in sorted(hist.get(op, ())):
            if 21 < v <= max_opset and (op, v) not in REVIEWED:
                bad.append(f"{op} opset {v}")
    checked = sum(1 for op in ops for v in hist.get(op, ()) if 21 < v <= max_opset)
    if bad:
        print("unreviewed ONNX revisions of registered ops (check what changed, then add to REVIEWED): "
              + ", ".join(bad))
        print(f"1 failed")
        return 1
    print(f"{len(ops)} registered ops, {checked} revisions above opset 21 up to {max_opset}, all reviewed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
