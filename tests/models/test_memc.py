"""MEMC inter codec (variant ``memc``, the "w/o FLA" ablation): training forward, exact
compress/decompress, thread-count invariance of the warp, tables and weights round trip."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from flavc_codec.models.flavc import FLAVC, load_weights, save_weights  # noqa: E402
from flavc_codec.models.memc import MEMCInterCodec, warp  # noqa: E402
from flavc_codec.models.registry import get_variant  # noqa: E402


@pytest.fixture(scope="module")
def memc_weights(tmp_path_factory):
    torch.manual_seed(0)
    model = FLAVC(get_variant("memc")).eval()
    model.update_tables()
    path = tmp_path_factory.mktemp("memc") / "memc.safetensors"
    save_weights(model, path)
    return path


def _frames(n: int, h: int = 64, w: int = 128, seed: int = 0) -> torch.Tensor:
    """Packed 6-channel frames (1, 6, h/2, w/2): a smooth pattern moving 2 px per frame."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 6, h // 2 + 16, w // 2 + 16, generator=g)
    base = F.avg_pool2d(base, 5, 1, 2)
    return [base[:, :, 8 : 8 + h // 2, 8 - 2 * t + 4 : 8 - 2 * t + 4 + w // 2] for t in range(n)]


def _threads(n: int):
    class _Ctx:
        def __enter__(self):
            self.old = torch.get_num_threads()
            torch.set_num_threads(n)

        def __exit__(self, *exc):
            torch.set_num_threads(self.old)

    return _Ctx()


def test_variant_builds_memc_inter():
    model = FLAVC(get_variant("memc"))
    assert isinstance(model.inter, MEMCInterCodec)
    assert model.inter.num_sections == 4
    # no FLA anywhere: neither in the context nor in the entropy path's temporal prior
    names = [type(m).__name__ for m in model.inter.modules()]
    assert "FeatureLevelAttention" not in names and "IntFLA" not in names


def test_training_forward_finite_with_gradients():
    torch.manual_seed(1)
    model = FLAVC(get_variant("memc")).train()
    x = torch.stack(_frames(2), 1).repeat(2, 1, 1, 1, 1)  # (2, 2, 6, 32, 64)
    q = torch.tensor([5, 60])
    out0 = model.intra(x[:, 0], q)
    out = model.inter(x[:, 1], q, out0.feat.detach(), out0.y_prev.detach())
    assert out.x_hat.shape == x[:, 1].shape
    assert out.feat.shape == out0.feat.shape and out.y_prev.shape == out0.y_prev.shape
    for t in (out.x_hat, out.bits_y, out.bits_z):
        assert torch.isfinite(t).all()
    loss = (out.bits_y + out.bits_z).mean() / x[0, 0].numel() + 100 * (out.x_hat - x[:, 1]).pow(
        2
    ).mean()
    loss.backward()
    inter = model.inter
    for name in ("flow", "mv_a", "mv_s", "mv", "ctx_net", "g_a", "g_s", "prior"):
        grads = [p.grad for n, p in getattr(inter, name).named_parameters() if "quantiles" not in n]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads), name
        assert any(g.abs().sum() > 0 for g in grads), name


@pytest.mark.parametrize("hw", [(16, 16), (24, 40), (64, 96), (68, 120)])
def test_warp_thread_invariant_and_bilinear(hw):
    h, w = hw
    g = torch.Generator().manual_seed(h * w)
    feat = torch.randn(2, 32, h, w, generator=g)
    flow = torch.randn(2, 2, h, w, generator=g) * 5
    outs = []
    for n in (1, 2, 3):
        with _threads(n):
            outs.append(warp(feat, flow))
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    # same result as grid_sample (bilinear, border, pixel-centre grid)
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    gx = (xs + flow[:, 0]) / (w - 1) * 2 - 1
    gy = (ys + flow[:, 1]) / (h - 1) * 2 - 1
    ref = F.grid_sample(
        feat, torch.stack([gx, gy], -1), "bilinear", padding_mode="border", align_corners=True
    )
    assert torch.allclose(outs[0], ref, atol=1e-4)
    # zero flow is the identity, integer flow a pure shift
    assert torch.equal(warp(feat, torch.zeros_like(flow)), feat)
    shift = torch.zeros_like(flow)
    shift[:, 0] = 1.0
    assert torch.equal(warp(feat, shift)[..., :-1], feat[..., 1:])


def test_warp_gradient_reaches_flow():
    feat = torch.randn(1, 4, 8, 8)
    flow = (torch.rand(1, 2, 8, 8) * 2).requires_grad_()
    warp(feat, flow).square().sum().backward()
    assert flow.grad is not None and flow.grad.abs().sum() > 0


def _code(model, frames, q=20):
    """Encode I + P frames; returns the sections and the encoder's reference states."""
    g = model.gauss_tables()
    with torch.backends.mkldnn.flags(enabled=False):
        c = model.intra.compress(frames[0], q, g)
        coded = [c]
        for x in frames[1:]:
            c = model.inter.compress(x, q, c.feat, c.y_prev, g)
            coded.append(c)
    return coded


def _decode(model, coded, hw, q=20):
    g = model.gauss_tables()
    with torch.backends.mkldnn.flags(enabled=False):
        d = model.intra.decompress(coded[0].sections, hw, q, g, "cpu")
        out = [d]
        for c in coded[1:]:
            d = model.inter.decompress(c.sections, hw, q, d.feat, d.y_prev, g, "cpu")
            out.append(d)
    return out


def test_compress_decompress_identical(memc_weights):
    frames = _frames(3)
    hw = (64 // 16, 128 // 16)  # latent size of a 64x128 (luma) frame
    enc = load_weights(memc_weights)
    coded = _code(enc, frames)
    for c in coded[1:]:
        assert len(c.sections) == 4 and all(isinstance(s, bytes) and s for s in c.sections)
        assert c.est_bits > 0
    for threads in (1, 2):
        dec = load_weights(memc_weights)  # a separate model instance, as a decoder has
        with _threads(threads):
            decoded = _decode(dec, coded, hw)
        for c, d in zip(coded, decoded, strict=True):
            assert torch.equal(c.x_hat, d.x_hat)
            assert torch.equal(c.feat, d.feat)
            assert torch.equal(c.y_prev, d.y_prev)
    # a P-frame with the wrong number of sections is refused, not misparsed
    from flavc_codec.errors import FlavcError

    with pytest.raises(FlavcError, match="4 payload sections"):
        dec.inter.decompress(
            coded[1].sections[:2], hw, 20, coded[0].feat, coded[0].y_prev, dec.gauss_tables(), "cpu"
        )


def test_update_tables_and_weights_round_trip(memc_weights, tmp_path):
    a = load_weights(memc_weights)
    assert a.cfg.name == "memc" and isinstance(a.inter, MEMCInterCodec)
    sd = a.state_dict()
    for k in ("inter.mv.z_freqs", "inter.mv.gains.t_gfx", "inter.z_freqs"):
        assert k in sd
    # tables were built by update_tables: each z row sums to the table total
    assert (a.inter.mv.z_freqs.sum(1) == 1 << 16).all()
    assert not torch.equal(a.inter.mv.gains.t_gfx, torch.full_like(a.inter.mv.gains.t_gfx, 256))
    # save again -> load: identical tensors, identical coding
    p2 = tmp_path / "again.safetensors"
    save_weights(a, p2)
    b = load_weights(p2)
    for k, v in b.state_dict().items():
        assert torch.equal(v, sd[k]), k
    frames = _frames(2, seed=3)
    ca, cb = _code(a, frames), _code(b, frames)
    assert ca[1].sections == cb[1].sections


def test_engine_round_trip(memc_weights, tmp_path, make_clip):
    """Through encode_file / decode_file: two sections per P-frame (content and motion,
    one stream each, FLAG_ONE_STREAM)."""
    from flavc_codec.bitstream import StreamReader
    from flavc_codec.codec import decode_file, encode_file
    from flavc_codec.io.reader import open_video

    src = make_clip(64, 48, n=3, ext=".y4m")
    dst = tmp_path / "memc.flavc"
    st = encode_file(
        str(src), str(dst), quality=10, model="memc", weights=memc_weights, progress=False
    )
    assert st.frames == 3
    rec = tmp_path / "rec.y4m"
    decode_file(str(dst), str(rec), device="cpu", weights=memc_weights, progress=False)
    with StreamReader(dst) as r:
        assert [len(c.sections) for c in r] == [1, 2, 2]
    with open_video(str(rec)) as v:
        assert len(list(v)) == 3
