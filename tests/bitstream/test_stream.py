import json
import os
import struct
import subprocess
import sys

import pytest

from flavc_codec.bitstream import (
    BitstreamError,
    FrameChunk,
    SequenceHeader,
    StreamReader,
    StreamWriter,
    format_info,
    inspect,
)
from flavc_codec.bitstream.format import TRAILER3_SIZE, TRAILER_SIZE


def header(**kw):
    base = dict(width=33, height=17, fps_num=25, fps_den=1, quality=20, intra_period=3)
    base.update(kw)
    return SequenceHeader(**base)


def chunks(n=7):
    return [
        FrameChunk(0 if i % 3 == 0 else 1, 20, (bytes([i]) * (5 + i), bytes([255 - i]) * 3 * i))
        for i in range(n)
    ]


@pytest.fixture(params=[3, 2, 1], ids=["v3", "v2", "v1"])
def stream(tmp_path, request):
    """The same frames in container 3.0 (written by default), 2.1 and 1.0 (still read)."""
    p = tmp_path / "s.flavc"
    cs = chunks()
    with StreamWriter(p, header(), major=request.param) as w:
        for c in cs:
            w.write_frame(c)
    return p, cs


def test_roundtrip(stream):
    p, cs = stream
    assert not os.path.exists(str(p) + ".part")
    with StreamReader(p) as r:
        assert r.header.frame_count == len(cs) == len(r)
        assert r.header == header(frame_count=len(cs))
        assert [e.frame for e in r.index] == list(range(len(cs)))
        assert [e.frame_type for e in r.index] == [c.frame_type for c in cs]
        assert r.intra_frames == [0, 3, 6]
        assert r.index[0].offset == r.data_offset
        assert sum(e.nbytes for e in r.index) == r.index_offset - r.data_offset
        for i, c in enumerate(cs):
            assert r.read_frame(i) == c
        assert list(r) == cs
        with pytest.raises(IndexError):
            r.read_frame(len(cs))


def test_empty_stream(tmp_path):
    p = tmp_path / "e.flavc"
    with StreamWriter(p, header()):
        pass
    with StreamReader(p) as r:
        assert len(r) == 0 and r.header.frame_count == 0
    d = inspect(p)
    assert d["bpp"] is None


def test_writer_leaves_nothing_on_exception(tmp_path):
    p = tmp_path / "s.flavc"
    with pytest.raises(RuntimeError):
        with StreamWriter(p, header()) as w:
            w.write_frame(chunks(1)[0])
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_writer_keeps_old_file_on_exception(tmp_path, stream):
    p, _ = stream
    before = p.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with StreamWriter(p, header(width=64)) as w:
            w.write_frame(chunks(1)[0])
            raise KeyboardInterrupt
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["s.flavc"]


def test_part_file_is_not_a_valid_stream(tmp_path):
    p = tmp_path / "s.flavc"
    w = StreamWriter(p, header())
    w.write_frame(chunks(1)[0])
    w._f.flush()
    assert not p.exists()
    with pytest.raises(BitstreamError, match="truncated stream"):
        StreamReader(str(p) + ".part")
    w.abort()
    assert os.listdir(tmp_path) == []


def test_truncation_at_every_offset(tmp_path, stream):
    p, _ = stream
    data = p.read_bytes()
    q = tmp_path / "t.flavc"
    for n in range(len(data)):
        q.write_bytes(data[:n])
        with pytest.raises(BitstreamError) as ei:
            StreamReader(q)
        assert "\n" not in str(ei.value)


def test_appended_garbage_rejected(tmp_path, stream):
    p, _ = stream
    q = tmp_path / "g.flavc"
    q.write_bytes(p.read_bytes() + b"\0")
    with pytest.raises(BitstreamError):
        StreamReader(q)


def _read_all(path):
    with StreamReader(path) as r:
        for i in range(len(r)):
            r.read_frame(i)


def test_every_bitflip_detected(tmp_path, stream):
    """Any single flipped bit anywhere is caught on open or on frame read."""
    p, _ = stream
    data = p.read_bytes()
    q = tmp_path / "f.flavc"
    for i in range(len(data)):
        b = bytearray(data)
        b[i] ^= 0x04
        q.write_bytes(bytes(b))
        with pytest.raises(BitstreamError):
            _read_all(q)


