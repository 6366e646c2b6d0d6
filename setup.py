"""Build step of the Python package (metadata: pyproject.toml): compile libonnxq with CMake and ship it inside
the package, where python/onnxq/_lib.py loads it with ctypes.

    pip install .                       # configure + build the onnxq_shared target, copy libonnxq.so

Where the C library is built:
  - default: build-python/cmake in the repository (Release, tests off), reused by later installs, so a
    reinstall only recompiles what changed; build-python/ also holds setuptools' own build tree;
  - ONNXQ_BUILD_DIR=DIR: an existing (or new) CMake build tree, e.g. the one the tests run from. It is
    configured only when it has no CMakeCache.txt, so its options are kept.
ONNXQ_BUILD_JOBS=N limits the parallel compile jobs (default: every CPU).
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.environ.get("ONNXQ_BUILD_DIR")
BUILD_BASE = os.path.join(os.path.abspath(BUILD_DIR), "python-build") if BUILD_DIR else \
    os.path.join(ROOT, "build-python")


def build_libonnxq() -> str:
    """Configure (if needed) and build libonnxq.so; returns the path of the real file (not the symlink)."""
    cmake = shutil.which("cmake")
    if not cmake:
        raise RuntimeError("onnxq: cmake not found; install the build dependencies (bash tools/setup.sh, or "
                           "apt-get install cmake build-essential pkg-config libprotobuf-c-dev "
                           "protobuf-c-compiler libonnx-dev libcjson-dev libstb-dev libdnnl-dev)")
    bdir = os.path.abspath(BUILD_DIR) if BUILD_DIR else os.path.join(BUILD_BASE, "cmake")
    if not os.path.exists(os.path.join(bdir, "CMakeCache.txt")):
        subprocess.check_call([cmake, "-S", ROOT, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release",
                               "-DONNXQ_BUILD_TESTS=OFF"])
    jobs = os.environ.get("ONNXQ_BUILD_JOBS") or str(os.cpu_count() or 1)
    subprocess.check_call([cmake, "--build", bdir, "--target", "onnxq_shared", "-j", jobs])
    lib = os.path.realpath(os.path.join(bdir, "libonnxq.so"))
    if not os.path.isfile(lib):
        raise RuntimeError(f"onnxq: the CMake build in {bdir} did not produce libonnxq.so")
    return lib


class BuildPyWithLib(build_py):
    def run(self):
        super().run()
        self.copy_file(build_libonnxq(), os.path.join(self.build_lib, "onnxq", "libonnxq.so"))


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform, not py3-none-any."""

    def has_ext_modules(self):
        return True


os.makedirs(BUILD_BASE, exist_ok=True)  # egg_info writes there too, instead of python/onnxq.egg-info
setup(cmdclass={"build_py": BuildPyWithLib}, distclass=BinaryDistribution,
      options={"build": {"build_base": BUILD_BASE}, "egg_info": {"egg_base": BUILD_BASE}})
