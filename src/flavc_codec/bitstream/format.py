"""Byte layouts of the flavc container, versions 3.0, 2.x and 1.0 (see ``bitstream_spec.md``).

2.0 kept 1.0's preamble, header and trailer and moved each frame's description (type,
quality, section lengths, CRC) into a compact index entry, so a frame costs about 9 bytes
of container instead of 48: at low rates on small pictures that was a quarter of the file.
3.0 (written by default) keeps 2.0's frame data and index entries and compacts the fixed
part, 132 bytes in 2.x: the header body is varints, a length-prefixed pixel-format name
and no frame count (the trailer has it, so the header is never rewritten), the index has
no head, and the trailer is 16 bytes. A one-frame stream of a small picture at a low rate
is a few hundred bytes, of which the fixed part was a tenth. 1.0 and 2.x streams still read.

Standard library only. All integers are little-endian. Every ``unpack`` checks ranges and
raises ``BitstreamError`` with a one-line message; every ``pack`` checks the same ranges
and raises ``ValueError`` (a programming error on the writer side).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field, fields, replace

from ..errors import BitstreamError

# --------------------------------------------------------------------------- constants
MAGIC = b"\x8bFLAVC\r\n"  # 8 bytes: non-ASCII first byte, CR LF catch text-mode damage
VERSION_MAJOR = 3  # what StreamWriter writes unless told otherwise
# the minor version written with each major (2.1 defined FLAG_RANGE_CODER)
MINOR_OF = {1: 0, 2: 1, 3: 0}
VERSION_MINOR = MINOR_OF[VERSION_MAJOR]
READ_MAJORS = (1, 2, 3)  # what StreamReader reads

PREAMBLE = struct.Struct("<8sBBH")  # magic, major, minor, header_len
PREAMBLE_SIZE = PREAMBLE.size  # 12

# SequenceHeader body, v1.0 (header_len >= HEADER_V1_SIZE; extra bytes = later minors)
HEADER_V1 = struct.Struct("<IIIIIiIHBBBBBB16s32s")
HEADER_V1_SIZE = HEADER_V1.size  # 84
HEADER_MAX_SIZE = 4096
CRC = struct.Struct("<I")
# 3.0: magic and version as before, then header_len as ULEB128 (1-2 bytes)
PREAMBLE3_FIXED = len(MAGIC) + 2
# the 3.0 body, in order: these varints, these bytes, the 16-byte hash, the pixel-format
# name's length byte and the name (bitstream_spec.md section 3a)
_VARINTS3 = ("width", "height", "fps_num", "fps_den", "intra_period", "flags", "model_id")
_BYTES3 = ("quality", "source_bit_depth", "color_primaries", "color_trc", "colorspace",
           "color_range")  # fmt: skip
HEADER3_BYTES = len(_BYTES3) + 16 + 1  # what follows the varints, name excluded
# the shortest 3.0 body: 7 one-byte varints and an empty pixel-format name
HEADER3_MIN_SIZE = len(_VARINTS3) + HEADER3_BYTES  # 30

CHUNK_MARKER = b"FLFR"
CHUNK_FIXED = struct.Struct("<4sIBBBBI")  # marker, frame, type, quality, nsec, reserved, plen
CHUNK_FIXED_SIZE = CHUNK_FIXED.size  # 16
MAX_SECTIONS = 8
MAX_PAYLOAD = 256 * 1024 * 1024  # 256 MiB
MAX_CHUNK_SIZE = CHUNK_FIXED_SIZE + 4 * MAX_SECTIONS + 4 + MAX_PAYLOAD

INDEX_MARKER = b"FLIX"
INDEX_HEAD = struct.Struct("<4sI")  # marker, count
INDEX_ENTRY = struct.Struct("<IQBxxxI")  # frame, offset, type, 3 reserved, nbytes
INDEX_ENTRY_SIZE = INDEX_ENTRY.size  # 20

# 2.0 index: head as 1.0 with its own marker, then variable-length entries (desc byte,
# section count, ULEB128 section lengths, u32 CRC over the entry head + payload)
INDEX2_MARKER = b"FLI2"
INDEX2_ENTRY_MIN = 2 + CRC.size  # no sections
DESC_QUALITY_MASK = 0x3F
DESC_TYPE_SHIFT = 6
DESC_RESERVED = 0x80
ULEB_MAX_BYTES = 5  # MAX_PAYLOAD = 2**28 needs 5

TRAILER_MAGIC = b"FLAVCIDX"
TRAILER = struct.Struct("<QII8s")  # index_offset, frame_count, index_crc, magic
TRAILER_SIZE = TRAILER.size  # 24
# 3.0: the index ends where the trailer starts, so its size replaces its offset
TRAILER3_MAGIC = b"FLVE"
TRAILER3 = struct.Struct("<III4s")  # index_size, frame_count, index_crc, magic
TRAILER3_SIZE = TRAILER3.size  # 16

U32_MAX = 0xFFFFFFFF
MAX_DIM = 16384
MAX_QUALITY = 63
MAX_INTRA_PERIOD = 65535
PIX_FMT_LEN = 32
FRAME_I, FRAME_P = 0, 1
# Header flags (bit masks). FLAG_PAD16: pictures are padded to a multiple of 16, not 64
# (spec sections 11.2 and 11.4); decoders that predate it refuse such streams.
FLAG_PAD16 = 0x1
# FLAG_ONE_STREAM: each (hyper-latent, latent) pair is one rANS stream, one section (spec
# section 11): saves a flushed coder state (4-8 bytes) per frame.
FLAG_ONE_STREAM = 0x2
# FLAG_RANGE_CODER (2.1): sections are range-coder streams ended at byte granularity, not
# rANS streams in whole words: about 4 bytes less per stream (spec section 11).
FLAG_RANGE_CODER = 0x4
KNOWN_FLAGS = FLAG_PAD16 | FLAG_ONE_STREAM | FLAG_RANGE_CODER
FRAME_TYPES = {FRAME_I: "I", FRAME_P: "P"}


def crc32(*parts: bytes) -> int:
    c = 0
    for p in parts:
        c = zlib.crc32(p, c)
    return c & 0xFFFFFFFF


def _check(ok: bool, msg: str, exc: type[Exception]) -> None:
    if not ok:
        raise exc(msg)


# --------------------------------------------------------------------------- header
@dataclass(frozen=True)
class SequenceHeader:
    """Sequence-level parameters (one per stream). Ranges are checked on pack and unpack."""

    width: int
    height: int
    fps_num: int = 25
    fps_den: int = 1
    frame_count: int = 0  # patched by StreamWriter at close
    source_pix_fmt: str = "yuv420p"
    source_bit_depth: int = 8
    color_primaries: int = 2  # FFmpeg AVColorPrimaries, 2 = unspecified
    color_trc: int = 2  # FFmpeg AVColorTransferCharacteristic, 2 = unspecified
    colorspace: int = 2  # FFmpeg AVColorSpace, 2 = unspecified
    color_range: int = 0  # FFmpeg AVColorRange: 0 unspecified, 1 limited, 2 full
    model_id: int = 1
    weights_hash: bytes = field(default=b"\0" * 16)  # sha256(weights file)[:16]
    quality: int = 32  # 0..63
    intra_period: int = 32  # -1 (one I-frame) or 1..65535
    flags: int = 0
    extra: bytes = b""  # unknown trailing header bytes from a later minor version

    def validate(self, exc: type[Exception] = ValueError) -> None:
        """Raise ``exc`` with a one-line message if any field is out of range."""

        def rng(name: str, lo: int, hi: int) -> None:
            v = getattr(self, name)
            _check(
                isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
                f"header: {name} {v!r} out of range {lo}..{hi}",
                exc,
            )

        rng("width", 1, MAX_DIM)
        rng("height", 1, MAX_DIM)
        rng("fps_num", 1, U32_MAX)
        rng("fps_den", 1, U32_MAX)
        rng("frame_count", 0, U32_MAX)
        rng("source_bit_depth", 1, 255)
        for n in ("color_primaries", "color_trc", "colorspace", "color_range"):
            rng(n, 0, 255)
        rng("quality", 0, MAX_QUALITY)
        rng("model_id", 0, 0xFFFF)
        rng("flags", 0, U32_MAX)
        ip = self.intra_period
        _check(
            isinstance(ip, int) and (ip == -1 or 1 <= ip <= MAX_INTRA_PERIOD),
            f"header: intra_period {ip!r} out of range (-1 or 1..{MAX_INTRA_PERIOD})",
            exc,
        )
        _check(
            isinstance(self.weights_hash, bytes) and len(self.weights_hash) == 16,
            "header: weights_hash must be 16 bytes",
            exc,
        )
        pf = self.source_pix_fmt
        ok = isinstance(pf, str) and pf.isascii() and len(pf) <= PIX_FMT_LEN and "\0" not in pf
        ok = ok and all(32 < ord(ch) < 127 for ch in pf)
        _check(ok, f"header: source_pix_fmt {pf!r} is not printable ASCII of <= 32 bytes", exc)
        _check(isinstance(self.extra, bytes), "header: extra must be bytes", exc)

    def __post_init__(self) -> None:
        self.validate(ValueError)

    @property
    def fps(self) -> float:
        return self.fps_num / self.fps_den

    @classmethod
    def from_source(cls, info, **kw) -> SequenceHeader:
        """Build a header from a ``SourceInfo``-like object (duck-typed, no import).

        Takes width, height, fps, pix_fmt, bit depth and colour description from ``info``;
        ``kw`` sets the rest (model_id, weights_hash, quality, intra_period, flags, ...).
        """
        pf = str(getattr(info, "pix_fmt", "yuv420p"))[:PIX_FMT_LEN]
        base = dict(
            width=info.width,
            height=info.height,
            fps_num=info.fps_num,
            fps_den=info.fps_den,
            source_pix_fmt=pf,
            source_bit_depth=int(getattr(info, "bit_depth", 8)),
            color_primaries=info.color_primaries,
            color_trc=info.color_trc,
            colorspace=info.colorspace,
            color_range=info.color_range,
        )
        base.update(kw)
        return cls(**base)

    def body(self) -> bytes:
        return (
            HEADER_V1.pack(
                self.width,
                self.height,
                self.fps_num,
                self.fps_den,
                self.frame_count,
                self.intra_period,
                self.flags,
                self.model_id,
                self.quality,
                self.source_bit_depth,
                self.color_primaries,
                self.color_trc,
                self.colorspace,
                self.color_range,
                self.weights_hash,
                self.source_pix_fmt.encode("ascii"),
            )
            + self.extra
        )

    def body3(self) -> bytes:
        """The 3.0 body: varints where 2.x had fixed-width fields, no frame count."""
        pf = self.source_pix_fmt.encode("ascii")
        # intra_period is stored + 1, so that -1 (one I-frame) is a varint too
        varints = [self.intra_period + 1 if k == "intra_period" else getattr(self, k)
                   for k in _VARINTS3]  # fmt: skip
        return (
            b"".join(uleb128(v) for v in varints)
            + bytes(getattr(self, k) for k in _BYTES3)
            + self.weights_hash
            + bytes((len(pf),))
            + pf
            + self.extra
        )

    def pack(self, major: int = VERSION_MAJOR) -> bytes:
        """Preamble (magic, version, header_len) + body + CRC-32 over both. The body is
        the same in 1.0 and 2.x (``major`` only says which chunk/index layout follows);
        3.0 has its own compact body."""
        if major not in READ_MAJORS:
            raise ValueError(f"unknown container major version {major}")
        body = self.body3() if major == 3 else self.body()
        if len(body) > HEADER_MAX_SIZE:
            raise ValueError("header: too long")
        if major == 3:
            pre = MAGIC + bytes((major, MINOR_OF[major])) + uleb128(len(body))
        else:
            pre = PREAMBLE.pack(MAGIC, major, MINOR_OF[major], len(body))
        return pre + body + CRC.pack(crc32(pre, body))

    @classmethod
    def unpack(cls, data: bytes) -> tuple[SequenceHeader, int]:
        """Parse a stream's start. Returns ``(header, bytes consumed)``.

        Raises ``BitstreamError`` for bad magic, unsupported major version, truncation,
        CRC mismatch or out-of-range fields. A 3.0 header has no frame count: it is 0
        here, and the reader sets it from the trailer.
        """
        data = bytes(data)
        if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
            raise BitstreamError("not a flavc stream (bad magic)")
        if len(data) < PREAMBLE3_FIXED:
            raise BitstreamError("truncated stream: file ends inside the preamble")
        major, minor = data[8], data[9]
        if major not in READ_MAJORS:
            raise BitstreamError(
                f"unsupported stream version {major}.{minor} (this flavc reads 1.x, 2.x and 3.x)"
            )
        if major == 3:
            # header_len is a ULEB128 of one or two bytes
            n_len = 2 if len(data) > PREAMBLE3_FIXED and data[PREAMBLE3_FIXED] & 0x80 else 1
            if len(data) < PREAMBLE3_FIXED + n_len:
                raise BitstreamError("truncated stream: file ends inside the preamble")
            hlen, start = read_uleb128(data, PREAMBLE3_FIXED, "header", "header_len", 2, "preamble")
            lo = HEADER3_MIN_SIZE
        else:
            if len(data) < PREAMBLE_SIZE:
                raise BitstreamError("truncated stream: file ends inside the preamble")
            hlen, start, lo = PREAMBLE.unpack_from(data, 0)[3], PREAMBLE_SIZE, HEADER_V1_SIZE
        if not lo <= hlen <= HEADER_MAX_SIZE:
            raise BitstreamError(f"header: length {hlen} out of range {lo}..{HEADER_MAX_SIZE}")
        end = start + hlen
        if len(data) < end + CRC.size:
            raise BitstreamError("truncated stream: file ends inside the sequence header")
        (stored,) = CRC.unpack_from(data, end)
        if crc32(data[:end]) != stored:
            raise BitstreamError("header: CRC mismatch (stream corrupted)")
        kw = _body3(data[start:end]) if major == 3 else _body12(data[start:end])
        hdr = object.__new__(cls)
        for k, val in kw.items():
            object.__setattr__(hdr, k, val)
        hdr.validate(BitstreamError)
        return hdr, end + CRC.size

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["weights_hash"] = self.weights_hash.hex()
        d["extra"] = self.extra.hex()
        return d


def _pix_fmt(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise BitstreamError("header: source_pix_fmt is not ASCII") from None


def _body12(body: bytes) -> dict:
    """Fields of a 1.0/2.x body (its length already checked to be >= 84)."""
    v = HEADER_V1.unpack_from(body, 0)
    pf_bytes = v[15].rstrip(b"\0")
    if b"\0" in pf_bytes:
        raise BitstreamError("header: source_pix_fmt is not NUL-padded ASCII")
    names = (
        "width height fps_num fps_den frame_count intra_period flags model_id quality "
        "source_bit_depth color_primaries color_trc colorspace color_range weights_hash"
    ).split()
    kw = dict(zip(names, v[:15], strict=True))
    kw["source_pix_fmt"] = _pix_fmt(pf_bytes)
    kw["extra"] = body[HEADER_V1_SIZE:]
    return kw


def _body3(body: bytes) -> dict:
    """Fields of a 3.0 body; bytes after the defined fields are a later minor's ``extra``."""
    kw: dict = {"frame_count": 0}
    pos = 0
    for name in _VARINTS3:
        kw[name], pos = read_uleb128(body, pos, "header", name, inside=name)
    kw["intra_period"] -= 1
    need = pos + HEADER3_BYTES
    if len(body) < need:
        raise BitstreamError(f"header: body of {len(body)} bytes ends inside its fields")
    for name in _BYTES3:
        kw[name] = body[pos]
        pos += 1
    kw["weights_hash"] = body[pos : pos + 16]
    n = body[pos + 16]
    pos += 17
    if n > PIX_FMT_LEN or pos + n > len(body):
        raise BitstreamError(f"header: source_pix_fmt length {n} does not fit the header")
    kw["source_pix_fmt"] = _pix_fmt(body[pos : pos + n])
    kw["extra"] = body[pos + n :]
    return kw


