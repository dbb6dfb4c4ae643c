import struct
from dataclasses import replace

import pytest

from flavc_codec.bitstream import BitstreamError, FrameChunk, SequenceHeader
from flavc_codec.bitstream.format import (
    CHUNK_FIXED,
    CHUNK_MARKER,
    HEADER3_MIN_SIZE,
    HEADER_V1_SIZE,
    MAGIC,
    MAX_PAYLOAD,
    PREAMBLE,
    TRAILER3_SIZE,
    TRAILER_SIZE,
    IndexEntry,
    Trailer,
    Trailer3,
    crc32,
    pack_index,
    parse_index_v2,
    read_uleb128,
    uleb128,
)


def hdr(**kw):
    base = dict(
        width=1920,
        height=1080,
        fps_num=30000,
        fps_den=1001,
        frame_count=96,
        source_pix_fmt="yuv420p10le",
        source_bit_depth=10,
        color_primaries=1,
        color_trc=1,
        colorspace=1,
        color_range=1,
        model_id=2,
        weights_hash=bytes(range(16)),
        quality=63,
        intra_period=-1,
        flags=0x80000001,
    )
    base.update(kw)
    return SequenceHeader(**base)


@pytest.mark.parametrize("major", [1, 2, 3])
def test_header_roundtrip(major):
    """Every field survives pack/unpack; 3.0 has no frame count (the reader takes the
    trailer's), so it comes back as 0."""
    h = hdr()
    data = h.pack(major)
    assert data[:8] == MAGIC and len(MAGIC) == 8 and data[8] == major
    if major < 3:
        assert len(data) == 12 + HEADER_V1_SIZE + 4
    h2, n = SequenceHeader.unpack(data + b"trailing")
    assert n == len(data)
    assert h2 == (replace(h, frame_count=0) if major == 3 else h)


def test_header_v3_layout():
    """The 3.0 body byte by byte (bitstream_spec.md section 3a)."""
    h = hdr(width=352, height=288, fps_num=30000, fps_den=1001, intra_period=32, flags=7,
            model_id=1, source_pix_fmt="yuv420p", weights_hash=bytes(range(16)))  # fmt: skip
    data = h.pack(3)
    body = (
        b"\xe0\x02" + b"\xa0\x02" + b"\xb0\xea\x01" + b"\xe9\x07" + b"\x21" + b"\x07" + b"\x01"
        + bytes((63, 10, 1, 1, 1, 1)) + bytes(range(16)) + b"\x07yuv420p"
    )  # fmt: skip
    assert data[:10] == MAGIC + b"\x03\x00" and data[10] == len(body) == 42
    assert data[11:-4] == body
    assert struct.unpack("<I", data[-4:])[0] == crc32(data[:-4])
    # the smallest header: -1 (one I-frame) is 0, an empty pixel-format name is one byte
    small = hdr(width=1, height=1, fps_num=1, fps_den=1, intra_period=-1, flags=0, model_id=0,
                source_pix_fmt="")  # fmt: skip
    assert small.pack(3)[10] == HEADER3_MIN_SIZE
    assert SequenceHeader.unpack(small.pack(3))[0] == replace(small, frame_count=0)


def _v3(body: bytes) -> bytes:
    pre = MAGIC + b"\x03\x00" + uleb128(len(body))
    return pre + body + struct.pack("<I", crc32(pre, body))


def test_header_v3_rejects():
    """Malformed 3.0 bodies with a good CRC: each is one named error."""
    good = hdr(intra_period=32, source_pix_fmt="yuv420p").pack(3)
    body = good[11:-4]
    w, rest = body[:2], body[2:]  # width 1920 is two varint bytes
    cases = [
        (b"\x00" + rest, "width 0 out of range"),  # width 0
        (b"\x80\x8f\x01" + rest, "width 18304 out of range"),
        (b"\x80\x8f\x00" + rest, "non-minimal width"),  # 1920 as 3 bytes, last 0
        (w + rest[:7] + b"\x01" + rest[8:], "intra_period 0 out of range"),
        (body[:-8] + b"\x21" + b"y" * 33, "source_pix_fmt length 33"),
        (body[:-8] + b"\x08yuv420p", "source_pix_fmt length 8 does not fit"),
        (body[:-8] + b"\x07yuv 20p", "source_pix_fmt"),
        (body[:-8] + b"\x07yuv\xff20p", "source_pix_fmt is not ASCII"),
        # the varints take 16 bytes here (flags 0x80000001: 5), so 30 cannot hold the rest
        (body[:30], "body of 30 bytes ends inside its fields"),
        (body[:20], "length 20 out of range 30"),
    ]
    for b, msg in cases:
        with pytest.raises(BitstreamError, match=msg):
            SequenceHeader.unpack(_v3(b))
    long_len = MAGIC + b"\x03\x00" + b"\x80\x80\x01"
    with pytest.raises(BitstreamError, match="header_len field longer than 2 bytes"):
        SequenceHeader.unpack(long_len + b"\0" * 100)
    for n in range(len(good)):
        with pytest.raises(BitstreamError):
            SequenceHeader.unpack(good[:n])
    with pytest.raises(BitstreamError, match="file ends inside the preamble"):
        SequenceHeader.unpack(good[:11] if good[10] & 0x80 else good[:10])