def test_payload_flip_names_frame(tmp_path, stream):
    p, _ = stream
    with StreamReader(p) as r:
        e = r.index[4]
    b = bytearray(p.read_bytes())
    b[e.offset + e.nbytes - 1] ^= 0xFF
    q = tmp_path / "f.flavc"
    q.write_bytes(bytes(b))
    with StreamReader(q) as r:  # structure is intact: opens fine
        r.read_frame(3)
        with pytest.raises(BitstreamError, match=r"^frame 4: CRC mismatch \(stream corrupted\)$"):
            r.read_frame(4)


def test_bad_magic_and_version(tmp_path, stream):
    p, _ = stream
    q = tmp_path / "m.flavc"
    b = bytearray(p.read_bytes())
    b[0] = 0
    q.write_bytes(bytes(b))
    with pytest.raises(BitstreamError, match=r"^not a flavc stream \(bad magic\)$"):
        StreamReader(q)
    b = bytearray(p.read_bytes())
    b[8] = 4
    q.write_bytes(bytes(b))
    with pytest.raises(BitstreamError, match=rf"unsupported stream version 4\.{b[9]}"):
        StreamReader(q)
    q.write_bytes(b"")
    with pytest.raises(BitstreamError, match="bad magic"):
        StreamReader(q)


def test_missing_file(tmp_path):
    with pytest.raises(BitstreamError, match="no such file"):
        StreamReader(tmp_path / "none.flavc")


def test_huge_index_count_rejected_before_allocating(tmp_path, stream):
    p, _ = stream
    b = bytearray(p.read_bytes())
    # claim 2**32-1 frames in the trailer
    if b[8] == 3:
        struct.pack_into("<I", b, len(b) - TRAILER3_SIZE + 4, 0xFFFFFFFF)
    else:
        struct.pack_into("<I", b, len(b) - TRAILER_SIZE + 8, 0xFFFFFFFF)
    q = tmp_path / "h.flavc"
    q.write_bytes(bytes(b))
    with pytest.raises(BitstreamError, match="index"):
        StreamReader(q)


def test_inspect(stream):
    p, cs = stream
    d = inspect(p, frames=True, verify=True)
    json.dumps(d)
    assert d["frame_count"] == len(cs) and d["i_frames"] == 3 and d["p_frames"] == 4
    assert d["model_name"] == "flavc" and d["model_id"] == 1
    assert d["file_bytes"] == os.path.getsize(p)
    assert d["bpp"] == pytest.approx(d["file_bytes"] * 8 / (33 * 17 * len(cs)))
    assert d["kbps"] == pytest.approx(d["file_bytes"] * 8 / (len(cs) / 25) / 1000)
    assert [f["type"] for f in d["frames"]] == ["I", "P", "P", "I", "P", "P", "I"]
    assert sum(f["bytes"] for f in d["frames"]) == d["frame_bytes"]
    if not d["version"].startswith("1."):  # the index entries carry each frame's quality
        assert [f["quality"] for f in d["frames"]] == [c.quality for c in cs]
        assert "quality" in format_info(d).splitlines()[-len(cs) - 1]
    else:
        assert "quality" not in format_info(d).splitlines()[-len(cs) - 1]
    text = format_info(d)
    assert "33x17" in text and "flavc (id 1)" in text
    assert inspect(p, model_names={1: "custom"})["model_name"] == "custom"


def test_bitstream_imports_no_numpy_or_torch():
    code = (
        "import sys; import flavc_codec.bitstream, flavc_codec.bitstream.model_ids; "
        "print('torch' in sys.modules, 'numpy' in sys.modules)"
    )
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_io_imports_no_torch():
    code = "import sys; import flavc_codec.io, flavc_codec.yuv; print('torch' in sys.modules)"
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["False"], out.stderr


def _check_entries_v2(data: bytes, pos: int, off: int, cs) -> tuple[int, int]:
    """Walk compact index entries (2.x and 3.0): desc, count, ULEB128 lengths, CRC."""
    import zlib

    for c in cs:
        desc, nsec = data[pos], data[pos + 1]
        assert desc == c.quality | c.frame_type << 6 and nsec == len(c.sections)
        lens = [len(x) for x in c.sections]
        assert all(v < 128 for v in lens)  # one ULEB128 byte each in this stream
        assert list(data[pos + 2 : pos + 2 + nsec]) == lens
        end = pos + 2 + nsec
        payload = data[off : off + sum(lens)]
        assert struct.unpack_from("<I", data, end)[0] == zlib.crc32(data[pos:end] + payload)
        pos, off = end + 4, off + sum(lens)
    return pos, off


