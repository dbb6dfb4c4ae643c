"""MEMC inter codec: the paper's "w/o FLA" ablation (variant ``memc``, id 5).

Motion estimation and compensation instead of feature-level attention, DCVC-style:

- **Motion estimation** (encoder only): a two-level SpyNet-like pyramid at 1/4 luma
  resolution (the resolution of the reference features). Current-frame features and the
  reference features are matched at 1/16 (coarse flow), the coarse flow is upsampled, the
  reference is warped with it and a second net refines the flow at 1/4. Anything may run
  here: only what is coded reaches the decoder.
- **Motion coding**: a small motion autoencoder (flow at 1/4 -> motion latent at 1/16
  luma, the main latent's resolution) with its own hyperprior, quality gains and integer
  prior (a non-temporal :class:`LatentCodec`), coded into extra payload sections.
- **Motion compensation** (both sides, reconstruction path): the decoded flow warps the
  reference features with bilinear interpolation written as gathers and elementwise
  arithmetic (:func:`warp`): no reduction, so every output element is the same sequence of
  IEEE operations for any thread count; a small conv refines the warped features into the
  context of conditional coding (as ``InterCodec``'s FLA context).
- **Temporal prior**: the entropy path keeps the previous frame's latent as input, but its
  global IntFLA is replaced by a local integer conv, so no FLA is left anywhere in this
  variant.

Payload sections of a P-frame: (z, y, motion z, motion y), ``num_sections = 4``; with
``layout.merge`` (header flag FLAG_ONE_STREAM) two: (content z+y, motion z+y), one stream each.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ..entropy.coder import SEPARATE_RANS, StreamLayout
from ..entropy.tables import IntTables
from .codecs import IN_CH, CodedFrame, FrameOut, LatentCodec
from .intnet import IntConv2d
from .layers import Analysis, Conv2d, ResBlock, Synthesis, conv, deconv
from .registry import VariantConfig

FLOW_SCALE = 4.0  # flow (pixels at 1/4 luma) / FLOW_SCALE is what the motion coder sees


def warp(feat: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward-warp ``feat`` (B, C, H, W) by ``flow`` (B, 2, H, W) in pixels (x, y):
    out[p] = feat[p + flow[p]], bilinear, border clamped.

    Gathers plus separate elementwise multiplies and adds: each output element is a fixed
    sequence of correctly rounded operations, the same for any thread count (and no bf16:
    the coordinates are computed in float32 whatever autocast does)."""
    b, c, h, w = feat.shape
    flow = flow.float()
    xs = torch.arange(w, device=feat.device, dtype=torch.float32).view(1, 1, w)
    ys = torch.arange(h, device=feat.device, dtype=torch.float32).view(1, h, 1)
    px = (xs + flow[:, 0]).clamp(0, w - 1)
    py = (ys + flow[:, 1]).clamp(0, h - 1)
    x0, y0 = px.floor(), py.floor()
    wx, wy = (px - x0)[:, None], (py - y0)[:, None]
    x0i, y0i = x0.long(), y0.long()
    x1i, y1i = (x0i + 1).clamp(max=w - 1), (y0i + 1).clamp(max=h - 1)
    flat = feat.reshape(b, c, h * w)

    def tap(yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        idx = (yi * w + xi).reshape(b, 1, h * w).expand(b, c, h * w)
        return flat.gather(2, idx).reshape(b, c, h, w)

    top = tap(y0i, x0i) * (1 - wx) + tap(y0i, x1i) * wx
    bot = tap(y1i, x0i) * (1 - wx) + tap(y1i, x1i) * wx
    return top * (1 - wy) + bot * wy


class FlowEstimator(nn.Module):
    """Encoder-side optical flow between the current frame and the reference features, at
    1/4 luma resolution (pixels of that grid). Coarse level at 1/16, refinement at 1/4.
    Output layers start at zero: training starts from the zero flow (plain reference)."""

    def __init__(self, feat_ch: int, ch: int = 32):
        super().__init__()
        act = nn.LeakyReLU(0.1)
        self.cur = nn.Sequential(conv(IN_CH, ch, 5, 2), act, Conv2d(ch, ch, 3, padding=1))
        self.ref = Conv2d(feat_ch, ch, 3, padding=1)
        self.coarse = nn.Sequential(
            Conv2d(2 * ch, ch, 3, padding=1),
            act,
            Conv2d(ch, ch, 3, padding=2, dilation=2),
            act,
            Conv2d(ch, 2, 3, padding=1),
        )
        self.fine = nn.Sequential(
            Conv2d(2 * ch + 2, ch, 3, padding=1), act, Conv2d(ch, 2, 3, padding=1)
        )
        for head in (self.coarse[-1], self.fine[-1]):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, x: torch.Tensor, ref_feat: torch.Tensor) -> torch.Tensor:
        a, b = self.cur(x), self.ref(ref_feat)
        fc = self.coarse(torch.cat([F.avg_pool2d(a, 4), F.avg_pool2d(b, 4)], 1))
        fu = F.interpolate(fc, scale_factor=4, mode="bilinear", align_corners=False) * 4
        return fu + self.fine(torch.cat([a, warp(b, fu), fu], 1))


class MotionCodec(LatentCodec):
    """The motion latent's own hyperprior / quality gains / integer prior (non-temporal)."""

    temporal = False


