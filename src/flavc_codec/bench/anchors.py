"""Conventional-codec anchors through PyAV's bundled FFmpeg: libx264, libx265, libsvtav1.

Configuration (low-delay P, the same for every anchor):

* no B-frames, no frame reordering (checked: decoded picture types and packet order);
* GOP = intra period, closed GOP, no scene-cut I-frames; intra period -1 = one I-frame;
* fixed QP (constant QP, encoder default I/P QP offsets), QP sweep per codec;
* x264: ``preset=<p>``, ``qp=<qp>``,
  ``x264-params=keyint=K:min-keyint=K:scenecut=0:bframes=0:open-gop=0``
  (K = ``infinite`` for intra period -1; x264 clamps min-keyint to keyint/2+1, harmless
  with scenecut=0);
* x265: ``preset=<p>``,
  ``x265-params=qp=<qp>:bframes=0:keyint=K:min-keyint=K:scenecut=0:open-gop=0:info=0:log-level=error``
  (K = -1 for one I-frame; ``info=0`` drops x265's ~2 KB settings SEI, which would
  otherwise dominate the size of short clips; x264's ~0.6 KB version/settings SEI has no
  switch and stays in);
* SVT-AV1: ``preset=<n>`` with medium -> 6 and veryslow -> 2 (SVT-AV1 presets run 0..13,
  lower is slower), ``qp=<qp>`` (FFmpeg's wrapper then selects CQP, AQ off),
  ``svtav1-params=rc=0:pred-struct=1:keyint=K`` (pred-struct 1 = low delay; K = -1 for one
  key frame). SVT-AV1's low-delay structure still applies its own per-layer QP offsets.
* Containers: mp4 for all three (AV1-in-mp4), written to a real file; bpp = file bytes * 8
  / (W * H * frames), container included, at the source size.
* Odd sizes: the encoders need even dimensions for yuv420p, so the luma is padded by one
  column/row by edge replication (the chroma planes already have the padded size) and the
  decoded frames are cropped back before measuring.
* Threads: the encoders' and decoders' defaults (automatic).

Metrics are those of :mod:`flavc_codec.bench.metrics` on exactly the same frames.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from ..yuv import YUVFrame
from .metrics import sequence_metrics
from .sysinfo import PeakMemory

os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1: errors only (it prints to stderr)

__all__ = [
    "ANCHORS",
    "SVT_PRESETS",
    "DEFAULT_QPS",
    "QP_LIMITS",
    "AnchorPoint",
    "anchor_settings",
    "encode_anchor",
    "anchor_sweep",
]

ANCHORS = {"x264": "libx264", "x265": "libx265", "svtav1": "libsvtav1"}
SVT_PRESETS = {"medium": 6, "veryslow": 2}
DEFAULT_QPS = {
    "x264": [22, 27, 32, 37, 42, 47],
    "x265": [22, 27, 32, 37, 42, 47],
    # AV1 qindex/4 scale 1..63; AOM CTC style points.
    "svtav1": [23, 31, 39, 47, 55, 63],
}
QP_LIMITS = {"x264": (0, 51), "x265": (0, 51), "svtav1": (1, 63)}
QP_STEP = {"x264": 5, "x265": 5, "svtav1": 8}
PICT_TYPES = {0: "?", 1: "I", 2: "P", 3: "B", 4: "S", 5: "i", 6: "p", 7: "b"}


@dataclass
class AnchorPoint:
    """One rate point of an anchor codec. Times in seconds, memory in MiB."""

    codec: str
    encoder: str
    preset: str
    encoder_preset: str
    qp: int
    intra_period: int
    width: int
    height: int
    frames: int
    bytes: int = 0
    bpp: float | None = None
    psnr_y: float | None = None
    psnr_u: float | None = None
    psnr_v: float | None = None
    psnr_yuv: float | None = None
    msssim: float | None = None
    msssim_note: str | None = None
    enc_seconds: float | None = None
    dec_seconds: float | None = None
    enc_fps: float | None = None
    dec_fps: float | None = None
    peak_rss_mb: float | None = None
    peak_rss_delta_mb: float | None = None
    frame_types: str = ""
    b_frames: int = 0
    reordered: bool = False
    padded_to: tuple[int, int] | None = None
    options: dict = field(default_factory=dict)
    path: str | None = None
    error: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        if d["padded_to"] is not None:
            d["padded_to"] = list(d["padded_to"])
        return d


def _codec_name(codec: str) -> str:
    if codec not in ANCHORS:
        raise ValueError(f"unknown anchor {codec!r}; choose from {sorted(ANCHORS)}")
    return codec


def anchor_settings(
    codec: str, qp: int, intra_period: int = 32, preset: str = "medium"
) -> tuple[str, str, dict[str, str]]:
    """(FFmpeg encoder name, encoder preset string, codec options) for one point."""
    _codec_name(codec)
    if preset not in SVT_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(SVT_PRESETS)}")
    if intra_period == 0 or intra_period < -1:
        raise ValueError("intra_period must be >= 1 or -1 (one I-frame)")
    qp = int(qp)
    if codec == "x264":
        if intra_period == -1:
            gop = "keyint=infinite:min-keyint=1"
        else:
            gop = f"keyint={intra_period}:min-keyint={intra_period}"
        params = f"{gop}:scenecut=0:bframes=0:open-gop=0"
        return "libx264", preset, {"preset": preset, "qp": str(qp), "x264-params": params}
    if codec == "x265":
        if intra_period == -1:
            gop = "keyint=-1"
        else:
            gop = f"keyint={intra_period}:min-keyint={intra_period}"
        params = f"qp={qp}:bframes=0:{gop}:scenecut=0:open-gop=0:info=0:log-level=error"
        return "libx265", preset, {"preset": preset, "x265-params": params}
    svt_preset = str(SVT_PRESETS[preset])
    params = f"rc=0:pred-struct=1:keyint={intra_period}"
    return "libsvtav1", svt_preset, {"preset": svt_preset, "qp": str(qp), "svtav1-params": params}


def _pad_even(frame: YUVFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = frame.y.shape
    ph, pw = h + (h & 1), w + (w & 1)
    y = frame.y
    if (ph, pw) != (h, w):
        y = np.pad(y, ((0, ph - h), (0, pw - w)), mode="edge")
    return y, frame.u, frame.v


def _to_videoframe(frame: YUVFrame):
    import av

    y, u, v = _pad_even(frame)
    h, w = y.shape
    flat = np.concatenate([y.ravel(), u.ravel(), v.ravel()])
    return av.VideoFrame.from_ndarray(flat.reshape(h * 3 // 2, w), format="yuv420p")


def _plane(plane, rows: int, cols: int) -> np.ndarray:
    buf = np.frombuffer(plane, dtype=np.uint8)
    return buf.reshape(plane.height, plane.line_size)[:rows, :cols].copy()


def _from_videoframe(vf, width: int, height: int) -> YUVFrame:
    if vf.format.name != "yuv420p":
        vf = vf.reformat(format="yuv420p")
    cw, ch = (width + 1) // 2, (height + 1) // 2
    return YUVFrame(
        _plane(vf.planes[0], height, width),
        _plane(vf.planes[1], ch, cw),
        _plane(vf.planes[2], ch, cw),
    )


def _pict_type(vf) -> str:
    t = vf.pict_type
    try:
        t = int(t)
    except (TypeError, ValueError):
        return str(getattr(t, "name", t))[:1] or "?"
    return PICT_TYPES.get(t, "?")


def _summarize_types(types: Sequence[str]) -> str:
    """Run-length summary, e.g. 'I1 P31 I1 P31'."""
    out: list[str] = []
    prev, n = None, 0
    for t in types:
        if t == prev:
            n += 1
        else:
            if prev is not None:
                out.append(f"{prev}{n}")
            prev, n = t, 1
    if prev is not None:
        out.append(f"{prev}{n}")
    return " ".join(out)


def encode_anchor(
    frames: Sequence[YUVFrame],
    codec: str,
    qp: int,
    out_path: str,
    intra_period: int = 32,
    preset: str = "medium",
    fps: Fraction | float | int = 25,
    with_msssim: bool = True,
    keep_file: bool = True,
) -> AnchorPoint:
    """Encode ``frames`` with one anchor at one QP, decode back, measure. Never raises for
    an encoder failure: the point then carries ``error``."""
    import av

    encoder, enc_preset, options = anchor_settings(codec, qp, intra_period, preset)
    if not frames:
        raise ValueError("no frames")
    h, w = frames[0].y.shape
    point = AnchorPoint(
        codec=codec,
        encoder=encoder,
        preset=preset,
        encoder_preset=enc_preset,
        qp=int(qp),
        intra_period=intra_period,
        width=w,
        height=h,
        frames=len(frames),
        options=dict(options),
        path=out_path if keep_file else None,
    )
    ph, pw = h + (h & 1), w + (w & 1)
    if (ph, pw) != (h, w):
        point.padded_to = (pw, ph)
    rate = Fraction(fps).limit_denominator(1_000_000) if not isinstance(fps, Fraction) else fps
    try:
        vframes = [_to_videoframe(f) for f in frames]
        with PeakMemory() as mem:
            t0 = time.perf_counter()
            out = av.open(out_path, "w")
            try:
                stream = out.add_stream(encoder, rate=rate)
                stream.width, stream.height, stream.pix_fmt = pw, ph, "yuv420p"
                stream.codec_context.options = dict(options)
                stream.codec_context.max_b_frames = 0
                pts_order: list[int] = []
                for i, vf in enumerate(vframes):
                    vf.pts = i
                    for pkt in stream.encode(vf):
                        if pkt.pts is not None:
                            pts_order.append(int(pkt.pts))
                        out.mux(pkt)
                for pkt in stream.encode(None):
                    if pkt.pts is not None:
                        pts_order.append(int(pkt.pts))
                    out.mux(pkt)
            finally:
                out.close()
            point.enc_seconds = time.perf_counter() - t0

            t0 = time.perf_counter()
            decoded: list[YUVFrame] = []
            types: list[str] = []
            with av.open(out_path) as inp:
                for vf in inp.decode(video=0):
                    decoded.append(_from_videoframe(vf, w, h))
                    types.append(_pict_type(vf))
            point.dec_seconds = time.perf_counter() - t0
        point.peak_rss_mb, point.peak_rss_delta_mb = mem.peak_mb, mem.delta_mb
        point.bytes = os.path.getsize(out_path)
        point.bpp = point.bytes * 8.0 / (w * h * len(frames))
        point.enc_fps = len(frames) / point.enc_seconds if point.enc_seconds > 0 else None
        point.dec_fps = len(decoded) / point.dec_seconds if point.dec_seconds > 0 else None
        point.frame_types = _summarize_types(types)
        point.b_frames = sum(t in ("B", "b") for t in types)
        point.reordered = any(b < a for a, b in zip(pts_order, pts_order[1:], strict=False))
        if len(decoded) != len(frames):
            raise RuntimeError(f"decoded {len(decoded)} frames, encoded {len(frames)}")
        m = sequence_metrics(frames, decoded, with_msssim=with_msssim)
        point.psnr_y, point.psnr_u, point.psnr_v = m.psnr_y, m.psnr_u, m.psnr_v
        point.psnr_yuv, point.msssim, point.msssim_note = m.psnr_yuv, m.msssim, m.msssim_note
        if point.b_frames or point.reordered:
            point.error = (
                f"low-delay check failed: {point.b_frames} B-frames, reordered={point.reordered}"
            )
    except Exception as exc:
        point.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        if not keep_file and os.path.exists(out_path):
            os.remove(out_path)
    return point


def anchor_sweep(
    frames: Sequence[YUVFrame],
    codec: str,
    workdir: str,
    qps: Sequence[int] | None = None,
    intra_period: int = 32,
    preset: str = "medium",
    fps: Fraction | float | int = 25,
    with_msssim: bool = True,
    keep_files: bool = True,
    tag: str = "clip",
    progress=None,
) -> list[AnchorPoint]:
    """Encode ``frames`` at each QP (default :data:`DEFAULT_QPS`). ``progress`` is an
    optional callable invoked after each point."""
    os.makedirs(workdir, exist_ok=True)
    points = []
    for qp in qps if qps is not None else DEFAULT_QPS[_codec_name(codec)]:
        path = os.path.join(workdir, f"{tag}_{codec}_{preset}_qp{int(qp)}.mp4")
        points.append(
            encode_anchor(
                frames,
                codec,
                qp,
                path,
                intra_period=intra_period,
                preset=preset,
                fps=fps,
                with_msssim=with_msssim,
                keep_file=keep_files,
            )
        )
        if progress is not None:
            progress(points[-1])
    return points


def extend_qps(codec: str, qps: Sequence[int], direction: int, count: int = 2) -> list[int]:
    """QPs beyond the current sweep: ``direction`` -1 = lower QP (higher rate), +1 = higher."""
    lo, hi = QP_LIMITS[codec]
    step = QP_STEP[codec]
    new: list[int] = []
    edge = min(qps) if direction < 0 else max(qps)
    for i in range(1, count + 1):
        q = edge + direction * step * i
        q = max(lo, min(hi, q))
        if q not in qps and q not in new:
            new.append(q)
    return new