def test_header_minor_extension_is_skipped():
    h = hdr()
    ext = h.pack(1)
    body = ext[12:-4] + b"\x01\x02\x03\x04"
    pre = PREAMBLE.pack(MAGIC, 1, 3, len(body))
    data = pre + body + struct.pack("<I", crc32(pre, body))
    h2, n = SequenceHeader.unpack(data)
    assert n == len(data) and h2.width == h.width and h2.extra == b"\x01\x02\x03\x04"
    # 3.x: bytes after the defined fields are kept, and packed again
    data = _v3(h.pack(3)[11:-4] + b"\x05\x06")
    h3, n = SequenceHeader.unpack(data)
    assert n == len(data) and h3.extra == b"\x05\x06" and h3.pack(3) == data


@pytest.mark.parametrize(
    "field,value",
    [
        ("width", 0),
        ("width", 16385),
        ("height", 0),
        ("fps_num", 0),
        ("fps_den", 0),
        ("fps_num", 2**32),
        ("quality", 64),
        ("intra_period", 0),
        ("intra_period", -2),
        ("intra_period", 65536),
        ("model_id", 65536),
        ("source_pix_fmt", "x" * 33),
        ("source_pix_fmt", "yuv 420"),
        ("source_pix_fmt", "é"),
        ("weights_hash", b"short"),
        ("color_range", 256),
        ("source_bit_depth", 0),
    ],
)
def test_header_pack_rejects(field, value):
    with pytest.raises(ValueError):
        hdr(**{field: value})


def _repack(data: bytes, off: int, fmt: str, value) -> bytes:
    """Change one field of a packed header and fix the CRC (so only the range check fires)."""
    b = bytearray(data)
    struct.pack_into(fmt, b, 12 + off, value)
    end = len(b) - 4
    struct.pack_into("<I", b, end, crc32(bytes(b[:end])))
    return bytes(b)


@pytest.mark.parametrize(
    "off,fmt,value,msg",
    [
        (0, "<I", 0, "width 0 out of range"),
        (4, "<I", 20000, "height 20000 out of range"),
        (12, "<I", 0, "fps_den"),
        (20, "<i", -5, "intra_period"),
        (30, "<B", 64, "quality 64"),
        (52, "<4s", b"\xff\xfe\x00\x00", "source_pix_fmt"),
    ],
)
def test_header_unpack_range_checks(off, fmt, value, msg):
    data = _repack(hdr().pack(2), off, fmt, value)
    with pytest.raises(BitstreamError, match=msg):
        SequenceHeader.unpack(data)


def test_header_bad_magic():
    data = bytearray(hdr().pack(2))
    data[1] ^= 0x20
    with pytest.raises(BitstreamError, match=r"not a flavc stream \(bad magic\)"):
        SequenceHeader.unpack(bytes(data))
    with pytest.raises(BitstreamError, match="bad magic"):
        SequenceHeader.unpack(b"")


def test_header_unknown_major():
    data = bytearray(hdr().pack(2))
    data[8] = 4
    data[96:100] = struct.pack("<I", crc32(bytes(data[:96])))
    msg = r"unsupported stream version 4\.1 \(this flavc reads 1\.x, 2\.x and 3\.x\)"
    with pytest.raises(BitstreamError, match=msg):
        SequenceHeader.unpack(bytes(data))


def test_header_major_versions():
    """1.0 and 2.x share the header body; only the version bytes (and CRC) differ. 3.0
    is written by default."""
    h = hdr()
    v1, v2, v3 = h.pack(1), h.pack(2), h.pack(3)
    assert v3 == h.pack() and v1[8] == 1 and v2[8] == 2 and v3[8] == 3
    assert (v1[9], v2[9], v3[9]) == (0, 1, 0) and v1[10:96] == v2[10:96]
    assert SequenceHeader.unpack(v1)[0] == SequenceHeader.unpack(v2)[0] == h
    assert len(v3) < len(v2) - 30
    with pytest.raises(ValueError):
        h.pack(4)


