"""Intra and inter frame codecs, with CompressAI's contract: ``forward`` (training,
likelihoods), ``compress`` and ``decompress``.

Split in two paths (see bitstream_spec.md, "Determinism"):
- the entropy path (hyper-latent symbols -> integer prior -> scale indexes and fixed-point
  means) is exact integer arithmetic, identical on every device;
- the reconstruction path (synthesis, reference features, FLA context) is float.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from compressai.entropy_models import EntropyBottleneck
from torch import nn

from ..entropy import coder
from ..entropy.coder import SEPARATE_RANS, StreamLayout
from ..entropy.tables import (
    LOG_STEP,
    NUM_SCALES,
    SCALE_MAX,
    SCALE_MIN,
    IntTables,
    factorized_tables,
    scale_table,
)
from .fla import FeatureLevelAttention
from .intnet import FA, IntPrior, ste_round
from .layers import Analysis, Conv2d, HyperAnalysis, Synthesis, conv
from .registry import VariantConfig

NUM_QUALITIES = 64
PRIOR_TIMER = coder.Timer()  # seconds in the exact integer prior (reported apart)
GAIN_ANCHORS = 4
Z_RADIUS = 24
IN_CH = 6  # pixel_unshuffle(Y) (4) + U + V at half luma resolution


@dataclass
class FrameOut:
    """What ``forward`` returns for one frame (training)."""

    x_hat: torch.Tensor
    feat: torch.Tensor  # reference features for the next frame
    y_prev: torch.Tensor  # ungained fixed-point latent for the next frame's prior
    bits_y: torch.Tensor  # (B,) estimated bits
    bits_z: torch.Tensor  # (B,)


@dataclass
class CodedFrame:
    sections: tuple[bytes, ...]  # (z words, y words), or one stream of both
    x_hat: torch.Tensor
    feat: torch.Tensor
    y_prev: torch.Tensor  # float64 integers
    est_bits: float  # ideal bits under the integer tables


class QualityGains(nn.Module):
    """Per-quality channel gains (DCVC-HEM style): GAIN_ANCHORS learned log-gain vectors,
    interpolated log-linearly over the 64 qualities. The integer versions the entropy path
    uses are buffers filled by :meth:`update_tables` and stored in the weights file."""

    def __init__(self, m: int):
        super().__init__()
        init = torch.linspace(-1.5, 1.5, GAIN_ANCHORS)[:, None].repeat(1, m)
        self.log_g = nn.Parameter(init.clone())
        self.log_ig = nn.Parameter(-init.clone())
        self.register_buffer("t_g", torch.ones(NUM_QUALITIES, m))
        self.register_buffer("t_ig", torch.ones(NUM_QUALITIES, m))
        self.register_buffer("t_off", torch.zeros(NUM_QUALITIES, m, dtype=torch.int32))
        self.register_buffer("t_gfx", torch.full((NUM_QUALITIES, m), 256, dtype=torch.int32))
        self.register_buffer("t_igfx", torch.full((NUM_QUALITIES, m), 256, dtype=torch.int32))

    @staticmethod
    def _interp(a: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        t = q.to(a.dtype) * (GAIN_ANCHORS - 1) / (NUM_QUALITIES - 1)
        i = t.floor().long().clamp(0, GAIN_ANCHORS - 2)
        f = (t - i.to(a.dtype))[:, None]
        return (1 - f) * a[i] + f * a[i + 1]

    def log_gains(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training: (log g, log ig), each (B, M)."""
        return self._interp(self.log_g, q), self._interp(self.log_ig, q)

    @torch.no_grad()
    def update_tables(self) -> None:
        q = torch.arange(NUM_QUALITIES)
        lg = self._interp(self.log_g.double(), q)
        lig = self._interp(self.log_ig.double(), q)
        self.t_g.copy_(lg.exp().float())
        self.t_ig.copy_(lig.exp().float())
        self.t_off.copy_(torch.round(lg / LOG_STEP * 2**FA).int())
        self.t_gfx.copy_(torch.round(lg.exp() * 256).clamp(1, 2**20).int())
        self.t_igfx.copy_(torch.round(256 / lg.exp()).clamp(1, 2**20).int())


