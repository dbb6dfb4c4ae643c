"""The engine: GOP structure, references, padding, the Encoder/Decoder API and the file
functions behind ``flavc encode`` / ``flavc decode``.

Frame ``i`` is intra when ``i % intra_period == 0`` (``intra_period == -1``: only frame 0).
The decoder keeps the previous decoded frame's features (float, reconstruction path) and
its latent in fixed point (exact, entropy path); nothing else crosses frames, so memory is
flat over any number of frames.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .bitstream import (
    FLAG_ONE_STREAM,
    FLAG_PAD16,
    FLAG_RANGE_CODER,
    FRAME_I,
    FRAME_P,
    KNOWN_FLAGS,
    FrameChunk,
    SequenceHeader,
    StreamReader,
    StreamWriter,
)
from .bitstream.model_ids import model_name
from .entropy import coder as entropy_coder
from .errors import FlavcError
from .models.codecs import NUM_QUALITIES, PRIOR_TIMER, Refine
from .models.flavc import FLAVC, WEIGHTS_DIR, default_weights_path, load_weights, weights_hash
from .models.registry import get_variant
from .yuv import YUVFrame, crop_planes, pad_frame, psnr_yuv

# Luma padding multiple: 16 (one latent per 16x16 luma, the hyper grid rounds up) when the
# stream has FLAG_PAD16, else 64 (format 1.0 without the flag: latent grid a multiple of 4).
PAD = 16
PAD_LEGACY = 64
MAX_PIXELS = 8192 * 4352  # 8K: bounds the memory one frame can make the codec allocate
MAX_REFINE = 1000  # refinement steps per frame (encoder effort; bounds the encode time)
# Refinement steps of an I-frame unless the caller says otherwise. I-frames gain most
# from it (one-frame clips and images: about 6-10 BD-rate points with the joint_long7
# weights, against 1-5 on P-frame-heavy clips) and are 1 in 32 frames of a video, so
# refining them alone cost 2% of a 32-frame 720p encode (benchmarks/results/
# refine_intra_speed); P-frames stay at 0.
DEFAULT_REFINE_INTRA = 10


def resolve_refine_intra(refine: int, refine_intra: int | None) -> int:
    """The I-frame refinement steps of an encoder given ``refine`` (P-frames) and
    ``refine_intra`` (None = the default: at least as many as the P-frames get)."""
    if refine_intra is not None:
        return int(refine_intra)
    return max(int(refine), DEFAULT_REFINE_INTRA)


# A P-frame this many dB (PSNR-YUV) below the last I-frame is coded again as an I-frame.
# Normal drift over a 32-frame GOP stays under 2.5 dB on the eval clips; divergence does not.
DRIFT_GUARD_DB = 3.0


def check_size(width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise FlavcError(
            f"{what}: {width}x{height} is larger than this flavc supports (8192x4352 pixels)"
        )


_MODELS: dict[tuple[str, int, int, str], tuple[FLAVC, str]] = {}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise FlavcError("--device cuda asked for, but no CUDA device is available")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise FlavcError(f"unknown device '{device}' (auto, cpu, cuda, cuda:N)")
    return torch.device(device)


def _weight_candidates() -> list[Path]:
    """Where decoders look for weights by hash: the package, then $FLAVC_WEIGHTS dirs."""
    dirs = [WEIGHTS_DIR]
    for d in os.environ.get("FLAVC_WEIGHTS", "").split(os.pathsep):
        if d:
            dirs.append(Path(d))
    out = []
    for d in dirs:
        if d.is_file():
            out.append(d)
        elif d.is_dir():
            out.extend(sorted(d.glob("*.safetensors")))
    return out


def get_model(weights: str | Path, device: torch.device) -> tuple[FLAVC, str]:
    """Load (and cache) a weights file; returns (model, hash). The cache key includes the
    file's size and mtime, so a file rewritten in place (a new export) is loaded again."""
    path = Path(weights).resolve()
    try:
        st = path.stat()
    except OSError:
        raise FlavcError(f"weights file not found: {weights}") from None
    key = (str(path), st.st_size, st.st_mtime_ns, str(device))
    if key not in _MODELS:
        model = load_weights(weights, device)
        # Coding never trains: encoder-side refinement then differentiates the latent only
        # and keeps no activations for weight gradients.
        model.requires_grad_(False)
        _MODELS[key] = (model, weights_hash(weights))
    return _MODELS[key]