@pytest.mark.parametrize("major", [2, 3])
def test_header_crc(major):
    data = bytearray(hdr().pack(major))
    data[20] ^= 1
    with pytest.raises(BitstreamError, match="header: CRC mismatch"):
        SequenceHeader.unpack(bytes(data))


def test_header_length_field():
    data = bytearray(hdr().pack(2))
    struct.pack_into("<H", data, 10, 10)
    with pytest.raises(BitstreamError, match="length 10"):
        SequenceHeader.unpack(bytes(data))
    data = bytearray(hdr().pack(3))
    data[10] = 10
    with pytest.raises(BitstreamError, match="length 10 out of range 30"):
        SequenceHeader.unpack(bytes(data))


@pytest.mark.parametrize("major", [1, 2, 3])
def test_header_truncated_everywhere(major):
    data = hdr().pack(major)
    for n in range(len(data)):
        with pytest.raises(BitstreamError):
            SequenceHeader.unpack(data[:n])


def test_chunk_roundtrip():
    c = FrameChunk(1, 17, (b"abc", b"", b"x" * 1000))
    data = c.pack(42)
    assert len(data) == 16 + 3 * 4 + 4 + 1003
    c2, fnum = FrameChunk.unpack(data)
    assert c2 == c and fnum == 42
    c0 = FrameChunk(0, 0, ())
    assert FrameChunk.unpack(c0.pack(0))[0] == c0
    assert FrameChunk(0, 1, [b"a"]).sections == (b"a",)


@pytest.mark.parametrize(
    "kw",
    [
        dict(frame_type=2, quality=1, sections=()),
        dict(frame_type=0, quality=64, sections=()),
        dict(frame_type=0, quality=-1, sections=()),
        dict(frame_type=0, quality=1, sections=(b"",) * 9),
        dict(frame_type=0, quality=1, sections=("text",)),
    ],
)
def test_chunk_pack_rejects(kw):
    with pytest.raises(ValueError):
        FrameChunk(**kw)


def test_chunk_bitflips_named():
    data = FrameChunk(0, 5, (b"hello", b"world!")).pack(12)
    for i in range(len(data)):
        for bit in (0, 7):
            b = bytearray(data)
            b[i] ^= 1 << bit
            with pytest.raises(BitstreamError, match="frame 12"):
                FrameChunk.unpack(bytes(b), expect_frame=12)


def test_chunk_payload_flip_is_crc_error():
    data = bytearray(FrameChunk(1, 5, (b"hello", b"world!")).pack(3))
    data[-2] ^= 0x10
    with pytest.raises(BitstreamError, match=r"frame 3: CRC mismatch \(stream corrupted\)"):
        FrameChunk.unpack(bytes(data), expect_frame=3)


def test_chunk_truncated():
    data = FrameChunk(1, 5, (b"hello", b"world!")).pack(3)
    for n in range(len(data)):
        with pytest.raises(BitstreamError, match="frame 3"):
            FrameChunk.unpack(data[:n], expect_frame=3)


def test_chunk_oversize_lengths_rejected_without_allocating():
    head = CHUNK_FIXED.pack(CHUNK_MARKER, 0, 0, 0, 1, 0, MAX_PAYLOAD + 1) + struct.pack(
        "<I", MAX_PAYLOAD + 1
    )
    with pytest.raises(BitstreamError, match="exceeds the limit"):
        FrameChunk.unpack(head + b"\0\0\0\0", expect_frame=0)
    # within the limit but more than the data holds
    head = CHUNK_FIXED.pack(CHUNK_MARKER, 0, 0, 0, 1, 0, 2**27) + struct.pack("<I", 2**27)
    with pytest.raises(BitstreamError, match="truncated stream: frame 0"):
        FrameChunk.unpack(head + b"\0\0\0\0" + b"x" * 10, expect_frame=0)
    head = CHUNK_FIXED.pack(CHUNK_MARKER, 0, 0, 0, 9, 0, 0)
    with pytest.raises(BitstreamError, match="9 sections"):
        FrameChunk.unpack(head + b"\0" * 40, expect_frame=0)


