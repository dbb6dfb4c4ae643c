import math

import numpy as np
import pytest
from clips import synthetic_frames

from flavc_codec.yuv import (
    YUVFrame,
    crop_planes,
    mse,
    pad_frame,
    psnr,
    psnr_from_mse,
    psnr_yuv,
)


@pytest.mark.parametrize("w,h", [(33, 17), (64, 64), (65, 257), (1, 1), (2, 3)])
def test_pad_crop_roundtrip(w, h):
    f = synthetic_frames(w, h, 1)[0]
    y, u, v = pad_frame(f, 64)
    assert y.shape[0] % 64 == 0 and y.shape[1] % 64 == 0
    assert u.shape == (y.shape[0] // 2, y.shape[1] // 2) == v.shape
    # edge replication
    assert np.all(y[h:, :w] == f.y[-1:, :])
    assert np.all(y[:h, w:] == f.y[:, -1:])
    g = crop_planes(y, u, v, w, h)
    assert g.width == w and g.height == h
    assert all(np.array_equal(a, b) for a, b in zip(f.planes, g.planes, strict=True))


def test_crop_rounds_floats():
    f = synthetic_frames(10, 6, 1)[0]
    y, u, v = (p.astype(np.float32) + 0.3 for p in pad_frame(f, 8))
    g = crop_planes(y, u, v, 10, 6)
    assert np.array_equal(g.y, f.y)
    g = crop_planes(y * 0 + 300, u * 0 - 5, v, 10, 6)
    assert g.y.max() == 255 and g.u.min() == 0


def test_frame_validation():
    z = np.zeros
    with pytest.raises(ValueError):
        YUVFrame(z((3, 3), np.uint8), z((1, 1), np.uint8), z((2, 2), np.uint8))
    with pytest.raises(ValueError):
        YUVFrame(z((2, 2), np.float32), z((1, 1), np.uint8), z((1, 1), np.uint8))
    f = YUVFrame.blank(5, 3)
    assert (f.width, f.height) == (5, 3) and f.u.shape == (2, 3)


def test_bytes_roundtrip():
    f = synthetic_frames(33, 17, 1)[0]
    b = f.tobytes()
    assert len(b) == 33 * 17 + 2 * 17 * 9
    g = YUVFrame.frombytes(b, 33, 17)
    assert all(np.array_equal(a, c) for a, c in zip(f.planes, g.planes, strict=True))


def test_psnr():
    a = np.zeros((4, 4), np.uint8)
    assert psnr(a, a) == 100.0
    b = a.copy()
    b[0, 0] = 16  # mse = 256/16 = 16
    assert mse(a, b) == 16.0
    assert math.isclose(psnr(a, b), 10 * math.log10(255**2 / 16))
    assert psnr_from_mse(1e-30) == 100.0
    with pytest.raises(ValueError):
        mse(a, np.zeros((3, 4), np.uint8))


def test_psnr_yuv_weighting():
    f = synthetic_frames(8, 8, 1)[0]
    g = f.copy()
    g.y[0, 0] ^= 1
    g.u[0, 0] ^= 4
    py, pu, pv, pyuv = psnr_yuv(f, g)
    assert pv == 100.0
    assert math.isclose(pyuv, (6 * py + pu + pv) / 8)