def find_weights(model_id: int, hash_hex: str, extra: str | Path | None = None) -> Path:
    cands = ([Path(extra)] if extra else []) + _weight_candidates()
    for p in cands:
        if p.is_file() and weights_hash(p) == hash_hex:
            return p
    name = model_name(model_id) or f"id {model_id}"
    raise FlavcError(
        f"weights {hash_hex[:16]}... for model {name} are not available "
        "(pass --weights FILE or add its folder to FLAVC_WEIGHTS)"
    )


def pad_multiple(flags: int) -> int:
    return PAD if flags & FLAG_PAD16 else PAD_LEGACY


def stream_layout(flags: int) -> entropy_coder.StreamLayout:
    """Sections per latent and entropy coder, from the header flags (spec section 11)."""
    return entropy_coder.StreamLayout(
        merge=bool(flags & FLAG_ONE_STREAM), range_coder=bool(flags & FLAG_RANGE_CODER)
    )


def frame_to_tensor(frame: YUVFrame, device: torch.device, pad: int = PAD) -> torch.Tensor:
    """Pad to a multiple of ``pad`` and pack 4:2:0 into the 6-channel half-resolution
    layout."""
    y, u, v = pad_frame(frame, pad)
    yt = torch.from_numpy(np.ascontiguousarray(y)).to(device, torch.float32)[None, None]
    luma = F.pixel_unshuffle(yt, 2)
    uv = torch.from_numpy(np.stack([u, v])).to(device, torch.float32)[None]
    return torch.cat([luma, uv], 1) / 255.0


def tensor_to_frame(x: torch.Tensor, width: int, height: int) -> YUVFrame:
    """Inverse of :func:`frame_to_tensor`: round to 8 bits and crop the padding."""
    q = torch.round(x.clamp(0, 1) * 255.0).to(torch.uint8)
    y = F.pixel_shuffle(q[:, :4].float(), 2)[0, 0].to(torch.uint8).cpu().numpy()
    uv = q[0, 4:].cpu().numpy()
    return crop_planes(y, uv[0], uv[1], width, height)


@dataclass
class EncodeStats:
    frames: int = 0
    bytes: int = 0
    width: int = 0
    height: int = 0
    fps_num: int = 25
    fps_den: int = 1
    seconds: float = 0.0
    psnr_y: float = 0.0
    psnr_u: float = 0.0
    psnr_v: float = 0.0
    psnr_yuv: float = 0.0
    estimated_bits: float = 0.0  # ideal size of the coded sections under the integer tables
    payload_bytes: int = 0  # entropy-coded sections only (no container)
    timings: dict = field(default_factory=dict)
    frame_bytes: list = field(default_factory=list)
    guard_intra: int = 0  # I-frames the drift guard inserted (beyond the intra period)

    @property
    def bpp(self) -> float:
        return self.bytes * 8 / max(1, self.width * self.height * self.frames)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def kbps(self) -> float:
        dur = self.frames * self.fps_den / self.fps_num
        return self.bytes * 8 / 1000 / dur if dur else 0.0

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "frame_bytes"}
        d.update(bpp=self.bpp, fps=self.fps, kbps=self.kbps)
        return d


@dataclass
class DecodeStats:
    frames: int = 0
    bytes: int = 0
    width: int = 0
    height: int = 0
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def _strict_blas() -> bool | None:
    """Make sure MKL runs in strict reproducible mode (see ``flavc_codec/__init__.py``).
    Returns True if in force, False if it could not be set (MKL already initialised
    without MKL_CBWR), None if torch does not use MKL here."""
    import ctypes

    lib_path = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        lib = ctypes.CDLL(str(lib_path))
        get, put = lib.mkl_serv_cbwr_get, lib.mkl_serv_cbwr_set
    except (OSError, AttributeError):
        return None
    strict = 0x10000
    if get(-1) & strict:
        return True
    return put(2 | strict) == 0


