"""Building blocks: convolutions, residual blocks and the efficient-attention transformer
block used by the hybrid Transformer-CNN transforms."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from compressai.layers import GDN
from torch import nn


def conv(cin: int, cout: int, k: int = 5, s: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=s, padding=k // 2)


def deconv(cin: int, cout: int, k: int = 5, s: int = 2) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, k, stride=s, padding=k // 2, output_padding=s - 1)


class ResBlock(nn.Module):
    """3x3 residual block (local detail)."""

    def __init__(self, ch: int):
        super().__init__()
        self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.c2 = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.c2(F.leaky_relu(self.c1(F.leaky_relu(x, 0.1)), 0.1))


class EfficientAttention(nn.Module):
    """Linear-cost global attention (Shen et al.): context = softmax_N(K)^T V is D x D per
    head, output = softmax_D(Q) @ context. Cost O(N D^2), so it runs on whole 1080p frames."""

    def __init__(self, ch: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        k = k.softmax(dim=-1)
        q = q.softmax(dim=-2)
        ctx = torch.einsum("bhdn,bhen->bhde", k, v)
        out = torch.einsum("bhde,bhdn->bhen", ctx, q).reshape(b, c, h, w)
        return self.proj(out)


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: global attention then a conv MLP (local mixing)."""

    def __init__(self, ch: int, heads: int = 4, mlp: int = 2):
        super().__init__()
        self.n1 = nn.GroupNorm(1, ch)
        self.attn = EfficientAttention(ch, heads)
        self.n2 = nn.GroupNorm(1, ch)
        self.mlp = nn.Sequential(
            nn.Conv2d(ch, ch * mlp, 1),
            nn.GELU(),
            nn.Conv2d(ch * mlp, ch, 1),
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
        self.fuse = nn.Conv2d(n + ctx_ch, n, 3, padding=1) if ctx_ch else None
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
        self.fuse = nn.Conv2d(n + ctx_ch, feat_ch, 3, padding=1)
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
            nn.Conv2d(m, nz, 3, padding=1),
            nn.LeakyReLU(0.1),
            conv(nz, nz),
            nn.LeakyReLU(0.1),
            conv(nz, nz),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)
