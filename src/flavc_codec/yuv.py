"""numpy-only YUV 4:2:0 helpers: frames, padding, cropping, MSE and PSNR.

No torch here: these helpers are used by ``flavc info`` and the I/O layer.
Conventions: 8-bit samples, chroma planes of size ``((H+1)//2, (W+1)//2)``,
PSNR-YUV = (6*PSNR_Y + PSNR_U + PSNR_V) / 8 (DCVC convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "YUVFrame",
    "chroma_size",
    "pad_plane",
    "pad_frame",
    "crop_planes",
    "mse",
    "psnr",
    "psnr_from_mse",
    "psnr_yuv",
    "PSNR_CAP",
]

PSNR_CAP = 100.0


def chroma_size(width: int, height: int) -> tuple[int, int]:
    """Return ``(chroma_width, chroma_height)`` of a 4:2:0 frame."""
    return (width + 1) // 2, (height + 1) // 2


@dataclass
class YUVFrame:
    """One 8-bit 4:2:0 frame at source size."""

    y: np.ndarray  # (H, W) uint8
    u: np.ndarray  # ((H+1)//2, (W+1)//2) uint8
    v: np.ndarray  # ((H+1)//2, (W+1)//2) uint8

    def __post_init__(self) -> None:
        for name in ("y", "u", "v"):
            a = getattr(self, name)
            if not isinstance(a, np.ndarray) or a.ndim != 2:
                raise ValueError(f"YUVFrame.{name} must be a 2-D numpy array")
            if a.dtype != np.uint8:
                raise ValueError(f"YUVFrame.{name} must be uint8, got {a.dtype}")
        h, w = self.y.shape
        cw, ch = chroma_size(w, h)
        if self.u.shape != (ch, cw) or self.v.shape != (ch, cw):
            raise ValueError(
                f"chroma planes must be {(ch, cw)} for luma {(h, w)}, "
                f"got {self.u.shape} and {self.v.shape}"
            )

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @property
    def planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.y, self.u, self.v

    def copy(self) -> YUVFrame:
        return YUVFrame(self.y.copy(), self.u.copy(), self.v.copy())

    def tobytes(self) -> bytes:
        """Planar I420 bytes (Y, then U, then V, each row-major, no padding)."""
        return (
            np.ascontiguousarray(self.y).tobytes()
            + np.ascontiguousarray(self.u).tobytes()
            + np.ascontiguousarray(self.v).tobytes()
        )

    @classmethod
    def frombytes(cls, data: bytes | bytearray | memoryview, width: int, height: int) -> YUVFrame:
        """Inverse of :meth:`tobytes`."""
        cw, ch = chroma_size(width, height)
        ny, nc = width * height, cw * ch
        buf = np.frombuffer(data, dtype=np.uint8)
        if buf.size != ny + 2 * nc:
            raise ValueError(f"expected {ny + 2 * nc} bytes for {width}x{height}, got {buf.size}")
        y = buf[:ny].reshape(height, width).copy()
        u = buf[ny : ny + nc].reshape(ch, cw).copy()
        v = buf[ny + nc :].reshape(ch, cw).copy()
        return cls(y, u, v)

    @classmethod
    def blank(cls, width: int, height: int, y: int = 16, c: int = 128) -> YUVFrame:
        cw, ch = chroma_size(width, height)
        return cls(
            np.full((height, width), y, np.uint8),
            np.full((ch, cw), c, np.uint8),
            np.full((ch, cw), c, np.uint8),
        )


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def pad_plane(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pad a 2-D plane at the bottom/right to ``(height, width)`` by edge replication."""
    h, w = plane.shape
    if height < h or width < w:
        raise ValueError(f"cannot pad {plane.shape} to smaller size {(height, width)}")
    if (h, w) == (height, width):
        return plane
    return np.pad(plane, ((0, height - h), (0, width - w)), mode="edge")


def pad_frame(frame: YUVFrame, multiple: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pad a frame so the luma is a multiple of ``multiple`` (even, >= 2) in both axes.

    Padding is bottom/right edge replication. Chroma is padded to exactly half the padded
    luma size. Returns ``(Y, U, V)``; invert with :func:`crop_planes`.
    """
    if multiple < 2 or multiple % 2:
        raise ValueError("multiple must be an even number >= 2")
    ph, pw = _round_up(frame.height, multiple), _round_up(frame.width, multiple)
    return (
        pad_plane(frame.y, ph, pw),
        pad_plane(frame.u, ph // 2, pw // 2),
        pad_plane(frame.v, ph // 2, pw // 2),
    )


def crop_planes(y: np.ndarray, u: np.ndarray, v: np.ndarray, width: int, height: int) -> YUVFrame:
    """Crop padded planes back to a ``width`` x ``height`` frame (inverse of pad_frame).

    Planes may be any real dtype; they are rounded and clipped to uint8 if not uint8.
    """
    cw, ch = chroma_size(width, height)
    if y.shape[0] < height or y.shape[1] < width or u.shape[0] < ch or u.shape[1] < cw:
        raise ValueError(f"planes {y.shape}/{u.shape} smaller than {width}x{height}")
    if v.shape[0] < ch or v.shape[1] < cw:
        raise ValueError(f"planes {y.shape}/{v.shape} smaller than {width}x{height}")

    def to_u8(a: np.ndarray) -> np.ndarray:
        if a.dtype == np.uint8:
            return np.ascontiguousarray(a)
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)

    return YUVFrame(to_u8(y[:height, :width]), to_u8(u[:ch, :cw]), to_u8(v[:ch, :cw]))


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error between two planes of equal shape (computed in float64)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(d * d))


def psnr_from_mse(m: float, peak: float = 255.0) -> float:
    """PSNR in dB from an MSE; capped at :data:`PSNR_CAP` (100 dB) for m == 0."""
    if m <= 0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10.0 * np.log10(peak * peak / m)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two 8-bit planes; 100 dB for identical planes."""
    return psnr_from_mse(mse(a, b))


def psnr_yuv(a: YUVFrame, b: YUVFrame) -> tuple[float, float, float, float]:
    """Return ``(psnr_y, psnr_u, psnr_v, psnr_yuv)`` with PSNR-YUV = (6Y + U + V) / 8."""
    py, pu, pv = psnr(a.y, b.y), psnr(a.u, b.u), psnr(a.v, b.v)
    return py, pu, pv, (6.0 * py + pu + pv) / 8.0
