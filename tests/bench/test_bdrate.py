import numpy as np
import pytest

from flavc_codec.bench.bdrate import bd_psnr, bd_psnr_detail, bd_rate, bd_rate_detail

R = [0.05, 0.1, 0.2, 0.4, 0.8]
D = [30.0, 32.5, 35.0, 37.2, 39.0]


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_identical_is_zero(method):
    assert bd_rate(R, D, R, D, method) == pytest.approx(0.0, abs=1e-9)
    assert bd_psnr(R, D, R, D, method) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_half_rate_is_minus_50(method):
    r2 = [r / 2 for r in R]
    assert bd_rate(R, D, r2, D, method) == pytest.approx(-50.0, abs=1e-6)
    assert bd_rate(r2, D, R, D, method) == pytest.approx(100.0, abs=1e-6)


@pytest.mark.parametrize("method", ["cubic", "pchip"])
def test_plus_one_db(method):
    d2 = [d + 1 for d in D]
    assert bd_psnr(R, D, R, d2, method) == pytest.approx(1.0, abs=1e-9)
    # better quality at the same rate -> fewer bits at the same quality
    assert bd_rate(R, D, R, d2, method) < 0


def test_order_independent():
    idx = [3, 0, 4, 1, 2]
    r, d = list(np.array(R)[idx]), list(np.array(D)[idx])
    for m in ("cubic", "pchip"):
        assert bd_rate(r, d, [x * 0.8 for x in R], D, m) == pytest.approx(-20.0, abs=1e-6)


def test_no_overlap_and_too_few_points():
    v, why = bd_rate_detail(R, D, R, [d + 20 for d in D])
    assert v is None and "overlap" in why
    v, why = bd_psnr_detail(R, D, [r * 100 for r in R], D, "pchip")
    assert v is None and "overlap" in why
    v, why = bd_rate_detail(R[:3], D[:3], R, D)
    assert v is None and "need >= 4" in why
    assert bd_rate(R, D, [0.0] + R[1:], D) is None
    with pytest.raises(ValueError):
        bd_rate(R, D, R, D, "linear")
