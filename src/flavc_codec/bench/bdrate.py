"""Bjontegaard delta rate and delta PSNR (VCEG-M33), cubic or PCHIP.

``(r1, d1)`` is the anchor curve and ``(r2, d2)`` the tested curve (rates in any unit,
e.g. bpp; distortions in dB). BD-rate is the average rate difference of the tested
codec in percent at equal quality (negative = the tested codec needs fewer bits);
BD-PSNR is its average quality gain in dB at equal rate.

Methods:

* ``"cubic"``: the original Bjontegaard method: a cubic polynomial
  (``numpy.polyfit`` degree 3) of log-rate against PSNR (or PSNR against log-rate),
  integrated analytically over the overlap of the two curves' ranges.
* ``"pchip"``: piecewise cubic Hermite interpolation (``scipy.interpolate.PchipInterpolator``,
  monotone Fritsch-Carlson slopes) through the sorted points, integrated exactly over the
  overlap; this is the approach of the JVET CTC / "BD-rate pchip" spreadsheets (their slope
  rule differs in detail, so values can differ by small amounts).

Both need at least 4 points per curve and a non-empty overlap; otherwise the result is
``None`` with a reason (``*_detail`` functions return ``(value, reason)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bd_rate", "bd_psnr", "bd_rate_detail", "bd_psnr_detail", "METHODS"]

METHODS = ("cubic", "pchip")
MIN_POINTS = 4


def _prepare(r1, d1, r2, d2) -> tuple[np.ndarray, ...] | str:
    arrs = [np.asarray(x, dtype=np.float64).ravel() for x in (r1, d1, r2, d2)]
    if arrs[0].size != arrs[1].size or arrs[2].size != arrs[3].size:
        return "rate and distortion lists differ in length"
    for name, a in zip(("anchor", "test"), (arrs[0], arrs[2]), strict=False):
        if a.size < MIN_POINTS:
            return f"{name} curve has {a.size} points, need >= {MIN_POINTS}"
        if np.any(~np.isfinite(a)) or np.any(a <= 0):
            return f"{name} curve has non-positive or non-finite rates"
    if any(np.any(~np.isfinite(a)) for a in (arrs[1], arrs[3])):
        return "non-finite distortion values"
    return tuple(arrs)


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float | str:
    """Integral over [lo, hi] of the curve y(x) fitted through the points."""
    order = np.argsort(x)
    x, y = x[order], y[order]
    if method == "cubic":
        p = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(p, hi) - np.polyval(p, lo))
    if method == "pchip":
        if np.any(np.diff(x) <= 0):
            return "repeated abscissa values: PCHIP needs strictly monotone points"
        from scipy.interpolate import PchipInterpolator

        return float(PchipInterpolator(x, y, extrapolate=False).integrate(lo, hi))
    raise ValueError(f"unknown BD method {method!r}; use one of {METHODS}")


def _mean_gap(x1, y1, x2, y2, method: str, no_overlap: str) -> tuple[float | None, str | None]:
    """Mean of y2 - y1 over the x range both curves cover (the Bjontegaard integral)."""
    lo, hi = max(x1.min(), x2.min()), min(x1.max(), x2.max())
    if not hi > lo:
        return None, no_overlap
    i1 = _integral(x1, y1, lo, hi, method)
    i2 = _integral(x2, y2, lo, hi, method)
    for i in (i1, i2):
        if isinstance(i, str):
            return None, i
    return (i2 - i1) / (hi - lo), None


def _checked(r1, d1, r2, d2, method: str):
    if method not in METHODS:
        raise ValueError(f"unknown BD method {method!r}; use one of {METHODS}")
    return _prepare(r1, d1, r2, d2)


def bd_rate_detail(
    r1: Sequence[float],
    d1: Sequence[float],
    r2: Sequence[float],
    d2: Sequence[float],
    method: str = "cubic",
) -> tuple[float | None, str | None]:
    """BD-rate in percent of (r2, d2) against the anchor (r1, d1), and a reason if None."""
    prep = _checked(r1, d1, r2, d2, method)
    if isinstance(prep, str):
        return None, prep
    r1a, d1a, r2a, d2a = prep
    msg = (
        f"no quality overlap: anchor {d1a.min():.2f}..{d1a.max():.2f} dB, "
        f"test {d2a.min():.2f}..{d2a.max():.2f} dB"
    )
    avg, why = _mean_gap(d1a, np.log(r1a), d2a, np.log(r2a), method, msg)
    return (None, why) if avg is None else (float((np.exp(avg) - 1.0) * 100.0), None)


def bd_psnr_detail(
    r1: Sequence[float],
    d1: Sequence[float],
    r2: Sequence[float],
    d2: Sequence[float],
    method: str = "cubic",
) -> tuple[float | None, str | None]:
    """BD-PSNR in dB of (r2, d2) against the anchor (r1, d1), and a reason if None."""
    prep = _checked(r1, d1, r2, d2, method)
    if isinstance(prep, str):
        return None, prep
    r1a, d1a, r2a, d2a = prep
    msg = (
        f"no rate overlap: anchor {r1a.min():.4g}..{r1a.max():.4g}, "
        f"test {r2a.min():.4g}..{r2a.max():.4g}"
    )
    avg, why = _mean_gap(np.log(r1a), d1a, np.log(r2a), d2a, method, msg)
    return (None, why) if avg is None else (float(avg), None)


def bd_rate(r1, d1, r2, d2, method: str = "cubic") -> float | None:
    """BD-rate (%) of the tested curve (r2, d2) vs the anchor (r1, d1); None if undefined."""
    return bd_rate_detail(r1, d1, r2, d2, method)[0]


def bd_psnr(r1, d1, r2, d2, method: str = "cubic") -> float | None:
    """BD-PSNR (dB) of the tested curve (r2, d2) vs the anchor (r1, d1); None if undefined."""
    return bd_psnr_detail(r1, d1, r2, d2, method)[0]
