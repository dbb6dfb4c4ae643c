"""Clip generators shared by the tests (a module with a unique name: ``from conftest import``
is ambiguous once tests/bench/conftest.py is loaded)."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

_SRC = Path(__file__).resolve().parents[1] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from flavc_codec.yuv import YUVFrame, chroma_size  # noqa: E402


def synthetic_frames(width: int, height: int, n: int = 3, seed: int = 0) -> list[YUVFrame]:
    """Deterministic 8-bit 4:2:0 frames: moving gradients plus mild noise."""
    rng = np.random.default_rng(seed)
    cw, ch = chroma_size(width, height)
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = np.mgrid[0:ch, 0:cw]
    out = []
    for t in range(n):
        y = (16 + (xx * 3 + yy * 2 + 7 * t) % 220 + rng.integers(0, 4, (height, width))).astype(
            np.uint8
        )
        u = (64 + (cx * 5 + 3 * t) % 128).astype(np.uint8)
        v = (64 + (cy * 7 + 5 * t) % 128).astype(np.uint8)
        out.append(YUVFrame(y, u, v))
    return out


_DEFAULT_CODEC = {".y4m": "rawvideo", ".mkv": "ffv1", ".mp4": "libx264", ".avi": "mjpeg"}


def _fill(plane, arr: np.ndarray) -> None:
    h, ls = plane.height, plane.line_size
    buf = np.zeros(plane.buffer_size, np.uint8)
    raw = arr.view(np.uint8).reshape(arr.shape[0], -1) if arr.dtype != np.uint8 else arr
    buf[: h * ls].reshape(h, ls)[:, : raw.shape[1]] = raw
    plane.update(buf.tobytes())


def write_clip(
    path,
    frames: list[YUVFrame],
    pix_fmt: str = "yuv420p",
    codec: str | None = None,
    fps: Fraction = Fraction(25),
) -> Path:
    """Write 8-bit frames with PyAV. ``pix_fmt`` yuv420p or yuv420p10le (samples << 2)."""
    import av

    path = Path(path)
    ext = path.suffix.lower()
    codec = codec or _DEFAULT_CODEC[ext]
    w, h = frames[0].width, frames[0].height
    fmt = "yuv4mpegpipe" if ext == ".y4m" else None
    copts = {"strict": "-1"} if ext == ".y4m" and pix_fmt != "yuv420p" else {}
    with av.open(str(path), "w", format=fmt, options=copts) as c:
        opts = {"qp": "0"} if codec == "libx264" else {}
        st = c.add_stream(codec, rate=fps, options=opts)
        st.width, st.height = w, h
        st.pix_fmt = "yuvj420p" if codec == "mjpeg" else pix_fmt
        for i, f in enumerate(frames):
            vf = av.VideoFrame(w, h, st.pix_fmt)
            for p, a in zip(vf.planes, f.planes, strict=True):
                _fill(p, (a.astype("<u2") << 2) if pix_fmt.endswith("10le") else a)
            vf.pts = i
            for pkt in st.encode(vf):
                c.mux(pkt)
        for pkt in st.encode(None):
            c.mux(pkt)
    return path
