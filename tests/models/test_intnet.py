"""Integer entropy-path network: exact, integer-valued, thread-count and split invariant."""

from __future__ import annotations

import contextlib

import pytest
import torch

from flavc_codec.models.intnet import (
    AMAX,
    FA,
    RELU_MAX,
    WMAX,
    IntConv2d,
    IntFLA,
    IntPrior,
    floor_div,
    rshift,
)


@contextlib.contextmanager
def _threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _randomise(module: torch.nn.Module, seed: int, wscale: float = 1.0) -> torch.nn.Module:
    """Non-trivial weights and biases (biases are zero at init)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * wscale / max(1, p[0].numel()) ** 0.5)
    return module.eval()


def _int_input(shape, lo, hi, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(lo, hi + 1, shape, generator=g).double()


def _is_integer(t: torch.Tensor) -> bool:
    return bool(torch.all(t == torch.round(t))) and bool(torch.isfinite(t).all())


def _run_threads(fn):
    with _threads(1):
        a = fn()
    with _threads(2):
        b = fn()
    return a, b


def test_rshift_and_floor_div_exact():
    acc = torch.tensor(
        [-97.0, -96.0, -33.0, -32.0, -31.0, 0.0, 31.0, 32.0, 33.0, 96.0], dtype=torch.float64
    )
    got = rshift(acc, 6)
    expect = torch.tensor([(int(v) + 32) >> 6 for v in acc.tolist()], dtype=torch.float64)
    assert torch.equal(got, expect)
    a = torch.tensor([-7.0, 7.0, -8.0, 2.0**50 + 3], dtype=torch.float64)
    b = torch.tensor([2.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    assert floor_div(a, b).tolist() == [-4.0, 3.0, -3.0, float((2**50 + 3) // 4)]


@pytest.mark.parametrize(
    "k,stride,act", [(1, 1, "relu"), (3, 1, None), (4, 2, "relu"), (5, 2, None)]
)
def test_intconv_exact_and_invariant(k, stride, act):
    conv = _randomise(IntConv2d(24, 40, k, stride=stride, act=act), seed=k)
    x = _int_input((2, 24, 19, 23), -AMAX, AMAX, seed=k)
    with torch.no_grad():
        a, b = _run_threads(lambda: conv(x))
    assert torch.equal(a, b)
    assert a.dtype == torch.float64 and _is_integer(a)
    lo = 0 if act == "relu" else -AMAX
    hi = RELU_MAX if act == "relu" else AMAX
    assert a.min() >= lo and a.max() <= hi
    assert (a > lo).any() and (a < hi).any()  # not trivially saturated
    w = conv.int_weight()
    assert _is_integer(w.detach().double()) and w.abs().max() <= WMAX
    # batch split: each sample alone gives the same result
    with torch.no_grad():
        parts = torch.cat([conv(x[:1]), conv(x[1:])], 0)
    assert torch.equal(parts, a)


def test_intconv_1x1_split_width():
    """A 1x1 integer conv on two halves of the width equals the whole."""
    conv = _randomise(IntConv2d(32, 48, 1, act=None), seed=3)
    x = _int_input((1, 32, 17, 64), -AMAX, AMAX, seed=3)
    with torch.no_grad():
        whole = conv(x)
        halves = torch.cat([conv(x[..., :29]), conv(x[..., 29:])], -1)
        perm = torch.randperm(64, generator=torch.Generator().manual_seed(0))
        permuted = conv(x[..., perm])
    assert torch.equal(whole, halves)
    assert torch.equal(whole[..., perm], permuted)


def test_intconv_matches_integer_reference():
    """Float64 result equals an exact int64 computation of the same formula."""
    conv = _randomise(IntConv2d(8, 6, 3, act=None), seed=5)
    x = _int_input((1, 8, 9, 7), -AMAX, AMAX, seed=5)
    with torch.no_grad():
        got = conv(x)
        w = conv.int_weight().long()
        b = conv.int_bias().long()
        xp = torch.nn.functional.pad(x.long(), (1, 1, 1, 1))
        cols = xp.unfold(2, 3, 1).unfold(3, 3, 1)  # (1, C, H, W, 3, 3)
        acc = torch.einsum("bchwij,ocij->bohw", cols, w) + b[None, :, None, None]
        ref = torch.div(acc + 32, 64, rounding_mode="floor").clamp(-AMAX, AMAX)
    assert torch.equal(got, ref.double())


@pytest.mark.parametrize("dense", [True, False])
def test_intfla_integer_in_range_invariant(dense):
    fla = _randomise(IntFLA(32, 16, dense=dense), seed=7, wscale=2.0)
    x = _int_input((2, 32, 12, 20), 0, RELU_MAX, seed=7)
    with torch.no_grad():
        a, b = _run_threads(lambda: fla(x))
        parts = torch.cat([fla(x[:1]), fla(x[1:])], 0)
    assert torch.equal(a, b)
    assert torch.equal(parts, a)
    assert a.shape == (2, 32, 12, 20)
    assert _is_integer(a)
    assert a.min() >= 0 and a.max() <= RELU_MAX
    assert a.abs().sum() > 0


def test_intfla_attention_values_bounded():
    """The attention average stays in the clip range before the output conv."""
    fla = _randomise(IntFLA(16, 8), seed=9, wscale=3.0)
    x = _int_input((1, 16, 8, 8), 0, RELU_MAX, seed=9)
    seen = {}
    fla.out.register_forward_hook(lambda m, inp, out: seen.setdefault("o", inp[0]))
    with torch.no_grad():
        fla(x)
    o = seen["o"]
    assert _is_integer(o) and o.abs().max() <= AMAX


@pytest.mark.parametrize("temporal", [False, True])
def test_intprior_exact_and_invariant(temporal):
    m, nz, ch = 24, 16, 16
    prior = _randomise(IntPrior(m, nz, ch, temporal, fla_d=8), seed=11)
    z = _int_input((1, nz, 3, 5), -6, 6, seed=1)
    yp = _int_input((1, m, 12, 20), -40 * 2**FA, 40 * 2**FA, seed=2) if temporal else None
    with torch.no_grad():
        (mu1, s1), (mu2, s2) = _run_threads(lambda: prior(z, yp))
    assert torch.equal(mu1, mu2) and torch.equal(s1, s2)
    assert mu1.shape == s1.shape == (1, m, 12, 20)
    for t in (mu1, s1):
        assert _is_integer(t) and t.abs().max() <= AMAX


def test_intprior_trains():
    prior = IntPrior(8, 8, 8, True, fla_d=4).train()
    z = torch.randn(2, 8, 2, 2) * 3
    yp = torch.randn(2, 8, 8, 8) * 100
    mu, s = prior(z, yp)
    (mu.float().pow(2).mean() + s.float().mean()).backward()
    grads = [p.grad for p in prior.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
