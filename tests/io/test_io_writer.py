import io
import sys

import numpy as np
import pytest
from clips import synthetic_frames

from flavc_codec.errors import FlavcError
from flavc_codec.io import ColorDescription, open_writer, read_frames


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.planes, b.planes, strict=True))


@pytest.mark.parametrize("w,h", [(33, 17), (64, 48), (65, 257)])
def test_y4m_exact_and_readable_by_pyav(tmp_path, w, h):
    frames = synthetic_frames(w, h, 3)
    p = tmp_path / "o.y4m"
    with open_writer(p, w, h, 30000, 1001) as wr:
        for f in frames:
            wr.write(f)
    data = p.read_bytes()
    head = f"YUV4MPEG2 W{w} H{h} F30000:1001 Ip A1:1 C420jpeg\n".encode()
    assert data.startswith(head)
    assert data == head + b"".join(b"FRAME\n" + f.tobytes() for f in frames)
    info, back = read_frames(p)
    assert (info.width, info.height, info.fps_num, info.fps_den) == (w, h, 30000, 1001)
    assert all(_same(a, b) for a, b in zip(frames, back, strict=True))


def test_y4m_full_range_tag(tmp_path):
    p = tmp_path / "o.y4m"
    with open_writer(p, 4, 4, color=ColorDescription(color_range=2)) as wr:
        wr.write(synthetic_frames(4, 4, 1)[0])
    assert p.read_bytes().split(b"\n")[0].endswith(b"XCOLORRANGE=FULL")
    info, _ = read_frames(p)
    assert info.color_range == 2


def test_stdout_dash(monkeypatch):
    buf = io.BytesIO()

    class FakeStdout:
        buffer = buf

    monkeypatch.setattr(sys, "stdout", FakeStdout())
    frames = synthetic_frames(5, 3, 2)
    with open_writer("-", 5, 3, 25, 1) as wr:
        for f in frames:
            wr.write(f)
    assert buf.getvalue() == b"YUV4MPEG2 W5 H3 F25:1 Ip A1:1 C420jpeg\n" + b"".join(
        b"FRAME\n" + f.tobytes() for f in frames
    )


def test_file_object():
    buf = io.BytesIO()
    with open_writer(buf, 5, 3) as wr:
        wr.write(synthetic_frames(5, 3, 1)[0])
    assert buf.getvalue().startswith(b"YUV4MPEG2 W5 H3 F25:1")


def test_mkv_ffv1_odd_exact(tmp_path):
    frames = synthetic_frames(33, 17, 3)
    p = tmp_path / "o.mkv"
    col = ColorDescription(1, 1, 1, 1)
    with open_writer(p, 33, 17, 24, 1, color=col) as wr:
        for f in frames:
            wr.write(f)
    info, back = read_frames(p)
    assert (info.width, info.height) == (33, 17)
    assert (info.color_primaries, info.color_trc, info.colorspace, info.color_range) == (
        1,
        1,
        1,
        1,
    )
    assert all(_same(a, b) for a, b in zip(frames, back, strict=True))


def test_mp4_odd_padded_to_even(tmp_path):
    frames = synthetic_frames(33, 17, 2)
    p = tmp_path / "o.mp4"
    with open_writer(p, 33, 17, 25, 1) as wr:
        for f in frames:
            wr.write(f)
    info, back = read_frames(p)
    assert (info.width, info.height) == (34, 18)
    assert len(back) == 2
    # high quality: crop back and compare
    d = np.abs(back[0].y[:17, :33].astype(int) - frames[0].y.astype(int))
    assert d.mean() < 2


def test_unknown_extension(tmp_path):
    with pytest.raises(FlavcError, match="unknown output extension"):
        open_writer(tmp_path / "o.avi", 4, 4)


def test_size_mismatch(tmp_path):
    with open_writer(tmp_path / "o.y4m", 4, 4) as wr:
        with pytest.raises(FlavcError):
            wr.write(synthetic_frames(6, 4, 1)[0])
