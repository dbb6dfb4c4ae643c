"""Entropy coding with integer tables, with the rANS and the range coder: round trips,
escapes, size vs estimate, stream endings, corrupt data."""

from __future__ import annotations

import numpy as np
import pytest

from flavc_codec.entropy import coder
from flavc_codec.entropy.tables import (
    TOTAL,
    IntTables,
    factorized_tables,
    gaussian_tables,
    quantize_pmf,
    scale_table,
)
from flavc_codec.errors import BitstreamError


@pytest.fixture(scope="module")
def gauss() -> IntTables:
    return gaussian_tables()


@pytest.fixture(scope="module")
def fact() -> IntTables:
    rng = np.random.default_rng(1)
    radius = 24
    x = np.arange(-radius, radius + 1)
    pmfs = []
    for c in range(12):
        s = 0.3 + 2.5 * rng.random()
        p = np.exp(-np.abs(x - rng.normal(0, 1)) / s)
        pmfs.append(p / p.sum() * (1 - 1e-4 * c))  # some rows leave tail mass
    return factorized_tables(np.asarray(pmfs), radius)


@pytest.fixture(params=[False, True], ids=["rans", "range"])
def rc(request) -> bool:
    """Run a test with the rANS coder and with the range coder (FLAG_RANGE_CODER)."""
    return request.param


def _roundtrip(sym, grp, tables, rc=False):
    data = coder.encode_symbols(sym, grp, tables, rc)
    assert isinstance(data, bytes)
    if rc:  # byte-granular ending: never a zero last byte
        assert not data or data[-1] != 0
    else:
        assert len(data) % 4 == 0
    out = coder.decode_symbols(data, grp, tables, rc)
    assert out.shape == np.shape(grp)
    np.testing.assert_array_equal(out, sym)
    return data


def test_tables_are_valid(gauss, fact):
    for t in (gauss, fact):
        assert t.freqs.dtype == np.int32
        for r in range(len(t.radius)):
            row = t.row(r)
            assert row.size == 2 * int(t.radius[r]) + 2
            assert int(row.sum()) == TOTAL
            assert row.min() >= 1
    assert len(gauss.radius) == scale_table().size == 64
    assert np.all(np.diff(gauss.radius) >= 0)  # wider scales, wider rows


