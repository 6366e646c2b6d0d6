#!/usr/bin/env python3
"""CTest driver of the Python package's tests (tests/py.cmake, test python/package).

usage: run_tests.py --build-dir BUILD --work DIR [--cli BUILD/onnxq] [--asan] [-- PYTEST ARGS]

  1. `pip install --no-build-isolation --no-deps --target DIR/site REPO`: the real packaging path (pyproject.toml
     + setup.py's CMake build step), with ONNXQ_BUILD_DIR=BUILD so the library comes from the tree CTest runs
     from (already built: the step is a no-op build plus a copy) instead of a second compile. No network: the
     interpreter's own setuptools, wheel and numpy are used (tools/requirements.txt).
  2. pytest on tests/python with DIR/site first on PYTHONPATH, so `import onnxq` is the installed package
     (test_model.py checks it); ONNXQ_CLI names the onnxq executable for the CLI-equivalence test.
--asan: BUILD is an ONNXQ_SANITIZE build; the library is loaded into a plain Python through ctypes, so the ASan
runtime is LD_PRELOADed (leak detection off: the interpreter itself keeps memory at exit on purpose; the C API's
own paths run under LeakSanitizer in tests/unit/test_quant_api.c), and the RSS tests run in a second pytest with
ASan's quarantine off.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cli")
    ap.add_argument("--asan", action="store_true")
    ap.add_argument("pytest_args", nargs="*")
    a = ap.parse_args()
    site = os.path.join(os.path.abspath(a.work), "site")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)

    env = dict(os.environ, ONNXQ_BUILD_DIR=os.path.abspath(a.build_dir), ONNXQ_BUILD_JOBS="2")
    env.pop("ONNXQ_LIB", None)
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-build-isolation",
           "--no-deps", "--no-cache-dir", "-q", "--target", site, REPO]
    t0 = time.time()
    print("+", " ".join(cmd), flush=True)
    r = subprocess.run(cmd, env=env)
    if r.returncode:
        print(f"run_tests: pip install failed ({r.returncode})")
        return 1
    print(f"run_tests: installed into {site} in {time.time() - t0:.1f} s", flush=True)

    env = dict(os.environ, PYTHONPATH=site + os.pathsep + os.environ.get("PYTHONPATH", ""),
               ONNXQ_EXPECT_PACKAGE_DIR=os.path.join(site, "onnxq"), PYTHONDONTWRITEBYTECODE="1")
    env.pop("ONNXQ_LIB", None)
    if a.cli:
        env["ONNXQ_CLI"] = os.path.abspath(a.cli)
    if a.asan:
        cc = os.environ.get("CC", "cc")
        libasan = subprocess.run([cc, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
        if not os.path.isabs(libasan):
            print(f"run_tests: --asan: {cc} does not know libasan.so")
            return 1
        env["LD_PRELOAD"] = libasan
        # last wins in ASAN_OPTIONS: detect_leaks=0 goes after the caller's (tools/test.sh sets detect_leaks=1),
        # as LeakSanitizer would report the Python interpreter's and onnxruntime's own process-lifetime blocks
        env["ASAN_OPTIONS"] = ":".join(o for o in (os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0") if o)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", HERE] + a.pytest_args
    if not a.asan:
        print("+", " ".join(cmd), flush=True)
        return subprocess.run(cmd, env=env, cwd=a.work).returncode
    # Under ASan, freed blocks sit in its quarantine (256 MiB), so RSS grows by design: every test but the RSS
    # ones runs with the quarantine (use-after-free detection), then the RSS ones without it.
    rss = "memory_growth or frees"
    rc = 0
    for k, opts in ((f"not ({rss})", ""), (rss, "quarantine_size_mb=0:")):
        e = dict(env, ASAN_OPTIONS=env["ASAN_OPTIONS"] + (":" + opts.rstrip(":") if opts else ""))
        c = cmd + ["-k", k]
        print("+ ASAN_OPTIONS=" + e["ASAN_OPTIONS"], " ".join(c), flush=True)
        rc |= subprocess.run(c, env=e, cwd=a.work).returncode
    return rc


if __name__ == "__main__":
    sys.exit(main())
