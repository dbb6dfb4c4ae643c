#!/usr/bin/env python
"""Where do a model's weights lose quality? Two measurements per clip:

1. Intra rate-distortion: the first frame coded as an I-frame at each quality (real
   streams: bpp from the coded bytes). A top quality that doubles the bits for a few
   tenths of a dB shows the transforms saturating.
2. Error propagation in a GOP: the encoder's reconstruction of the first ``--frames``
   frames (low delay, one I-frame then P-frames), PSNR-YUV of the I-frame, of P-frames 1-3
   and of P-frames 16 and later.

Writes ``benchmarks/results/diagnose.{json,md}`` (``--out`` to change).

    python benchmarks/diagnose.py [CLIP ...] [--model flavc] [--weights W] [--frames 33]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

DEFAULT_CLIPS = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "eval", "video"))


def _mean(xs: list[float]) -> float | None:
    return float(np.mean(xs)) if xs else None


def diagnose_clip(path: str, model: str, weights: str | None, qualities, frames: int) -> dict:
    from flavc_codec.codec import encode_file
    from flavc_codec.io.reader import read_frames
    from flavc_codec.yuv import psnr_yuv

    info, ref = read_frames(path, max_frames=frames)
    w, h = info.width, info.height
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for q in qualities:
            stream, recon = os.path.join(tmp, "s.flv"), os.path.join(tmp, "r.y4m")
            common = {"quality": q, "device": "cpu", "model": model, "weights": weights,
                      "progress": False}  # fmt: skip
            st = encode_file(path, stream, intra_period=32, frames=frames, recon=recon, **common)
            _, dec = read_frames(recon)
            p = [psnr_yuv(a, b)[3] for a, b in zip(ref, dec, strict=True)]
            i_stream = os.path.join(tmp, "i.flv")
            st1 = encode_file(path, i_stream, intra_period=1, frames=1, **common)
            rows.append(
                {
                    "quality": q,
                    "intra_bpp": st1.bytes * 8 / (w * h),
                    "intra_psnr": p[0],
                    "gop_bpp": st.bytes * 8 / (w * h * len(ref)),
                    "p1_3_psnr": _mean(p[1:4]),
                    "p16_psnr": _mean(p[16:]),
                    "per_frame": [round(v, 3) for v in p],
                }
            )
    return {
        "clip": os.path.basename(path),
        "size": [w, h],
        "frames": len(ref),
        "qualities": rows,
    }


def to_markdown(res: dict) -> str:
    def f(v, d=2):
        return "-" if v is None else f"{v:.{d}f}"

    out = [
        "# Where the weights lose quality",
        "",
        f"model {res['model']}, weights {res['weights_hash']}, first {res['frames']} frames, "
        "intra period 32, CPU. PSNR-YUV (6Y+U+V)/8 in dB. `I`: first frame coded alone. "
        "`P1-3` / `P16+`: mean PSNR of those P-frames in the GOP.",
        "",
        "| clip | size | q | I bpp | I PSNR | GOP bpp | P1-3 PSNR | P16+ PSNR |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in res["clips"]:
        for r in c["qualities"]:
            out.append(
                f"| {c['clip']} | {c['size'][0]}x{c['size'][1]} | {r['quality']} "
                f"| {f(r['intra_bpp'], 3)} | {f(r['intra_psnr'])} "
                f"| {f(r['gop_bpp'], 3)} | {f(r['p1_3_psnr'])} | {f(r['p16_psnr'])} |"
            )
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "clips", nargs="*", help=f"video files (default: every clip in {DEFAULT_CLIPS})"
    )
    ap.add_argument("--model", default="flavc")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--frames", type=int, default=33)
    ap.add_argument("--qualities", default="0,32,63")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "diagnose"))
    a = ap.parse_args()
    import torch

    from flavc_codec.models.flavc import default_weights_path, weights_hash

    if a.threads:
        torch.set_num_threads(a.threads)
    clips = a.clips or sorted(glob.glob(os.path.join(DEFAULT_CLIPS, "*")))
    if not clips:
        print(f"error: no clips given and none in {DEFAULT_CLIPS}", file=sys.stderr)
        return 2
    qs = [int(q) for q in a.qualities.split(",")]
    res = {
        "model": a.model,
        "weights_hash": weights_hash(a.weights or default_weights_path(a.model)),
        "frames": a.frames,
        "clips": [],
    }
    for c in clips:
        print(f"{os.path.basename(c)} ...", flush=True)
        res["clips"].append(diagnose_clip(c, a.model, a.weights, qs, a.frames))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out + ".json", "w") as fh:
        json.dump(res, fh, indent=1)
    md = to_markdown(res)
    with open(a.out + ".md", "w") as fh:
        fh.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