def motion_config(cfg: VariantConfig) -> VariantConfig:
    """Width of the motion coder, derived from the variant (cfg.n etc. apply)."""
    return dataclasses.replace(
        cfg,
        m=max(16, cfg.m // 3),
        nz=max(16, cfg.nz // 3),
        prior_ch=max(16, cfg.prior_ch // 2),
    )


class MEMCInterCodec(LatentCodec):
    """P-frame codec with coded optical flow and motion compensation (same interface as
    ``InterCodec``; four payload sections)."""

    temporal = True
    num_sections = 4  # (z, y, motion z, motion y)

    def __init__(self, cfg: VariantConfig):
        super().__init__(cfg)
        # "w/o FLA": the entropy path's temporal prior gets a local integer conv instead of
        # the global IntFLA (same output shape, still exact integer arithmetic).
        ch = cfg.prior_ch
        self.prior.t_fla = IntConv2d(ch, ch, 3, act="relu")
        f = cfg.feat
        mc = max(16, f)
        mcfg = motion_config(cfg)
        act = nn.LeakyReLU(0.1)
        self.flow = FlowEstimator(f, mc)
        self.mv = MotionCodec(mcfg)
        self.mv_a = nn.Sequential(
            Conv2d(2, mc, 3, padding=1), act, conv(mc, mc, 3), act, conv(mc, mcfg.m, 3)
        )
        self.mv_s = nn.Sequential(
            deconv(mcfg.m, mc), act, deconv(mc, mc), act, Conv2d(mc, 2, 3, padding=1)
        )
        with torch.no_grad():  # small initial flows
            self.mv_s[-1].weight.mul_(0.1)
        self.ctx_net = nn.Sequential(Conv2d(f + 2, f, 3, padding=1), ResBlock(f))
        self.g_a = Analysis(IN_CH, cfg.n, cfg.m, f, cfg.blocks4, cfg.blocks8, cfg.transformer)
        self.g_s = Synthesis(IN_CH, cfg.n, cfg.m, f, f, cfg.blocks8, cfg.transformer)

    # ---- shared pieces ----------------------------------------------------------------
    def flow_from_latent(self, m_hat: torch.Tensor) -> torch.Tensor:
        return self.mv_s(m_hat) * FLOW_SCALE

    def context(self, ref_feat: torch.Tensor, flow_hat: torch.Tensor) -> torch.Tensor:
        warped = warp(ref_feat, flow_hat)
        return warped + self.ctx_net(torch.cat([warped, flow_hat.to(warped.dtype)], 1))

    # ---- training ---------------------------------------------------------------------
    def forward(
        self, x: torch.Tensor, q: torch.Tensor, ref_feat: torch.Tensor, y_prev: torch.Tensor
    ) -> FrameOut:
        flow = self.flow(x, ref_feat)
        m_hat, _, mby, mbz = self.mv.code_latent(self.mv_a(flow / FLOW_SCALE), q, None)
        ctx = self.context(ref_feat, self.flow_from_latent(m_hat))
        y = self.g_a(x, ctx)
        y_hat, y_next, by, bz = self.code_latent(y, q, y_prev)
        x_hat, feat = self.g_s(y_hat, ctx)
        return FrameOut(x_hat, feat, y_next, by + mby, bz + mbz)

    # ---- coding -----------------------------------------------------------------------
    @torch.no_grad()
    def compress(
        self,
        x: torch.Tensor,
        q: int,
        ref_feat: torch.Tensor,
        y_prev: torch.Tensor,
        gauss: IntTables,
        layout: StreamLayout = SEPARATE_RANS,
        refine=None,
    ) -> CodedFrame:
        """``refine`` (a ``codecs.Refine``) refines the content latent; the motion latent
        is coded as analysed."""
        flow = self.flow(x, ref_feat)
        msec, m_hat, _, _, mest = self.mv.compress_latent(
            self.mv_a(flow / FLOW_SCALE), q, None, gauss, layout
        )
        ctx = self.context(ref_feat, self.flow_from_latent(m_hat))
        y = self.g_a(x, ctx)
        sec, y_hat, sym, mu, est = self.compress_latent(
            y, q, y_prev, gauss, layout, refine, lambda yh: self.g_s(yh, ctx)[0]
        )
        x_hat, feat = self.g_s(y_hat, ctx)
        return CodedFrame((*sec, *msec), x_hat, feat, self.next_prior_input(sym, mu, q), est + mest)

    @torch.no_grad()
    def decompress(
        self,
        sections,
        hw: tuple[int, int],
        q: int,
        ref_feat: torch.Tensor,
        y_prev: torch.Tensor,
        gauss: IntTables,
        device,
        layout: StreamLayout = SEPARATE_RANS,
    ) -> CodedFrame:
        # (z, y, motion z, motion y), or with ``layout.merge`` (content, motion)
        need = self.num_sections // 2 if layout.merge else self.num_sections
        if len(sections) != need:
            from ..errors import FlavcError

            raise FlavcError(f"memc P-frame needs {need} payload sections, got {len(sections)}")
        k = need // 2
        m_hat, _, _ = self.mv.decompress_latent(sections[k:], hw, q, None, gauss, device, layout)
        ctx = self.context(ref_feat, self.flow_from_latent(m_hat))
        y_hat, sym, mu = self.decompress_latent(sections[:k], hw, q, y_prev, gauss, device, layout)
        x_hat, feat = self.g_s(y_hat, ctx)
        return CodedFrame(tuple(sections), x_hat, feat, self.next_prior_input(sym, mu, q), 0.0)

    # ---- tables -----------------------------------------------------------------------
    @torch.no_grad()
    def update_tables(self) -> None:
        super().update_tables()
        self.mv.update_tables()
