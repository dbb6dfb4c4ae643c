"""Encode a video with the Python API, decode it back, and compare with the source.

python examples/encode_decode.py INPUT [--quality 32] [--model flavc-light]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

from flavc_codec import decode_file, encode_file
from flavc_codec.io.reader import read_frames
from flavc_codec.yuv import psnr_yuv


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("--quality", type=int, default=32)
    ap.add_argument("--model", default="flavc-light")
    ap.add_argument("--frames", type=int, default=32)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stream, recon = os.path.join(tmp, "out.flv"), os.path.join(tmp, "recon.y4m")
        st = encode_file(a.input, stream, quality=a.quality, model=a.model, frames=a.frames)
        decode_file(stream, recon)
        _, src = read_frames(a.input, max_frames=a.frames)
        _, dec = read_frames(recon)
        p = np.mean([psnr_yuv(s, d)[3] for s, d in zip(src, dec)])
        print(f"{st.frames} frames, {st.bpp:.4f} bpp, PSNR-YUV {p:.2f} dB, encode {st.fps:.2f} fps")


if __name__ == "__main__":
    main()
