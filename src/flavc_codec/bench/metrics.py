"""Quality metrics for benchmarks.

Conventions (state them wherever a number is reported):

* PSNR per plane on 8-bit samples, peak 255. A frame with MSE 0 is given
  ``PSNR_CAP`` (100 dB) so averages stay finite.
* PSNR-YUV = (6 * PSNR_Y + PSNR_U + PSNR_V) / 8 per frame (DCVC convention for
  4:2:0; CompressAI's 4:1:1 weighting is *not* used).
* Sequence values are the **average of per-frame PSNR** (DCVC convention), not the
  PSNR of the average MSE.
* MS-SSIM is computed on Y only with ``pytorch_msssim.ms_ssim`` (data_range=255,
  5 scales, 11x11 Gaussian window). Frames whose shorter side is <= 160 samples are
  too small for 5 scales; for them MS-SSIM is ``None`` and ``msssim_note`` says why
  (no padding, which would change the metric).

Frames are any objects with ``y``, ``u``, ``v`` uint8 arrays (``flavc_codec.yuv.YUVFrame``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

PSNR_CAP = 100.0
MSSSIM_MIN_SIDE = 161  # (win_size - 1) * 2**(scales - 1) + 1 = 10 * 16 + 1

__all__ = [
    "PSNR_CAP",
    "FrameMetrics",
    "SequenceMetrics",
    "plane_psnr",
    "psnr_planes",
    "msssim_y",
    "frame_metrics",
    "sequence_metrics",
]


def plane_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 planes of equal shape (peak 255, capped at 100 dB)."""
    if a.shape != b.shape:
        raise ValueError(f"plane shapes differ: {a.shape} vs {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse <= 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * np.log10(255.0 * 255.0 / mse))


def psnr_planes(a, b) -> tuple[float, float, float, float]:
    """(PSNR_Y, PSNR_U, PSNR_V, PSNR_YUV) for one frame; YUV weighted 6:1:1."""
    py = plane_psnr(a.y, b.y)
    pu = plane_psnr(a.u, b.u)
    pv = plane_psnr(a.v, b.v)
    return py, pu, pv, (6.0 * py + pu + pv) / 8.0


def msssim_y(a, b) -> tuple[float | None, str | None]:
    """MS-SSIM on the luma plane, or (None, reason) when it cannot be computed."""
    h, w = a.y.shape
    if min(h, w) < MSSSIM_MIN_SIDE:
        return None, f"frame {w}x{h} too small for 5-scale MS-SSIM (needs >= {MSSSIM_MIN_SIDE})"
    try:
        import torch
        from pytorch_msssim import ms_ssim
    except Exception as exc:  # pragma: no cover - depends on the environment
        return None, f"pytorch_msssim unavailable: {exc}"
    ta = torch.from_numpy(np.ascontiguousarray(a.y)).to(torch.float32)[None, None]
    tb = torch.from_numpy(np.ascontiguousarray(b.y)).to(torch.float32)[None, None]
    with torch.no_grad():
        val = ms_ssim(ta, tb, data_range=255.0, size_average=True)
    return float(val), None


@dataclass
class FrameMetrics:
    psnr_y: float
    psnr_u: float
    psnr_v: float
    psnr_yuv: float
    msssim: float | None = None


def frame_metrics(ref, dec, with_msssim: bool = True) -> tuple[FrameMetrics, str | None]:
    py, pu, pv, pyuv = psnr_planes(ref, dec)
    ms, note = (None, "MS-SSIM not requested")
    if with_msssim:
        ms, note = msssim_y(ref, dec)
    return FrameMetrics(py, pu, pv, pyuv, ms), note


@dataclass
class SequenceMetrics:
    """Averages of per-frame values over ``frames`` frames (DCVC convention)."""

    frames: int
    psnr_y: float
    psnr_u: float
    psnr_v: float
    psnr_yuv: float
    msssim: float | None
    msssim_note: str | None = None
    per_frame_psnr_yuv: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def sequence_metrics(refs: Sequence, decs: Sequence, with_msssim: bool = True) -> SequenceMetrics:
    """Average per-frame metrics. ``refs`` and ``decs`` must have equal length and sizes."""
    if len(refs) != len(decs):
        raise ValueError(f"frame count differs: {len(refs)} reference vs {len(decs)} decoded")
    if not refs:
        raise ValueError("no frames to measure")
    rows: list[FrameMetrics] = []
    note: str | None = None
    for r, d in zip(refs, decs, strict=True):
        if r.y.shape != d.y.shape:
            raise ValueError(f"frame size differs: {r.y.shape} vs {d.y.shape}")
        fm, n = frame_metrics(r, d, with_msssim=with_msssim)
        rows.append(fm)
        if n is not None:
            note = n
    ms_vals = [m.msssim for m in rows]
    msssim = float(np.mean(ms_vals)) if all(v is not None for v in ms_vals) else None
    return SequenceMetrics(
        frames=len(rows),
        psnr_y=float(np.mean([m.psnr_y for m in rows])),
        psnr_u=float(np.mean([m.psnr_u for m in rows])),
        psnr_v=float(np.mean([m.psnr_v for m in rows])),
        psnr_yuv=float(np.mean([m.psnr_yuv for m in rows])),
        msssim=msssim,
        msssim_note=None if msssim is not None else note,
        per_frame_psnr_yuv=[round(m.psnr_yuv, 4) for m in rows],
    )
