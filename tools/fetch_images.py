#!/usr/bin/env python3
"""Fetch a few real photographs into a cache outside the repo, for tests, demos and calibration examples.

The images come from the scikit-image wheel on PyPI (its skimage/data folder: public-domain or CC-licensed
sample images, see scikit-image's data/README), pinned by version and checked by sha256:
  page.png        a scanned page of printed text (grayscale)
  text.png        a photograph of text on a sign (grayscale)
  coffee.png, astronaut.png, chelsea.png, motorcycle_left.png, rocket.jpg, camera.png   general photos

  python tools/fetch_images.py              # fetch + verify, print the cache dir
  python tools/fetch_images.py --print-dir  # print the cache dir only
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "scikit-image==0.26.0"
WHEEL_FILE_PREFIX = "scikit_image-0.26.0-cp311-cp311-manylinux"
IMAGES = {
    "page.png": "341a6f0a61557662b02734a9b6e56ec33a915b2c41886b97509dedf2a43b47a3",
    "text.png": "bd84aa3a6e3c9887850d45d606c96b2e59433fbef50338570b63c319e668e6d1",
    "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    "motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
    "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
    "camera.png": "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
}


def cache_dir():
    base = os.environ.get("ONNXQ_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "onnxq")
    return os.path.join(base, "images")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def verified(d):
    return all(os.path.exists(os.path.join(d, n)) and sha256(os.path.join(d, n)) == s for n, s in IMAGES.items())


def fetch(dst):
    os.makedirs(dst, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # the wheel is platform-specific only for its compiled parts; the data files are the same in all
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--only-binary=:all:",
               "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "-d", tmp, WHEEL]
        if subprocess.run(cmd).returncode != 0:
            raise SystemExit(f"fetch_images: '{' '.join(cmd)}' failed; check that PyPI is reachable")
        wheel = [f for f in os.listdir(tmp) if f.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
            for name, want in IMAGES.items():
                data = z.read("skimage/data/" + name)
                got = hashlib.sha256(data).hexdigest()
                if got != want:
                    raise SystemExit(f"fetch_images: {name} in {wheel} has sha256 {got}, expected {want}")
                tmpf = os.path.join(dst, name + ".tmp")
                with open(tmpf, "wb") as f:
                    f.write(data)
                os.replace(tmpf, os.path.join(dst, name))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--print-dir", action="store_true")
    args = ap.parse_args()
    d = cache_dir()
    if not args.print_dir and not verified(d):
        fetch(d)
        if not verified(d):
            raise SystemExit(f"fetch_images: {d} failed verification")
    print(d)


if __name__ == "__main__":
    main()
