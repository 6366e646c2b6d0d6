#!/usr/bin/env python3
"""Put the ONNX backend node tests (onnx/backend/test/data/node/test_*) into a cache directory.

usage: fetch_onnx_node_tests.py [DEST] [--force] [--print-dir]

DEST defaults to ${XDG_CACHE_HOME:-~/.cache}/onnxq/onnx_node. Nothing is written into the repository.

Source, in order of preference:
  1. the installed onnx wheel's onnx/backend/test/data/node (older wheels ship it): copied as is;
  2. otherwise (recent wheels, e.g. onnx 1.23, drop the data files) the case definitions the wheel does ship,
     onnx/backend/test/case/node/*.py, are run the same way ONNX's own `backend-test-tools generate-data`
     produces the data directory. Their inputs come from np.random, which is seeded here (seed 0) so the
     result is the same on every machine for a given onnx + numpy version.

DEST/VERSION records the onnx version, the numpy version and the source; when it already matches, the
script does nothing (idempotent). Otherwise it builds the tree in a temporary sibling directory and swaps
it in, so an interrupted run never leaves a half-written cache.

Only numpy and onnx are needed. Run with the interpreter given to CMake as ONNXQ_PYTHON.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import warnings

SEED = 0


def default_dest() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "onnxq", "onnx_node")


def wheel_node_dir() -> str:
    import onnx

    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")


def version_line() -> str:
    import numpy as np
    import onnx

    src = wheel_node_dir()
    if os.path.isdir(src) and any(n.startswith("test_") for n in os.listdir(src)):
        how = "copied from %s" % src
    else:
        how = "generated from onnx.backend.test.case.node with np.random.seed(%d)" % SEED
    return "onnx==%s numpy==%s source: %s\n" % (onnx.__version__, np.__version__, how)


def copy_from_wheel(src: str, tmp: str) -> int:
    n = 0
    for name in sorted(os.listdir(src)):
        if name.startswith("test_") and os.path.isdir(os.path.join(src, name)):
            shutil.copytree(os.path.join(src, name), os.path.join(tmp, name))
            n += 1
    return n


def _write_value(path: str, value, vi) -> None:
    # Mirrors onnx/backend/test/cmd_tools.py generate_data(): non-tensor values (sequence/optional/map)
    # are serialized with numpy_helper so the directory is byte-compatible with ONNX's own.
    from onnx import TensorProto, numpy_helper

    t = vi.type
    if t.HasField("map_type"):
        msg = numpy_helper.from_dict(value, vi.name)
    elif t.HasField("sequence_type"):
        msg = numpy_helper.from_list(value, vi.name)
    elif t.HasField("optional_type"):
        msg = numpy_helper.from_optional(value, vi.name)
    elif isinstance(value, TensorProto):
        msg = value
    else:
        msg = numpy_helper.from_array(value, vi.name)
    with open(path, "wb") as f:
        f.write(msg.SerializeToString())


def generate(tmp: str) -> int:
    import numpy as np

    np.random.seed(SEED)
    with warnings.catch_warnings():
        # The case modules deliberately divide by zero, overflow, etc. to build their expected outputs.
        warnings.simplefilter("ignore")
        import onnx.backend.test.case.node as node_cases

        cases = node_cases.collect_testcases()
    n = 0
    for case in cases:
        d = os.path.join(tmp, case.name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        g = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, "test_data_set_%d" % i)
            os.makedirs(ds)
            for j, v in enumerate(inputs):
                _write_value(os.path.join(ds, "input_%d.pb" % j), v, g.input[j])
            for j, v in enumerate(outputs):
                _write_value(os.path.join(ds, "output_%d.pb" % j), v, g.output[j])
        n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dest", nargs="?", default=default_dest())
    ap.add_argument("--force", action="store_true", help="rebuild even if DEST/VERSION matches")
    ap.add_argument("--print-dir", action="store_true", help="print DEST and exit")
    args = ap.parse_args()
    dest = os.path.abspath(args.dest)
    if args.print_dir:
        print(dest)
        return 0

    want = version_line()
    vfile = os.path.join(dest, "VERSION")
    if not args.force and os.path.isfile(vfile):
        with open(vfile) as f:
            if f.read() == want:
                print("%s: up to date (%s)" % (dest, want.strip()))
                return 0

    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".onnx_node.", dir=parent)
    try:
        src = wheel_node_dir()
        if want.split("source: ")[1].startswith("copied"):
            n = copy_from_wheel(src, tmp)
        else:
            n = generate(tmp)
        if n == 0:
            print("error: no node test cases found (onnx installed at %s)" % os.path.dirname(src), file=sys.stderr)
            return 1
        with open(os.path.join(tmp, "VERSION"), "w") as f:
            f.write(want)
        old = None
        if os.path.exists(dest):
            old = dest + ".old.%d" % os.getpid()
            os.rename(dest, old)
        os.rename(tmp, dest)
        tmp = None
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%s: %d cases (%s)" % (dest, n, want.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
