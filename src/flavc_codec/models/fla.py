"""Feature-level Attention (FLA) and the Dense Overlapping Patcher (DP), float version for
the reconstruction path.

The reference frame's features are cut into patch embeddings by the patcher, projected to
keys and values, and folded into one global context matrix G = softmax_N(K)^T V per head
(D x D). Queries multiply G directly: no N x N attention weights, cost linear in the
number of patches, so the whole frame is seen at 1080p. This replaces motion estimation
and compensation: no flow, nothing about motion in the stream.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Conv2d, det_einsum


class DensePatcher(nn.Module):
    """Patch embeddings with 50% overlap (kernel 2p, stride p); ``dense=False`` gives the
    non-overlapping patches of the `no-dp` ablation (kernel p, stride p)."""

    def __init__(self, cin: int, emb: int, patch: int, dense: bool = True):
        super().__init__()
        if dense:
            self.proj = Conv2d(cin, emb, 2 * patch, stride=patch, padding=patch // 2)
        else:
            self.proj = Conv2d(cin, emb, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class FeatureLevelAttention(nn.Module):
    """Global context from reference features; queries from any map at the features' size."""

    def __init__(self, ch: int, dim: int = 64, heads: int = 4, patch: int = 4, dense: bool = True):
        super().__init__()
        self.heads = heads
        self.dim = dim
        self.patcher = DensePatcher(ch, dim, patch, dense)
        self.kv = Conv2d(dim, 2 * dim, 1)
        self.out = Conv2d(dim, ch, 1)

    def context(self, ref_feat: torch.Tensor) -> torch.Tensor:
        """The global context matrix G: (B, heads, d, d)."""
        e = self.patcher(ref_feat)
        b, _, h, w = e.shape
        k, v = self.kv(e).reshape(b, 2, self.heads, self.dim // self.heads, h * w).unbind(1)
        k = k.softmax(dim=-1)
        return det_einsum("bhdn,bhen->bhde", k, v)

    def attend(self, q: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """q: (B, dim, H, W) raw queries -> (B, ch, H, W)."""
        b, _, h, w = q.shape
        q = q.reshape(b, self.heads, self.dim // self.heads, h * w)
        q = q.transpose(-1, -2).contiguous().softmax(dim=-1).transpose(-1, -2)
        out = det_einsum("bhde,bhdn->bhen", g, q).reshape(b, self.dim, h, w)
        return self.out(out)