@pytest.mark.parametrize("seed", range(4))
def test_quantize_pmf_sums_and_floor(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    pmf = rng.random(n) ** 8  # many near-zero bins
    pmf[rng.integers(0, n)] = 0.0
    for tail in (0.0, 1e-12, 0.3, -1.0):
        f = quantize_pmf(pmf, tail)
        assert f.dtype == np.int32 and f.size == n + 1
        assert int(f.sum()) == TOTAL
        assert f.min() >= 1


def test_quantize_pmf_degenerate():
    f = quantize_pmf(np.array([1.0]), 0.0)
    assert f.tolist()[1] >= 1 and int(f.sum()) == TOTAL
    with pytest.raises(ValueError):
        quantize_pmf(np.ones(TOTAL), 0.0)


@pytest.mark.parametrize("seed", range(3))
def test_roundtrip_random_gaussian(gauss, seed, rc):
    rng = np.random.default_rng(seed)
    shape = (5, 7, 9)
    grp = rng.integers(0, 64, shape)
    scales = scale_table()[grp]
    sym = np.round(rng.normal(0, scales * 1.5)).astype(np.int64)  # some escapes
    _roundtrip(sym, grp, gauss, rc)


def test_roundtrip_random_factorized(fact, rc):
    rng = np.random.default_rng(7)
    grp = np.broadcast_to(np.arange(12)[:, None, None], (12, 6, 5))
    sym = rng.integers(-30, 31, grp.shape)  # beyond radius 24: escapes
    _roundtrip(sym, grp, fact, rc)


@pytest.mark.parametrize(
    "value",
    [
        10**6,
        -(10**6),
        2**16,
        2**16 + 1,
        2**17 + 3,
        2**30 - 1,
        2**30,
        -(2**30),
        2**30 + 1,
        2**31 - 2,
        -(2**31 - 2),
    ],
)
def test_roundtrip_huge_escapes(gauss, fact, value, rc):
    rng = np.random.default_rng(abs(value) % 1000)
    for tables, rows in ((gauss, 64), (fact, 12)):
        grp = rng.integers(0, rows, 40)
        sym = rng.integers(-3, 4, 40)
        sym[[0, 17, 39]] = [value, -value, value // 3]
        _roundtrip(sym, grp, tables, rc)


def test_escape_boundaries(gauss, rc):
    """Values right at and just beyond each row's radius (Exp-Golomb powers of two)."""
    syms, grps = [], []
    for r in range(64):
        k = int(gauss.radius[r])
        for v in (k, k + 1, k + 2, k + 3, k + 4, k + 2**16, k + 2**16 + 1):
            syms += [v, -v]
            grps += [r, r]
    _roundtrip(np.array(syms), np.array(grps), gauss, rc)


def test_empty_input(gauss, rc):
    data = coder.encode_symbols(np.zeros(0, np.int64), np.zeros(0, np.int64), gauss, rc)
    out = coder.decode_symbols(data, np.zeros((0, 4), np.int64), gauss, rc)
    assert out.shape == (0, 4)
    assert coder.estimate_bits(np.zeros(0), np.zeros(0), gauss) == 0.0


@pytest.mark.parametrize("row", [0, 31, 63])
def test_all_one_group(gauss, row, rc):
    rng = np.random.default_rng(row)
    grp = np.full((3, 11, 13), row)
    sym = np.round(rng.normal(0, scale_table()[row], grp.shape)).astype(np.int64)
    _roundtrip(sym, grp, gauss, rc)
    _roundtrip(np.zeros_like(sym), grp, gauss, rc)


def test_symbol_out_of_range_rejected(gauss):
    with pytest.raises(ValueError):
        coder.encode_symbols(np.array([2**31 - 1]), np.array([0]), gauss)
    with pytest.raises(ValueError):
        coder.encode_symbols(np.array([1, 2]), np.array([0]), gauss)
    with pytest.raises(ValueError):
        coder.decode_symbols(b"", np.array([64]), gauss)


def test_size_close_to_estimate(gauss, fact, rc):
    rng = np.random.default_rng(3)
    grp = rng.integers(0, 64, 200_000)
    sym = np.round(rng.normal(0, scale_table()[grp])).astype(np.int64)
    data = _roundtrip(sym, grp, gauss, rc)
    est = coder.estimate_bits(sym, grp, gauss)
    assert est > 0
    assert abs(len(data) * 8 - est) <= 0.01 * est + 64

    fgrp = rng.integers(0, 12, 100_000)
    fsym = rng.integers(-4, 5, fgrp.size)
    data = _roundtrip(fsym, fgrp, fact, rc)
    est = coder.estimate_bits(fsym, fgrp, fact)
    assert abs(len(data) * 8 - est) <= 0.01 * est + 64


def test_estimate_matches_table_bits(gauss):
    sym = np.array([0, 1, -1, 100])
    grp = np.array([5, 5, 40, 40])
    expect = gauss.bits(5, sym[:2]) + gauss.bits(40, sym[2:])
    assert coder.estimate_bits(sym, grp, gauss) == pytest.approx(expect)
    row = gauss.row(5).astype(np.float64)
    k = int(gauss.radius[5])
    assert gauss.bits(5, np.array([0])) == pytest.approx(-np.log2(row[k] / TOTAL))


def _decode_or_error(data, grp, tables, rc=False):
    try:
        out = coder.decode_symbols(data, grp, tables, rc)
    except BitstreamError:
        return None
    assert out.shape == grp.shape and out.dtype == np.int32
    return out


def test_corrupt_data_never_crashes(gauss, rc):
    rng = np.random.default_rng(11)
    grp = rng.integers(0, 64, (4, 9, 9))
    sym = np.round(rng.normal(0, scale_table()[grp] * 2)).astype(np.int64)
    sym[0, 0, 0] = 10**6
    data = coder.encode_symbols(sym, grp, gauss, rc)
    cases = [
        b"",
        data[:4],
        data[: len(data) // 2],
        data[4:],
        data[:-1],  # not a multiple of 4
        b"\xff" * 4,
        data + b"\x01\x00\x00\x00",
    ]
    for _ in range(30):  # bit flips (keeping the last word non-zero)
        b = bytearray(data)
        pos = int(rng.integers(0, len(b) - 4))
        b[pos] ^= 1 << int(rng.integers(0, 8))
        cases.append(bytes(b))
    for _ in range(20):
        n = 4 * int(rng.integers(1, 40))
        r = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        r[-1] |= 1
        cases.append(bytes(r))
    for n in range(1, 8):  # the range coder takes any length
        cases.append(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    for c in cases:
        _decode_or_error(c, grp, gauss, rc)
    if not rc:
        with pytest.raises(BitstreamError):
            coder.decode_symbols(data[:-1], grp, gauss)


@pytest.mark.parametrize("data", [b"\0\0\0\0", b"\x07\0\0\0\0\0\0\0"])
def test_zero_last_word_is_bitstream_error(gauss, data):
    grp = np.zeros(10, np.int64)
    _decode_or_error(data, grp, gauss)


class _FakePanic(BaseException):
    """Stands in for pyo3's PanicException (a BaseException, not an Exception)."""


def test_rust_panic_becomes_bitstream_error(gauss, monkeypatch):
    grp = np.arange(10) % 64
    data = coder.encode_symbols(np.zeros(10, np.int64), grp, gauss)

    class PanickingCoder:
        def __init__(self, *a, **k):
            pass

        def decode(self, *a, **k):
            raise _FakePanic("rust panic")

    monkeypatch.setattr(coder.constriction.stream.stack, "AnsCoder", PanickingCoder)
    with pytest.raises(BitstreamError, match="entropy decoding failed"):
        coder.decode_symbols(data, grp, gauss)


def test_keyboard_interrupt_not_swallowed(gauss, monkeypatch):
    grp = np.arange(10) % 64
    data = coder.encode_symbols(np.zeros(10, np.int64), grp, gauss)

    class InterruptedCoder:
        def __init__(self, *a, **k):
            pass

        def decode(self, *a, **k):
            raise KeyboardInterrupt

    monkeypatch.setattr(coder.constriction.stream.stack, "AnsCoder", InterruptedCoder)
    with pytest.raises(KeyboardInterrupt):
        coder.decode_symbols(data, grp, gauss)


def test_timer_counts(gauss):
    t0 = coder.TIMER.total()
    grp = np.arange(1000) % 64
    coder.decode_symbols(coder.encode_symbols(np.zeros(1000, np.int64), grp, gauss), grp, gauss)
    assert coder.TIMER.total() > t0


def test_parts_in_one_stream_decode_in_order(gauss, fact):
    """encode_parts: a factorized part then a Gaussian part (with escapes in both) in one
    stream, decoded by one SymbolDecoder part by part, as a merged frame section is."""
    rng = np.random.default_rng(11)
    zg = np.broadcast_to(np.arange(12)[:, None, None], (12, 2, 3))
    z = rng.integers(-30, 31, zg.shape)
    yg = rng.integers(0, 64, (4, 5, 6))
    y = np.round(rng.normal(0, scale_table()[yg] * 1.5)).astype(np.int64)
    data = coder.encode_parts([(z, zg, fact), (y, yg, gauss)])
    assert len(data) % 4 == 0
    dec = coder.SymbolDecoder(data)
    np.testing.assert_array_equal(dec.decode(zg, fact), z)
    np.testing.assert_array_equal(dec.decode(yg, gauss), y)
    # one part: identical to encode_symbols
    assert coder.encode_parts([(y, yg, gauss)]) == coder.encode_symbols(y, yg, gauss)


def test_one_stream_saves_a_flushed_state(gauss, fact):
    """A nearly empty hyper-latent costs a whole flushed state (8 bytes) on its own; in the
    latent's stream it costs about its information."""
    zg = np.broadcast_to(np.arange(12)[:, None, None], (12, 1, 1))
    z = np.zeros(zg.shape, np.int64)
    yg = np.full((200,), 20)
    y = np.random.default_rng(3).integers(-3, 4, 200)
    apart = len(coder.encode_symbols(z, zg, fact)) + len(coder.encode_symbols(y, yg, gauss))
    together = len(coder.encode_parts([(z, zg, fact), (y, yg, gauss)]))
    assert apart - together >= 4


def test_range_coder_ends_near_the_ideal_length(gauss, fact):
    """Over many short streams (a frame's section at low rates is tens of bytes), the
    range coder's byte-granular ending costs a few bits over the integer tables' ideal
    length, the rANS stack coder's flushed state in whole words about 35. Both decode."""
    rng = np.random.default_rng(5)
    over = {False: [], True: []}
    for _ in range(150):
        n = int(rng.integers(5, 400))
        grp = rng.integers(0, 64, n)
        sym = np.round(rng.normal(0, scale_table()[grp])).astype(np.int64)
        est = coder.estimate_bits(sym, grp, gauss)
        for rc in (False, True):
            over[rc].append(len(_roundtrip(sym, grp, gauss, rc)) * 8 - est)
    rans, rng_c = np.mean(over[False]), np.mean(over[True])
    assert rng_c < 10, rng_c
    assert rans - rng_c > 20, (rans, rng_c)


def test_range_coder_reads_missing_bytes_as_zero(gauss):
    """The encoder drops the last word's zero low bytes (big-endian words); appending zero
    bytes back, to any length, decodes to the same symbols."""
    rng = np.random.default_rng(8)
    dropped = 0
    for _ in range(40):
        grp = rng.integers(0, 64, int(rng.integers(1, 200)))
        sym = np.round(rng.normal(0, scale_table()[grp])).astype(np.int64)
        data = _roundtrip(sym, grp, gauss, True)
        dropped += len(data) % 4 != 0
        for pad in (1, 4, 11):
            out = coder.decode_symbols(data + bytes(pad), grp, gauss, True)
            np.testing.assert_array_equal(out, sym)
    assert dropped > 20  # most streams end inside a word


def test_range_coder_keeps_the_full_words_when_no_shorter_end_decodes(gauss, monkeypatch):
    """The shortened ending is only used after the encoder decoded it; without one the
    stream keeps the coder's whole words, which always decode."""
    rng = np.random.default_rng(9)
    grp = rng.integers(0, 64, 300)
    sym = np.round(rng.normal(0, scale_table()[grp])).astype(np.int64)
    short = coder.encode_symbols(sym, grp, gauss, True)
    monkeypatch.setattr(coder, "_range_decodes_to", lambda data, ops: False)
    full = coder.encode_symbols(sym, grp, gauss, True)
    assert len(full) % 4 == 0 and len(full) >= len(short)
    np.testing.assert_array_equal(coder.decode_symbols(full, grp, gauss, True), sym)


def test_range_parts_in_one_stream_decode_in_order(gauss, fact):
    """encode_parts with the range coder: parts are read in the order they were written."""
    rng = np.random.default_rng(12)
    zg = np.broadcast_to(np.arange(12)[:, None, None], (12, 2, 3))
    z = rng.integers(-30, 31, zg.shape)
    yg = rng.integers(0, 64, (4, 5, 6))
    y = np.round(rng.normal(0, scale_table()[yg] * 1.5)).astype(np.int64)
    data = coder.encode_parts([(z, zg, fact), (y, yg, gauss)], range_coder=True)
    dec = coder.SymbolDecoder(data, range_coder=True)
    np.testing.assert_array_equal(dec.decode(zg, fact), z)
    np.testing.assert_array_equal(dec.decode(yg, gauss), y)
