#!/usr/bin/env python
"""Where do a model's weights lose quality? Three measurements per clip:

1. Intra rate-distortion: the first frame coded as an I-frame at each quality (real
   streams: bpp from the coded bytes). A top quality that doubles the bits for a few
   tenths of a dB shows the transforms saturating.
2. Error propagation in a GOP: the encoder's reconstruction of the first ``--frames``
   frames (low delay, one I-frame then P-frames, the encoder's drift guard and I-frame
   refinement off), PSNR-YUV of the I-frame, of P-frames 1-3 and of P-frames 16 and later.
3. The intra transforms without quantization at the top quality: the first frame through
   analysis, that quality's gain and inverse gain (``y * g[q] * ig[q]``, the path a coded
   latent takes, minus the rounding) and synthesis (infinite rate). The inverse gains
   are learned, not 1/g (at q63 the product averages about 0.4), so the latent must go
   through both. When this is no better than the coded top quality (the synthesis is
   tuned to the quantized grid, so it can even be worse), more rate cannot buy quality:
   the limit is the transforms' capacity or training, not the quantizer or the entropy
   model.

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


def unquantized_psnr(frame, model: str, weights: str | None, q: int) -> float:
    """PSNR-YUV of g_s(g_a(x) * g[q] * ig[q]): quality q's latent path without rounding,
    the picture rounded to 8 bits like a decode."""
    import torch

    from flavc_codec.codec import frame_to_tensor, get_model, tensor_to_frame
    from flavc_codec.models.flavc import default_weights_path
    from flavc_codec.yuv import psnr_yuv

    net, _ = get_model(weights or default_weights_path(model), torch.device("cpu"))
    with torch.no_grad():
        y = net.intra.g_a(frame_to_tensor(frame, torch.device("cpu")))
        gains = net.intra.gains
        x_hat, _ = net.intra.g_s(y * (gains.t_g[q] * gains.t_ig[q]).to(y)[None, :, None, None])
    return psnr_yuv(frame, tensor_to_frame(x_hat, frame.width, frame.height))[3]


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
            # drift_guard 0: measure the inter codec's own drift, not the engine's guard;
            # refine_intra 0: the weights as they code, without the encoder's search
            common = {"quality": q, "device": "cpu", "model": model, "weights": weights,
                      "progress": False, "drift_guard": 0.0, "refine_intra": 0}  # fmt: skip
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
        "unquantized_quality": max(qualities),
        "unquantized_psnr": unquantized_psnr(ref[0], model, weights, max(qualities)),
        "qualities": rows,
    }


def to_markdown(res: dict) -> str:
    def f(v, d=2):
        return "-" if v is None else f"{v:.{d}f}"

    out = [
        "# Where the weights lose quality",
        "",
        f"model {res['model']}, weights {res['weights_hash']}, first {res['frames']} frames, "
        "intra period 32, CPU, encoder drift guard and I-frame refinement off. PSNR-YUV "
        "(6Y+U+V)/8 in dB. `I`: first frame coded alone. "
        "`P1-3` / `P16+`: mean PSNR of those P-frames in the GOP. `unquant.`: the first "
        "frame through the intra transforms and the top quality's gain and inverse gain, "
        "the latent left unquantized (infinite rate); near or below the top quality's I "
        "PSNR, more rate buys nothing.",
        "",
        "| clip | size | unquant. | q | I bpp | I PSNR | GOP bpp | P1-3 PSNR | P16+ PSNR |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in res["clips"]:
        for r in c["qualities"]:
            out.append(
                f"| {c['clip']} | {c['size'][0]}x{c['size'][1]} "
                f"| {f(c.get('unquantized_psnr'))} | {r['quality']} "
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
