"""Generated test clips for the bench tests."""

import numpy as np

from flavc_codec.yuv import YUVFrame


def make_clip(width: int, height: int, n: int, seed: int = 0) -> list[YUVFrame]:
    """A moving textured pattern (smooth gradient + mild noise), n frames."""
    rng = np.random.default_rng(seed)
    H, W = height + 2 * n, width + 2 * n
    yy, xx = np.mgrid[0:H, 0:W]
    base = 128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 6, (H, W))
    base = np.clip(base, 0, 255).astype(np.uint8)
    ch, cw = (height + 1) // 2, (width + 1) // 2
    frames = []
    for i in range(n):
        y = base[i * 2 : i * 2 + height, i : i + width].copy()
        u = np.clip(110 + 20 * np.sin(np.arange(cw)[None, :] / 3.0 + i), 0, 255)
        u = np.repeat(u, ch, axis=0).astype(np.uint8)
        v = np.full((ch, cw), 140 + i, np.uint8)
        frames.append(YUVFrame(y, u, v))
    return frames


def write_y4m(path: str, frames: list[YUVFrame], fps: int = 25) -> str:
    h, w = frames[0].y.shape
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for f in frames:
            fh.write(b"FRAME\n")
            for p in (f.y, f.u, f.v):
                fh.write(np.ascontiguousarray(p).tobytes())
    return path