def test_layout_matches_spec(stream):
    """Spot-check the offsets documented in bitstream_spec.md."""
    import zlib

    p, cs = stream
    data = p.read_bytes()
    major = data[8]
    assert data[:8] == b"\x8bFLAVC\r\n" and major in (1, 2, 3)
    assert data[9] == (1 if major == 2 else 0)  # 2.1 defined FLAG_RANGE_CODER
    assert zlib.crc32(b"123456789") == 0xCBF43926
    if major == 3:
        # preamble with a one-byte header_len, body, CRC; no frame count anywhere before
        # the trailer; the index is the entries alone
        hlen = data[10]
        assert hlen < 128 and data[11:13] == bytes((33, 17))  # width, height varints
        start = 11 + hlen + 4
        assert struct.unpack_from("<I", data, 11 + hlen)[0] == zlib.crc32(data[: 11 + hlen])
        isize, n, icrc, magic = struct.unpack_from("<III4s", data, len(data) - 16)
        assert magic == b"FLVE" and n == len(cs)
        idx_off = len(data) - 16 - isize
        assert zlib.crc32(data[idx_off : len(data) - 16]) == icrc
        assert data[start : start + len(cs[0].sections[0])] == cs[0].sections[0]
        pos, off = _check_entries_v2(data, idx_off, start, cs)
        assert pos == len(data) - 16 and off == idx_off
        return
    assert struct.unpack_from("<H", data, 10)[0] == 84
    assert struct.unpack_from("<I", data, 28)[0] == len(cs)  # frame_count
    assert struct.unpack_from("<I", data, 96)[0] == zlib.crc32(data[:96])
    idx_off, n, icrc, magic = struct.unpack_from("<QII8s", data, len(data) - 24)
    assert magic == b"FLAVCIDX" and n == len(cs)
    assert zlib.crc32(data[idx_off : len(data) - 24]) == icrc
    if major == 1:
        assert data[100:104] == b"FLFR"
        assert data[idx_off : idx_off + 4] == b"FLIX"
        return
    # 2.x: frame data is the bare payloads; the index is a head, then the entries
    assert data[100 : 100 + len(cs[0].sections[0])] == cs[0].sections[0]
    assert data[idx_off : idx_off + 8] == b"FLI2" + struct.pack("<I", len(cs))
    pos, off = _check_entries_v2(data, idx_off + 8, 100, cs)
    assert pos == len(data) - 24 and off == idx_off


def test_container_sizes(tmp_path):
    """Per frame, 2.x spends 2 + ULEB128 lengths + 4 bytes instead of 1.0's 20 + 4n + 20;
    3.0 spends the same per frame as 2.x and 64 fixed bytes less for this header (an
    84-byte body becomes 37: seven one-byte varints, six bytes, the weights hash, and
    "yuv420p" with its length byte)."""
    sizes = {}
    for major in (1, 2, 3):
        p = tmp_path / f"v{major}.flavc"
        with StreamWriter(p, header(), major=major) as w:
            for c in chunks():
                w.write_frame(c)
        sizes[major] = os.path.getsize(p)
    n = len(chunks())
    assert sizes[1] - sizes[2] == n * (20 + 4 * 2 + 20) - n * (2 + 2 + 4)
    payload = sum(len(x) for c in chunks() for x in c.sections)
    assert sizes[2] == 132 + n * (2 + 2 + 4) + payload
    fixed3 = 11 + (7 + 6 + 16 + 8) + 4 + 16  # preamble, body, CRC, trailer
    assert sizes[3] == fixed3 + n * (2 + 2 + 4) + payload
    assert sizes[2] - sizes[3] == 132 - fixed3 == 64


def test_header_from_source(make_clip):
    from flavc_codec.io import open_video

    with open_video(make_clip(33, 17, n=1, ext=".mkv", pix_fmt="yuv420p10le")) as src:
        h = SequenceHeader.from_source(src.info, model_id=2, quality=5, intra_period=-1)
    assert (h.width, h.height, h.source_pix_fmt, h.source_bit_depth) == (33, 17, "yuv420p10le", 10)
    assert h.model_id == 2 and h.intra_period == -1