def test_chunk_section_sum_mismatch():
    head = CHUNK_FIXED.pack(CHUNK_MARKER, 0, 0, 0, 2, 0, 5) + struct.pack("<II", 1, 1)
    with pytest.raises(BitstreamError, match="sum to 2"):
        FrameChunk.unpack(head + b"\0" * 9, expect_frame=0)


def test_index_and_trailer_roundtrip():
    entries = [IndexEntry(0, 100, 0, 50), IndexEntry(1, 2**33, 1, 150)]
    idx = pack_index(entries)
    assert len(idx) == 8 + 20 * 2
    t = Trailer(123456789012, 2, crc32(idx))
    raw = t.pack()
    assert len(raw) == TRAILER_SIZE
    assert Trailer.unpack(raw) == t
    with pytest.raises(BitstreamError, match="no index trailer"):
        Trailer.unpack(raw[:-1] + b"Y")
    t3 = Trailer3(len(idx), 2, crc32(idx))
    raw = t3.pack()
    assert len(raw) == TRAILER3_SIZE == 16 and raw[-4:] == b"FLVE"
    assert Trailer3.unpack(raw) == t3
    with pytest.raises(BitstreamError, match="no index trailer"):
        Trailer3.unpack(raw[:-1] + b"Y")
    with pytest.raises(ValueError):
        Trailer3(2**32, 2, 0).pack()


@pytest.mark.parametrize(
    "v, enc",
    [(0, b"\x00"), (1, b"\x01"), (127, b"\x7f"), (128, b"\x80\x01"), (300, b"\xac\x02"),
     (MAX_PAYLOAD, b"\x80\x80\x80\x80\x01")],
)  # fmt: skip
def test_uleb128(v, enc):
    assert uleb128(v) == enc
    assert read_uleb128(b"x" + enc + b"y", 1, "frame 0") == (v, 1 + len(enc))


def test_uleb128_rejects():
    with pytest.raises(BitstreamError, match="non-minimal"):
        read_uleb128(b"\x81\x00", 0, "frame 2")
    with pytest.raises(BitstreamError, match="longer than 5 bytes"):
        read_uleb128(b"\x80" * 6 + b"\x01", 0, "frame 2")
    with pytest.raises(BitstreamError, match="frame 2: index entry cut short"):
        read_uleb128(b"\x80\x80", 0, "frame 2")


def test_index_v2_roundtrip():
    chunks = [FrameChunk(0, 63, (b"abc", b"x" * 200)), FrameChunk(1, 0, ()),
              FrameChunk(1, 17, (b"", b"q" * 5, b"r"))]  # fmt: skip
    entries, off = [], 100
    for i, c in enumerate(chunks):
        entries.append(IndexEntry.for_chunk_v2(i, off, c))
        off += c.payload_size
    raw = pack_index(entries, 2)
    # head, then per entry: desc, count, one byte per length (two for 200), CRC
    assert raw[:4] == b"FLI2" and len(raw) == 8 + (2 + 3 + 4) + (2 + 4) + (2 + 3 + 4)
    assert raw[8] == 63 and raw[8 + 9] == 0x40  # desc: quality | type << 6
    assert parse_index_v2(raw, 3, 100) == entries
    assert entries[2].crc == crc32(entries[2].head_v2(), b"qqqqqr")
    with pytest.raises(BitstreamError, match="bad marker or count"):
        parse_index_v2(raw, 2, 100)  # too few: also bytes left over, but count is first
    with pytest.raises(BitstreamError, match="cannot hold 9 entries"):
        parse_index_v2(raw, 9, 100)
    bad = bytearray(raw)
    bad[8] |= 0x80
    with pytest.raises(BitstreamError, match="frame 0: reserved bit"):
        parse_index_v2(bytes(bad), 3, 100)
    bad = bytearray(raw)
    bad[9] = 9
    with pytest.raises(BitstreamError, match="frame 0: 9 sections"):
        parse_index_v2(bytes(bad), 3, 100)
    with pytest.raises(BitstreamError, match="bytes after the last entry"):
        parse_index_v2(raw + b"\0", 3, 100)
    big = pack_index([IndexEntry(0, 0, 0, 0, 0, (MAX_PAYLOAD, 1))], 2)
    with pytest.raises(BitstreamError, match="exceeds the limit"):
        parse_index_v2(big, 1, 100)
    # 3.0: the same entries without the head
    raw3 = pack_index(entries, 3)
    assert raw3 == raw[8:] and parse_index_v2(raw3, 3, 100, head=False) == entries
    with pytest.raises(BitstreamError, match="bytes after the last entry"):
        parse_index_v2(raw3, 2, 100, head=False)
