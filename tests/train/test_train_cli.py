"""``flavc train`` end to end on CPU from a fresh checkout: a tiny data tree (a video
written with PyAV and a PNG for synthetic motion), stage intra, then stage inter started
from the first stage's exported weights, resuming, and the exported weights used by the
codec (encode, then decode back)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from click.testing import CliRunner  # noqa: E402
from clips import synthetic_frames, write_clip  # noqa: E402

VARIANT = "flavc-light"  # the smallest variant: a few seconds per step on 2 cores
CONFIGS = Path(__file__).resolve().parents[2] / "src" / "flavc_codec" / "train" / "configs"


@pytest.fixture
def data_tree(tmp_path) -> Path:
    """root/video/a.mp4 (160x144, 8 frames) + root/images/b.png (176x160)."""
    from PIL import Image

    root = tmp_path / "data"
    (root / "video").mkdir(parents=True)
    (root / "images").mkdir()
    write_clip(root / "video" / "a.mp4", synthetic_frames(160, 144, 8))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (160, 176, 3), dtype=np.uint8)
    Image.fromarray(img).save(root / "images" / "b.png")
    return root


@pytest.fixture
def small_cache(monkeypatch):
    """The CLI builds a 2000-sequence cache per stage (no option to change it); keep the
    real builder but ask it for a few sequences, in-process."""
    from flavc_codec.train import data

    real = data.build_cache

    @functools.wraps(real)
    def small(root, out, T=3, crop=128, n_video=3000, n_synth=1000, **kw):
        kw["workers"] = 1
        kw["progress"] = False
        return real(root, out, T=T, crop=crop, n_video=6, n_synth=4, **kw)

    monkeypatch.setattr(data, "build_cache", small)


def _config(tmp_path: Path, stage: str, **over) -> Path:
    """The shipped stage config with per-step logging (the shipped ones log every 10)."""
    cfg = json.loads((CONFIGS / f"{stage}.json").read_text())
    cfg.update(log_every=1, **over)
    p = tmp_path / f"{stage}.json"
    p.write_text(json.dumps(cfg))
    return p


def _train(args: list[str]) -> str:
    from flavc_codec.cli import main

    res = CliRunner().invoke(main, ["train", *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def _log_steps(run: Path) -> list[int]:
    lines = (run / "log.jsonl").read_text().splitlines()
    recs = [json.loads(s) for s in lines if s.strip()]
    for r in recs:
        assert all(np.isfinite(r[k]) for k in ("loss", "bpp", "psnr"))
    return [r["step"] for r in recs]


def _ckpt_step(run: Path) -> int:
    return int(torch.load(run / "last.ckpt", map_location="cpu", weights_only=True)["step"])


def _check_run(run: Path, variant: str) -> Path:
    for name in ("last.ckpt", "log.jsonl", "curves.png", "weights.json", "config.json"):
        assert (run / name).is_file(), name
    w = run / f"{variant}.safetensors"
    assert w.is_file()
    meta = json.loads((run / "weights.json").read_text())
    from flavc_codec.models.flavc import weights_hash

    assert meta["file"] == w.name and meta["hash"] == weights_hash(w)
    return w


def test_train_intra_inter_resume_export_and_code(tmp_path, data_tree, small_cache):
    from flavc_codec.models.flavc import load_weights

    common = ["--variant", VARIANT, "--data", str(data_tree), "--batch", "2"]

    # stage 1: intra, 2 steps
    intra = tmp_path / "runs" / "intra"
    out = _train([str(_config(tmp_path, "intra")), *common, "--steps", "2", "--out", str(intra)])
    w_intra = _check_run(intra, VARIANT)
    assert str(w_intra) in out
    assert _log_steps(intra) == [1, 2] and _ckpt_step(intra) == 2
    assert list(intra.glob("cache_*_T2_128.npy"))  # the folder became a cache, once

    # stage 2: inter from the intra weights, 2 steps, then resumed to 4
    inter = tmp_path / "runs" / "inter"
    cfg_inter = str(_config(tmp_path, "inter", init=None))
    args = [cfg_inter, *common, "--out", str(inter), "--init", str(w_intra)]
    _train([*args, "--steps", "2"])
    w_inter = _check_run(inter, VARIANT)
    assert _log_steps(inter) == [1, 2] and _ckpt_step(inter) == 2
    first = w_inter.read_bytes()

    a = load_weights(w_intra)
    b = load_weights(w_inter)
    # the inter stage froze the intra codec: its parameters are the intra stage's (the
    # integer tables are rebuilt at each export, from the fp16-rounded parameters)
    pb = dict(b.intra.named_parameters())
    for k, v in a.intra.named_parameters():
        assert torch.equal(v, pb[k]), k

    _train([*args, "--steps", "4"])
    assert _log_steps(inter) == [1, 2, 3, 4]  # continued from step 2, not restarted
    assert _ckpt_step(inter) == 4
    w_inter = _check_run(inter, VARIANT)
    assert w_inter.read_bytes() != first
    rec = json.loads((inter / "weights.json").read_text())["recipe"]
    assert rec["steps"] == 4 and rec["config"]["stage"] == "inter"

    # the exported weights work in the codec: encode a tiny clip and decode it back
    from flavc_codec.codec import decode_file, encode_file
    from flavc_codec.io.reader import open_video

    model = load_weights(w_inter)
    assert model.cfg.name == VARIANT
    clip = write_clip(tmp_path / "clip.y4m", synthetic_frames(72, 40, 3, seed=5))
    stream, recon, dec = tmp_path / "c.flavc", tmp_path / "recon.y4m", tmp_path / "dec.y4m"
    st = encode_file(
        str(clip),
        str(stream),
        quality=20,
        model=VARIANT,
        weights=w_inter,
        progress=False,
        recon=str(recon),
        device="cpu",
    )
    assert st.frames == 3 and st.bytes > 0 and np.isfinite(st.psnr_yuv)
    ds = decode_file(str(stream), str(dec), device="cpu", weights=w_inter, progress=False)
    assert ds.frames == 3
    with open_video(str(recon)) as r, open_video(str(dec)) as d:
        for fr, fd in zip(r, d, strict=True):
            assert np.array_equal(fr.y, fd.y) and np.array_equal(fr.u, fd.u)
            assert np.array_equal(fr.v, fd.v)


def test_train_refuses_missing_init(tmp_path, data_tree):
    """A later stage whose config names an earlier stage's weights that do not exist says so."""
    from flavc_codec.cli import main

    cfg = _config(tmp_path, "inter", init=str(tmp_path / "nope.safetensors"))
    res = CliRunner().invoke(
        main, ["train", str(cfg), "--data", str(data_tree), "--out", str(tmp_path / "x")]
    )
    assert res.exit_code != 0
    assert "does not exist" in res.output