STRICT_BLAS = _strict_blas()
if STRICT_BLAS is False:
    import warnings

    warnings.warn(
        "MKL strict reproducibility could not be enabled (torch was imported before "
        "flavc_codec); set MKL_CBWR=AUTO,STRICT so decoding is identical for any thread count",
        stacklevel=2,
    )


@contextlib.contextmanager
def invariant_cpu():
    """CPU inference without oneDNN: its convolutions give different floats with 1 and 2
    threads (measured here); PyTorch's native kernels do not, and the decoder must give the
    same bytes however many threads it runs. Costs about 1.6x in network time on CPU."""
    prev = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = prev


class _Timer:
    """Per-frame time split: rANS coding, the exact integer prior, and the rest (network)."""

    def __init__(self, device: torch.device):
        self.t: dict[str, float] = {}
        self.device = device

    def add(self, key: str, dt: float) -> None:
        self.t[key] = self.t.get(key, 0.0) + dt

    @contextlib.contextmanager
    def frame(self):
        """Time one frame's coding, with the thread-invariant CPU kernels in force."""
        t0 = time.perf_counter()
        e0, p0 = entropy_coder.TIMER.total(), PRIOR_TIMER.total()
        with invariant_cpu():
            yield
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        dt, de = time.perf_counter() - t0, entropy_coder.TIMER.total() - e0
        dp = PRIOR_TIMER.total() - p0
        self.add("entropy", de)
        self.add("prior", dp)
        self.add("network", dt - de - dp)


