"""Pack a training cache (``build_cache`` .npy) into WebP frames, about 10x smaller, and
unpack it again: the way to move training data to a machine that has a GPU but neither
PyAV nor room for raw caches (the lent device machine takes 64 MiB per call).

Each frame is stored as one grayscale WebP image in I420 layout (Y on top, U and V side by
side below). WebP quality 90 costs about 45 dB PSNR on the cache's content, far above the
24-35 dB the codec is trained to reach, so the data barely changes.

    python scripts/pack_cache.py pack cache/train_T5_128.npy devdata/t5 [--start 0 --count N]
    python scripts/pack_cache.py unpack devdata/t5 cache/dev_T5_128.npy [--workers 16]

A pack is a folder: ``frames.bin`` (WebP images back to back), ``index.npy`` (int64 byte
offsets, one more than frames) and ``meta.json`` (cache shape, quality, the cache's own
sidecar). No pickles anywhere.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _i420(f: np.ndarray) -> np.ndarray:
    """Packed (6, h, w) -> one (3h, 2w) plane: Y (2h, 2w) over [U | V]."""
    from flavc_codec.train.data import packed_to_yuv420

    y, u, v = packed_to_yuv420(f)
    return np.concatenate([y, np.concatenate([u, v], axis=1)], axis=0)


def _packed(img: np.ndarray, h: int, w: int) -> np.ndarray:
    from flavc_codec.train.data import _pack_u8

    y, uv = img[: 2 * h], img[2 * h :]
    return _pack_u8(y, uv[:, :w], uv[:, w:])


def _encode(args) -> list[bytes]:
    path, i, quality = args
    seq = np.asarray(np.load(path, mmap_mode="r")[i])
    out = []
    for f in seq:
        b = io.BytesIO()
        Image.fromarray(_i420(f)).save(b, format="WEBP", quality=quality, method=4)
        out.append(b.getvalue())
    return out


def pack(src: Path, dst: Path, start: int, count: int | None, quality: int, workers: int):
    a = np.load(src, mmap_mode="r")
    n = len(a) - start if count is None else min(count, len(a) - start)
    dst.mkdir(parents=True, exist_ok=True)
    offsets = [0]
    with open(dst / "frames.bin", "wb") as fb, ProcessPoolExecutor(workers) as ex:
        jobs = [(str(src), i, quality) for i in range(start, start + n)]
        for imgs in ex.map(_encode, jobs, chunksize=16):
            for b in imgs:
                fb.write(b)
                offsets.append(offsets[-1] + len(b))
    np.save(dst / "index.npy", np.asarray(offsets, dtype=np.int64))
    side = src.with_suffix(".json")
    meta = {
        "shape": [n, *a.shape[1:]],
        "source": str(src),
        "start": start,
        "quality": quality,
        "cache_meta": json.loads(side.read_text()) if side.exists() else None,
    }
    (dst / "meta.json").write_text(json.dumps(meta, indent=1))
    ratio = a[0].nbytes * n / offsets[-1]
    print(f"{dst}: {n} sequences, {offsets[-1] / 2**20:.1f} MiB ({ratio:.1f}x smaller)")


def _decode(args) -> tuple[int, np.ndarray]:
    src, i, T, h, w = args
    idx = np.load(Path(src) / "index.npy", mmap_mode="r")
    with open(Path(src) / "frames.bin", "rb") as fb:
        fb.seek(int(idx[i * T]))
        blob = fb.read(int(idx[(i + 1) * T] - idx[i * T]))
    base = int(idx[i * T])
    seq = []
    for t in range(T):
        a, b = int(idx[i * T + t]) - base, int(idx[i * T + t + 1]) - base
        img = np.asarray(Image.open(io.BytesIO(blob[a:b])).convert("L"))
        seq.append(_packed(img, h, w))
    return i, np.stack(seq)


def unpack(srcs: list[Path], dst: Path, workers: int):
    metas = [json.loads((s / "meta.json").read_text()) for s in srcs]
    shapes = {tuple(m["shape"][1:]) for m in metas}
    if len(shapes) != 1:
        raise SystemExit(f"packs differ in sequence shape: {shapes}")
    T, C, h, w = shapes.pop()
    N = sum(m["shape"][0] for m in metas)
    out = np.lib.format.open_memmap(dst.with_suffix(".part"), "w+", np.uint8, (N, T, C, h, w))
    base = 0
    with ProcessPoolExecutor(workers) as ex:
        for s, m in zip(srcs, metas):
            n = m["shape"][0]
            for i, seq in ex.map(_decode, [(str(s), i, T, h, w) for i in range(n)], chunksize=16):
                out[base + i] = seq
            base += n
    out.flush()
    del out
    Path(dst.with_suffix(".part")).replace(dst)
    dst.with_suffix(".json").write_text(
        json.dumps({"unpacked_from": [str(s) for s in srcs], "packs": metas}, indent=1)
    )
    print(f"{dst}: {N} sequences of {T}x{C}x{h}x{w}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack")
    a.add_argument("src", type=Path)
    a.add_argument("dst", type=Path)
    a.add_argument("--start", type=int, default=0)
    a.add_argument("--count", type=int, default=None)
    a.add_argument("--quality", type=int, default=90)
    a.add_argument("--workers", type=int, default=2)
    b = sub.add_parser("unpack")
    b.add_argument("src", type=Path, nargs="+", help="one or more packs of one shape")
    b.add_argument("dst", type=Path)
    b.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    if args.cmd == "pack":
        pack(args.src, args.dst, args.start, args.count, args.quality, args.workers)
    else:
        unpack(args.src, args.dst, args.workers)


if __name__ == "__main__":
    main()
