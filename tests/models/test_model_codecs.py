"""Intra/inter codecs (training forward, compress/decompress), tables, weights, registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flavc_codec.bitstream import model_ids
from flavc_codec.errors import FlavcError
from flavc_codec.models.flavc import FLAVC, load_weights, save_weights, weights_hash
from flavc_codec.models.registry import BY_ID, VARIANTS, get_variant

INT_BUFFERS = (
    "gauss_freqs",
    "gauss_radius",
    "intra.z_freqs",
    "intra.z_radius",
    "intra.gains.t_off",
    "intra.gains.t_gfx",
    "intra.gains.t_igfx",
    "inter.z_freqs",
    "inter.gains.t_off",
    "inter.gains.t_gfx",
    "inter.gains.t_igfx",
)


def _model(variant: str = "flavc-light", seed: int = 0) -> FLAVC:
    torch.manual_seed(seed)
    m = FLAVC(get_variant(variant)).eval()
    m.update_tables()
    return m


@pytest.fixture(scope="module")
def light() -> FLAVC:
    return _model()


def _frame(h: int, w: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    base = torch.linspace(0, 1, w)[None, None, None, :].expand(1, 6, h, w)
    return (0.7 * base + 0.3 * torch.rand(1, 6, h, w, generator=g)).clamp(0, 1)


# ---- registry ------------------------------------------------------------------------------


def test_registry_ids_fixed():
    expect = {"flavc": 1, "flavc-light": 2, "no-dp": 3, "cnn-encoder": 4, "memc": 5}
    assert {n: v.model_id for n, v in VARIANTS.items()} == expect
    assert model_ids.MODEL_IDS == {i: n for n, i in expect.items()}
    assert model_ids.MODEL_NAMES == expect
    for name, i in expect.items():
        assert get_variant(name) is get_variant(i) is BY_ID[i]
        assert get_variant(i).name == name
        assert model_ids.model_name(i) == name and model_ids.model_id(name) == i
    with pytest.raises(FlavcError):
        get_variant("nope")
    with pytest.raises(FlavcError):
        get_variant(99)


def test_cli_model_choices_match_registry():
    from flavc_codec import cli

    assert sorted(cli.MODELS) == sorted(VARIANTS)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_builds(variant):
    m = FLAVC(get_variant(variant))
    assert m.cfg.model_id == model_ids.model_id(variant)


# ---- training forward ----------------------------------------------------------------------


def test_training_forward_finite_bits_and_gradients():
    torch.manual_seed(1)
    m = FLAVC(get_variant("flavc-light")).train()
    x0, x1 = torch.rand(1, 6, 32, 32), torch.rand(1, 6, 32, 32)
    q = torch.tensor([37])
    o0 = m.intra(x0, q)
    assert o0.x_hat.shape == x0.shape
    o1 = m.inter(x1, q, o0.feat, o0.y_prev)
    assert o1.x_hat.shape == x1.shape
    for o in (o0, o1):
        assert o.bits_y.shape == o.bits_z.shape == (1,)
        for b in (o.bits_y, o.bits_z):
            assert torch.isfinite(b).all() and (b > 0).all()
    loss = sum(
        o.bits_y.sum() + o.bits_z.sum() + 100 * torch.mean((o.x_hat - x) ** 2)
        for o, x in ((o0, x0), (o1, x1))
    )
    loss.backward()
    named = dict(m.named_parameters())
    grads = {k: p.grad for k, p in named.items() if p.grad is not None}
    assert grads
    assert all(torch.isfinite(g).all() for g in grads.values())
    for prefix in ("intra.g_a.", "intra.g_s.", "inter.g_a.", "inter.g_s.", "inter.fla.",
                   "intra.prior.", "inter.prior.", "intra.gains.", "inter.eb."):  # fmt: skip
        assert any(k.startswith(prefix) and g.abs().sum() > 0 for k, g in grads.items()), prefix


# ---- compress / decompress ---------------------------------------------------------------


def test_compress_decompress_identical(light):
    from flavc_codec.codec import invariant_cpu

    g = light.gauss_tables()
    hw = (4, 4)  # latent size of a (32, 32) half-resolution tensor (luma 64x64)
    frames = [_frame(32, 32, s) for s in range(3)]
    with torch.no_grad(), invariant_cpu():
        ce = light.intra.compress(frames[0], 20, g)
        cd = light.intra.decompress(ce.sections, hw, 20, g, torch.device("cpu"))
        assert ce.est_bits > 0
        assert torch.equal(ce.x_hat, cd.x_hat)
        assert torch.equal(ce.y_prev, cd.y_prev)
        assert torch.equal(ce.feat, cd.feat)
        ref_e, ref_d = (ce.feat, ce.y_prev), (cd.feat, cd.y_prev)
        for i, x in enumerate(frames[1:]):
            q = 40 + i
            pe = light.inter.compress(x, q, ref_e[0], ref_e[1], g)
            pd = light.inter.decompress(pe.sections, hw, q, ref_d[0], ref_d[1], g, "cpu")
            assert len(pe.sections) == 2 and all(isinstance(s, bytes) for s in pe.sections)
            assert torch.equal(pe.x_hat, pd.x_hat)
            assert torch.equal(pe.y_prev, pd.y_prev)
            assert pe.y_prev.dtype == torch.float64
            assert torch.equal(pe.y_prev, torch.round(pe.y_prev))
            ref_e, ref_d = (pe.feat, pe.y_prev), (pd.feat, pd.y_prev)


def test_quality_changes_rate(light):
    g = light.gauss_tables()
    x = _frame(32, 32, 4)
    with torch.no_grad():
        lo = light.intra.compress(x, 0, g)
        hi = light.intra.compress(x, 63, g)
    assert sum(map(len, lo.sections)) < sum(map(len, hi.sections))


# ---- tables and weights --------------------------------------------------------------------


def _int_state(m: FLAVC) -> dict:
    sd = m.state_dict()
    return {k: sd[k].clone() for k in INT_BUFFERS}


def test_update_tables_deterministic(light):
    a = _model(seed=0)
    s1 = {k: v.clone() for k, v in a.state_dict().items()}
    a.update_tables()
    s2 = a.state_dict()
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k], s2[k]), k
    for k, v in light.state_dict().items():  # same seed, built separately
        assert torch.equal(v, s1[k]), k
    for k in INT_BUFFERS:
        assert not s1[k].is_floating_point(), k
    gt = a.gauss_tables()
    assert (gt.freqs.sum(1) == 1 << 16).all() or all(
        int(gt.row(r).sum()) == 1 << 16 for r in range(len(gt.radius))
    )
    zt = a.intra.z_tables()
    assert all(
        int(zt.row(r).sum()) == 1 << 16 and zt.row(r).min() >= 1 for r in range(zt.radius.size)
    )


def test_save_load_roundtrip(tmp_path, light):
    p1 = tmp_path / "a.safetensors"
    h1 = save_weights(light, p1)
    assert h1 == weights_hash(p1) == weights_hash(str(p1))
    assert len(h1) == 32 and int(h1, 16) >= 0
    loaded = load_weights(p1)
    assert loaded.cfg == light.cfg and loaded.cfg.name == "flavc-light"
    assert not loaded.training
    ref = _int_state(light)
    got = _int_state(loaded)
    for k in INT_BUFFERS:
        assert torch.equal(ref[k], got[k]), k
    np.testing.assert_array_equal(loaded.gauss_tables().freqs, light.gauss_tables().freqs)
    np.testing.assert_array_equal(loaded.inter.z_tables().freqs, light.inter.z_tables().freqs)
    sd_l, sd_r = loaded.state_dict(), light.state_dict()
    assert sd_l.keys() == sd_r.keys()
    # float gain tables are stored in full precision, parameters in fp16
    assert torch.equal(sd_l["intra.gains.t_g"], sd_r["intra.gains.t_g"])
    w = (
        "intra.g_a.c1.weight"
        if "intra.g_a.c1.weight" in sd_r
        else next(k for k, v in sd_r.items() if k.endswith("weight") and v.is_floating_point())
    )
    assert torch.equal(sd_l[w], sd_r[w].half().float())
    # save -> load -> save keeps every tensor
    from safetensors.torch import load_file

    save_weights(loaded, tmp_path / "c.safetensors")
    a, c = load_file(str(p1)), load_file(str(tmp_path / "c.safetensors"))
    assert a.keys() == c.keys()
    for k in a:
        assert a[k].dtype == c[k].dtype and torch.equal(a[k], c[k]), k
    assert weights_hash(p1) == h1  # loading does not touch the file


def test_save_weights_bytes_deterministic(tmp_path, light):
    from types import SimpleNamespace

    small = torch.nn.Linear(3, 2)  # save_weights only needs state_dict() and cfg
    fake = SimpleNamespace(cfg=light.cfg, state_dict=small.state_dict)
    hashes = {save_weights(fake, tmp_path / f"w{i}.safetensors") for i in range(40)}
    assert len(hashes) == 1


def test_save_records_variant_and_recipe(tmp_path, light):
    from safetensors import safe_open

    p = tmp_path / "w.safetensors"
    save_weights(light, p, recipe={"steps": 3})
    with safe_open(str(p), framework="pt") as f:
        meta = f.metadata()
    info = json.loads(meta["flavc"])  # one key: the file's bytes (and hash) are stable
    assert info["variant"] == "flavc-light" and info["model_id"] == 2
    assert info["recipe"] == {"steps": 3}


def test_load_bad_weights(tmp_path, light):
    txt = tmp_path / "not_weights.safetensors"
    txt.write_text("hello, this is not a weights file\n")
    with pytest.raises(FlavcError):
        load_weights(txt)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(FlavcError):
        load_weights(empty)
    with pytest.raises(FlavcError):
        load_weights(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    sd = {k: v.contiguous() for k, v in light.state_dict().items()}
    unknown = tmp_path / "unknown.safetensors"
    save_file(sd, str(unknown), metadata={"variant": "nope"})
    with pytest.raises(FlavcError):
        load_weights(unknown)
    partial = tmp_path / "partial.safetensors"
    save_file(dict(list(sd.items())[:5]), str(partial), metadata={"variant": "flavc-light"})
    with pytest.raises(FlavcError, match="do not match"):
        load_weights(partial)


def test_load_wrong_variant_tensors(tmp_path, light):
    from safetensors.torch import save_file

    sd = {k: v.contiguous() for k, v in light.state_dict().items()}
    wrong = tmp_path / "wrong.safetensors"
    save_file(sd, str(wrong), metadata={"variant": "flavc", "model_id": "1"})
    with pytest.raises(FlavcError):
        load_weights(wrong)
