import os

import pytest
from bench_helpers import make_clip

from flavc_codec.bench.anchors import anchor_settings, encode_anchor, extend_qps


@pytest.mark.parametrize("size", [(64, 48), (33, 17)])
@pytest.mark.parametrize("codec", ["x264", "x265", "svtav1"])
def test_anchor_tiny_clip(tmp_path, codec, size):
    w, h = size
    frames = make_clip(w, h, 5)
    path = os.path.join(tmp_path, f"{codec}.mp4")
    p = encode_anchor(frames, codec, 30, path, intra_period=4, preset="medium")
    assert p.error is None, p.error
    assert p.b_frames == 0 and not p.reordered
    assert p.frame_types == "I1 P3 I1"  # GOP = intra period, closed, no B
    assert p.frames == 5 and p.width == w and p.height == h
    assert p.bytes == os.path.getsize(path)
    assert p.bpp == pytest.approx(p.bytes * 8 / (w * h * 5))
    assert 25 < p.psnr_yuv < 70 and 25 < p.psnr_y < 70
    assert p.msssim is None and "too small" in p.msssim_note
    assert (p.padded_to is not None) == (w % 2 == 1 or h % 2 == 1)
    assert p.enc_fps > 0 and p.dec_fps > 0


def test_single_intra_and_qp_monotone(tmp_path):
    frames = make_clip(64, 48, 5)
    lo = encode_anchor(frames, "x264", 24, str(tmp_path / "a.mp4"), intra_period=-1)
    hi = encode_anchor(frames, "x264", 40, str(tmp_path / "b.mp4"), intra_period=-1)
    assert lo.frame_types == "I1 P4" and hi.frame_types == "I1 P4"
    assert lo.bytes > hi.bytes and lo.psnr_yuv > hi.psnr_yuv


def test_settings():
    enc, pre, opts = anchor_settings("x265", 27, 32, "veryslow")
    assert enc == "libx265" and pre == "veryslow"
    assert "keyint=32:min-keyint=32" in opts["x265-params"] and "bframes=0" in opts["x265-params"]
    enc, pre, opts = anchor_settings("svtav1", 40, -1, "medium")
    assert enc == "libsvtav1" and pre == "6" and "pred-struct=1" in opts["svtav1-params"]
    assert "keyint=-1" in opts["svtav1-params"]
    with pytest.raises(ValueError):
        anchor_settings("vvc", 30)
    assert extend_qps("x264", [22, 27], -1) == [17, 12]
    assert extend_qps("x264", [47, 42], 1) == [51]


def test_encoder_failure_is_reported(tmp_path):
    frames = make_clip(64, 48, 2)
    p = encode_anchor(frames, "x264", 30, str(tmp_path / "nodir" / "x.mp4"))
    assert p.error is not None and p.bpp is None
