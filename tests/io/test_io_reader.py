from fractions import Fraction

import numpy as np
import pytest
from clips import synthetic_frames

from flavc_codec.errors import FlavcError, InputError
from flavc_codec.io import open_video, read_frames


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.planes, b.planes, strict=True))


@pytest.mark.parametrize("w,h", [(33, 17), (65, 257)])
@pytest.mark.parametrize("ext", [".y4m", ".mkv"])
def test_odd_sizes_exact(make_clip, w, h, ext):
    path = make_clip(w, h, n=3, ext=ext)
    info, frames = read_frames(path)
    assert (info.width, info.height) == (w, h)
    assert info.pix_fmt == "yuv420p"
    assert len(frames) == 3 and info.frame_count == 3
    for a, b in zip(synthetic_frames(w, h, 3), frames, strict=True):
        assert b.u.shape == ((h + 1) // 2, (w + 1) // 2)
        assert _same(a, b)


def test_mp4_lossless_even(make_clip):
    path = make_clip(64, 48, n=4, ext=".mp4", fps=Fraction(30000, 1001))
    with open_video(path) as src:
        assert (src.info.fps_num, src.info.fps_den) == (30000, 1001)
        assert src.info.frame_count == 4
        frames = list(src)
    assert all(_same(a, b) for a, b in zip(synthetic_frames(64, 48, 4), frames, strict=True))


@pytest.mark.parametrize("ext", [".mkv", ".y4m"])
def test_10bit_source(make_clip, ext):
    path = make_clip(33, 17, n=2, ext=ext, pix_fmt="yuv420p10le")
    info, frames = read_frames(path)
    assert info.pix_fmt == "yuv420p10le" and info.bit_depth == 10
    assert frames[0].y.dtype == np.uint8 and frames[0].y.shape == (17, 33)
    for a, b in zip(synthetic_frames(33, 17, 2), frames, strict=True):
        for x, y in zip(a.planes, b.planes, strict=True):
            assert np.abs(x.astype(int) - y.astype(int)).max() <= 1


def test_y4m_frame_count_unknown_and_rate(make_clip):
    path = make_clip(16, 16, n=5, ext=".y4m", fps=Fraction(24000, 1001))
    with open_video(path) as src:
        assert src.info.frame_count is None
        assert (src.info.fps_num, src.info.fps_den) == (24000, 1001)
        assert len(list(src)) == 5


def test_max_frames(make_clip):
    path = make_clip(32, 32, n=5, ext=".mkv")
    with open_video(path, max_frames=2) as src:
        assert len(list(src)) == 2
    info, frames = read_frames(path, max_frames=3)
    assert len(frames) == 3 and info.frame_count == 3


def test_mjpeg_avi_full_range(make_clip):
    path = make_clip(48, 32, n=2, ext=".avi")
    info, frames = read_frames(path)
    assert info.pix_fmt == "yuvj420p" and info.color_range == 2
    assert len(frames) == 2 and frames[0].y.shape == (32, 48)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_video(tmp_path / "nope.mp4")


def test_directory(tmp_path):
    with pytest.raises(InputError):
        open_video(tmp_path)


def test_garbage_file(tmp_path):
    p = tmp_path / "x.mp4"
    p.write_bytes(b"this is not a video\n" * 10)
    with pytest.raises(InputError) as ei:
        open_video(p)
    assert "\n" not in str(ei.value)
    assert isinstance(ei.value, FlavcError)


def test_audio_only(tmp_path):
    import av

    p = tmp_path / "a.wav"
    with av.open(str(p), "w") as c:
        st = c.add_stream("pcm_s16le", rate=8000)
        f = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        f.sample_rate = 8000
        for pkt in st.encode(f):
            c.mux(pkt)
        for pkt in st.encode(None):
            c.mux(pkt)
    with pytest.raises(InputError, match="no video stream"):
        open_video(p)


def test_shared_data_clips(shared_data):
    vids = sorted((shared_data / "eval" / "video").glob("*")) + sorted(
        (shared_data / "train" / "video").glob("*")
    )
    if not vids:
        pytest.skip("no clips in shared data")
    for p in vids:
        with open_video(p, max_frames=2) as src:
            frames = list(src)
            assert frames, p
            assert frames[0].y.shape == (src.info.height, src.info.width)
            assert src.info.fps_num > 0 and src.info.fps_den > 0
