"""Integer probability tables.

Tables are built once, at export time, in float64 and stored as integers in the weights
file. Encoder and decoder read the same integers, so no erf/exp ulp difference between
platforms can change a probability. Each table row is a frequency list over the symbols
``-K..K`` followed by one escape bin for values outside that range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PRECISION = 16  # table frequencies sum to 2**PRECISION
TOTAL = 1 << PRECISION

# Scale table of the Gaussian conditional: 64 log-spaced scales.
NUM_SCALES = 64
SCALE_MIN = 0.11
SCALE_MAX = 64.0
LOG_STEP = (math.log(SCALE_MAX) - math.log(SCALE_MIN)) / (NUM_SCALES - 1)
GAUSS_TAIL = 6.0  # symbols beyond ceil(6*scale) go through the escape bin
GAUSS_KMIN = 2


def scale_table() -> np.ndarray:
    """The 64 scales, float64 (only used at export time and in training)."""
    return np.exp(math.log(SCALE_MIN) + LOG_STEP * np.arange(NUM_SCALES, dtype=np.float64))


@dataclass(frozen=True)
class IntTables:
    """A batch of integer tables: row r covers symbols -radius[r]..radius[r] + escape."""

    freqs: np.ndarray  # (R, 2*Kmax+2) int32, zero-padded after each row's 2*K+2 entries
    radius: np.ndarray  # (R,) int32

    def row(self, r: int) -> np.ndarray:
        k = int(self.radius[r])
        return self.freqs[r, : 2 * k + 2]

    def bits(self, r: int, sym: np.ndarray) -> float:
        """Ideal code length in bits of symbols ``sym`` (ints) under row ``r``."""
        k = int(self.radius[r])
        f = self.row(r).astype(np.float64)
        idx = np.where(np.abs(sym) > k, 2 * k + 1, sym + k)
        return float(-np.log2(f[idx] / TOTAL).sum())


def quantize_pmf(pmf: np.ndarray, tail: float) -> np.ndarray:
    """Float64 pmf over 2K+1 symbols plus the tail mass -> int frequencies summing to TOTAL.

    Every bin (escape included) gets at least 1 so any value can be coded.
    """
    p = np.concatenate([np.asarray(pmf, dtype=np.float64), [max(float(tail), 0.0)]])
    p = np.clip(p, 0.0, None)
    p = p / p.sum()
    n = p.size
    free = TOTAL - n
    if free <= 0:
        raise ValueError("table too large for the precision")
    f = np.floor(p * free).astype(np.int64) + 1
    f[int(np.argmax(f))] += TOTAL - int(f.sum())
    assert f.min() >= 1 and int(f.sum()) == TOTAL
    return f.astype(np.int32)


def pack_rows(rows: list[np.ndarray], radius: list[int]) -> IntTables:
    width = max(r.size for r in rows)
    out = np.zeros((len(rows), width), dtype=np.int32)
    for i, r in enumerate(rows):
        out[i, : r.size] = r
    return IntTables(out, np.asarray(radius, dtype=np.int32))


def gaussian_tables() -> IntTables:
    """Zero-mean discretised Gaussian for each of the 64 scales."""
    rows, radius = [], []
    for s in scale_table():
        k = max(GAUSS_KMIN, int(math.ceil(GAUSS_TAIL * s)))
        x = np.arange(-k, k + 1, dtype=np.float64)
        cdf = np.vectorize(lambda t, s=s: 0.5 * math.erfc(-t / (s * math.sqrt(2.0))))
        pmf = cdf(x + 0.5) - cdf(x - 0.5)
        tail = 2.0 * float(cdf(-(k + 0.5)))
        rows.append(quantize_pmf(pmf, tail))
        radius.append(k)
    return pack_rows(rows, radius)


def factorized_tables(pmfs: np.ndarray, radius: int) -> IntTables:
    """Per-channel tables from float64 pmfs of shape (C, 2*radius+1)."""
    rows = []
    for p in pmfs:
        tail = max(0.0, 1.0 - float(p.sum()))
        rows.append(quantize_pmf(p, tail))
    return pack_rows(rows, [radius] * len(rows))
