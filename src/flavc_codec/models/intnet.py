"""Integer network for the entropy path (Balle et al., ICLR 2019).

Everything that selects a probability table is computed by these layers. At inference they
run on float64 tensors that hold integers: integer weights, integer inputs, sums far below
2**53, and divisions by powers of two with floor rounding. Every such sum is exact in any
summation order, so CPU and GPU, 1 or 16 threads, give the same integers. In training the
same arithmetic is simulated in float32 with straight-through rounding.

Fixed-point conventions: activations carry ``FA`` fractional bits, weights ``FW``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FA = 4  # activation fractional bits: integer a means a / 16
FW = 6  # weight fractional bits
WMAX = 2**11 - 1  # |integer weight| bound (real |w| < 32)
AMAX = 2**11 - 1  # |integer signed activation| bound (real |a| < 128)
RELU_MAX = 2**9 - 1  # bounded ReLU range 0..511 (real 0..32)


def ste_round(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def ste_floor(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.floor(x) - x).detach()


def exact_mode(x: torch.Tensor) -> bool:
    """Inference runs in float64: the exact integer path."""
    return x.dtype == torch.float64


def rshift(acc: torch.Tensor, bits: int) -> torch.Tensor:
    """Rounding right shift: floor((acc + 2**(bits-1)) / 2**bits). Exact in float64
    (division by a power of two); straight-through in training."""
    v = (acc + float(2 ** (bits - 1))) / float(2**bits)
    return torch.floor(v) if exact_mode(acc) else ste_floor(v)


def floor_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Floor division of integer-valued tensors (exact for |a| < 2**52 in float64)."""
    if exact_mode(a):
        return torch.div(a, b, rounding_mode="floor")
    return ste_floor(a / b)


class IntConv2d(nn.Module):
    """Conv with integer weights (FW fractional bits) and integer bias (FA+FW bits), output
    rescaled back to FA fractional bits. ``act`` is "relu" (bounded) or None (clipped)."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int = 1,
        stride: int = 1,
        padding: int | None = None,
        act: str | None = "relu",
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.stride = stride
        self.padding = k // 2 if padding is None else padding
        self.act = act

    def int_weight(self) -> torch.Tensor:
        w = self.weight * 2**FW
        w = ste_round(w).clamp(-WMAX, WMAX)
        return w

    def int_bias(self) -> torch.Tensor:
        return ste_round(self.bias * 2 ** (FA + FW)).clamp(-(2**30), 2**30)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.int_weight(), self.int_bias()
        if exact_mode(x):
            w, b = w.detach().to(x), b.detach().to(x)
        acc = F.conv2d(x, w, b, stride=self.stride, padding=self.padding)
        out = rshift(acc, FW)
        if self.act == "relu":
            return out.clamp(0, RELU_MAX)
        return out.clamp(-AMAX, AMAX)


class IntFLA(nn.Module):
    """Feature-level attention in fixed point: the global temporal prior of the entropy path.

    Keys and values come from patches of the previous frame's latent features (Dense
    Overlapping Patcher: kernel 2p, stride p, or non-overlapping kernel p for `no-dp`);
    they build one global context matrix G = K^T V (D x D) and a key sum; every position's
    query reads G. Output = (Q G) / (Q . sum K): a key-weighted average of values, computed
    with integer sums and one floor division. Bounds: K, Q <= 511, |V| <= 2047, so
    |Q G| <= D * 511^2 * 2047 * N_patches, below 2**52 for N_patches < 2**20/D.
    """

    def __init__(self, ch: int, d: int, dense: bool = True, patch: int = 2):
        super().__init__()
        k = 2 * patch if dense else patch
        pad = patch // 2 if dense else 0
        self.patch = IntConv2d(ch, ch, k, stride=patch, padding=pad, act="relu")
        self.key = IntConv2d(ch, d, 1, act="relu")
        self.value = IntConv2d(ch, d, 1, act=None)
        self.query = IntConv2d(ch, d, 1, act="relu")
        self.out = IntConv2d(d, ch, 1, act="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        e = self.patch(x)
        k = self.key(e).flatten(2)  # (B, D, N)
        v = self.value(e).flatten(2)  # (B, D, N)
        q = self.query(x).flatten(2)  # (B, D, HW)
        g = torch.einsum("bdn,ben->bde", k, v)  # integer D x D context matrix
        ks = k.sum(-1)  # (B, D)
        num = torch.einsum("bdm,bde->bem", q, g)  # (B, D, HW)
        den = torch.einsum("bdm,bd->bm", q, ks).clamp_min(1.0).unsqueeze(1)
        o = floor_div(num, den).clamp(-AMAX, AMAX)
        return self.out(o.reshape(b, -1, h, w))


def int_upsample(cin: int, cout: int) -> nn.Module:
    """x2 upsampling in integers: a conv to 4x channels and a pixel shuffle (a pure copy)."""
    return nn.Sequential(IntConv2d(cin, cout * 4, 3), nn.PixelShuffle(2))


class IntPrior(nn.Module):
    """Entropy-path network. Inputs: hyper-latent symbols z (integers) and, for inter
    frames, the previous frame's ungained latent in fixed point. Outputs two integer maps at
    latent resolution: means (FA fractional bits, ungained) and scale logits (FA fractional
    bits of a scale-table index)."""

    def __init__(
        self, m: int, nz: int, ch: int, temporal: bool, fla_d: int = 16, dense: bool = True
    ):
        super().__init__()
        self.hyper = nn.Sequential(IntConv2d(nz, ch, 3), int_upsample(ch, ch), int_upsample(ch, ch))
        self.temporal = temporal
        if temporal:
            self.t_in = IntConv2d(m, ch, 3)
            self.t_fla = IntFLA(ch, fla_d, dense=dense)
            cin = 3 * ch
        else:
            cin = ch
        self.head = nn.Sequential(IntConv2d(cin, ch * 2, 1), IntConv2d(ch * 2, 2 * m, 1, act=None))

    def forward(
        self,
        z_sym: torch.Tensor,
        y_prev_fx: torch.Tensor | None = None,
        hw: tuple[int, int] | None = None,
    ):
        """``hw``: the latent grid, when it is not 4x the hyper-latent grid (a picture
        padded to 16, not 64): the upsampled hyper features are cropped to it."""
        h = self.hyper(z_sym * 2**FA)
        if hw is not None:
            h = h[..., : hw[0], : hw[1]]
        if self.temporal:
            t = self.t_in(y_prev_fx.clamp(-AMAX, AMAX))
            h = torch.cat([h, t, self.t_fla(t)], 1)
        mu, s = self.head(h).chunk(2, 1)
        return mu, s
