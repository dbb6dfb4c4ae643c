#!/usr/bin/env python
"""Would coding some frames at a higher quality than the rest save rate? Hybrid codecs
do this (x264's ipratio; the hierarchical quality of learned low-delay codecs such as
DCVC-DC); a better reference could pay for itself over the P-frames that follow. The
stream format already allows it (each frame carries its quality), so this measures it
before any encoder option is added. Boosted frames (quality q + k, clamped to 63):
the I-frames by default; with ``--key-period N`` instead every N-th P-frame of a GOP
(GOP positions N, 2N, ...; I-frames and the other P-frames stay at q).

For each clip: low delay P, intra period 32 (``--intra-period``), qualities
``--qualities``, each offset of ``--offsets``; BD-rate (cubic, PSNR-YUV) of each
offset's curve against offset 0's. Rate = the size of the stream that ``encode_file``'s
loop writes (container included, as in the eval); PSNR-YUV = mean of per-frame PSNR.
I-frame refinement off (``refine_intra=0``), the drift guard on (``--drift-guard``); with an
I-frame offset the guard compares P-frames with the first P-frame after the I-frame, not
with the (boosted) I-frame, and the I-frames it inserts are coded at the base quality
(GOP positions count from them too). ``--weights``: other weights than the shipped ones;
``--base-weights``: code the reference curve (offset 0) with these instead, and compare
every offset, 0 included, with it (weights trained for an offset against those they would
replace). Default clips: training sources (never the eval clips). Writes
``benchmarks/results/intra_offset.json`` (``key_offset_p<N>.json`` with ``--key-period N``;
``--out`` elsewhere).

    python benchmarks/intra_offset.py [CLIP ...] [--offsets 0,4,8,14] [--frames 96]
    python benchmarks/intra_offset.py --key-period 4 --offsets 0,4,8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

TRAIN = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "train", "video"))
DEFAULT_CLIPS = [
    "container_qcif_1700f_h264conf_LS_SVA_D.264",
    "mobile_calendar_300x168_50f_h264conf_CVFC1.264",
    "nasa_13013_320x180_325f_torchcodec.mp4",
    "davis_tennis_432x240_70f_rgb_ffv1.mkv",
]


def _ints(s: str) -> list[int]:
    return [int(v) for v in s.split(",") if v]


def curve(
    clip: str,
    frames: int,
    model: str,
    offset: int,
    qualities: list[int],
    intra_period: int,
    guard: float,
    key_period: int = 0,
    weights: str | None = None,
) -> list[dict]:
    from flavc_codec.bitstream import FRAME_I
    from flavc_codec.codec import Encoder, encode_with
    from flavc_codec.models.codecs import NUM_QUALITIES

    class OffsetEncoder(Encoder):
        """I-frames at q + offset; with ``key_period`` the encoder's own key P-frames
        (``Encoder(key_period=, key_offset=)``) do the boosting and this only records."""

        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.base, self._p1 = self.quality, None
            self.i_qualities: set[int] = set()  # qualities the I-frames were coded at
            self.p_qualities: set[int] = set()

        def encode(self, frame):
            if not key_period:
                intra = self.is_intra(self.index) or self._ref is None
                if not intra and offset and self._p1 is not None:
                    self._i_psnr = self._p1  # guard against the first P-frame's level
                self.quality = min(NUM_QUALITIES - 1, self.base + offset) if intra else self.base
            chunk, rec, bits = super().encode(frame)
            if chunk.frame_type == FRAME_I:
                self.i_qualities.add(chunk.quality)
                self._p1 = None
            else:
                self.p_qualities.add(chunk.quality)
                # the guard level is only read in I-frame-offset mode
                if not key_period and self._p1 is None and self.last_psnr is not None:
                    self._p1 = self.last_psnr[3]  # last_psnr None: guard off
            return chunk, rec, bits

    points = []
    for q in qualities:
        enc = OffsetEncoder(  # key P-frames: the encoder's; never the weights' default
            model,
            q,
            intra_period,
            "cpu",
            weights,
            refine_intra=0,
            drift_guard=guard,
            key_period=key_period,
            key_offset=offset if key_period else 0,
        )
        with tempfile.TemporaryDirectory() as tmp:
            # encode_file's own loop (stream written by StreamWriter, per-frame PSNR-YUV),
            # with this encoder in place of the one encode_file would build
            st = encode_with(enc, clip, os.path.join(tmp, "s.flavc"), frames, progress=False)
        points.append(
            {
                "quality": q,
                "frames": st.frames,
                "bpp": st.bpp,
                "psnr_yuv": st.psnr_yuv,
                "guard_intra": st.guard_intra,
                "i_qualities": sorted(enc.i_qualities),
                "p_qualities": sorted(enc.p_qualities),
            }
        )
    return points


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--model", default="flavc")
    ap.add_argument("--offsets", type=_ints, default=[0, 4, 8, 14])
    ap.add_argument("--qualities", type=_ints, default=[0, 13, 25, 38, 50, 63])
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--intra-period", type=int, default=32)
    ap.add_argument("--drift-guard", type=float, default=None, help="dB; default the encoder's")
    ap.add_argument(
        "--key-period", type=int, default=0, help="boost every N-th P-frame, not the I-frames"
    )
    ap.add_argument("--weights", default=None, help="weights file; default the shipped ones")
    ap.add_argument(
        "--base-weights",
        default=None,
        help="code the reference curve (offset 0) with these weights instead, so weights "
        "trained for an offset are measured against the weights they would replace",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    if a.key_period < 0:
        ap.error("--key-period must be >= 0")
    if a.out is None:
        name = f"key_offset_p{a.key_period}.json" if a.key_period else "intra_offset.json"
        a.out = os.path.join(HERE, "results", name)
    import torch

    from flavc_codec.bench.bdrate import bd_rate
    from flavc_codec.codec import DRIFT_GUARD_DB

    torch.set_num_threads(a.threads)
    clips = a.clips or [os.path.join(TRAIN, c) for c in DEFAULT_CLIPS]
    if 0 not in a.offsets:
        a.offsets = [0, *a.offsets]
    guard = DRIFT_GUARD_DB if a.drift_guard is None else a.drift_guard
    out = {
        "model": a.model,
        "weights": a.weights,
        "base_weights": a.base_weights,
        "frames": a.frames,
        "intra_period": a.intra_period,
        "key_period": a.key_period,
        "offsets": a.offsets,
        "clips": {},
    }
    for clip in clips:
        args = (a.qualities, a.intra_period, guard, a.key_period)
        curves = {k: curve(clip, a.frames, a.model, k, *args, a.weights) for k in a.offsets}
        if a.base_weights:  # every offset, 0 included, against the other weights' offset 0
            base = curve(clip, a.frames, a.model, 0, *args, a.base_weights)
            curves["base"] = base
            compared = a.offsets
        else:
            base, compared = curves[0], a.offsets[1:]
        bd = {}
        for k in compared:
            c = curves[k]
            bd[k] = bd_rate(
                [p["bpp"] for p in base],
                [p["psnr_yuv"] for p in base],
                [p["bpp"] for p in c],
                [p["psnr_yuv"] for p in c],
            )
        name = os.path.basename(clip)
        out["clips"][name] = {"frames": base[0]["frames"], "curves": curves, "bd_rate_vs_0": bd}
        print(name, {k: None if v is None else round(v, 2) for k, v in bd.items()}, flush=True)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
