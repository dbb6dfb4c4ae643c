"""Entropy coding (constriction) of integer symbols with integer tables.

Every symbol is coded with the table row its group index selects. The decoder knows all
group indexes before it decodes a section (they come from hyper-latents and the previous
frame, never from the current latents), so symbols are coded group by group: row 0's
symbols in raster order, then row 1's, ... That is one vectorised constriction call per
row instead of one per symbol.

Values outside a row's range ``-K..K`` are coded as the row's escape bin, followed (after
all rows) by an Exp-Golomb code of ``|v| - K - 1`` and a sign, with uniform models.

Two coders. The range coder (``range_coder=True``, header flag FLAG_RANGE_CODER, what
encoders write) stores big-endian 32-bit words and ends the stream at byte granularity:
the encoder ends it with the point of the final interval that has the fewest significant
bytes, keeps that ending only after decoding it back to the same symbols, and drops the
zero bytes; the decoder reads missing bytes as zero. That is about 3 bits over the ideal
length per stream, against about 34 for the rANS stack coder (``stack.AnsCoder``,
little-endian words, flushed state), which streams without the flag use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import constriction
import numpy as np

from ..errors import BitstreamError
from .tables import TOTAL, IntTables

_MODELS: dict[int, tuple[IntTables, list]] = {}


@dataclass(frozen=True)
class StreamLayout:
    """How a frame's latents become sections, from the header flags: ``merge``
    (FLAG_ONE_STREAM) codes a hyper-latent and its latent as one stream in one section;
    ``range_coder`` (FLAG_RANGE_CODER) uses the range coder instead of rANS."""

    merge: bool = False
    range_coder: bool = False


SEPARATE_RANS = StreamLayout()  # streams of the first encoder (no flags)


class Timer:
    """Accumulated seconds (rANS coding here; reported separately from network time)."""

    def __init__(self):
        self.seconds = 0.0

    def total(self) -> float:
        return self.seconds


TIMER = Timer()


def _models(tables: IntTables) -> list:
    """Constriction models for each table row, built once per table object."""
    key = id(tables)
    hit = _MODELS.get(key)
    if hit is not None and hit[0] is tables:
        return hit[1]
    models = [
        constriction.stream.model.Categorical(
            tables.row(r).astype(np.float64) / TOTAL, perfect=False
        )
        for r in range(len(tables.radius))
    ]
    _MODELS[key] = (tables, models)
    return models


_UNIFORM = constriction.stream.model.Uniform()


def _escape_parts(values: np.ndarray, radius: np.ndarray):
    e = np.abs(values).astype(np.int64) - radius.astype(np.int64) - 1
    sign = (values < 0).astype(np.int32)
    e1 = e + 1
    n = np.floor(np.log2(e1.astype(np.float64))).astype(np.int64)
    # guard against float log2 rounding at powers of two
    n = np.where((1 << (n + 1)) <= e1, n + 1, n)
    n = np.where((1 << n) > e1, n - 1, n)
    rem = e1 - (1 << n)
    nlo = np.minimum(n, 16)
    nhi = np.maximum(n - 16, 0)
    lo = (rem & ((1 << nlo) - 1)).astype(np.int32)
    hi = (rem >> 16).astype(np.int32)
    return (
        sign,
        n.astype(np.int32),
        lo,
        (1 << nlo).astype(np.int32),
        hi,
        (1 << nhi).astype(np.int32),
    )


def encode_symbols(
    symbols: np.ndarray, groups: np.ndarray, tables: IntTables, range_coder: bool = False
) -> bytes:
    """Code int ``symbols`` with table rows ``groups`` (same shape)."""
    return encode_parts([(symbols, groups, tables)], range_coder)


def encode_parts(parts, range_coder: bool = False) -> bytes:
    """Code several ``(symbols, groups, tables)`` parts into one stream, to be decoded
    in the given order by one :class:`SymbolDecoder` (each part's rows, then its escapes).

    One stream instead of one per part saves the ending of each extra stream (4-8 bytes
    with rANS), which is most of a P-frame's hyper-latent section at low rates.
    """
    t0 = time.perf_counter()
    try:
        ops = [op for sym, grp, tables in parts for op in _ops(sym, grp, tables)]
        if range_coder:
            return _encode_range(ops)
        coder = constriction.stream.stack.AnsCoder()
        _write(coder.encode_reverse, reversed(ops))  # a stack: read in reverse
        words = coder.get_compressed()
        return np.asarray(words, dtype="<u4").tobytes()
    finally:
        TIMER.seconds += time.perf_counter() - t0


def _write(encode, ops) -> None:
    """Pass each non-empty ``(data, model, params)`` operation to a coder's encode method."""
    for data, model, params in ops:
        if data.size == 0:
            continue
        if params is None:
            encode(data, model)
        else:
            encode(data, model, params)


def _encode_range(ops: list) -> bytes:
    enc = constriction.stream.queue.RangeEncoder()
    _write(enc.encode, ops)
    words = np.asarray(enc.get_compressed(), dtype=np.uint32)
    full = words.astype(">u4").tobytes()
    if words.size == 0:
        return full
    for trial in _range_endings(words, *enc.pos()):
        if _range_decodes_to(trial, ops):
            return trial
    return full


def _range_endings(words: np.ndarray, pos: int, state: tuple[int, int]):
    """Shorter endings of a range-coded stream, most promising first; the caller keeps the
    first that decodes to the coded symbols. The decoder reads missing bytes as zero, so
    the stream may end with any point of the final interval ``[lower, lower + range)``
    (64 bits, after the ``pos`` words already written): first the one with the fewest
    significant bytes (right in about 96% of streams; not where a carry is pending), then
    the last word rounded down or up to 3, 2, 1 zero low bytes."""
    lower, width = state
    head = words[:pos].astype(">u4").tobytes()
    if 0 < pos <= words.size and lower + width <= 1 << 64:
        for b in range(9):
            step = 1 << (64 - 8 * b)
            point = -(-lower // step) * step
            if point < min(lower + width, 1 << 64):
                yield (head + point.to_bytes(8, "big")[:b]).rstrip(b"\0")
                break
    body, last = words[:-1].astype(">u4").tobytes(), int(words[-1])
    for k in (3, 2, 1):
        step = 1 << (8 * k)
        low = last - last % step
        for point in (low, low + step):
            if point <= 0xFFFFFFFF:
                yield (body + point.to_bytes(4, "big")[: 4 - k]).rstrip(b"\0")


def _range_words(data: bytes) -> np.ndarray:
    """A range-coded section as the decoder reads it: big-endian words, zero-padded."""
    data = bytes(data) + b"\0" * (-len(data) % 4)
    return np.frombuffer(data, dtype=">u4").astype(np.uint32)


def _range_decodes_to(data: bytes, ops: list) -> bool:
    """Whether ``data`` decodes (as :class:`SymbolDecoder` would) to exactly ``ops``."""
    try:
        dec = constriction.stream.queue.RangeDecoder(_range_words(data))
        for values, model, params in ops:
            if values.size == 0:
                continue
            if params is None:
                got = dec.decode(model, values.size)
            else:
                got = dec.decode(model, params)
            if not np.array_equal(np.asarray(got), values):
                return False
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: B036 - constriction panics derive from BaseException
        return False
    return True


def _ops(symbols: np.ndarray, groups: np.ndarray, tables: IntTables) -> list:
    """The coding operations of one part, in decode order: (data, model, params)."""
    sym = np.ascontiguousarray(symbols, dtype=np.int64).ravel()
    grp = np.ascontiguousarray(groups, dtype=np.int64).ravel()
    if sym.shape != grp.shape:
        raise ValueError("symbols and groups differ in shape")
    if sym.size and (np.abs(sym).max() >= 2**31 - 1):
        raise ValueError("symbol magnitude out of range")
    models = _models(tables)
    radius = tables.radius.astype(np.int64)
    ops = []
    esc_vals, esc_rad = [], []
    order = np.argsort(grp, kind="stable")
    sorted_grp = grp[order]
    bounds = np.searchsorted(sorted_grp, np.arange(len(radius) + 1))
    for r in range(len(radius)):
        idx = order[bounds[r] : bounds[r + 1]]
        if idx.size == 0:
            continue
        k = radius[r]
        v = sym[idx]
        esc = np.abs(v) > k
        coded = np.where(esc, 2 * k + 1, v + k).astype(np.int32)
        ops.append((coded, models[r], None))
        if esc.any():
            esc_vals.append(v[esc])
            esc_rad.append(np.full(int(esc.sum()), k))
    if esc_vals:
        sign, n, lo, lo_size, hi, hi_size = _escape_parts(
            np.concatenate(esc_vals), np.concatenate(esc_rad)
        )
        ops.append((sign, _UNIFORM, np.full(sign.size, 2, dtype=np.int32)))
        ops.append((n, _UNIFORM, np.full(n.size, 32, dtype=np.int32)))
        has_lo, has_hi = lo_size > 1, hi_size > 1  # Uniform needs a range > 1
        ops.append((lo[has_lo], _UNIFORM, lo_size[has_lo]))
        ops.append((hi[has_hi], _UNIFORM, hi_size[has_hi]))
    return ops


def decode_symbols(
    data: bytes, groups: np.ndarray, tables: IntTables, range_coder: bool = False
) -> np.ndarray:
    """Inverse of :func:`encode_symbols`; returns int32 symbols shaped like ``groups``."""
    return SymbolDecoder(data, range_coder).decode(groups, tables)


class SymbolDecoder:
    """Decodes the parts of one stream (:func:`encode_parts`) one after another, so the
    groups of a later part can be computed from the symbols of an earlier one."""

    def __init__(self, data: bytes, range_coder: bool = False):
        try:
            if range_coder:
                self._coder = constriction.stream.queue.RangeDecoder(_range_words(data))
                return
            if len(data) % 4:
                raise BitstreamError("entropy section length is not a multiple of 4")
            words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
            self._coder = constriction.stream.stack.AnsCoder(words)  # rejects a zero last word
        except (BitstreamError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: B036 - constriction panics derive from BaseException
            raise BitstreamError(f"entropy decoding failed ({exc.__class__.__name__})") from None

    def decode(self, groups: np.ndarray, tables: IntTables) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return _decode(self._coder, groups, tables)
        finally:
            TIMER.seconds += time.perf_counter() - t0


def _decode(coder, groups: np.ndarray, tables: IntTables) -> np.ndarray:
    grp = np.ascontiguousarray(groups, dtype=np.int64).ravel()
    if grp.size and (grp.min() < 0 or grp.max() >= len(tables.radius)):
        raise ValueError("group index outside the table")
    models = _models(tables)
    radius = tables.radius.astype(np.int64)
    out = np.zeros(grp.size, dtype=np.int64)
    order = np.argsort(grp, kind="stable")
    sorted_grp = grp[order]
    bounds = np.searchsorted(sorted_grp, np.arange(len(radius) + 1))
    esc_idx, esc_rad = [], []
    try:
        for r in range(len(radius)):
            idx = order[bounds[r] : bounds[r + 1]]
            if idx.size == 0:
                continue
            k = radius[r]
            coded = np.asarray(coder.decode(models[r], idx.size), dtype=np.int64)
            esc = coded == 2 * k + 1
            out[idx] = coded - k
            if esc.any():
                esc_idx.append(idx[esc])
                esc_rad.append(np.full(int(esc.sum()), k))
        if esc_idx:
            pos = np.concatenate(esc_idx)
            rad = np.concatenate(esc_rad)
            m = pos.size
            sign = np.asarray(coder.decode(_UNIFORM, np.full(m, 2, dtype=np.int32)))
            n = np.asarray(coder.decode(_UNIFORM, np.full(m, 32, dtype=np.int32)), np.int64)
            nlo = np.minimum(n, 16)
            nhi = np.maximum(n - 16, 0)
            lo = np.zeros(m, dtype=np.int64)
            hi = np.zeros(m, dtype=np.int64)
            if (nlo > 0).any():
                sizes = (1 << nlo[nlo > 0]).astype(np.int32)
                lo[nlo > 0] = np.asarray(coder.decode(_UNIFORM, sizes), np.int64)
            if (nhi > 0).any():
                sizes = (1 << nhi[nhi > 0]).astype(np.int32)
                hi[nhi > 0] = np.asarray(coder.decode(_UNIFORM, sizes), np.int64)
            e = (1 << n) + (hi << 16) + lo - 1
            mag = e + rad + 1
            out[pos] = np.where(sign == 1, -mag, mag)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: B036 - constriction panics derive from BaseException
        raise BitstreamError(f"entropy decoding failed ({exc.__class__.__name__})") from None
    return out.astype(np.int32).reshape(np.shape(groups))


def estimate_bits(symbols: np.ndarray, groups: np.ndarray, tables: IntTables) -> float:
    """Ideal code length (bits) of the symbols under the integer tables."""
    sym = np.asarray(symbols, dtype=np.int64).ravel()
    grp = np.asarray(groups, dtype=np.int64).ravel()
    total = 0.0
    for r in np.unique(grp):
        total += tables.bits(int(r), sym[grp == r])
    return total
