"""The training loss and schedule: what the optimiser sees must match what the benchmark
measures (PSNR-YUV weighted 6:1:1)."""

import json

import numpy as np
import pytest
import torch

from flavc_codec.train.loop import TrainConfig, distortion, lambda_of, lr_at


def _planes_to_packed(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(y)[None, None].double()
    luma = torch.nn.functional.pixel_unshuffle(t, 2)[0]
    return torch.cat([luma, torch.from_numpy(u)[None].double(), torch.from_numpy(v)[None].double()])


def test_mse_distortion_is_the_benchmarks_611_weighting():
    rng = np.random.default_rng(1)
    h, w = 16, 24
    ref = [
        rng.integers(0, 256, s).astype(np.uint8)
        for s in ((h, w), (h // 2, w // 2), (h // 2, w // 2))
    ]
    # Chroma errors much larger than luma errors: a 4:1:1 or equal weighting would differ.
    noise = (3, 20, 11)
    dec = [
        np.clip(p.astype(int) + rng.integers(-n, n + 1, p.shape), 0, 255).astype(np.uint8)
        for p, n in zip(ref, noise)
    ]
    x = _planes_to_packed(*[p / 255.0 for p in ref])[None]
    x_hat = _planes_to_packed(*[p / 255.0 for p in dec])[None]
    d = float(distortion(x_hat, x, "mse")[0])
    mse = [np.mean((a.astype(float) - b.astype(float)) ** 2) / 255**2 for a, b in zip(ref, dec)]
    assert d == pytest.approx((6 * mse[0] + mse[1] + mse[2]) / 8, rel=1e-12)
    assert d != pytest.approx(float(np.mean([mse[0]] * 4 + mse[1:])), rel=1e-3)


def test_distortion_is_per_sample():
    x = torch.rand(3, 6, 8, 8)
    x_hat = x.clone()
    x_hat[1] += 0.1
    d = distortion(x_hat, x, "mse")
    assert d.shape == (3,)
    assert d[0] == 0 and d[2] == 0 and d[1] == pytest.approx(0.01, rel=1e-5)


def test_lr_drop_and_lambda_range():
    cfg = TrainConfig(lr=2e-4, steps=1000, lr_drop_at=0.85, lr_drop=0.1)
    assert lr_at(0, cfg) == 2e-4
    assert lr_at(849, cfg) == 2e-4
    assert lr_at(850, cfg) == pytest.approx(2e-5)
    assert lr_at(999, cfg) == pytest.approx(2e-5)
    assert lr_at(999, TrainConfig(lr=1e-4, steps=1000)) == 1e-4  # default: no drop
    lam = lambda_of(torch.tensor([0, 63]), TrainConfig(lambda_min=50, lambda_max=3200))
    assert lam.tolist() == pytest.approx([50.0, 3200.0], rel=1e-5)


def test_resume_drops_log_lines_past_the_checkpoint(tmp_path):
    from flavc_codec.train.loop import _truncate_log

    log = tmp_path / "log.jsonl"
    lines = [f'{{"loss": 1.0, "step": {s}}}' for s in (10, 20, 30, 40)]
    log.write_text("\n".join(lines) + '\n{"loss": 1.0, "st')  # killed mid-write
    _truncate_log(log, 20)
    assert [json.loads(x)["step"] for x in log.read_text().splitlines()] == [10, 20]
    _truncate_log(tmp_path / "missing.jsonl", 5)  # no log yet: nothing to do


def test_caches_with_fewer_frames_mix_with_longer_sequences(tmp_path):
    from flavc_codec.train.loop import _Batches, _datasets

    rng = np.random.default_rng(0)
    long_small = tmp_path / "t5.npy"
    short_big = tmp_path / "t3.npy"
    np.save(long_small, rng.integers(0, 256, (4, 5, 6, 8, 8), dtype=np.uint8))
    np.save(short_big, rng.integers(0, 256, (4, 3, 6, 16, 16), dtype=np.uint8))
    cfg = TrainConfig(stage="joint", frames=5, batch=4, data=[str(long_small), str(short_big)])
    b = _Batches(_datasets(cfg), cfg, ddp=False)
    assert b.batch(0).shape == (4, 5, 6, 8, 8)
    assert b.batch(1).shape == (1, 3, 6, 16, 16)  # same pixels per batch, its own length
    one = tmp_path / "t1.npy"
    np.save(one, rng.integers(0, 256, (2, 1, 6, 8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="needs 2"):
        _datasets(TrainConfig(stage="inter", frames=3, data=[str(one)]))
    assert len(_datasets(TrainConfig(stage="intra", frames=1, data=[str(one)]))) == 1


def test_time_limit_stops_resumably_and_model_only_checkpoints_resume(tmp_path):
    """--time-limit checkpoints and stops; a checkpoint without optimiser state (the form
    moved between machines) resumes at its step with a fresh AdamW."""
    from flavc_codec.train.loop import train

    cache = tmp_path / "c.npy"
    np.save(cache, np.random.default_rng(0).integers(0, 256, (4, 1, 6, 32, 32), dtype=np.uint8))
    cfg = TrainConfig(
        variant="flavc-light",
        stage="intra",
        data=[str(cache)],
        batch=1,
        steps=50,
        ckpt_every=100,
        out=str(tmp_path / "run"),
        time_limit=1e-9,
        threads=1,
    )
    train(cfg, progress=False)
    ck = torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)
    assert ck["step"] == 1 and "opt" in ck
    recipe = json.loads((tmp_path / "run" / "weights.json").read_text())["recipe"]
    assert recipe["steps"] == 1
    torch.save({"model": ck["model"], "step": ck["step"]}, tmp_path / "run" / "last.ckpt")
    train(cfg, progress=False)
    assert torch.load(tmp_path / "run" / "last.ckpt", weights_only=True)["step"] == 2
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    steps = [json.loads(x)["step"] for x in log]
    assert steps == [1, 2]


def test_texture_scores_rank_detail_above_flat():
    from flavc_codec.train.data import texture_scores, texture_weights

    rng = np.random.default_rng(0)
    flat = np.full((3, 2, 6, 16, 16), 128, np.uint8)
    noisy = rng.integers(0, 256, (3, 2, 6, 16, 16), dtype=np.uint8)
    ramp = np.broadcast_to(np.arange(16, dtype=np.uint8) * 4, (3, 2, 6, 16, 16)).copy()
    data = np.concatenate([flat, ramp, noisy])
    s = texture_scores(data, chunk=2)  # chunking must not change the result
    assert np.allclose(s, texture_scores(data))
    assert np.all(s[:3] == 0) and np.allclose(s[3:6], 4.0) and np.all(s[6:] > 50)
    w = texture_weights(s, 1.0)
    assert w.sum() == pytest.approx(1.0) and np.all(w > 0)  # flat crops stay drawable
    assert w[6] > w[3] > w[0]
    assert np.allclose(texture_weights(s, 0.0), 1 / len(s))
    with pytest.raises(ValueError):
        texture_weights(s, -1.0)


def test_texture_bias_draws_textured_sequences_more_often(tmp_path):
    from flavc_codec.train.loop import _Batches, _datasets

    rng = np.random.default_rng(0)
    flat = np.full((50, 2, 6, 8, 8), 100, np.uint8)
    noisy = rng.integers(0, 256, (50, 2, 6, 8, 8), dtype=np.uint8)
    cache = tmp_path / "mix.npy"
    np.save(cache, np.concatenate([flat, noisy]))
    counts = {}
    for bias in (0.0, 1.0):
        cfg = TrainConfig(stage="joint", frames=2, batch=10, data=[str(cache)], texture_bias=bias)
        b = _Batches(_datasets(cfg), cfg, ddp=False)
        x = torch.cat([b.batch(i) for i in range(40)])  # 400 draws, several epochs
        textured = x[:, 0].flatten(1).std(1) > 0
        counts[bias] = int(textured.sum())
    assert 150 < counts[0.0] < 250  # uniform: about half
    assert counts[1.0] > 380  # gradient ~60-85 vs floor 1: flat ones are rare


def _light(seed: int = 0):
    from flavc_codec.models.flavc import FLAVC
    from flavc_codec.models.registry import get_variant

    torch.manual_seed(seed)
    return FLAVC(get_variant("flavc-light")).train()


def test_validation_is_reproducible_and_sees_weight_changes(tmp_path):
    from flavc_codec.train.loop import VAL_QUALITIES, validate

    cache = tmp_path / "val.npy"
    np.save(cache, np.random.default_rng(1).integers(0, 256, (3, 2, 6, 16, 16), dtype=np.uint8))
    model = _light()
    model.intra.eval()  # as in the inter stage: a frozen intra codec stays in eval mode
    a = validate(model, cache, count=2, batch=2)
    assert model.training and model.inter.training  # the caller's modes are restored
    assert not model.intra.training
    b = validate(model, cache, count=2, batch=1)  # batching does not change the scores
    assert a["sequences"] == 2 and set(a["by_quality"]) == set(VAL_QUALITIES)
    for k in ("loss", "bpp", "psnr"):
        assert a[k] == pytest.approx(b[k], rel=1e-5)
    q = a["by_quality"]
    assert q[0]["bpp"] < q[63]["bpp"]  # the rate grows with the quality's gain
    # two frames: the whole-sequence loss and rate are the mean of the I- and P-frame ones
    for k in ("loss", "bpp"):
        assert a[k] == pytest.approx((a["intra"][k] + a["inter"][k]) / 2, rel=1e-5)
        assert q[21][k] == pytest.approx((q[21]["intra"][k] + q[21]["inter"][k]) / 2, rel=1e-5)
    assert a["intra"]["bpp"] != pytest.approx(a["inter"]["bpp"], rel=1e-3)
    # standalone, the loss weighs distortion with the lambdas the weights were trained with
    lo, hi = model.lambda_range
    model.lambda_range = (lo, 2 * hi)
    d = validate(model, cache, count=2, batch=2)
    model.lambda_range = (lo, hi)
    assert d["bpp"] == pytest.approx(a["bpp"], rel=1e-6)
    assert d["by_quality"][63]["loss"] > a["by_quality"][63]["loss"]
    with torch.no_grad():
        model.intra.g_s.out.conv.bias.add_(0.05)
    c = validate(model, cache, count=2, batch=2)
    assert c["psnr"] != pytest.approx(a["psnr"], abs=1e-4)
    evald = tmp_path / "eval"
    evald.mkdir()
    np.save(evald / "v.npy", np.zeros((1, 1, 6, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="evaluation"):
        validate(model, evald / "v.npy")


def test_training_writes_validation_scores_and_refuses_val_in_data(tmp_path):
    from flavc_codec.train.loop import train

    rng = np.random.default_rng(0)
    cache, val = tmp_path / "c.npy", tmp_path / "v.npy"
    np.save(cache, rng.integers(0, 256, (4, 1, 6, 16, 16), dtype=np.uint8))
    np.save(val, rng.integers(0, 256, (2, 1, 6, 16, 16), dtype=np.uint8))
    cfg = TrainConfig(variant="flavc-light", stage="intra", data=[str(cache)], batch=1,
                      steps=4, out=str(tmp_path / "run"), threads=1, val=str(val),
                      val_every=2, val_count=2, log_every=1)  # fmt: skip
    train(cfg, progress=False)
    recs = [json.loads(x) for x in (tmp_path / "run" / "val.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == [2, 4]
    assert all(r["psnr"] > 0 and r["bpp"] > 0 for r in recs)
    assert (tmp_path / "run" / "curves.png").stat().st_size > 0
    with pytest.raises(ValueError, match="also training data"):
        train(TrainConfig(data=[str(cache)], val=str(cache), out=str(tmp_path / "r2")))


def test_keep_every_exports_loadable_snapshots_along_the_run(tmp_path):
    """Snapshots are ordinary weights files of the weights at their step: the last one
    holds the parameters the stage exports, an earlier one other parameters."""
    from flavc_codec.models.flavc import load_weights
    from flavc_codec.train.loop import train

    rng = np.random.default_rng(0)
    cache = tmp_path / "c.npy"
    np.save(cache, rng.integers(0, 256, (4, 1, 6, 16, 16), dtype=np.uint8))
    cfg = TrainConfig(variant="flavc-light", stage="intra", data=[str(cache)], batch=1,
                      steps=4, out=str(tmp_path / "run"), threads=1, keep_every=2,
                      lambda_max=3200.0)  # fmt: skip
    final = load_weights(train(cfg, progress=False))
    snaps = sorted((tmp_path / "run" / "snapshots").iterdir())
    assert [p.name for p in snaps] == ["step000002.safetensors", "step000004.safetensors"]
    first, last = (load_weights(p) for p in snaps)
    assert first.lambda_range == (50.0, 3200.0)
    names = [k for k, _ in final.named_parameters()]
    f, a, b = final.state_dict(), first.state_dict(), last.state_dict()
    assert all(torch.equal(b[k], f[k]) for k in f)  # parameters and tables
    assert any(not torch.equal(a[k], f[k]) for k in names)


def _random_sequences(seed: int, frames: int) -> torch.Tensor:
    """Two random 16x16 sequences of packed YUV 4:2:0 planes in [0, 1]."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (2, frames, 6, 16, 16), dtype=np.uint8)) / 255


def test_intra_weight_weighs_the_i_frame_and_leaves_validation_alone(tmp_path):
    from flavc_codec.train.loop import sequence_loss, validate

    model = _light().eval()
    seq = _random_sequences(seed=2, frames=3)
    q = torch.tensor([5, 40])
    frames: list = []
    with torch.no_grad():
        torch.manual_seed(0)
        plain, _, _ = sequence_loss(model, seq, q, TrainConfig(stage="joint"), frames)
        torch.manual_seed(0)
        heavy, _, _ = sequence_loss(model, seq, q, TrainConfig(stage="joint", intra_weight=3.0))
    per_frame = [float(f[0].mean()) for f in frames]  # I, P, P
    assert float(plain) == pytest.approx(sum(per_frame) / 3, rel=1e-5)
    assert float(heavy) == pytest.approx((3 * per_frame[0] + sum(per_frame[1:])) / 5, rel=1e-5)
    assert float(heavy) != pytest.approx(float(plain), rel=1e-4)
    # validation scores the plain mean whatever the training config says
    cache = tmp_path / "val.npy"
    np.save(cache, (seq * 255).round().to(torch.uint8).numpy())
    a = validate(model, cache, TrainConfig(), count=2, batch=2)
    b = validate(model, cache, TrainConfig(intra_weight=3.0), count=2, batch=2)
    assert a["loss"] == b["loss"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"intra_weight": 0}))
    with pytest.raises(ValueError, match="intra_weight"):
        TrainConfig.load(bad)


def test_key_period_codes_key_p_frames_at_the_offset_quality(tmp_path):
    """P-frames at positions key_period, 2*key_period, ... are coded at q + key_offset
    (clamped to 63) with that quality's lambda; the others, and validation, at q."""
    from flavc_codec.models.codecs import NUM_QUALITIES
    from flavc_codec.train.loop import distortion, lambda_of, sequence_loss, validate

    model = _light().eval()
    seq = _random_sequences(seed=3, frames=5)
    q = torch.tensor([5, 50])
    cfg = TrainConfig(stage="joint", key_period=2, key_offset=20)
    with torch.no_grad():
        torch.manual_seed(0)
        got, _, _ = sequence_loss(model, seq, q, cfg)
        torch.manual_seed(0)
        plain, _, _ = sequence_loss(model, seq, q, TrainConfig(stage="joint"))
        torch.manual_seed(0)  # by hand: I at q, P at q, q+20, q, q+20 (50 + 20 -> 63)
        key_q = torch.tensor([25, NUM_QUALITIES - 1])
        out = model.intra(seq[:, 0], q)
        npix = 4 * 16 * 16
        losses = []
        for i in range(5):
            if i:
                out = model.inter(seq[:, i], key_q if i % 2 == 0 else q, out.feat, out.y_prev)
            qi = key_q if i and i % 2 == 0 else q
            bpp = (out.bits_y + out.bits_z) / npix
            losses.append(bpp + lambda_of(qi, cfg) * distortion(out.x_hat, seq[:, i], "mse"))
    assert float(got) == pytest.approx(float(torch.stack(losses).mean()), rel=1e-5)
    assert float(got) != pytest.approx(float(plain), rel=1e-4)
    cache = tmp_path / "val.npy"
    np.save(cache, (seq * 255).round().to(torch.uint8).numpy())
    a = validate(model, cache, TrainConfig(), count=2, batch=2)
    b = validate(model, cache, cfg, count=2, batch=2)
    assert a["loss"] == b["loss"]
    for bad in ({"key_period": -1}, {"key_offset": 64}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrainConfig(**bad)