def test_train_refuses_an_npy_that_is_not_a_cache(tmp_path):
    """A .npy of another layout is one clear error, not a crash (a flat array failed on
    its shape before the layout was checked)."""
    from flavc_codec.cli import main

    bad = tmp_path / "frames.npy"
    np.save(bad, np.zeros(10, np.uint8))
    cfg = _config(tmp_path, "joint_long8", data=[str(bad)], init=None, val=None)
    res = CliRunner().invoke(main, ["train", str(cfg), "--out", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert "not a packed uint8" in res.output
    assert "Traceback" not in res.output


def test_train_seed_option_overrides_the_config(tmp_path, data_tree, small_cache):
    """``--seed`` replaces the config's seed (recorded in the run's config.json) and is what
    the run draws from: one step from the same start with two seeds gives other weights,
    and the same seed again gives the same ones."""
    from safetensors.torch import load_file

    cfg = _config(tmp_path, "intra", init=None, val=None)
    common = [str(cfg), "--variant", VARIANT, "--data", str(data_tree), "--batch", "2"]
    common += ["--steps", "1", "--threads", "1"]
    weights = {}
    for name, seed in (("a", "5"), ("b", "6"), ("c", "5")):
        run = tmp_path / name
        _train([*common, "--seed", seed, "--out", str(run)])
        assert json.loads((run / "config.json").read_text())["seed"] == int(seed)
        weights[name] = load_file(_check_run(run, VARIANT))
    assert weights["a"].keys() == weights["b"].keys()
    assert any(not torch.equal(weights["a"][k], weights["b"][k]) for k in weights["a"])
    assert all(torch.equal(weights["a"][k], weights["c"][k]) for k in weights["a"])