@dataclass(frozen=True)
class Refine:
    """Encoder-side latent refinement (Campos et al. 2019, "Content adaptive optimization
    for neural image compression"): gradient steps on the latent symbols of one frame,
    with the hyper-latent and so every probability table held fixed, minimising the
    frame's own R + lambda * D through the synthesis. Only the encoder runs it: the stream
    format and the decoder are unchanged, and the decoder still reproduces the encoder's
    reconstruction bit for bit (it is computed from the final symbols as before)."""

    steps: int
    lam: float  # lambda of the frame's quality (the weights' training range)
    x: torch.Tensor  # (1, 6, h, w) target in the model layout, padded
    mask: torch.Tensor  # (1, 1, h, w): 1 inside the picture, 0 on the padding
    npix: int  # luma pixels of the picture (the rate is per source pixel)
    lr: float = 0.01
    seed: int = 0


# Per-channel distortion weights of the packed layout (4 luma phases, U, V) giving
# (6 Y + U + V) / 8, the PSNR-YUV weighting of the benchmark (training and refinement). A
# plain mean over the 6 channels would be 4:1:1.
YUV611 = (6 / 32, 6 / 32, 6 / 32, 6 / 32, 1 / 8, 1 / 8)


def quality_lambda(q, lo: float, hi: float):
    """Lambda of quality ``q`` (an int, or a tensor of them): log-linear from ``lo`` at
    quality 0 to ``hi`` at 63. Training and encoder-side refinement both use it."""
    span = math.log(hi) - math.log(lo)
    if isinstance(q, torch.Tensor):
        return torch.exp(math.log(lo) + q.float() / (NUM_QUALITIES - 1) * span)
    return math.exp(math.log(lo) + q / (NUM_QUALITIES - 1) * span)


def refine_residual(
    r0: torch.Tensor,
    scale: torch.Tensor,
    to_latent: Callable[[torch.Tensor], torch.Tensor],
    synth: Callable[[torch.Tensor], torch.Tensor],
    spec: Refine,
) -> torch.Tensor:
    """Rounded residual symbols that lower R + lambda * D of one frame.

    ``r0``: the gained, mean-removed latent (its rounding is what the encoder codes
    without refinement); ``scale``: the Gaussian scales the integer prior chose;
    ``to_latent``: rounded residual -> the latent the synthesis gets; ``synth``: latent ->
    picture. Rate: noisy-proxy bits (gradient), distortion through straight-through
    rounding. The returned symbols are the best rounded iterate by the estimated cost, so
    step 0 (plain rounding) is kept when no step improves on it.
    """
    # oneDNN is 2.5x faster here (CPU, forward + backward) and the engine turns it off for
    # thread-count invariant pictures; the search may use it: only the symbols it returns
    # count, and the encoder's reconstruction is computed from them afterwards.
    mkldnn = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = True
    try:
        with torch.enable_grad():
            return _refine_loop(r0.detach(), scale, to_latent, synth, spec)
    finally:
        torch.backends.mkldnn.enabled = mkldnn


def _refine_loop(r0, scale, to_latent, synth, spec: Refine) -> torch.Tensor:
    w = spec.x.new_tensor(YUV611).view(1, -1, 1, 1)
    area = spec.mask.sum().clamp_min(1.0)
    gen = torch.Generator(device=r0.device).manual_seed(spec.seed)
    r = r0.clone().requires_grad_(True)
    opt = torch.optim.Adam([r], lr=spec.lr)
    best, best_cost = torch.round(r0), math.inf
    for _ in range(spec.steps):
        rh = ste_round(r)
        x_hat = synth(to_latent(rh)).clamp(0, 1)
        dist = ((x_hat - spec.x).pow(2) * w * spec.mask).sum() / area
        with torch.no_grad():
            cost = gaussian_bits(rh, scale).sum().item() / spec.npix + spec.lam * dist.item()
            if cost < best_cost:
                best, best_cost = torch.round(r.detach()), cost
        noise = torch.rand(r.shape, generator=gen, device=r.device, dtype=r.dtype) - 0.5
        loss = gaussian_bits(r + noise, scale).sum() / spec.npix + spec.lam * dist
        (r.grad,) = torch.autograd.grad(loss, r)
        opt.step()
    return best