# --------------------------------------------------------------------------- chunks
@dataclass(frozen=True)
class FrameChunk:
    """One coded frame: type (0 = I, 1 = P), quality index, up to 8 payload sections."""

    frame_type: int
    quality: int
    sections: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if isinstance(self.sections, list):
            object.__setattr__(self, "sections", tuple(self.sections))
        self.validate(ValueError, "chunk")

    def validate(self, exc: type[Exception], where: str) -> None:
        _check(
            self.frame_type in FRAME_TYPES,
            f"{where}: unknown frame type {self.frame_type!r}",
            exc,
        )
        _check(
            isinstance(self.quality, int) and 0 <= self.quality <= MAX_QUALITY,
            f"{where}: quality {self.quality!r} out of range 0..{MAX_QUALITY}",
            exc,
        )
        _check(
            isinstance(self.sections, tuple) and len(self.sections) <= MAX_SECTIONS,
            f"{where}: more than {MAX_SECTIONS} sections",
            exc,
        )
        for s in self.sections:
            _check(
                isinstance(s, (bytes, bytearray, memoryview)), f"{where}: section not bytes", exc
            )
        _check(
            self.payload_size <= MAX_PAYLOAD,
            f"{where}: payload {self.payload_size} bytes exceeds {MAX_PAYLOAD}",
            exc,
        )

    @property
    def payload_size(self) -> int:
        return sum(len(s) for s in self.sections)

    @property
    def type_name(self) -> str:
        return FRAME_TYPES[self.frame_type]

    def pack(self, frame_number: int) -> bytes:
        if not 0 <= frame_number <= U32_MAX:
            raise ValueError(f"frame number {frame_number} out of range")
        n = len(self.sections)
        head = CHUNK_FIXED.pack(
            CHUNK_MARKER, frame_number, self.frame_type, self.quality, n, 0, self.payload_size
        ) + struct.pack(f"<{n}I", *(len(s) for s in self.sections))
        payload = b"".join(bytes(s) for s in self.sections)
        return head + CRC.pack(crc32(head, payload)) + payload

    @staticmethod
    def header_size(n_sections: int) -> int:
        return CHUNK_FIXED_SIZE + 4 * n_sections + CRC.size

    @classmethod
    def unpack(
        cls, data: bytes, expect_frame: int | None = None, where: str | None = None
    ) -> tuple[FrameChunk, int]:
        """Parse one chunk from the start of ``data``; returns ``(chunk, frame_number)``.

        ``data`` must hold at least the whole chunk (extra bytes after it are an error only
        if ``len(data)`` is not exactly the chunk size when called from the reader).
        """
        where = where or (f"frame {expect_frame}" if expect_frame is not None else "chunk")
        if len(data) < CHUNK_FIXED_SIZE:
            raise BitstreamError(f"truncated stream: {where}: chunk header cut short")
        marker, fnum, ftype, q, nsec, res, plen = CHUNK_FIXED.unpack_from(data, 0)
        if marker != CHUNK_MARKER:
            raise BitstreamError(f"{where}: bad chunk marker (stream corrupted)")
        if nsec > MAX_SECTIONS:
            raise BitstreamError(f"{where}: {nsec} sections exceeds the limit {MAX_SECTIONS}")
        if plen > MAX_PAYLOAD:
            raise BitstreamError(f"{where}: payload length {plen} exceeds the limit {MAX_PAYLOAD}")
        hsize = cls.header_size(nsec)
        if len(data) < hsize:
            raise BitstreamError(f"truncated stream: {where}: chunk header cut short")
        lens = struct.unpack_from(f"<{nsec}I", data, CHUNK_FIXED_SIZE)
        if sum(lens) != plen:
            raise BitstreamError(
                f"{where}: section lengths sum to {sum(lens)}, payload length is {plen}"
            )
        if len(data) < hsize + plen:
            raise BitstreamError(
                f"truncated stream: {where}: payload needs {plen} bytes, {len(data) - hsize} remain"
            )
        (stored,) = CRC.unpack_from(data, hsize - CRC.size)
        mv = memoryview(data)
        if crc32(mv[: hsize - CRC.size], mv[hsize : hsize + plen]) != stored:
            raise BitstreamError(f"{where}: CRC mismatch (stream corrupted)")
        if expect_frame is not None and fnum != expect_frame:
            raise BitstreamError(f"{where}: chunk carries frame number {fnum} (stream corrupted)")
        if res != 0:
            raise BitstreamError(f"{where}: reserved byte is {res}, must be 0")
        if ftype not in FRAME_TYPES:
            raise BitstreamError(f"{where}: unknown frame type {ftype}")
        if q > MAX_QUALITY:
            raise BitstreamError(f"{where}: quality {q} out of range 0..{MAX_QUALITY}")
        secs, pos = [], hsize
        for n in lens:
            secs.append(bytes(mv[pos : pos + n]))
            pos += n
        return cls(ftype, q, tuple(secs)), fnum


