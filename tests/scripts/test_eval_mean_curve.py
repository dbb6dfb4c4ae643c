"""benchmarks/eval.py: the mean-curve BD uses only settings that every input reached."""

from __future__ import annotations

import pytest
from scripthelp import load_script


def _eval_module():
    return load_script("benchmarks/eval.py", "flavc_eval")


def _rows(points, n=3):
    return [{"setting": i, "n": n, "bpp": b, "psnr_yuv": p} for i, (b, p) in enumerate(points)]


def test_partial_setting_is_left_out_of_mean_curve_bd():
    ev = _eval_module()
    flavc = _rows([(0.10, 28.0), (0.15, 29.5), (0.21, 30.8), (0.28, 31.8)])
    anchor = _rows([(0.06, 27.0), (0.12, 29.8), (0.23, 32.5), (0.43, 35.5)])
    base = ev.mean_curve_bd({"flavc": flavc, "x264": anchor})["x264"]
    # one input alone got an extra low-rate QP: its point lies far off the mean curve
    odd = anchor + [{"setting": 99, "n": 1, "bpp": 0.15, "psnr_yuv": 26.0}]
    got = ev.mean_curve_bd({"flavc": flavc, "x264": odd})["x264"]
    assert base["bd_rate_cubic"] > 0
    assert got["bd_rate_cubic"] == pytest.approx(base["bd_rate_cubic"], rel=1e-12)
    assert got["bd_psnr_pchip"] == pytest.approx(base["bd_psnr_pchip"], rel=1e-12)
