import numpy as np
import pytest
from bench_helpers import make_clip

from flavc_codec.bench.metrics import PSNR_CAP, plane_psnr, psnr_planes, sequence_metrics
from flavc_codec.yuv import YUVFrame


def test_plane_psnr_and_weighting():
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    assert plane_psnr(a, b) == PSNR_CAP
    b[0, 0] = 16  # mse = 16
    assert plane_psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 16))
    fa = YUVFrame(
        np.zeros((4, 4), np.uint8), np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8)
    )
    fb = YUVFrame(
        np.full((4, 4), 1, np.uint8), np.zeros((2, 2), np.uint8), np.full((2, 2), 2, np.uint8)
    )
    y, u, v, yuv = psnr_planes(fa, fb)
    assert yuv == pytest.approx((6 * y + u + v) / 8)


def test_sequence_average_of_frames_and_msssim():
    ref = make_clip(176, 176, 2)
    dec = [YUVFrame(np.clip(f.y.astype(int) + 3, 0, 255).astype(np.uint8), f.u, f.v) for f in ref]
    m = sequence_metrics(ref, dec)
    per = [psnr_planes(r, d)[3] for r, d in zip(ref, dec, strict=False)]
    assert m.psnr_yuv == pytest.approx(np.mean(per))
    assert m.msssim is not None and 0.9 < m.msssim <= 1.0
    small = sequence_metrics(make_clip(64, 48, 1), make_clip(64, 48, 1))
    assert small.msssim is None and "too small" in small.msssim_note
    with pytest.raises(ValueError):
        sequence_metrics(ref, dec[:1])
