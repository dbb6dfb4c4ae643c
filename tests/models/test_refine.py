"""Encoder-side latent refinement: it lowers the estimated R + lambda * D it searches on,
keeps plain rounding when nothing beats it, leaves the decoder's output equal to the
encoder's reconstruction, is reproducible, and reads lambda from the weights' recipe."""

from __future__ import annotations

import math

import helpers_model
import numpy as np
import pytest
import torch
from helpers_model import synthetic_frames

from flavc_codec.codec import DEFAULT_REFINE_INTRA, Decoder, Encoder
from flavc_codec.errors import FlavcError
from flavc_codec.io.reader import SourceInfo
from flavc_codec.models.codecs import YUV611, Refine, gaussian_bits, refine_residual
from flavc_codec.models.flavc import DEFAULT_LAMBDAS, FLAVC, load_weights, save_weights
from flavc_codec.models.registry import get_variant

model_weights = helpers_model.model_weights  # session fixture: random-init weights


def _toy(seed: int = 0, m: int = 8, h: int = 6, w: int = 7):
    """A linear 'synthesis' (sub-pixel conv) and a target it cannot match with the plainly
    rounded analysis: refinement has room to lower the cost."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(24, m, 3, 3, generator=g) * 0.05
    target = torch.rand(1, 6, 2 * h, 2 * w, generator=g)
    r0 = torch.randn(1, m, h, w, generator=g) * 3
    scale = torch.rand(1, m, h, w, generator=g) * 4 + 0.2

    def synth(y: torch.Tensor) -> torch.Tensor:
        out = torch.nn.functional.conv2d(y, weight, padding=1)
        return torch.nn.functional.pixel_shuffle(out, 2) + 0.5

    mask = torch.ones(1, 1, 2 * h, 2 * w)
    mask[..., -1, :] = 0  # a padded row: it must not count
    return r0, scale, synth, target, mask


def _cost(sym, scale, synth, spec: Refine) -> float:
    x_hat = synth(sym).clamp(0, 1)
    wt = torch.tensor(YUV611).view(1, -1, 1, 1)
    dist = ((x_hat - spec.x).pow(2) * wt * spec.mask).sum() / spec.mask.sum()
    return gaussian_bits(sym, scale).sum().item() / spec.npix + spec.lam * dist.item()


@pytest.mark.parametrize("lam", [50.0, 3200.0])
def test_refinement_lowers_the_estimated_cost(lam):
    r0, scale, synth, target, mask = _toy()
    spec = Refine(steps=40, lam=lam, x=target, mask=mask, npix=4 * 6 * 7)
    sym = refine_residual(r0, scale, lambda s: s, synth, spec)
    assert torch.equal(sym, torch.round(sym))  # integer symbols
    base = _cost(torch.round(r0), scale, synth, spec)
    got = _cost(sym, scale, synth, spec)
    assert got < base - 1e-3 * abs(base), (got, base)


def test_zero_steps_and_hopeless_search_keep_plain_rounding():
    r0, scale, synth, target, mask = _toy(seed=1)
    spec = Refine(steps=0, lam=100.0, x=target, mask=mask, npix=168)
    assert torch.equal(refine_residual(r0, scale, lambda s: s, synth, spec), torch.round(r0))
    # a step size far too large only makes worse iterates: the first (plain) one is kept
    spec = Refine(steps=5, lam=100.0, x=target, mask=mask, npix=168, lr=50.0)
    assert torch.equal(refine_residual(r0, scale, lambda s: s, synth, spec), torch.round(r0))


def test_padding_does_not_steer_the_search():
    """Only the masked picture counts: changing the target on the padding changes nothing."""
    r0, scale, synth, target, mask = _toy(seed=2)
    other = target.clone()
    other[..., -1, :] = 1 - other[..., -1, :]
    a = refine_residual(r0, scale, lambda s: s, synth, Refine(10, 500.0, target, mask, 168))
    b = refine_residual(r0, scale, lambda s: s, synth, Refine(10, 500.0, other, mask, 168))
    assert torch.equal(a, b)


def _info(w: int, h: int, n: int) -> SourceInfo:
    return SourceInfo(w, h, 30, 1, n, "yuv420p", 1, 1, 1, 1)


@pytest.mark.parametrize("model,w,h", [("flavc-light", 33, 17), ("flavc", 65, 47)])
def test_refined_streams_decode_to_the_encoders_reconstruction(model_weights, model, w, h):
    frames = synthetic_frames(w, h, 3, seed=w)
    wts = model_weights[model]
    runs = []
    for _ in range(2):
        enc = Encoder(model, quality=40, intra_period=2, device="cpu", weights=wts, refine=4)
        dec = Decoder(enc.header(_info(w, h, 3)), device="cpu", weights=wts)
        chunks = []
        for i, f in enumerate(frames):
            chunk, rec, _ = enc.encode(f)
            got = dec.decode(chunk, i)
            for a, b in zip(got.planes, rec.planes, strict=True):
                np.testing.assert_array_equal(a, b)
            chunks.append(chunk.sections)
        runs.append(chunks)
    assert runs[0] == runs[1]  # the search is seeded: the same input gives the same stream


@pytest.mark.parametrize("steps", [-1, 1001])
def test_refine_out_of_range(model_weights, steps):
    with pytest.raises(FlavcError, match="refine"):
        Encoder("flavc-light", device="cpu", weights=model_weights["flavc-light"], refine=steps)
    with pytest.raises(FlavcError, match="refine_intra"):
        Encoder(
            "flavc-light", device="cpu", weights=model_weights["flavc-light"], refine_intra=steps
        )


def test_i_frames_are_refined_by_default(model_weights):
    """By default only I-frames are refined (DEFAULT_REFINE_INTRA steps, or --refine's
    steps when larger); refine_intra overrides that, 0 included."""
    wts = model_weights["flavc-light"]

    def enc(**kw):
        return Encoder("flavc-light", device="cpu", weights=wts, **kw)

    e = enc()
    assert (e.refine, e.refine_intra) == (0, DEFAULT_REFINE_INTRA)
    e = enc(refine=DEFAULT_REFINE_INTRA + 3)
    assert (e.refine, e.refine_intra) == (DEFAULT_REFINE_INTRA + 3,) * 2
    e = enc(refine=2, refine_intra=0)
    assert (e.refine, e.refine_intra) == (2, 0)


@pytest.mark.parametrize("model,w,h", [("flavc-light", 33, 17), ("flavc", 65, 47)])
def test_intra_only_refinement_leaves_p_frames_plain(model_weights, model, w, h):
    """Refining I-frames alone: a P-frame's symbols are those of plain rounding given the
    same reference, and the decoder still reproduces the encoder's reconstruction bit for
    bit."""
    frames = synthetic_frames(w, h, 3, seed=w + 1)
    wts = model_weights[model]
    kw = dict(quality=50, intra_period=3, device="cpu", weights=wts, drift_guard=0.0)
    enc = Encoder(model, refine_intra=6, **kw)
    plain = Encoder(model, refine_intra=0, **kw)
    dec = Decoder(enc.header(_info(w, h, 3)), device="cpu", weights=wts)
    for i, f in enumerate(frames):
        ref = enc._ref
        chunk, rec, _ = enc.encode(f)
        got = dec.decode(chunk, i)
        for a, b in zip(got.planes, rec.planes, strict=True):
            np.testing.assert_array_equal(a, b)
        plain._ref, plain.index = ref, i  # the same reference and position as `enc`
        other, _, _ = plain.encode(f)
        assert other.frame_type == chunk.frame_type
        if i:
            assert other.sections == chunk.sections, i
        else:  # the I-frame's search found better symbols than plain rounding
            assert other.sections != chunk.sections


def test_lambda_range_comes_from_the_recipe(tmp_path):
    torch.manual_seed(0)
    m = FLAVC(get_variant("flavc-light")).eval()
    m.update_tables()
    p = tmp_path / "w.safetensors"
    save_weights(m, p, recipe={"config": {"lambda_min": 10.0, "lambda_max": 1000.0}})
    got = load_weights(p)
    assert got.lambda_range == (10.0, 1000.0)
    assert math.isclose(got.lambda_of(0), 10.0) and math.isclose(got.lambda_of(63), 1000.0)
    assert math.isclose(got.lambda_of(21), 10.0 * 100.0 ** (21 / 63), rel_tol=1e-9)
    save_weights(m, p)  # no recipe: the shipped weights' range
    assert load_weights(p).lambda_range == DEFAULT_LAMBDAS