def gaussian_bits(r: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """-log2 P(r) of a zero-mean Gaussian discretised to unit bins."""
    s = scale.clamp_min(SCALE_MIN)
    upper = 0.5 * torch.erfc(-(r + 0.5) / (s * math.sqrt(2)))
    lower = 0.5 * torch.erfc(-(r - 0.5) / (s * math.sqrt(2)))
    return -torch.log2((upper - lower).clamp_min(1e-9))


class LatentCodec(nn.Module):
    """Shared latent coding: gains, hyperprior, integer prior, Gaussian conditional."""

    temporal = False

    def __init__(self, cfg: VariantConfig):
        super().__init__()
        self.cfg = cfg
        self.h_a = HyperAnalysis(cfg.m, cfg.nz)
        self.eb = EntropyBottleneck(cfg.nz)
        self.prior = IntPrior(
            cfg.m, cfg.nz, cfg.prior_ch, self.temporal, cfg.prior_fla_dim, cfg.dense
        )
        self.gains = QualityGains(cfg.m)
        w = 2 * Z_RADIUS + 2
        self.register_buffer("z_freqs", torch.ones(cfg.nz, w, dtype=torch.int32))
        self.register_buffer("z_radius", torch.full((cfg.nz,), Z_RADIUS, dtype=torch.int32))
        self._z_tables: IntTables | None = None

    def _apply(self, fn, recurse=True):  # the cached numpy z tables follow the buffers
        self._z_tables = None
        return super()._apply(fn, recurse)

    # ---- training ---------------------------------------------------------------------
    def code_latent(self, y: torch.Tensor, q: torch.Tensor, y_prev: torch.Tensor | None):
        """Training-time latent coding (also validation, in eval mode). Returns (y_hat
        ungained, y_prev next, bits_y, bits_z)."""
        lg, lig = self.gains.log_gains(q)
        g = lg.exp()[:, :, None, None]
        z = self.h_a(y)
        _, z_lik = self.eb(z)
        bits_z = -torch.log2(z_lik.clamp_min(1e-9)).flatten(1).sum(1)
        z_sym = ste_round(z.float())
        # The integer path needs exact integers up to 2**11: never bf16 (exact only to 256).
        with torch.autocast(y.device.type, enabled=False):
            mu_fx, s_fx = self.prior(
                z_sym, None if y_prev is None else y_prev.float(), tuple(y.shape[-2:])
            )
        mu_g = mu_fx / 2**FA * g
        idx = s_fx / 2**FA + (lg / LOG_STEP)[:, :, None, None]
        scale = torch.exp(math.log(SCALE_MIN) + LOG_STEP * idx).clamp(SCALE_MIN, SCALE_MAX)
        r = y * g - mu_g
        # training: the uniform-noise proxy; eval mode (validation): the rate of the rounded
        # residual, what the encoder codes, with no randomness
        noisy = r + torch.empty_like(r).uniform_(-0.5, 0.5) if self.training else ste_round(r)
        with torch.autocast(y.device.type, enabled=False):
            bits_y = gaussian_bits(noisy.float(), scale.float()).flatten(1).sum(1)
        y_hat_g = ste_round(r) + mu_g
        y_hat = y_hat_g * lig.exp()[:, :, None, None]
        y_next = ste_round(y_hat_g / g * 2**FA)
        return y_hat, y_next, bits_y, bits_z

    # ---- tables -----------------------------------------------------------------------
    @torch.no_grad()
    def update_tables(self) -> None:
        """Build the integer tables (export time, float64). Never called at load time."""
        self.gains.update_tables()
        eb = self.eb
        k = torch.arange(-Z_RADIUS, Z_RADIUS + 1, dtype=torch.float64)
        vals = k[None, None, :].repeat(self.cfg.nz, 1, 1)
        lower = _logits_cumulative64(eb, vals - 0.5)
        upper = _logits_cumulative64(eb, vals + 0.5)
        pmf = (torch.sigmoid(upper) - torch.sigmoid(lower))[:, 0, :].numpy()
        t = factorized_tables(pmf, Z_RADIUS)
        self.z_freqs.copy_(torch.from_numpy(t.freqs))
        self.z_radius.copy_(torch.from_numpy(t.radius))
        self._z_tables = None

    def z_tables(self) -> IntTables:
        if self._z_tables is None:
            self._z_tables = IntTables(
                self.z_freqs.cpu().numpy().astype(np.int32),
                self.z_radius.cpu().numpy().astype(np.int32),
            )
        return self._z_tables

    # ---- exact entropy path -------------------------------------------------------------
    def entropy_params(
        self, z_sym: np.ndarray, q: int, y_prev: torch.Tensor | None, hw: tuple[int, int]
    ):
        """Integer prior in float64 -> (scale indexes int64 (M,h,w), gained means fx) on
        the latent grid ``hw``."""
        zt = torch.from_numpy(z_sym.astype(np.float64))[None]
        t0 = time.perf_counter()
        with torch.no_grad(), _exact_context():
            mu_fx, s_fx = self.prior(zt, y_prev, hw)
            off = self.gains.t_off[q].cpu().double()[None, :, None, None]
            gfx = self.gains.t_gfx[q].cpu().double()[None, :, None, None]
            idx = torch.floor((s_fx + off + 2 ** (FA - 1)) / 2**FA).clamp(0, NUM_SCALES - 1)
            mu_g_fx = torch.floor((mu_fx * gfx + 128) / 256)
        PRIOR_TIMER.seconds += time.perf_counter() - t0
        return idx[0].long().numpy(), mu_g_fx

    def next_prior_input(self, sym: torch.Tensor, mu_g_fx: torch.Tensor, q: int) -> torch.Tensor:
        """The previous-frame input of the next inter frame's prior, in exact integers."""
        igfx = self.gains.t_igfx[q].cpu().double()[None, :, None, None]
        return torch.floor(((sym * 2**FA + mu_g_fx) * igfx + 128) / 256)

    def compress_latent(
        self,
        y: torch.Tensor,
        q: int,
        y_prev: torch.Tensor | None,
        gauss: IntTables,
        layout: StreamLayout = SEPARATE_RANS,
        refine: Refine | None = None,
        synth: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ):
        """Encoder side. y: (1, M, h, w) float on the model device. Sections: (z, y), or
        with ``layout.merge`` (header flag FLAG_ONE_STREAM) one stream holding z then y.
        ``refine`` (needs ``synth``, latent -> picture): refine the symbols first."""
        z = self.h_a(y)
        z_sym = torch.round(z)[0].cpu().numpy().astype(np.int64)
        z_sym = np.clip(z_sym, -(2**20), 2**20)
        idx, mu_g_fx = self.entropy_params(z_sym, q, y_prev, tuple(y.shape[-2:]))
        g = self.gains.t_g[q].to(y)[None, :, None, None]
        mu_g = (mu_g_fx / 2**FA).to(y)
        if refine is not None and refine.steps > 0:
            ig = self.gains.t_ig[q].to(y)[None, :, None, None]
            scale = torch.from_numpy(scale_table()).to(y)[torch.from_numpy(idx)]
            sym = refine_residual(
                y * g - mu_g, scale[None], lambda rh: (rh + mu_g) * ig, synth, refine
            )
        else:
            sym = torch.round(y * g - mu_g)
        sym = sym.clamp(-(2**30), 2**30)
        sym_np = sym[0].cpu().numpy().astype(np.int64)
        zgroups = np.broadcast_to(np.arange(z_sym.shape[0])[:, None, None], z_sym.shape)
        zt = self.z_tables()
        rc = layout.range_coder
        if layout.merge:
            secs = (coder.encode_parts([(z_sym, zgroups, zt), (sym_np, idx, gauss)], rc),)
        else:
            secs = (
                coder.encode_symbols(z_sym, zgroups, zt, rc),
                coder.encode_symbols(sym_np, idx, gauss, rc),
            )
        est = coder.estimate_bits(z_sym, zgroups, zt) + coder.estimate_bits(sym_np, idx, gauss)
        sym64 = torch.from_numpy(sym_np.astype(np.float64))[None]
        return secs, self._dequant(sym64, mu_g_fx, q, y), sym64, mu_g_fx, est

    def decompress_latent(
        self,
        sections,
        shape_hw: tuple[int, int],
        q: int,
        y_prev: torch.Tensor | None,
        gauss: IntTables,
        device,
        layout: StreamLayout = SEPARATE_RANS,
    ):
        """``sections``: (z, y), or with ``layout.merge`` one stream of z then y."""
        merge = layout.merge
        if len(sections) != (1 if merge else 2):
            raise ValueError(f"{len(sections)} sections for one latent (merge={merge})")
        hz, wz = -(-shape_hw[0] // 4), -(-shape_hw[1] // 4)  # the hyper-analysis rounds up
        zshape = (self.cfg.nz, hz, wz)
        zgroups = np.broadcast_to(np.arange(self.cfg.nz)[:, None, None], zshape)
        dz = coder.SymbolDecoder(sections[0], layout.range_coder)
        z_sym = dz.decode(zgroups, self.z_tables()).astype(np.int64)
        idx, mu_g_fx = self.entropy_params(z_sym, q, y_prev, tuple(shape_hw))
        dy = dz if merge else coder.SymbolDecoder(sections[1], layout.range_coder)
        sym_np = dy.decode(idx, gauss).astype(np.int64)
        sym64 = torch.from_numpy(sym_np.astype(np.float64))[None]
        ref = torch.empty(0, device=device)
        return self._dequant(sym64, mu_g_fx, q, ref), sym64, mu_g_fx

    def _dequant(self, sym64: torch.Tensor, mu_g_fx: torch.Tensor, q: int, like: torch.Tensor):
        y_hat_g = (sym64 + mu_g_fx / 2**FA).float().to(like.device)
        return y_hat_g * self.gains.t_ig[q].to(like.device)[None, :, None, None]


def _logits_cumulative64(eb: EntropyBottleneck, x: torch.Tensor) -> torch.Tensor:
    logits = x
    for i in range(len(eb.filters) + 1):
        logits = torch.matmul(F.softplus(eb.matrices[i].double()), logits) + eb.biases[i].double()
        if i < len(eb.filters):
            logits = logits + torch.tanh(eb.factors[i].double()) * torch.tanh(logits)
    return logits


class _exact_context:
    """No TF32, no cuDNN (no Winograd/FFT) while the integer path runs."""

    def __enter__(self):
        self._cudnn = torch.backends.cudnn.enabled
        self._tf32 = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.enabled = False
        torch.backends.cuda.matmul.allow_tf32 = False
        return self

    def __exit__(self, *exc):
        torch.backends.cudnn.enabled = self._cudnn
        torch.backends.cuda.matmul.allow_tf32 = self._tf32
        return False


class IntraCodec(LatentCodec):
    """Image codec for I-frames: hybrid Transformer-CNN analysis, hyperprior mean-scale."""

    temporal = False

    def __init__(self, cfg: VariantConfig):
        super().__init__(cfg)
        self.g_a = Analysis(IN_CH, cfg.n, cfg.m, 0, cfg.blocks4, cfg.blocks8, cfg.transformer)
        self.g_s = Synthesis(IN_CH, cfg.n, cfg.m, cfg.feat, 0, cfg.blocks8, cfg.transformer)

    def forward(self, x: torch.Tensor, q: torch.Tensor) -> FrameOut:
        y = self.g_a(x)
        y_hat, y_next, by, bz = self.code_latent(y, q, None)
        x_hat, feat = self.g_s(y_hat)
        return FrameOut(x_hat, feat, y_next, by, bz)

    @torch.no_grad()
    def compress(
        self,
        x: torch.Tensor,
        q: int,
        gauss: IntTables,
        layout: StreamLayout = SEPARATE_RANS,
        refine: Refine | None = None,
    ) -> CodedFrame:
        y = self.g_a(x)
        sections, y_hat, sym, mu, est = self.compress_latent(
            y, q, None, gauss, layout, refine, lambda yh: self.g_s(yh)[0]
        )
        x_hat, feat = self.g_s(y_hat)
        return CodedFrame(sections, x_hat, feat, self.next_prior_input(sym, mu, q), est)

    @torch.no_grad()
    def decompress(
        self,
        sections,
        hw: tuple[int, int],
        q: int,
        gauss: IntTables,
        device,
        layout: StreamLayout = SEPARATE_RANS,
    ) -> CodedFrame:
        y_hat, sym, mu = self.decompress_latent(sections, hw, q, None, gauss, device, layout)
        x_hat, feat = self.g_s(y_hat)
        return CodedFrame(tuple(sections), x_hat, feat, self.next_prior_input(sym, mu, q), 0.0)


class InterCodec(LatentCodec):
    """P-frame codec: conditional coding on a context built by FLA from the reference
    features. Encoder queries come from the current frame (encoder only); decoder queries
    from the reference itself, so the decoder computes only from what it has decoded. The
    temporal prior of the entropy model comes from the previous frame's latent, in the
    integer path (IntFLA)."""

    temporal = True

    def __init__(self, cfg: VariantConfig):
        super().__init__(cfg)
        f = cfg.feat
        self.cur_feat = nn.Sequential(conv(IN_CH, f), nn.LeakyReLU(0.1), Conv2d(f, f, 3, padding=1))
        self.fla = FeatureLevelAttention(f, cfg.fla_dim, 4, cfg.fla_patch, cfg.dense)
        self.q_enc = Conv2d(2 * f, cfg.fla_dim, 1)
        self.q_dec = Conv2d(f, cfg.fla_dim, 1)
        self.g_a = Analysis(IN_CH, cfg.n, cfg.m, f, cfg.blocks4, cfg.blocks8, cfg.transformer)
        self.g_s = Synthesis(IN_CH, cfg.n, cfg.m, f, f, cfg.blocks8, cfg.transformer)

    def contexts(self, ref_feat: torch.Tensor, x: torch.Tensor | None):
        g = self.fla.context(ref_feat)
        ctx_dec = ref_feat + self.fla.attend(self.q_dec(ref_feat), g)
        if x is None:
            return None, ctx_dec
        q = self.q_enc(torch.cat([self.cur_feat(x), ref_feat], 1))
        return ref_feat + self.fla.attend(q, g), ctx_dec

    def forward(
        self, x: torch.Tensor, q: torch.Tensor, ref_feat: torch.Tensor, y_prev: torch.Tensor
    ) -> FrameOut:
        ctx_enc, ctx_dec = self.contexts(ref_feat, x)
        y = self.g_a(x, ctx_enc)
        y_hat, y_next, by, bz = self.code_latent(y, q, y_prev)
        x_hat, feat = self.g_s(y_hat, ctx_dec)
        return FrameOut(x_hat, feat, y_next, by, bz)

    @torch.no_grad()
    def compress(
        self,
        x: torch.Tensor,
        q: int,
        ref_feat: torch.Tensor,
        y_prev: torch.Tensor,
        gauss: IntTables,
        layout: StreamLayout = SEPARATE_RANS,
        refine: Refine | None = None,
    ) -> CodedFrame:
        ctx_enc, ctx_dec = self.contexts(ref_feat, x)
        y = self.g_a(x, ctx_enc)
        sections, y_hat, sym, mu, est = self.compress_latent(
            y, q, y_prev, gauss, layout, refine, lambda yh: self.g_s(yh, ctx_dec)[0]
        )
        x_hat, feat = self.g_s(y_hat, ctx_dec)
        return CodedFrame(sections, x_hat, feat, self.next_prior_input(sym, mu, q), est)

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
        _, ctx_dec = self.contexts(ref_feat, None)
        y_hat, sym, mu = self.decompress_latent(sections, hw, q, y_prev, gauss, device, layout)
        x_hat, feat = self.g_s(y_hat, ctx_dec)
        return CodedFrame(tuple(sections), x_hat, feat, self.next_prior_input(sym, mu, q), 0.0)
