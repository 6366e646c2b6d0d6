#!/usr/bin/env python3
"""Fetch the PaddleOCR ONNX models into a cache outside the repo and verify them.

Source, in order: an existing verified cache; ../shared/models beside the repo (a checked copy);
the PyPI wheel rapidocr_onnxruntime==1.4.4 (pip download, unzip rapidocr_onnxruntime/models/).
The shared copy is checked against ../shared/models/SHA256SUMS (pinned below too). The wheel's files are a
different export of the same networks (opset 11/12 instead of 9/11, identical ONNX Runtime outputs), so they
have checksums of their own, pinned below; the wheel carries no ppocr_keys_v1.txt, so the alphabet is taken
from the rec model's `character` metadata and checked against the same pinned checksum.

  python tools/fetch_models.py              # fetch + verify, print the cache dir
  python tools/fetch_models.py --print-dir  # print the cache dir only (no network)
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "rapidocr_onnxruntime==1.4.4"
# Pinned so a fresh machine without ../shared can still verify what it downloaded.
PINNED = {
    "ch_PP-OCRv4_det_infer.onnx": "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
    "ch_PP-OCRv4_rec_infer.onnx": "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
    "ppocr_keys_v1.txt": "28b2362ad4ab2dc38769aa72feb535e3a9ddb3fd2a7585a05920e6393b1dc7f7",
}
WHEEL_SUMS = {
    "ch_PP-OCRv4_det_infer.onnx": "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    "ch_PP-OCRv4_rec_infer.onnx": "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), "shared", "models")


def cache_dir():
    base = os.environ.get("ONNXQ_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "onnxq")
    return os.path.join(base, "models")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expected_sums():
    sums = dict(PINNED)
    path = os.path.join(SHARED, "SHA256SUMS")
    if os.path.exists(path):
        for line in open(path):
            parts = line.split()
            if len(parts) == 2:
                sums[parts[1].lstrip("*")] = parts[0]
    return sums


def verified(d, sums):
    return all(os.path.exists(os.path.join(d, n)) and sha256(os.path.join(d, n)) == s
               for n, s in sums.items())


def cache_ok(d, sums):
    """The cache holds either source, recorded in SOURCE."""
    src = os.path.join(d, "SOURCE")
    if not os.path.exists(src):
        return False
    kind = open(src).read().strip()
    want = dict(sums) if kind == "shared" else dict(WHEEL_SUMS, **{"ppocr_keys_v1.txt": sums["ppocr_keys_v1.txt"]})
    return verified(d, want)


def install(src_files, dst, sums, kind):
    os.makedirs(dst, exist_ok=True)
    for name, src in src_files.items():
        got = sha256(src)
        if got != sums[name]:
            raise SystemExit(f"fetch_models: {src}: sha256 {got} does not match {sums[name]}; "
                             "the source is corrupt or a different version")
        tmp = os.path.join(dst, name + ".tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, os.path.join(dst, name))
    with open(os.path.join(dst, "SOURCE"), "w") as f:
        f.write(kind + "\n")


def from_wheel(sums, dst):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, WHEEL]
        r = subprocess.run(cmd)
        if r.returncode != 0:
            raise SystemExit(f"fetch_models: '{' '.join(cmd)}' failed; check that PyPI is reachable")
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if not wheels:
            raise SystemExit("fetch_models: pip downloaded no wheel")
        files = {}
        with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z:
            for name in WHEEL_SUMS:
                member = "rapidocr_onnxruntime/models/" + name
                try:
                    z.extract(member, tmp)
                except KeyError:
                    raise SystemExit(f"fetch_models: {wheels[0]} has no {member}")
                files[name] = os.path.join(tmp, member)
        keys = os.path.join(tmp, "ppocr_keys_v1.txt")
        with open(keys, "w", encoding="utf-8", newline="") as f:
            f.write(rec_alphabet(files["ch_PP-OCRv4_rec_infer.onnx"]))
        files["ppocr_keys_v1.txt"] = keys
        install(files, dst, dict(WHEEL_SUMS, **{"ppocr_keys_v1.txt": sums["ppocr_keys_v1.txt"]}), "wheel")


def rec_alphabet(path):
    """The `character` metadata entry of RapidOCR's rec model, as ppocr_keys_v1.txt lines."""
    import onnx
    m = onnx.load(path, load_external_data=False)
    for p in m.metadata_props:
        if p.key == "character":
            return p.value  # byte-identical to ppocr_keys_v1.txt (no trailing newline)
    raise SystemExit(f"fetch_models: {path} has no 'character' metadata")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--print-dir", action="store_true", help="print the cache dir and exit")
    ap.add_argument("--from-wheel", action="store_true", help="ignore ../shared/models, use PyPI")
    args = ap.parse_args()
    dst = cache_dir()
    if args.print_dir:
        print(dst)
        return
    sums = expected_sums()
    if args.from_wheel or not cache_ok(dst, sums):
        if not args.from_wheel and os.path.isdir(SHARED) and verified(SHARED, sums):
            install({n: os.path.join(SHARED, n) for n in sums}, dst, sums, "shared")
            print(f"fetch_models: copied from {SHARED}", file=sys.stderr)
        else:
            from_wheel(sums, dst)
            print(f"fetch_models: extracted from PyPI {WHEEL}", file=sys.stderr)
        if not cache_ok(dst, sums):
            raise SystemExit(f"fetch_models: {dst} failed verification after fetching")
    print(dst)


if __name__ == "__main__":
    main()