# --------------------------------------------------------------------------- index
def uleb128(v: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, low bits first, bit 7 = more bytes follow."""
    if v < 0:
        raise ValueError("uleb128 of a negative number")
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def read_uleb128(
    buf: bytes,
    pos: int,
    where: str,
    what: str = "length",
    max_bytes: int = ULEB_MAX_BYTES,
    inside: str = "index entry",
) -> tuple[int, int]:
    """Decode one canonical ULEB128 of at most ``max_bytes`` bytes at ``pos``; returns
    (value, end). Error messages name the field (``what``) and, when ``buf`` ends first,
    what was cut short (``inside``)."""
    v = 0
    for k in range(max_bytes):
        if pos + k >= len(buf):
            raise BitstreamError(f"{where}: {inside} cut short (stream corrupted)")
        b = buf[pos + k]
        v |= (b & 0x7F) << (7 * k)
        if not b & 0x80:
            if b == 0 and k > 0:
                raise BitstreamError(f"{where}: non-minimal {what} encoding (stream corrupted)")
            return v, pos + k + 1
    raise BitstreamError(f"{where}: {what} field longer than {max_bytes} bytes")


@dataclass(frozen=True)
class IndexEntry:
    """Where frame ``frame`` lies: ``nbytes`` bytes at file offset ``offset``.

    1.0: the bytes are the whole chunk (its own header, CRC and payload). 2.0: they are the
    payload only, and the entry itself carries quality, section lengths and the CRC.
    """

    frame: int
    offset: int
    frame_type: int
    nbytes: int
    quality: int | None = None  # 2.0 only
    section_lens: tuple[int, ...] = ()  # 2.0 only
    crc: int = 0  # 2.0 only: CRC-32 over head_v2() + payload

    def pack(self) -> bytes:
        return INDEX_ENTRY.pack(self.frame, self.offset, self.frame_type, self.nbytes)

    def head_v2(self) -> bytes:
        """2.0 entry without its CRC: desc byte, section count, ULEB128 section lengths."""
        desc = (self.quality or 0) | (self.frame_type << DESC_TYPE_SHIFT)
        return bytes((desc, len(self.section_lens))) + b"".join(
            uleb128(n) for n in self.section_lens
        )

    def pack_v2(self) -> bytes:
        return self.head_v2() + CRC.pack(self.crc)

    @classmethod
    def for_chunk_v2(cls, frame: int, offset: int, chunk: FrameChunk) -> IndexEntry:
        e = cls(
            frame,
            offset,
            chunk.frame_type,
            chunk.payload_size,
            chunk.quality,
            tuple(len(s) for s in chunk.sections),
        )
        return replace(e, crc=crc32(e.head_v2(), *(bytes(s) for s in chunk.sections)))


def pack_index(entries: list[IndexEntry], major: int = 1) -> bytes:
    """1.0: head + fixed entries; 2.x: head + compact entries; 3.0: the compact entries
    alone (the trailer carries the count)."""
    if major == 1:
        return INDEX_HEAD.pack(INDEX_MARKER, len(entries)) + b"".join(e.pack() for e in entries)
    entries_v2 = b"".join(e.pack_v2() for e in entries)
    return entries_v2 if major == 3 else INDEX_HEAD.pack(INDEX2_MARKER, len(entries)) + entries_v2


def index_size(count: int) -> int:
    """Size of a 1.0 index of ``count`` entries (2.0 entries have variable size)."""
    return INDEX_HEAD.size + INDEX_ENTRY_SIZE * count


def parse_index_v2(raw: bytes, count: int, data_offset: int, head: bool = True) -> list[IndexEntry]:
    """Parse and check a 2.x index (``head``: marker and count first) or a 3.0 one (the
    entries alone), its CRC already checked: entries in frame order, frames contiguous
    from ``data_offset``. The caller checks where the last one ends."""
    hsize = INDEX_HEAD.size if head else 0
    if len(raw) < hsize + INDEX2_ENTRY_MIN * count:
        raise BitstreamError(
            f"index: {len(raw)} bytes cannot hold {count} entries (stream corrupted)"
        )
    if head:
        marker, n = INDEX_HEAD.unpack_from(raw, 0)
        if marker != INDEX2_MARKER or n != count:
            raise BitstreamError("index: bad marker or count (stream corrupted)")
    entries: list[IndexEntry] = []
    pos, off = hsize, data_offset
    for i in range(count):
        where = f"frame {i}"
        if pos + 2 > len(raw):
            raise BitstreamError(f"{where}: index entry cut short (stream corrupted)")
        desc, nsec = raw[pos], raw[pos + 1]
        if desc & DESC_RESERVED:
            raise BitstreamError(f"{where}: reserved bit set in the index entry")
        if nsec > MAX_SECTIONS:
            raise BitstreamError(f"{where}: {nsec} sections exceeds the limit {MAX_SECTIONS}")
        pos += 2
        lens = []
        for _ in range(nsec):
            v, pos = read_uleb128(raw, pos, where)
            lens.append(v)
        plen = sum(lens)
        if plen > MAX_PAYLOAD:
            raise BitstreamError(f"{where}: payload length {plen} exceeds the limit {MAX_PAYLOAD}")
        if pos + CRC.size > len(raw):
            raise BitstreamError(f"{where}: index entry cut short (stream corrupted)")
        (crc,) = CRC.unpack_from(raw, pos)
        pos += CRC.size
        q = desc & DESC_QUALITY_MASK
        ftype = desc >> DESC_TYPE_SHIFT
        entries.append(IndexEntry(i, off, ftype, plen, q, tuple(lens), crc))
        off += plen
    if pos != len(raw):
        raise BitstreamError(
            f"index: {len(raw) - pos} bytes after the last entry (stream corrupted)"
        )
    return entries


@dataclass(frozen=True)
class Trailer:
    index_offset: int
    frame_count: int
    index_crc: int

    def pack(self) -> bytes:
        return TRAILER.pack(self.index_offset, self.frame_count, self.index_crc, TRAILER_MAGIC)

    @classmethod
    def unpack(cls, data: bytes) -> Trailer:
        return cls(*_trailer_fields(data, TRAILER, TRAILER_MAGIC))


def _trailer_fields(data: bytes, layout: struct.Struct, magic: bytes) -> tuple[int, int, int]:
    """The three integers of a trailer (index offset or size, frame count, index CRC);
    a wrong size or magic means the stream was cut short."""
    if len(data) != layout.size:
        raise BitstreamError("truncated stream: no room for the index trailer")
    *fields_, found = layout.unpack(data)
    if found != magic:
        raise BitstreamError(
            "truncated stream: no index trailer (encode interrupted or file cut short)"
        )
    return tuple(fields_)


@dataclass(frozen=True)
class Trailer3:
    """The 3.0 trailer: the index lies just before it, ``index_size`` bytes long."""

    index_size: int
    frame_count: int
    index_crc: int

    def pack(self) -> bytes:
        if not 0 <= self.index_size <= U32_MAX:
            raise ValueError(f"index of {self.index_size} bytes does not fit the trailer")
        return TRAILER3.pack(self.index_size, self.frame_count, self.index_crc, TRAILER3_MAGIC)

    @classmethod
    def unpack(cls, data: bytes) -> Trailer3:
        return cls(*_trailer_fields(data, TRAILER3, TRAILER3_MAGIC))
