"""Building blocks: convolutions, residual blocks and the efficient-attention transformer
block used by the hybrid Transformer-CNN transforms.

Thread-count invariance: on CPU, PyTorch's convolution with a fused bias, transposed
convolution, and softmax over a non-innermost dimension give different floats with 1 and 2
threads (measured here). The reconstruction path must give the same bytes however many
threads decode, so these layers use convolutions without fused bias (bias added
separately), sub-pixel convolution instead of transposed convolution, and softmax only
over the innermost dimension.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from compressai.ops.parametrizers import NonNegativeParametrizer
from torch import nn


class Conv2d(nn.Conv2d):
    """Conv2d whose bias is added after the convolution (thread-count invariant on CPU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(x, self.weight, None, self.stride, self.padding, self.dilation, self.groups)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1)


def det_einsum(eq: str, *ops: torch.Tensor) -> torch.Tensor:
    """einsum on one CPU thread: BLAS splits long reductions differently with 1 and 2
    threads (measured here), so the attention contractions, which are small next to the
    convolutions, run single-threaded for thread-count invariant results."""
    if ops[0].device.type != "cpu" or torch.get_num_threads() == 1:
        return torch.einsum(eq, *ops)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return torch.einsum(eq, *ops)
    finally:
        torch.set_num_threads(n)


def conv(cin: int, cout: int, k: int = 5, s: int = 2) -> Conv2d:
    return Conv2d(cin, cout, k, stride=s, padding=k // 2)


class SubpelConv(nn.Module):
    """x2 upsampling: a 3x3 conv to 4x channels and a pixel shuffle (replaces a transposed
    convolution, whose CPU kernel is not thread-count invariant)."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.conv = Conv2d(cin, cout * 4, k, padding=k // 2)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def deconv(cin: int, cout: int, k: int = 3) -> SubpelConv:
    return SubpelConv(cin, cout, k)


class GDN(nn.Module):
    """Generalized divisive normalization (Balle et al.), with CompressAI's non-negative
    reparametrization; y = x / sqrt(beta + gamma * x^2) (or x * sqrt(...) if inverse)."""

    def __init__(
        self, ch: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1
    ):
        super().__init__()
        self.inverse = inverse
        self.beta_reparam = NonNegativeParametrizer(minimum=beta_min)
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(ch)))
        self.gamma_reparam = NonNegativeParametrizer()
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(ch)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        beta = self.beta_reparam(self.beta).view(1, c, 1, 1)
        gamma = self.gamma_reparam(self.gamma).reshape(c, c, 1, 1)
        norm = F.conv2d(x * x, gamma) + beta
        return x * (torch.sqrt(norm) if self.inverse else torch.rsqrt(norm))


class ResBlock(nn.Module):
    """3x3 residual block (local detail)."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1 = Conv2d(ch, ch, 3, padding=1)
        self.c2 = Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.leaky_relu(self.c1(F.leaky_relu(x, 0.1)), 0.1))


class EfficientAttention(nn.Module):
    """Linear-cost global attention (Shen et al.): context = softmax_N(K)^T V is D x D per
    head, output = softmax_D(Q) @ context. Cost O(N D^2), so it runs on whole 1080p frames."""

    def __init__(self, ch: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.qkv = Conv2d(ch, 3 * ch, 1)
        self.proj = Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        k = k.softmax(dim=-1)
        q = q.transpose(-1, -2).contiguous().softmax(dim=-1).transpose(-1, -2)
        ctx = det_einsum("bhdn,bhen->bhde", k, v)
        out = det_einsum("bhde,bhdn->bhen", ctx, q).reshape(b, c, h, w)
        return self.proj(out)


class ChannelNorm(nn.Module):
    """LayerNorm over channels at each position. Unlike GroupNorm(1, C), whose statistics
    cover the whole picture, it does not change with the frame size: a codec trained on
    crops must behave the same on whole 1080p frames."""

    def __init__(self, ch: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ch))
        self.bias = nn.Parameter(torch.zeros(ch))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        x = (x - mu) * torch.rsqrt(var + self.eps)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: global attention then a conv MLP (local mixing)."""

    def __init__(self, ch: int, heads: int = 4, mlp: int = 2):
        super().__init__()
        self.n1 = ChannelNorm(ch)
        self.attn = EfficientAttention(ch, heads)
        self.n2 = ChannelNorm(ch)
        self.mlp = nn.Sequential(
            Conv2d(ch, ch * mlp, 1),
            nn.GELU(),
            Conv2d(ch * mlp, ch, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.n1(x))
        return x + self.mlp(self.n2(x))


def global_block(ch: int, transformer: bool) -> nn.Module:
    """A transformer block, or for the `cnn-encoder` ablation a residual block instead."""
    return TransformerBlock(ch) if transformer else ResBlock(ch)


class Analysis(nn.Module):
    """Hybrid Transformer-CNN analysis transform: CNN stages downsample (x8), transformer
    blocks work only at 1/4 and 1/8 of the input resolution. Optionally conditioned on a
    context at 1/2 resolution (inter frames)."""

    def __init__(
        self, cin: int, n: int, m: int, ctx_ch: int, blocks4: int, blocks8: int, transformer: bool
    ):
        super().__init__()
        self.c1 = conv(cin, n)
        self.g1 = GDN(n)
        self.fuse = Conv2d(n + ctx_ch, n, 3, padding=1) if ctx_ch else None
        self.c2 = conv(n, n)
        self.g2 = GDN(n)
        self.b4 = nn.Sequential(*[global_block(n, transformer) for _ in range(blocks4)])
        self.c3 = conv(n, m)
        self.b8 = nn.Sequential(*[global_block(m, transformer) for _ in range(blocks8)])

    def forward(self, x: torch.Tensor, ctx: torch.Tensor | None = None) -> torch.Tensor:
        x = self.g1(self.c1(x))
        if self.fuse is not None:
            x = x + self.fuse(torch.cat([x, ctx], 1))
        x = self.b4(self.g2(self.c2(x)))
        return self.b8(self.c3(x))


class Synthesis(nn.Module):
    """Synthesis transform. Returns the picture and the 1/2-resolution features that the
    decoder keeps as the next frame's reference features (feature propagation)."""

    def __init__(
        self, cout: int, n: int, m: int, feat_ch: int, ctx_ch: int, blocks8: int, transformer: bool
    ):
        super().__init__()
        self.b8 = nn.Sequential(*[global_block(m, transformer) for _ in range(blocks8)])
        self.d1 = deconv(m, n)
        self.g1 = GDN(n, inverse=True)
        self.d2 = deconv(n, n)
        self.g2 = GDN(n, inverse=True)
        self.fuse = Conv2d(n + ctx_ch, feat_ch, 3, padding=1)
        self.res = ResBlock(feat_ch)
        self.out = deconv(feat_ch, cout)

    def forward(self, y: torch.Tensor, ctx: torch.Tensor | None = None):
        x = self.g2(self.d2(self.g1(self.d1(self.b8(y)))))
        if ctx is not None:
            x = torch.cat([x, ctx], 1)
        feat = self.res(F.leaky_relu(self.fuse(x), 0.1))
        return self.out(feat), feat


class HyperAnalysis(nn.Module):
    def __init__(self, m: int, nz: int):
        super().__init__()
        self.net = nn.Sequential(
            Conv2d(m, nz, 3, padding=1),
            nn.LeakyReLU(0.1),
            conv(nz, nz),
            nn.LeakyReLU(0.1),
            conv(nz, nz),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)