class Encoder:
    """Stateful frame encoder. ``encode(frame)`` returns the chunk and the reconstruction
    the decoder will produce, bit for bit."""

    def __init__(
        self,
        model: str = "flavc",
        quality: int = 32,
        intra_period: int = 32,
        device: str = "auto",
        weights: str | Path | None = None,
        pad64: bool = False,
        refine: int = 0,
        drift_guard: float = DRIFT_GUARD_DB,
        refine_intra: int | None = None,
        key_period: int | None = None,
        key_offset: int | None = None,
    ):
        """``pad64=True`` writes a stream as the first 1.0 encoder did: without FLAG_PAD16
        (pictures padded to a multiple of 64) and without FLAG_ONE_STREAM (separate z and
        y sections). Larger; kept for comparisons and for decoders that predate the flags.
        ``refine=N``: N gradient steps per P-frame on its latent symbols (``models.codecs.
        Refine``); smaller streams at the same quality for about N backward passes of the
        synthesis per frame. The stream format is the same, any decoder reads it.
        ``refine_intra``: the steps per I-frame; None = ``max(refine,
        DEFAULT_REFINE_INTRA)``, so by default only I-frames are refined.
        ``drift_guard=D`` (dB, 0 = off): a P-frame whose PSNR-YUV falls more than D below
        the last I-frame's is coded again as an I-frame. Recurrent inter coding can drift
        and then diverge on fast motion at low quality (a 30-frame QCIF clip fell from 26 to
        7 dB at quality 0); the decoder follows each frame's type, so nothing else changes.
        ``key_period=N``, ``key_offset=K`` (hierarchical quality in low delay): the P-frames
        at GOP positions N, 2N, ... (counted from the last I-frame) are coded at quality
        q + K, clamped to 0..63; None = what the weights were trained with
        (``FLAVC.key_structure``, (0, 0) for weights trained without), 0 = off. Each frame
        carries its quality, so any decoder reads the stream."""
        if not 0 <= int(quality) < NUM_QUALITIES:
            raise FlavcError(f"quality must be 0..{NUM_QUALITIES - 1}, got {quality}")
        refine_intra = resolve_refine_intra(refine, refine_intra)
        for name, n in (("refine", refine), ("refine_intra", refine_intra)):
            if not 0 <= int(n) <= MAX_REFINE:
                raise FlavcError(f"{name} must be 0..{MAX_REFINE} steps, got {n}")
        if intra_period != -1 and not 1 <= intra_period <= 65535:
            raise FlavcError("intra period must be -1 or 1..65535")
        if not 0.0 <= float(drift_guard) <= 100.0:
            raise FlavcError(f"drift guard must be 0..100 dB, got {drift_guard}")
        if key_period is not None and not 0 <= int(key_period) <= 65535:
            raise FlavcError(f"key period must be 0..65535, got {key_period}")
        top = NUM_QUALITIES - 1
        if key_offset is not None and not -top <= int(key_offset) <= top:
            raise FlavcError(f"key offset must be -{top}..{top}, got {key_offset}")
        self.device = resolve_device(device)
        variant = get_variant(model)
        wpath = Path(weights) if weights else default_weights_path(variant.name)
        if not wpath.is_file():
            raise FlavcError(f"no weights for model '{variant.name}' ({wpath} not found)")
        self.model, self.hash = get_model(wpath, self.device)
        if self.model.cfg.name != variant.name:
            raise FlavcError(
                f"weights {wpath.name} are for '{self.model.cfg.name}', not '{variant.name}'"
            )
        self.quality = int(quality)
        period, offset = self.model.key_structure
        self.key_period = period if key_period is None else int(key_period)
        self.key_offset = offset if key_offset is None else int(key_offset)
        self._pos = 0  # GOP position of the next frame (0 = the last I-frame)
        self.refine = int(refine)  # steps per P-frame
        self.refine_intra = int(refine_intra)  # steps per I-frame
        self.intra_period = int(intra_period)
        self.flags = 0 if pad64 else FLAG_PAD16 | FLAG_ONE_STREAM | FLAG_RANGE_CODER
        self.drift_guard = float(drift_guard)
        self.guard_intra = 0  # I-frames the drift guard inserted
        self._i_psnr: float | None = None  # PSNR-YUV of the last I-frame
        # (Y, U, V, YUV) PSNR of the last encoded frame when the guard needed it, else None
        self.last_psnr: tuple[float, float, float, float] | None = None
        self.index = 0
        self._ref = None
        self.timer = _Timer(self.device)

    def header(self, info) -> SequenceHeader:
        return SequenceHeader.from_source(
            info,
            model_id=self.model.cfg.model_id,
            weights_hash=bytes.fromhex(self.hash),
            quality=self.quality,
            intra_period=self.intra_period,
            flags=self.flags,
        )

    def is_intra(self, i: int) -> bool:
        return i == 0 if self.intra_period == -1 else i % self.intra_period == 0

    @torch.no_grad()
    def encode(self, frame: YUVFrame) -> tuple[FrameChunk, YUVFrame, float]:
        m, g, q = self.model, self.model.gauss_tables(), self.quality
        lay = stream_layout(self.flags)
        x = frame_to_tensor(frame, self.device, pad_multiple(self.flags))
        with self.timer.frame():
            if self.is_intra(self.index) or self._ref is None:
                ftype = FRAME_I
                c = m.intra.compress(x, q, g, lay, refine=self._refine_spec(x, frame, True, q))
            else:
                ftype = FRAME_P
                if self.key_period and self._pos % self.key_period == 0:
                    q = min(NUM_QUALITIES - 1, max(0, q + self.key_offset))
                rf = self._refine_spec(x, frame, False, q)
                c = m.inter.compress(x, q, self._ref[0], self._ref[1], g, lay, refine=rf)
            recon = tensor_to_frame(c.x_hat, frame.width, frame.height)
            self.last_psnr = None
            if ftype == FRAME_I or self.drift_guard > 0:
                self.last_psnr = psnr_yuv(frame, recon)
                if ftype == FRAME_P and self.last_psnr[3] < self._i_psnr - self.drift_guard:
                    ftype, q = FRAME_I, self.quality  # a key frame's I-frame: base quality
                    rf = self._refine_spec(x, frame, True, q)
                    c = m.intra.compress(x, q, g, lay, refine=rf)
                    recon = tensor_to_frame(c.x_hat, frame.width, frame.height)
                    self.last_psnr = psnr_yuv(frame, recon)
                    self.guard_intra += 1
                if ftype == FRAME_I:
                    self._i_psnr = self.last_psnr[3]
        self._ref = (c.feat, c.y_prev)
        self.index += 1
        self._pos = 1 if ftype == FRAME_I else self._pos + 1
        return FrameChunk(ftype, q, c.sections), recon, c.est_bits

    def _refine_spec(self, x: torch.Tensor, frame: YUVFrame, intra: bool, q: int) -> Refine | None:
        steps = self.refine_intra if intra else self.refine
        if steps == 0:
            return None
        mask = torch.zeros_like(x[:, :1])
        mask[..., : (frame.height + 1) // 2, : (frame.width + 1) // 2] = 1.0
        return Refine(
            steps=steps,
            lam=self.model.lambda_of(q),
            x=x,
            mask=mask,
            npix=frame.width * frame.height,
            seed=self.index,
        )


class Decoder:
    """Stateful frame decoder for one stream's header."""

    def __init__(
        self, header: SequenceHeader, device: str = "auto", weights: str | Path | None = None
    ):
        if header.flags & ~KNOWN_FLAGS:
            raise FlavcError(f"stream uses unknown flags 0x{header.flags & ~KNOWN_FLAGS:x}")
        check_size(header.width, header.height, "stream")
        self.device = resolve_device(device)
        wpath = find_weights(header.model_id, header.weights_hash.hex(), weights)
        self.model, _ = get_model(wpath, self.device)
        self.header = header
        self.width, self.height = header.width, header.height
        pad = pad_multiple(header.flags)
        ph = -(-self.height // pad) * pad
        pw = -(-self.width // pad) * pad
        self.latent_hw = (ph // 16, pw // 16)
        self._ref = None
        self.timer = _Timer(self.device)

    @torch.no_grad()
    def decode(self, chunk: FrameChunk, frame_no: int = 0) -> YUVFrame:
        m, g = self.model, self.model.gauss_tables()
        lay = stream_layout(self.header.flags)
        need = 2 if chunk.frame_type == FRAME_I else getattr(m.inter, "num_sections", 2)
        need //= 2 if lay.merge else 1
        if len(chunk.sections) != need:
            raise FlavcError(
                f"frame {frame_no}: expected {need} payload section{'s' * (need != 1)}, "
                f"found {len(chunk.sections)}"
            )
        if chunk.frame_type == FRAME_P and self._ref is None:
            raise FlavcError(f"frame {frame_no}: P-frame without a reference")
        q, hw, ref = chunk.quality, self.latent_hw, self._ref
        try:
            with self.timer.frame():
                if chunk.frame_type == FRAME_I:
                    c = m.intra.decompress(chunk.sections, hw, q, g, self.device, lay)
                else:
                    c = m.inter.decompress(
                        chunk.sections, hw, q, ref[0], ref[1], g, self.device, lay
                    )
        except FlavcError as exc:
            raise FlavcError(f"frame {frame_no}: {exc}") from None
        self._ref = (c.feat, c.y_prev)
        return tensor_to_frame(c.x_hat, self.width, self.height)


def encode_file(
    src: str,
    dst: str,
    quality: int = 32,
    intra_period: int = 32,
    frames: int | None = None,
    device: str = "auto",
    model: str = "flavc",
    progress: bool = True,
    weights: str | Path | None = None,
    recon: str | None = None,
    refine: int = 0,
    drift_guard: float | None = None,
    refine_intra: int | None = None,
    key_period: int | None = None,
    key_offset: int | None = None,
) -> EncodeStats:
    """Encode any video PyAV reads into a flavc stream (written atomically). ``recon``:
    also write the encoder's own reconstruction (y4m), which the decoder reproduces.
    ``refine`` / ``refine_intra``: latent refinement steps per P-frame / I-frame (None =
    the default); ``drift_guard``: dB, None = the default; ``key_period`` /
    ``key_offset``: key P-frames, None = as the weights were trained (see :class:`Encoder`)."""
    guard = DRIFT_GUARD_DB if drift_guard is None else drift_guard
    enc = Encoder(
        model,
        quality,
        intra_period,
        device,
        weights,
        refine=refine,
        drift_guard=guard,
        refine_intra=refine_intra,
        key_period=key_period,
        key_offset=key_offset,
    )
    return encode_with(enc, src, dst, frames, progress, recon)


def encode_with(
    enc: Encoder,
    src: str,
    dst: str,
    frames: int | None = None,
    progress: bool = True,
    recon: str | None = None,
) -> EncodeStats:
    """:func:`encode_file` with a ready :class:`Encoder` (or a subclass that, say, picks
    each frame's quality itself): the same stream writing, statistics and cleanup."""
    try:
        return _encode_loop(enc, src, dst, frames, progress, recon)
    except BaseException:
        if recon and recon != "-" and os.path.exists(recon):
            os.remove(recon)  # a partial reconstruction must not look complete either
        raise


def _encode_loop(enc: Encoder, src, dst, frames, progress, recon) -> EncodeStats:
    from tqdm import tqdm

    from .io.reader import open_video
    from .io.writer import open_writer

    st = EncodeStats()
    sums = np.zeros(4)
    t_start = time.perf_counter()
    with open_video(src, max_frames=frames) as source:
        info = source.info
        check_size(info.width, info.height, src)
        st.width, st.height, st.fps_num, st.fps_den = (
            info.width,
            info.height,
            info.fps_num,
            info.fps_den,
        )
        total = frames if frames else info.frame_count
        if frames and info.frame_count:
            total = min(frames, info.frame_count)
        rec_ctx = (
            open_writer(recon, info.width, info.height, info.fps_num, info.fps_den, color=info)
            if recon
            else contextlib.nullcontext()
        )
        with (
            StreamWriter(dst, enc.header(info)) as writer,
            rec_ctx as rec_out,
            tqdm(total=total, disable=not progress, unit="f", desc="encode", leave=False) as bar,
        ):
            for frame in source:
                if (frame.width, frame.height) != (info.width, info.height):
                    raise FlavcError(
                        f"{src}: frame {st.frames} is {frame.width}x{frame.height}, the stream "
                        f"is {info.width}x{info.height} (size changes are not supported)"
                    )
                chunk, rec, est = enc.encode(frame)
                n = writer.write_frame(chunk)
                if rec_out is not None:
                    rec_out.write(rec)
                st.frames += 1
                st.frame_bytes.append(n)
                st.estimated_bits += est
                st.payload_bytes += sum(len(s) for s in chunk.sections)
                # the drift guard has usually measured it already
                sums += enc.last_psnr if enc.last_psnr is not None else psnr_yuv(frame, rec)
                el = time.perf_counter() - t_start
                kbps = sum(st.frame_bytes) * 8 / 1000 / (st.frames * info.fps_den / info.fps_num)
                bar.update(1)
                bar.set_postfix(fps=f"{st.frames / el:.2f}", kbps=f"{kbps:.0f}")
        if st.frames == 0:
            raise FlavcError(f"{src}: no frames to encode")
    st.seconds = time.perf_counter() - t_start
    st.bytes = os.path.getsize(dst)
    st.psnr_y, st.psnr_u, st.psnr_v, st.psnr_yuv = (sums / st.frames).tolist()
    st.timings = dict(enc.timer.t)
    st.guard_intra = enc.guard_intra
    return st


def decode_file(
    src: str,
    dst: str,
    device: str = "auto",
    progress: bool = True,
    weights: str | Path | None = None,
) -> DecodeStats:
    """Decode a flavc stream to .y4m (default), .mp4/.mkv, or '-' (y4m on stdout)."""
    from tqdm import tqdm

    from .io.writer import open_writer

    t_start = time.perf_counter()
    with StreamReader(src) as reader:
        h = reader.header
        dec = Decoder(h, device, weights)
        st = DecodeStats(width=h.width, height=h.height, bytes=os.path.getsize(src))
        with (
            open_writer(dst, h.width, h.height, h.fps_num, h.fps_den, color=h) as out,
            tqdm(
                total=len(reader), disable=not progress, unit="f", desc="decode", leave=False
            ) as bar,
        ):
            for i in range(len(reader)):
                frame = dec.decode(reader.read_frame(i), i)
                out.write(frame)
                st.frames += 1
                bar.update(1)
    st.seconds = time.perf_counter() - t_start
    st.timings = dict(dec.timer.t)
    return st
