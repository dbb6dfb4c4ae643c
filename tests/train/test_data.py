"""Tests for flavc_codec.train.data (fast, self-contained; real data test skips)."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from flavc_codec.train import data as D

SHARED_TRAIN = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "train"


def _smooth_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Natural-ish test picture: gradients + low-frequency noise + a few edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        low = rng.normal(size=(h // 16 + 2, w // 16 + 2)).astype(np.float32)
        low = torch.nn.functional.interpolate(
            torch.from_numpy(low)[None, None], size=(h, w), mode="bicubic", align_corners=False
        )[0, 0].numpy()
        img[..., c] = 128 + 40 * low + 30 * np.sin(xx / (9 + 3 * c)) * np.cos(yy / 13)
    img[h // 3 : h // 2, w // 4 : w // 2] += 50
    return np.clip(img, 0, 255).astype(np.uint8)


def _write_video(
    path: Path, w: int, h: int, n: int, codec: str = "libx264", pix_fmt: str | None = None
) -> None:
    base = _smooth_rgb(h + 40, w + 40, seed=1)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=25)
        s.width, s.height = w, h
        s.pix_fmt = pix_fmt or ("yuv420p" if codec != "ffv1" else "bgr0")
        if codec == "libx264":
            s.options = {"crf": "18", "preset": "ultrafast"}
        for i in range(n):
            rgb = np.ascontiguousarray(base[i % 20 : i % 20 + h, i % 30 : i % 30 + w])
            fr = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


# ------------------------------------------------------------------ layout
def test_packing_matches_torch_pixel_unshuffle():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 256, (8, 12), dtype=np.uint8)
    u = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    v = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    x = D.yuv420_to_packed(y, u, v)
    assert x.shape == (6, 4, 6) and x.dtype == np.float32
    ref = F.pixel_unshuffle(torch.from_numpy(y.astype(np.float32) / 255)[None, None], 2)[0]
    np.testing.assert_array_equal(x[:4], ref.numpy())
    np.testing.assert_array_equal(x[4], u / np.float32(255))
    np.testing.assert_array_equal(x[5], v / np.float32(255))
    # inverse
    yy, uu, vv = D.packed_to_yuv420(D._pack_u8(y, u, v))
    np.testing.assert_array_equal(yy, y)
    np.testing.assert_array_equal(uu, u)
    with pytest.raises(ValueError):
        D.yuv420_to_packed(y[:7], u, v)


def test_flip_packed_equals_flipping_planes():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 256, (8, 12), dtype=np.uint8)
    u = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    v = rng.integers(0, 256, (4, 6), dtype=np.uint8)
    x = torch.from_numpy(D._pack_u8(y, u, v))
    for horizontal, ax in ((True, 1), (False, 0)):
        want = D._pack_u8(np.flip(y, ax).copy(), np.flip(u, ax).copy(), np.flip(v, ax).copy())
        np.testing.assert_array_equal(D.flip_packed(x, horizontal).numpy(), want)
        np.testing.assert_array_equal(D.flip_packed(x.numpy(), horizontal), want)


def test_rgb_to_yuv420_matches_ffmpeg_and_ranges():
    rgb = _smooth_rgb(32, 48)
    y, u, v = D.rgb_to_yuv420(rgb)
    assert y.shape == (32, 48) and u.shape == (16, 24) and v.shape == (16, 24)
    assert y.dtype == np.uint8
    ref = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    np.testing.assert_array_equal(ref.to_ndarray()[:32], y)
    # grey maps to neutral chroma
    _, ug, vg = D.rgb_to_yuv420(np.full((4, 4, 3), 128, np.uint8))
    assert np.all(np.abs(ug.astype(int) - 128) <= 1) and np.all(np.abs(vg.astype(int) - 128) <= 1)
    with pytest.raises(ValueError):
        D.rgb_to_yuv420(rgb[:31])


def test_down2_area_average():
    a = np.array([[0, 2, 10, 10], [2, 4, 10, 11]], np.uint8)
    np.testing.assert_array_equal(D._down2(a), [[2, 10]])


# ------------------------------------------------------------------ sources
def test_vimeo_septuplet_fake_tree(tmp_path):
    root = tmp_path / "vimeo_septuplet"
    base = _smooth_rgb(80, 120)
    names = ["00001/0001", "00001/0002"]
    for k, name in enumerate(names):
        d = root / "sequences" / name
        d.mkdir(parents=True)
        for i in range(7):
            Image.fromarray(np.roll(base, 3 * i + k, axis=1)).save(d / f"im{i + 1}.png")
    (root / "sep_trainlist.txt").write_text("\n".join(names) + "\n")
    ds = D.VimeoSeptuplet(root, T=3, crop=64)
    assert len(ds) == 2
    torch.manual_seed(0)
    x = ds[1]
    assert x.shape == (3, 6, 32, 32) and x.dtype == torch.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert not torch.equal(x[0], x[1])
    with pytest.raises(ValueError):
        D.VimeoSeptuplet(root, T=8, crop=64)


@pytest.mark.parametrize(
    "w,h,codec,pix_fmt",
    [(96, 64, "libx264", None), (65, 33, "ffv1", "yuv420p"), (96, 64, "ffv1", "bgr0")],
)
def test_video_folder(tmp_path, w, h, codec, pix_fmt):
    p = tmp_path / ("clip.mkv" if codec == "ffv1" else "clip.mp4")
    _write_video(p, w, h, 12, codec, pix_fmt)
    crop = 32 if h < 64 else 64
    ds = D.VideoFolder(tmp_path, T=3, crop=crop, downscale2x=False, length=3)
    torch.manual_seed(0)
    x = ds[0]
    assert x.shape == (3, 6, crop // 2, crop // 2)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    # the clip moves, so frames differ
    assert (x[1] - x[0]).abs().mean() > 0.001
    # downscale to half size: 96x64 -> 48x32 fits crop 32, 65x33 -> 32x16 does not
    if h >= 64:
        ds2 = D.VideoFolder(tmp_path, T=2, crop=32, downscale2x=True, length=1)
        assert ds2[0].shape == (2, 6, 16, 16)
    else:
        with pytest.raises(ValueError):
            D.VideoFolder(tmp_path, T=2, crop=32, downscale2x=True)
    # crop larger than the frame: refused up front
    with pytest.raises(ValueError):
        D.VideoFolder(tmp_path, T=3, crop=128, downscale2x=False)


def test_sample_video_sequences_contents_match_decoder(tmp_path):
    p = tmp_path / "a.mp4"
    _write_video(p, 96, 64, 10)
    rng = np.random.default_rng(3)
    seqs = D.sample_video_sequences(
        p, 5, 2, 32, rng, downscale2x=False, step_probs=(1.0,), reject_cuts=False
    )
    assert seqs.shape == (5, 2, 6, 16, 16) and seqs.dtype == np.uint8
    # every frame of every sequence is a crop of some decoded frame at an even offset
    frames = [D.frame_to_yuv420(f) for f in av.open(str(p)).decode(video=0)]
    packed = [D._pack_u8(*pl) for pl in frames]
    for q in seqs:
        found = False
        for t in range(len(packed) - 1):
            for oy in range(0, 32 - 15):
                for ox in range(0, 48 - 15):
                    if np.array_equal(packed[t][:, oy : oy + 16, ox : ox + 16], q[0]):
                        found = np.array_equal(packed[t + 1][:, oy : oy + 16, ox : ox + 16], q[1])
                        break
                if found:
                    break
            if found:
                break
        assert found


def test_synthetic_motion_differs_but_correlated():
    imgs = [Image.fromarray(_smooth_rgb(200, 260, s)) for s in range(2)]
    rng = np.random.default_rng(0)
    for _ in range(5):
        seq = D.synth_motion_packed(imgs[0], 3, 64, rng, imgs[1:])
        assert seq.shape == (3, 6, 32, 32) and seq.dtype == np.uint8
        a, b = seq[0, :4].astype(np.float64).ravel(), seq[1, :4].astype(np.float64).ravel()
        corr = np.corrcoef(a, b)[0, 1]
        assert corr > 0.3
    # over several samples, at least some motion
    diffs = [
        np.abs(
            np.diff(D.synth_motion_packed(imgs[0], 3, 64, rng, imgs[1:]).astype(int), axis=0)
        ).mean()
        for _ in range(8)
    ]
    assert max(diffs) > 1.0
    ds = D.SyntheticMotion(imgs, T=4, crop=64, length=2)
    assert ds[0].shape == (4, 6, 32, 32)
    ic = D.ImageCrops(imgs, crop=64, length=2)
    assert ic[0].shape == (1, 6, 32, 32)


def test_scene_cut_detector():
    a = D._pack_u8(*D.rgb_to_yuv420(_smooth_rgb(64, 64, 0)))
    b = D._pack_u8(*D.rgb_to_yuv420((_smooth_rgb(64, 64, 5) // 3 + 170).astype(np.uint8)))
    assert D.has_scene_cut(np.stack([a, b]))
    assert not D.has_scene_cut(np.stack([a, a]))


# ------------------------------------------------------------------ cache
def _tiny_train_tree(root: Path) -> None:
    (root / "video").mkdir(parents=True)
    (root / "images").mkdir()
    _write_video(root / "video" / "a.mp4", 96, 64, 15)
    _write_video(root / "video" / "b.mkv", 80, 72, 8, "ffv1")
    _write_video(root / "video" / "tiny.mp4", 32, 32, 8)  # too small: skipped
    for s in range(2):
        Image.fromarray(_smooth_rgb(120, 150, s)).save(root / "images" / f"im{s}.png")


def test_build_cache_and_cached_sequences(tmp_path):
    root = tmp_path / "train"
    _tiny_train_tree(root)
    out = tmp_path / "cache" / "c.npy"
    meta = D.build_cache(
        root, out, T=3, crop=48, n_video=20, n_synth=6, seed=0, progress=False, workers=1
    )
    arr = np.load(out, mmap_mode="r")
    assert arr.shape == (26, 3, 6, 24, 24) and arr.dtype == np.uint8
    assert meta["shape"] == [26, 3, 6, 24, 24]
    assert out.with_suffix(".json").exists()
    assert meta["n_video"] + meta["n_synth"] == 26 and meta["n_video"] >= 15
    assert arr.reshape(26, -1).std(axis=1).min() > 0  # nothing left blank
    # same seed -> same cache
    out2 = tmp_path / "cache" / "c2.npy"
    D.build_cache(
        root, out2, T=3, crop=48, n_video=20, n_synth=6, seed=0, progress=False, workers=1
    )
    np.testing.assert_array_equal(np.load(out2), np.asarray(arr))

    ds = D.CachedSequences(out)
    x = ds[0]
    assert len(ds) == 26 and x.shape == (3, 6, 24, 24) and x.dtype == torch.float32
    ds2 = D.CachedSequences(out, T=2, hflip=False)
    y = ds2[5]
    assert y.shape == (2, 6, 24, 24)
    src = torch.from_numpy(np.array(arr[5])).float() / 255
    assert torch.equal(y, src[:2]) or torch.equal(y, src[1:])
    with pytest.raises(ValueError):
        D.CachedSequences(out, T=4)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch.shape == (4, 3, 6, 24, 24)


def test_refuses_eval_paths(tmp_path):
    ev = tmp_path / "data" / "eval"
    ev.mkdir(parents=True)
    with pytest.raises(ValueError, match="eval"):
        D.build_cache(ev, tmp_path / "x.npy", n_video=1, n_synth=1, progress=False)
    with pytest.raises(ValueError, match="eval"):
        D.build_cache(tmp_path / "data" / "eval" / "video", tmp_path / "x.npy", progress=False)
    with pytest.raises(ValueError, match="eval"):
        D.VideoFolder(ev)
    with pytest.raises(ValueError, match="eval"):
        D.SyntheticMotion(ev)
    with pytest.raises(ValueError, match="eval"):
        D.VimeoSeptuplet(ev)
    # an "evaluation" folder or a file named eval_x is fine: only a component "eval"
    D.check_not_eval(tmp_path / "evaluation" / "eval_x.mp4")


def test_cli_build(tmp_path):
    root = tmp_path / "train"
    _tiny_train_tree(root)
    out = tmp_path / "c.npy"
    assert (
        D.main(
            [
                "build",
                "--root",
                str(root),
                "--out",
                str(out),
                "--T",
                "2",
                "--crop",
                "32",
                "--n",
                "10",
                "--workers",
                "1",
                "--no-progress",
            ]
        )
        == 0
    )
    assert np.load(out, mmap_mode="r").shape == (10, 2, 6, 16, 16)


def test_select_textured_keeps_the_most_detailed(tmp_path):
    rng = np.random.default_rng(0)
    n = 12
    data = np.full((n, 2, 6, 8, 8), 128, np.uint8)
    amp = rng.permutation(n)  # sequence i gets noise of amplitude amp[i] * 4
    for i in range(n):
        data[i] = np.clip(128 + rng.integers(-1, 2, data[i].shape) * amp[i] * 4, 0, 255)
    src = tmp_path / "c.npy"
    np.save(src, data)
    out = tmp_path / "top.npy"
    assert D.main(["select", "--src", str(src), "--out", str(out), "--top", "4"]) == 0
    got = np.load(out)
    want = np.sort(np.argsort(-amp)[:4])  # the four noisiest, in their original order
    np.testing.assert_array_equal(got, data[want])
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["indices"] == want.tolist() and meta["of"] == n
    with pytest.raises(ValueError, match="top"):
        D.select_textured(src, tmp_path / "x.npy", n + 1)
    with pytest.raises(ValueError, match="eval"):
        D.select_textured(src, tmp_path / "eval" / "x.npy", 2)


def test_select_by_motion_keeps_the_fastest(tmp_path):
    rng = np.random.default_rng(1)
    n = 10
    base = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    data = np.empty((n, 3, 6, 8, 8), np.uint8)
    shift = rng.permutation(n)  # sequence i moves by shift[i] columns per frame
    for i in range(n):
        for t in range(3):
            data[i, t] = np.roll(base, int(shift[i]) * t, axis=1)
    # every sequence holds the same picture (one texture score), so only motion can rank them
    src = tmp_path / "c.npy"
    np.save(src, data)
    out = tmp_path / "fast.npy"
    argv = ["select", "--src", str(src), "--out", str(out), "--top", "3", "--by", "motion"]
    assert D.main(argv) == 0
    m = D.motion_scores(data)
    assert m[shift == 0][0] == 0.0
    want = np.sort(np.argsort(-m, kind="stable")[:3])
    assert 0 not in shift[want]
    np.testing.assert_array_equal(np.load(out), data[want])
    assert json.loads(out.with_suffix(".json").read_text())["by"] == "motion"
    assert (D.motion_scores(data[:, :1]) == 0).all()
    with pytest.raises(ValueError, match="unknown score"):
        D.select_textured(src, tmp_path / "x.npy", 2, by="colour")


@pytest.mark.skipif(not (SHARED_TRAIN / "video").is_dir(), reason="no ../shared/data/train")
def test_real_training_data_sample():
    vids = D.list_videos(SHARED_TRAIN / "video")
    assert vids
    p = min(vids, key=lambda q: q.stat().st_size)
    seqs = D.sample_video_sequences(p, 2, 3, 64, np.random.default_rng(0), "auto", 100)
    assert seqs.shape[1:] == (3, 6, 32, 32)
