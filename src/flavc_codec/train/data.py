"""Training data for flavc: sources, synthetic motion and a compact uint8 sequence cache.

Tensor layout (see docs/ARCHITECTURE.md): one frame is a 6-channel array at half the luma
resolution; channels 0-3 = ``pixel_unshuffle(Y, 2)`` in torch's order (c = 2*dy + dx),
4 = U, 5 = V. Models get float32 in [0, 1] (8-bit value / 255). A training sample is a
sequence ``(T, 6, h, w)`` with ``h = crop / 2`` (crop = luma crop size).

On a 2-core machine decoding video on the fly is far too slow for training, so
:func:`build_cache` pre-extracts random sequences once into one ``(N, T, 6, c/2, c/2)``
uint8 ``.npy`` file that :class:`CachedSequences` memory-maps.

CLI::

    python -m flavc_codec.train.data build --root ../shared/data/train \
        --out cache/train_T3_128.npy --T 3 --crop 128 --n 4000
    python -m flavc_codec.train.data select --src cache/x.npy --out cache/y.npy --top 64

Evaluation data is never read here: every root containing a path component named
``eval`` is refused with ``ValueError``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from torch.utils.data import Dataset

if TYPE_CHECKING:
    import av

VIDEO_EXTS = {
    ".mp4",
    ".mkv",
    ".avi",
    ".mov",
    ".webm",
    ".264",
    ".h264",
    ".265",
    ".hevc",
    ".y4m",
    ".ivf",
    ".ts",
    ".mpg",
    ".mpeg",
    ".m4v",
    ".flv",
}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".webp", ".tif", ".tiff"}

# channel permutations of the packed layout for flips (c = 2*dy + dx)
_HFLIP_PERM = [1, 0, 3, 2, 4, 5]
_VFLIP_PERM = [2, 3, 0, 1, 4, 5]


# --------------------------------------------------------------------------------------
# guards and discovery
# --------------------------------------------------------------------------------------
def check_not_eval(path: str | os.PathLike) -> Path:
    """Raise ValueError if ``path`` has a component named ``eval`` (raw or resolved)."""
    p = Path(path)
    parts = set(p.parts) | set(p.expanduser().resolve().parts)
    if "eval" in parts:
        raise ValueError(f"refusing evaluation data for training: {path}")
    return p


def _list_files(paths_or_dir, exts: set[str]) -> list[Path]:
    if isinstance(paths_or_dir, (str, os.PathLike)):
        paths_or_dir = [paths_or_dir]
    out: list[Path] = []
    for p in paths_or_dir:
        p = check_not_eval(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in exts))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(p)
    for f in out:
        check_not_eval(f)
    return out


def list_videos(paths_or_dir) -> list[Path]:
    return _list_files(paths_or_dir, VIDEO_EXTS)


def list_images(paths_or_dir) -> list[Path]:
    return _list_files(paths_or_dir, IMAGE_EXTS)


# --------------------------------------------------------------------------------------
# colour / layout helpers
# --------------------------------------------------------------------------------------
def _pack_u8(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(H, W) Y + (H/2, W/2) U, V (uint8, even H, W) -> (6, H/2, W/2) uint8."""
    H, W = y.shape
    h, w = H // 2, W // 2
    if H % 2 or W % 2:
        raise ValueError(f"luma size must be even, got {W}x{H}")
    if u.shape != (h, w) or v.shape != (h, w):
        raise ValueError(f"chroma must be {w}x{h}, got {u.shape[::-1]} / {v.shape[::-1]}")
    out = np.empty((6, h, w), dtype=y.dtype)
    # out[2*dy + dx, i, j] = y[2*i + dy, 2*j + dx]  (torch pixel_unshuffle order)
    out[:4] = y.reshape(h, 2, w, 2).transpose(1, 3, 0, 2).reshape(4, h, w)
    out[4] = u
    out[5] = v
    return out


def yuv420_to_packed(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """8-bit 4:2:0 planes (even H, W) -> packed (6, H/2, W/2) float32 in [0, 1]."""
    return _pack_u8(np.asarray(y), np.asarray(u), np.asarray(v)).astype(np.float32) / 255.0


def packed_to_yuv420(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`_pack_u8` / :func:`yuv420_to_packed` (dtype preserved)."""
    _, h, w = x.shape
    y = x[:4].reshape(2, 2, h, w).transpose(2, 0, 3, 1).reshape(2 * h, 2 * w)
    return y, x[4], x[5]


def flip_packed(x: torch.Tensor | np.ndarray, horizontal: bool = True):
    """Flip packed frames (..., 6, h, w) as if the luma/chroma planes were flipped."""
    perm = _HFLIP_PERM if horizontal else _VFLIP_PERM
    axis = -1 if horizontal else -2
    if isinstance(x, torch.Tensor):
        return x[..., perm, :, :].flip(axis)
    return np.flip(x[..., perm, :, :], axis=axis)


def _plane(p, h: int, w: int) -> np.ndarray:
    return np.frombuffer(p, dtype=np.uint8).reshape(-1, p.line_size)[:h, :w]


def frame_to_yuv420(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Any PyAV frame -> 8-bit yuv420p planes (Y (H, W), U/V ((H+1)//2, (W+1)//2))."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    H, W = frame.height, frame.width
    ch, cw = (H + 1) // 2, (W + 1) // 2
    return (
        _plane(frame.planes[0], H, W),
        _plane(frame.planes[1], ch, cw),
        _plane(frame.planes[2], ch, cw),
    )


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB uint8 (H, W, 3), even H, W -> yuv420p planes via FFmpeg's swscale (PyAV)."""
    import av

    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    H, W = rgb.shape[:2]
    if H % 2 or W % 2:
        raise ValueError(f"rgb_to_yuv420 needs even sizes, got {W}x{H}")
    fr = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    y, u, v = frame_to_yuv420(fr)
    return y.copy(), u.copy(), v.copy()


def _down2(a: np.ndarray) -> np.ndarray:
    """2x2 area average with rounding, uint8 -> uint8 (even dims)."""
    h, w = a.shape
    s = a.reshape(h // 2, 2, w // 2, 2).astype(np.uint16).sum(axis=(1, 3))
    return ((s + 2) >> 2).astype(np.uint8)


def _work_size(H: int, W: int, downscale: bool) -> tuple[int, int]:
    """Usable even luma size at working resolution."""
    if downscale:
        return (H // 4) * 2, (W // 4) * 2
    return (H // 2) * 2, (W // 2) * 2


def _crop_packed(planes, y0: int, x0: int, crop: int, downscale: bool) -> np.ndarray:
    """Crop a (crop x crop) luma window at working-resolution offset (y0, x0), both even,
    from source planes and return packed uint8 (6, crop/2, crop/2)."""
    y, u, v = planes
    if downscale:
        Y = _down2(y[2 * y0 : 2 * y0 + 2 * crop, 2 * x0 : 2 * x0 + 2 * crop])
        cy, cx = y0, x0
        U = _down2(u[cy : cy + crop, cx : cx + crop])
        V = _down2(v[cy : cy + crop, cx : cx + crop])
    else:
        Y = y[y0 : y0 + crop, x0 : x0 + crop]
        cy, cx, c2 = y0 // 2, x0 // 2, crop // 2
        U = u[cy : cy + c2, cx : cx + c2]
        V = v[cy : cy + c2, cx : cx + c2]
    return _pack_u8(Y, U, V)


def _torch_rng() -> np.random.Generator:
    """numpy Generator seeded from torch's RNG (per-DataLoader-worker seeded)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))


def _to_tensor(seq_u8: np.ndarray, hflip: bool = False) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(seq_u8)).float().div_(255.0)
    return flip_packed(t) if hflip else t


# --------------------------------------------------------------------------------------
# video decoding
# --------------------------------------------------------------------------------------
def probe_video(path, max_frames: int | None = None) -> dict:
    """Size and frame count (counted by demuxing packets, no decoding; capped)."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        W, H = s.codec_context.width, s.codec_context.height
        n = 0
        for pkt in c.demux(s):
            if pkt.size:
                n += 1
                if max_frames is not None and n >= max_frames:
                    break
    if not W or not H:  # size only known after decoding for some raw streams
        with av.open(str(path)) as c:
            fr = next(c.decode(video=0))
            W, H = fr.width, fr.height
    return {"width": W, "height": H, "frames": n}


def _iter_frames(path, max_frames: int | None = None, threads: int = 1):
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if threads > 1:
            s.thread_type = "AUTO"
            s.codec_context.thread_count = threads
        for i, fr in enumerate(c.decode(s)):
            if max_frames is not None and i >= max_frames:
                return
            yield i, fr


def _should_downscale(H: int, downscale2x: bool | str, min_lines: int = 480) -> bool:
    if downscale2x == "auto":
        return H >= min_lines
    return bool(downscale2x)


def sample_video_sequences(
    path,
    n: int,
    T: int,
    crop: int,
    rng: np.random.Generator,
    downscale2x: bool | str = "auto",
    max_frames: int = 400,
    step_probs: Sequence[float] = (0.7, 0.3),
    frame_count: int | None = None,
    threads: int = 1,
    reject_cuts: bool = True,
) -> np.ndarray:
    """Decode ``path`` once (at most ``max_frames`` frames) and cut ``n`` random sequences
    of T frames (frame step 1..len(step_probs)) at random crop positions.

    With ``reject_cuts`` about 10% more sequences are drawn and those that straddle a
    scene cut (see :func:`has_scene_cut`) are dropped.

    Returns uint8 ``(k, T, 6, crop/2, crop/2)`` with k <= n (k < n only if the video has
    fewer decodable frames than announced, cuts, or is too small: then k may be 0).
    """
    path = check_not_eval(path)
    if crop % 2:
        raise ValueError("crop must be even")
    n_want = n
    if reject_cuts and n > 0:
        n = n + max(2, n // 10)
    if frame_count is None or frame_count <= 0:
        info = probe_video(path, max_frames)
        frame_count = info["frames"]
    F = min(frame_count, max_frames)
    out_empty = np.zeros((0, T, 6, crop // 2, crop // 2), np.uint8)
    if n <= 0 or F <= 0:
        return out_empty

    steps = np.arange(1, len(step_probs) + 1)
    p = np.asarray(step_probs, np.float64) / np.sum(step_probs)
    seq_frames = []
    for _ in range(n):
        st = int(rng.choice(steps, p=p))
        if (T - 1) * st + 1 > F:
            st = 1
        span = (T - 1) * st + 1
        if span > F:
            return out_empty
        s0 = int(rng.integers(0, F - span + 1))
        seq_frames.append([s0 + j * st for j in range(T)])
    need: dict[int, list[tuple[int, int]]] = {}
    for k, fr_idx in enumerate(seq_frames):
        for j, f in enumerate(fr_idx):
            need.setdefault(f, []).append((k, j))
    last = max(need)

    out = np.zeros((n, T, 6, crop // 2, crop // 2), np.uint8)
    filled = np.zeros((n, T), bool)
    pos: list[tuple[int, int]] | None = None
    down = None
    for i, frame in _iter_frames(path, last + 1, threads):
        if i not in need:
            continue
        planes = frame_to_yuv420(frame)
        if pos is None:
            H, W = planes[0].shape
            down = _should_downscale(H, downscale2x)
            h, w = _work_size(H, W, down)
            if h < crop or w < crop:
                return out_empty
            pos = [
                (
                    2 * int(rng.integers(0, (h - crop) // 2 + 1)),
                    2 * int(rng.integers(0, (w - crop) // 2 + 1)),
                )
                for _ in range(n)
            ]
        for k, j in need[i]:
            out[k, j] = _crop_packed(planes, pos[k][0], pos[k][1], crop, down)
            filled[k, j] = True
    ok = filled.all(axis=1)
    if reject_cuts:
        ok &= np.array([not has_scene_cut(q) for q in out])
    return out[ok][:n_want]


def has_scene_cut(seq_u8: np.ndarray, hist_thr: float = 0.8, mad_thr: float = 20.0) -> bool:
    """True if consecutive packed frames (T, 6, h, w) uint8 change both their 32-bin
    histogram of some channel by L1 > ``hist_thr`` and their mean absolute luma difference
    by > ``mad_thr``: a scene cut (fast motion keeps the histograms; measured on the
    training clips: cuts > 1.0, fast-motion DAVIS clips < 0.35)."""

    def hist(x):
        h = np.stack([np.bincount(x[c].ravel() >> 3, minlength=32) for c in range(6)])
        return h / h[0].sum()

    hs = [hist(f) for f in seq_u8]
    for t in range(len(seq_u8) - 1):
        if np.abs(hs[t + 1] - hs[t]).sum(axis=1).max() > hist_thr:
            mad = np.abs(seq_u8[t + 1, :4].astype(np.int16) - seq_u8[t, :4]).mean()
            if mad > mad_thr:
                return True
    return False


# --------------------------------------------------------------------------------------
# synthetic motion from still images
# --------------------------------------------------------------------------------------
def _load_rgb(path) -> Image.Image:
    check_not_eval(path)
    with Image.open(path) as im:
        return im.convert("RGB")


def _rot(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def synth_motion_rgb(
    img: Image.Image,
    T: int,
    crop: int,
    rng: np.random.Generator,
    occluder_imgs: Sequence[Image.Image] = (),
    max_occluders: int = 2,
    max_speed: float = 10.0,
) -> list[np.ndarray]:
    """T RGB frames (crop x crop uint8) of ``img`` under a random global motion (subpixel
    pan, zoom, small rotation) plus 0..max_occluders patches cut from ``occluder_imgs``
    moving independently."""
    Wi, Hi = img.size
    # base scale: show the picture at 0.35..1x (never smaller than ~1.6 crops high)
    smin = min(1.0, max(0.35, 1.6 * crop / min(Wi, Hi)))
    s0 = float(math.exp(rng.uniform(math.log(smin), 0.0))) if smin < 1 else 1.0
    Ws, Hs = Wi * s0, Hi * s0

    half = crop / 2.0
    for attempt in range(8):
        f = 1.0 if attempt < 4 else 0.5 ** (attempt - 3)
        kind = rng.random()
        if kind < 0.1:
            v = np.zeros(2)
        else:
            sp = min(abs(rng.normal(0.0, max_speed / 2.5)), max_speed) * f
            ang = rng.uniform(0, 2 * math.pi)
            v = sp * np.array([math.cos(ang), math.sin(ang)])
        dz = rng.uniform(-0.03, 0.03) * f if rng.random() < 0.5 else 0.0
        dth = math.radians(rng.uniform(-1.5, 1.5)) * f if rng.random() < 0.4 else 0.0
        th0 = math.radians(rng.uniform(-3, 3)) if rng.random() < 0.3 else 0.0
        zs = [(1.0 + dz) ** t for t in range(T)]
        ths = [th0 + dth * t for t in range(T)]
        # half extent of each frame's footprint (in scaled picture coords)
        ext = [
            half * (abs(math.cos(a)) + abs(math.sin(a))) / z + 2.0
            for a, z in zip(ths, zs, strict=True)
        ]
        offs = [v * t for t in range(T)]
        lo = np.array([max(e - o[k] for e, o in zip(ext, offs, strict=True)) for k in range(2)])
        hi = np.array(
            [
                min(lim - e - o[k] for e, o in zip(ext, offs, strict=True))
                for k, lim in enumerate((Ws, Hs))
            ]
        )
        if np.all(hi >= lo):
            break
    else:  # static fallback, always fits because Ws, Hs >= crop
        v, zs, ths = np.zeros(2), [1.0] * T, [0.0] * T
        offs = [v * t for t in range(T)]
        ext = [half + 1.0] * T
        lo = np.array([half, half])
        hi = np.array([max(half, Ws - half), max(half, Hs - half)])
    c0 = np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1])])

    # resample only the needed region of the source to scale s0 (antialiased)
    emax = max(ext)
    bx0 = max(0, int(math.floor(min(c0[0] + o[0] for o in offs) - emax - 2)))
    by0 = max(0, int(math.floor(min(c0[1] + o[1] for o in offs) - emax - 2)))
    bx1 = min(int(math.floor(Ws)), int(math.ceil(max(c0[0] + o[0] for o in offs) + emax + 2)))
    by1 = min(int(math.floor(Hs)), int(math.ceil(max(c0[1] + o[1] for o in offs) + emax + 2)))
    if s0 < 1.0:
        region = img.resize(
            (bx1 - bx0, by1 - by0),
            Image.LANCZOS,
            box=(bx0 / s0, by0 / s0, bx1 / s0, by1 / s0),
        )
    else:
        region = img.crop((bx0, by0, bx1, by1))

    # occluders: RGBa (premultiplied) patches with their own motion
    occ = []
    n_occ = int(rng.integers(0, max_occluders + 1)) if occluder_imgs else 0
    for _ in range(n_occ):
        src = occluder_imgs[int(rng.integers(0, len(occluder_imgs)))]
        pw = int(rng.uniform(0.15, 0.45) * crop)
        ph = int(rng.uniform(0.15, 0.45) * crop)
        sb = rng.uniform(0.5, 1.0)
        sw, sh = pw / sb, ph / sb
        if src.size[0] <= sw + 1 or src.size[1] <= sh + 1:
            sb, sw, sh = 1.0, pw, ph
            if src.size[0] <= pw or src.size[1] <= ph:
                continue
        ox = rng.uniform(0, src.size[0] - sw)
        oy = rng.uniform(0, src.size[1] - sh)
        tex = src.resize((pw, ph), Image.BILINEAR, box=(ox, oy, ox + sw, oy + sh))
        mask = Image.new("L", (pw, ph), 0)
        d = ImageDraw.Draw(mask)
        if rng.random() < 0.5:
            d.ellipse((0, 0, pw - 1, ph - 1), fill=255)
        else:
            d.rectangle((1, 1, pw - 2, ph - 2), fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(0.6))
        patch = tex.convert("RGBA")
        patch.putalpha(mask)
        patch = patch.convert("RGBa")
        p0 = np.array(
            [rng.uniform(-0.2 * pw, crop - 0.8 * pw), rng.uniform(-0.2 * ph, crop - 0.8 * ph)]
        )
        sp = rng.uniform(0.5, max_speed)
        ang = rng.uniform(0, 2 * math.pi)
        vo = sp * np.array([math.cos(ang), math.sin(ang)])
        wo = math.radians(rng.uniform(-2, 2)) if rng.random() < 0.3 else 0.0
        occ.append((patch, p0, vo, wo))

    frames = []
    co = np.array([half, half])
    for t in range(T):
        # output pixel x -> region pixel: M (x - co) + c_t - box origin
        M = _rot(ths[t]) / zs[t]
        ct = c0 + offs[t] - np.array([bx0, by0])
        b = ct - M @ co
        fr = region.transform(
            (crop, crop),
            Image.AFFINE,
            (M[0, 0], M[0, 1], b[0], M[1, 0], M[1, 1], b[1]),
            resample=Image.BICUBIC,
        )
        if occ:
            fr = fr.convert("RGBA")
            for patch, p0, vo, wo in occ:
                pw, ph = patch.size
                pc = np.array([pw / 2.0, ph / 2.0])
                Mo = _rot(wo * t)
                pos_c = p0 + vo * t + pc  # patch centre on screen
                bo = pc - Mo @ pos_c
                layer = patch.transform(
                    (crop, crop),
                    Image.AFFINE,
                    (Mo[0, 0], Mo[0, 1], bo[0], Mo[1, 0], Mo[1, 1], bo[1]),
                    resample=Image.BILINEAR,
                )
                fr = Image.alpha_composite(fr, layer.convert("RGBA"))
            fr = fr.convert("RGB")
        frames.append(np.asarray(fr, dtype=np.uint8))
    return frames


def synth_motion_packed(img, T, crop, rng, occluder_imgs=(), **kw) -> np.ndarray:
    """Like :func:`synth_motion_rgb` but returns packed uint8 (T, 6, crop/2, crop/2)."""
    frames = synth_motion_rgb(img, T, crop, rng, occluder_imgs, **kw)
    return np.stack([_pack_u8(*rgb_to_yuv420(f)) for f in frames])


def random_image_crop_packed(img: Image.Image, crop: int, rng, max_down: float = 0.5):
    """One packed uint8 (6, crop/2, crop/2) crop of a still image at a random scale."""
    Wi, Hi = img.size
    smin = min(1.0, max(max_down, crop / min(Wi, Hi)))
    s = float(math.exp(rng.uniform(math.log(smin), 0.0))) if smin < 1 else 1.0
    side = crop / s
    x0 = rng.uniform(0, max(0.0, Wi - side))
    y0 = rng.uniform(0, max(0.0, Hi - side))
    if s < 1.0:
        im = img.resize((crop, crop), Image.LANCZOS, box=(x0, y0, x0 + side, y0 + side))
    else:
        xi, yi = int(x0), int(y0)
        im = img.crop((xi, yi, xi + crop, yi + crop))
    return _pack_u8(*rgb_to_yuv420(np.asarray(im, dtype=np.uint8)))


# --------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------
class VimeoSeptuplet(Dataset):
    """Vimeo-90K septuplets: ``root/sequences/00001/0001/im1.png..im7.png`` listed in
    ``root/sep_trainlist.txt`` (or another list file). Returns (T, 6, crop/2, crop/2)."""

    def __init__(
        self,
        root,
        T: int = 3,
        crop: int = 256,
        list_file: str = "sep_trainlist.txt",
        max_step: int = 1,
        hflip: bool = True,
    ):
        self.root = check_not_eval(root)
        if not 1 <= T <= 7:
            raise ValueError("T must be in 1..7")
        if crop % 2:
            raise ValueError("crop must be even")
        self.T, self.crop, self.max_step, self.hflip = T, crop, max_step, hflip
        lines = (self.root / list_file).read_text().split()
        self.items = [self.root / "sequences" / s.strip() for s in lines if s.strip()]
        if not self.items:
            raise ValueError(f"no sequences listed in {self.root / list_file}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, idx: int) -> torch.Tensor:
        rng = _torch_rng()
        d = self.items[idx]
        steps = [s for s in range(1, self.max_step + 1) if (self.T - 1) * s + 1 <= 7]
        st = int(rng.choice(steps))
        s0 = int(rng.integers(0, 7 - (self.T - 1) * st))  # 0-based, frames im{s0+1}..
        frames = []
        for j in range(self.T):
            rgb = np.asarray(_load_rgb(d / f"im{s0 + j * st + 1}.png"), dtype=np.uint8)
            frames.append(rgb)
        H, W = frames[0].shape[:2]
        H2, W2 = H // 2 * 2, W // 2 * 2
        if H2 < self.crop or W2 < self.crop:
            raise ValueError(f"{d}: {W}x{H} smaller than crop {self.crop}")
        y0 = 2 * int(rng.integers(0, (H2 - self.crop) // 2 + 1))
        x0 = 2 * int(rng.integers(0, (W2 - self.crop) // 2 + 1))
        seq = np.stack(
            [_pack_u8(*rgb_to_yuv420(f[y0 : y0 + self.crop, x0 : x0 + self.crop])) for f in frames]
        )
        return _to_tensor(seq, self.hflip and rng.random() < 0.5)


class VideoFolder(Dataset):
    """Random T-frame sequences from any videos PyAV reads (decoded to yuv420p 8-bit).

    Each item decodes from the start of a random video (up to ``max_frames``): fine for
    tests and small runs; for training use :func:`build_cache` + :class:`CachedSequences`.
    ``downscale2x``: True, False or "auto" (sources >= 480 lines high).
    """

    def __init__(
        self,
        paths_or_dir,
        T: int = 3,
        crop: int = 256,
        downscale2x: bool | str = True,
        max_step: int = 2,
        max_frames: int = 400,
        length: int = 1000,
        hflip: bool = True,
    ):
        self.paths = list_videos(paths_or_dir)
        if not self.paths:
            raise ValueError(f"no videos found in {paths_or_dir}")
        self.T, self.crop, self.downscale2x = T, crop, downscale2x
        self.max_frames, self.length, self.hflip = max_frames, length, hflip
        self.step_probs = tuple([1.0] * max_step)
        self.infos = [probe_video(p, max_frames) for p in self.paths]
        usable = []
        for p, inf in zip(self.paths, self.infos, strict=True):
            down = _should_downscale(inf["height"], downscale2x)
            h, w = _work_size(inf["height"], inf["width"], down)
            if h >= crop and w >= crop and min(inf["frames"], max_frames) >= T:
                usable.append((p, inf))
        if not usable:
            raise ValueError(f"no video large/long enough for crop {crop}, T {T}")
        self.usable = usable

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> torch.Tensor:
        rng = _torch_rng()
        for _ in range(10):
            p, inf = self.usable[int(rng.integers(0, len(self.usable)))]
            seq = sample_video_sequences(
                p,
                1,
                self.T,
                self.crop,
                rng,
                self.downscale2x,
                self.max_frames,
                self.step_probs,
                inf["frames"],
            )
            if len(seq):
                return _to_tensor(seq[0], self.hflip and rng.random() < 0.5)
        raise RuntimeError("could not decode a sequence")


class SyntheticMotion(Dataset):
    """Still images turned into T-frame sequences with random global motion + occluders."""

    def __init__(
        self,
        images,
        T: int = 3,
        crop: int = 256,
        length: int = 1000,
        max_occluders: int = 2,
        max_speed: float = 10.0,
        hflip: bool = True,
    ):
        paths = list_images(images) if not _is_pil_list(images) else None
        self.images = [_load_rgb(p) for p in paths] if paths is not None else list(images)
        self.images = [im for im in self.images if min(im.size) >= crop]
        if not self.images:
            raise ValueError(f"no image at least {crop} pixels on each side")
        self.T, self.crop, self.length = T, crop, length
        self.max_occluders, self.max_speed, self.hflip = max_occluders, max_speed, hflip

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> torch.Tensor:
        rng = _torch_rng()
        i = int(rng.integers(0, len(self.images)))
        others = [im for k, im in enumerate(self.images) if k != i] or self.images
        seq = synth_motion_packed(
            self.images[i],
            self.T,
            self.crop,
            rng,
            others,
            max_occluders=self.max_occluders,
            max_speed=self.max_speed,
        )
        return _to_tensor(seq, self.hflip and rng.random() < 0.5)


class ImageCrops(Dataset):
    """Intra training: T=1 crops (1, 6, crop/2, crop/2) of still images at random scale."""

    def __init__(self, images, crop: int = 256, length: int = 1000, hflip: bool = True):
        paths = list_images(images) if not _is_pil_list(images) else None
        self.images = [_load_rgb(p) for p in paths] if paths is not None else list(images)
        self.images = [im for im in self.images if min(im.size) >= crop]
        if not self.images:
            raise ValueError(f"no image at least {crop} pixels on each side")
        self.crop, self.length, self.hflip = crop, length, hflip

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> torch.Tensor:
        rng = _torch_rng()
        im = self.images[int(rng.integers(0, len(self.images)))]
        x = random_image_crop_packed(im, self.crop, rng)[None]
        return _to_tensor(x, self.hflip and rng.random() < 0.5)


def _is_pil_list(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and isinstance(x[0], Image.Image)


def texture_scores(data: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Mean absolute luma gradient (8-bit units) of each sequence's first frame.

    ``data`` is a packed cache ``(N, T, 6, h, w)``; the gradient is taken within each of the
    four luma phases (a 2-pixel step), read in chunks so a large memory-mapped cache is
    never loaded whole. Flat crops (static surveillance, sky) score near 1-3, detailed ones
    15-50: used to bias sampling towards texture (``texture_bias``), since most training
    videos are smooth and compressed while real footage is not.
    """
    out = np.empty(data.shape[0], np.float64)
    for i in range(0, data.shape[0], chunk):
        y = np.asarray(data[i : i + chunk, 0, :4], dtype=np.float32)
        gx = np.abs(np.diff(y, axis=-1)).mean((1, 2, 3)) if y.shape[-1] > 1 else 0.0
        gy = np.abs(np.diff(y, axis=-2)).mean((1, 2, 3)) if y.shape[-2] > 1 else 0.0
        out[i : i + chunk] = gx + gy
    return out


def motion_scores(data: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Mean absolute luma change (8-bit units) between consecutive frames of each sequence.

    A proxy for how hard a sequence is for inter coding: fast or complex motion over
    texture scores high, static or slowly panning smooth content near 0. Read in chunks like
    :func:`texture_scores`; a one-frame cache scores 0 everywhere.
    """
    out = np.zeros(data.shape[0], np.float64)
    if data.shape[1] < 2:
        return out
    for i in range(0, data.shape[0], chunk):
        y = np.asarray(data[i : i + chunk, :, :4], dtype=np.float32)
        out[i : i + chunk] = np.abs(np.diff(y, axis=1)).mean((1, 2, 3, 4))
    return out


SCORES = {"texture": texture_scores, "motion": motion_scores}


def texture_weights(scores: np.ndarray, bias: float, floor: float = 1.0) -> np.ndarray:
    """Sampling weights proportional to ``max(score, floor) ** bias`` (normalised to sum
    1); ``bias`` 0 is uniform. The floor keeps perfectly flat crops drawable."""
    if bias < 0:
        raise ValueError("texture_bias must be >= 0")
    w = np.maximum(np.asarray(scores, np.float64), floor) ** bias
    return w / w.sum()


def load_cache(path) -> np.ndarray:
    """Memory-map a cache from :func:`build_cache`, refusing anything else."""
    data = np.load(str(path), mmap_mode="r")
    if data.ndim != 5 or data.shape[2] != 6 or data.dtype != np.uint8:
        raise ValueError(f"{path}: not a packed uint8 (N, T, 6, h, w) cache")
    return data


class CachedSequences(Dataset):
    """Memory-mapped cache from :func:`build_cache`: (N, Tc, 6, h, w) uint8.

    Returns float32 (T, 6, h, w) in [0, 1]; ``T`` < Tc picks a random window of T
    consecutive frames; random horizontal flip (packed-layout aware); optional random
    vertical flip and time reversal.
    """

    def __init__(
        self,
        npy_path,
        T: int | None = None,
        hflip: bool = True,
        vflip: bool = False,
        reverse: bool = False,
    ):
        self.path = str(npy_path)
        self.data = load_cache(npy_path)
        self.Tc = self.data.shape[1]
        self.T = self.Tc if T is None else int(T)
        if not 1 <= self.T <= self.Tc:
            raise ValueError(f"T={T} not in 1..{self.Tc}")
        self.hflip, self.vflip, self.reverse = hflip, vflip, reverse

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, idx: int) -> torch.Tensor:
        t0 = int(torch.randint(0, self.Tc - self.T + 1, (1,))) if self.T < self.Tc else 0
        x = torch.from_numpy(np.array(self.data[idx, t0 : t0 + self.T])).float().div_(255.0)
        r = torch.rand(3)
        if self.hflip and r[0] < 0.5:
            x = flip_packed(x, True)
        if self.vflip and r[1] < 0.5:
            x = flip_packed(x, False)
        if self.reverse and r[2] < 0.5:
            x = x.flip(0)
        return x.contiguous()


# --------------------------------------------------------------------------------------
# cache builder
# --------------------------------------------------------------------------------------
def _video_task(args):
    path, n, T, crop, seed, max_frames, frames, step_probs = args
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    seqs = sample_video_sequences(path, n, T, crop, rng, "auto", max_frames, step_probs, frames)
    return seqs, time.perf_counter() - t


_IMG_CACHE: dict[str, Image.Image] = {}


def _synth_task(args):
    image_paths, n, T, crop, seed = args
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    for p in image_paths:
        if p not in _IMG_CACHE:
            _IMG_CACHE[p] = _load_rgb(p)
    imgs = [_IMG_CACHE[p] for p in image_paths]
    imgs = [im for im in imgs if min(im.size) >= crop]
    out = np.zeros((n, T, 6, crop // 2, crop // 2), np.uint8)
    # weight pictures by sqrt(area): big photos hold more distinct content
    w = np.array([math.sqrt(im.size[0] * im.size[1]) for im in imgs])
    w = w / w.sum()
    for k in range(n):
        i = int(rng.choice(len(imgs), p=w))
        others = [im for j, im in enumerate(imgs) if j != i] or imgs
        out[k] = synth_motion_packed(imgs[i], T, crop, rng, others)
    return out, time.perf_counter() - t


def _run_task(task):
    kind, args = task
    if kind == "video":
        return _video_task(args)
    return _synth_task(args)


def _allocate(weights: np.ndarray, n: int) -> np.ndarray:
    if n <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), int)
    q = weights / weights.sum() * n
    a = np.floor(q).astype(int)
    rem = n - a.sum()
    a[np.argsort(-(q - a))[:rem]] += 1
    return a


def build_cache(
    train_root,
    out_path,
    T: int = 3,
    crop: int = 128,
    n_video: int = 3000,
    n_synth: int = 1000,
    seed: int = 0,
    progress: bool = True,
    max_frames: int = 1000,
    weight_cap: int = 400,
    workers: int | None = None,
    step_probs: Sequence[float] = (0.7, 0.3),
    synth_chunk: int = 50,
) -> dict:
    """Pre-extract ``n_video + n_synth`` random sequences into one uint8 ``.npy``
    (N, T, 6, crop/2, crop/2).

    Videos come from ``train_root/video`` (or ``train_root`` itself if it has no ``video``
    folder), 2x area-downscaled when >= 480 lines high; each is decoded once, stopping
    after the last frame it needs (never beyond ``max_frames``), and gets sequences in
    proportion to min(frames, max_frames, weight_cap),
    times a mild penalty for frames smaller than 2 crops on the short side. Synthetic
    motion sequences come from ``train_root/images``. Sequences a video could not deliver
    are replaced by synthetic ones, so N is exact. Writes ``out_path`` (via a ``.part``
    file) and a ``.json`` sidecar with what went in. Returns that metadata dict.
    """
    train_root = check_not_eval(train_root)
    out_path = Path(out_path)
    check_not_eval(out_path)
    if crop % 2:
        raise ValueError("crop must be even")
    vdir = train_root / "video" if (train_root / "video").is_dir() else train_root
    idir = train_root / "images" if (train_root / "images").is_dir() else None
    videos = list_videos(vdir) if n_video > 0 else []
    images = [str(p) for p in list_images(idir)] if idir is not None else []
    t_start = time.perf_counter()

    # probe videos (demux only) and allocate sequences
    infos = []
    for p in videos:
        try:
            inf = probe_video(p, max_frames)
        except Exception as e:  # noqa: BLE001 - unreadable file: skip it, say so
            print(f"skipping {p.name}: {e}", file=sys.stderr)
            continue
        down = _should_downscale(inf["height"], "auto")
        h, w = _work_size(inf["height"], inf["width"], down)
        if h < crop or w < crop or inf["frames"] < T:
            print(
                f"skipping {p.name}: {inf['width']}x{inf['height']} "
                f"{inf['frames']}f too small for crop {crop}, T {T}",
                file=sys.stderr,
            )
            continue
        inf.update(path=str(p), down=down, work=(w, h))
        infos.append(inf)
    if not infos:
        n_synth, n_video = n_synth + n_video, 0
    weights = np.array(
        [min(i["frames"], weight_cap) * min(1.0, min(i["work"]) / (2.0 * crop)) for i in infos],
        np.float64,
    )
    alloc = _allocate(weights, n_video)
    if n_synth > 0 and not images:
        raise ValueError(f"no images under {train_root} for synthetic motion")

    N = n_video + n_synth
    ss = np.random.SeedSequence(seed)
    tasks, offsets = [], []
    off = 0
    vid_seeds = ss.spawn(len(infos) + 1)
    for inf, k, sd in zip(infos, alloc, vid_seeds[:-1], strict=True):
        if k > 0:
            tasks.append(
                (
                    "video",
                    (
                        inf["path"],
                        int(k),
                        T,
                        crop,
                        sd,
                        max_frames,
                        inf["frames"],
                        tuple(step_probs),
                    ),
                )
            )
            offsets.append((off, int(k), Path(inf["path"]).name))
            off += int(k)
    synth_ss = vid_seeds[-1]
    n_chunks = math.ceil(n_synth / synth_chunk) if n_synth else 0
    chunk_seeds = synth_ss.spawn(n_chunks + 64)
    for c in range(n_chunks):
        k = min(synth_chunk, n_synth - c * synth_chunk)
        tasks.append(("synth", (images, k, T, crop, chunk_seeds[c])))
        offsets.append((off, k, "synthetic"))
        off += k
    assert off == N

    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = out_path.with_name(out_path.name + ".part")
    arr = np.lib.format.open_memmap(
        part, mode="w+", dtype=np.uint8, shape=(N, T, 6, crop // 2, crop // 2)
    )
    if workers is None:
        workers = max(1, min(os.cpu_count() or 1, 8))
    # biggest jobs first for load balance
    order = sorted(
        range(len(tasks)), key=lambda i: -offsets[i][1] * (3 if tasks[i][0] == "synth" else 1)
    )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=N, desc=f"cache T{T} c{crop}", unit="seq", smoothing=0.1)
    deficit: list[tuple[int, int]] = []  # (start, count) slots to refill
    per_source: dict[str, int] = {}
    timings: dict[str, float] = {}

    def _store(i, res):
        seqs, dt = res
        o, k, name = offsets[i]
        m = len(seqs)
        if m:
            arr[o : o + m] = seqs
        if m < k:
            deficit.append((o + m, k - m))
        per_source[name] = per_source.get(name, 0) + m
        timings[name] = timings.get(name, 0.0) + dt
        if bar is not None:
            bar.update(m)

    def _run(task_ids):
        if workers <= 1 or len(task_ids) <= 1:
            for i in task_ids:
                _store(i, _run_task(tasks[i]))
            return
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            its = pool.imap_unordered(_indexed_task, [(i, tasks[i]) for i in task_ids])
            for i, res in its:
                _store(i, res)

    _run(order)
    # refill what videos could not deliver with synthetic sequences
    extra = 0
    for o, k in deficit:
        if not images:
            raise RuntimeError("videos delivered fewer sequences and no images to fill")
        res, _ = _synth_task((images, k, T, crop, chunk_seeds[n_chunks + (extra % 64)]))
        arr[o : o + k] = res
        per_source["synthetic(refill)"] = per_source.get("synthetic(refill)", 0) + k
        extra += 1
        if bar is not None:
            bar.update(k)
    if bar is not None:
        bar.close()
    arr.flush()
    os.replace(part, out_path)
    meta = {
        "shape": [N, T, 6, crop // 2, crop // 2],
        "dtype": "uint8",
        "layout": "channels 0-3 pixel_unshuffle(Y,2) torch order, 4=U, 5=V; value/255",
        "T": T,
        "crop": crop,
        "seed": seed,
        "max_frames": max_frames,
        "weight_cap": weight_cap,
        "n_video": int(N - sum(v for k, v in per_source.items() if k.startswith("synth"))),
        "n_synth": int(sum(v for k, v in per_source.items() if k.startswith("synth"))),
        "per_source": per_source,
        "videos": [{k: i[k] for k in ("path", "width", "height", "frames", "down")} for i in infos],
        "ranges": [{"start": o, "count": k, "source": s} for o, k, s in offsets],
        "task_seconds": {k: round(v, 2) for k, v in timings.items()},
        "build_seconds": round(time.perf_counter() - t_start, 1),
        "train_root": str(train_root),
    }
    out_path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return meta


def select_textured(src, out_path, top: int, by: str = "texture") -> dict:
    """Write the ``top`` highest-scoring sequences of cache ``src`` (by
    :func:`texture_scores`, or :func:`motion_scores` with ``by="motion"``; kept in their
    original order) to ``out_path``.

    For a validation set that looks like real footage: crops of the training sources are
    mostly smooth (median score 8-12), while the footage a codec is judged on is
    detailed, and a score averaged over smooth crops hides what training does to texture.
    The motion score picks the sequences hardest for the P-frames (street_bus-like).
    """
    if by not in SCORES:
        raise ValueError(f"unknown score '{by}' (known: {', '.join(SCORES)})")
    src = check_not_eval(src)
    out_path = Path(out_path)
    check_not_eval(out_path)
    data = load_cache(src)
    if not 1 <= top <= data.shape[0]:
        raise ValueError(f"top={top} not in 1..{data.shape[0]}")
    scores = SCORES[by](data)
    keep = np.sort(np.argsort(-scores, kind="stable")[:top])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = out_path.with_name(out_path.name + ".part")
    with open(part, "wb") as f:
        np.save(f, np.ascontiguousarray(data[keep]))
    os.replace(part, out_path)
    meta = {
        "source": str(src),
        "by": by,
        "top": int(top),
        "of": int(data.shape[0]),
        "indices": keep.tolist(),
        "score_min": float(scores[keep].min()),
        "score_median": float(np.median(scores[keep])),
        "source_score_median": float(np.median(scores)),
    }
    out_path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return meta


def _indexed_task(it):
    i, task = it
    torch.set_num_threads(1)
    return i, _run_task(task)


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flavc_codec.train.data")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a uint8 sequence cache (.npy)")
    b.add_argument("--root", required=True, help="training root (has video/ and images/)")
    b.add_argument("--out", required=True)
    b.add_argument("--T", type=int, default=3)
    b.add_argument("--crop", type=int, default=128)
    b.add_argument("--n", type=int, default=4000, help="total sequences")
    b.add_argument(
        "--synth-frac",
        type=float,
        default=0.25,
        help="fraction of synthetic-motion sequences from still images",
    )
    b.add_argument("--max-frames", type=int, default=1000, help="frames read per video")
    b.add_argument(
        "--weight-cap",
        type=int,
        default=400,
        help="frame count above which a video gets no more sequences",
    )
    b.add_argument("--workers", type=int, default=None)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--no-progress", action="store_true")
    s = sub.add_parser(
        "select", help="keep the most textured (or fastest-moving) sequences of a cache"
    )
    s.add_argument("--src", required=True, help="a cache built with `build`")
    s.add_argument("--out", required=True)
    s.add_argument("--top", type=int, required=True, help="sequences to keep")
    s.add_argument(
        "--by",
        choices=sorted(SCORES),
        default="texture",
        help="texture: luma gradient of the first frame; motion: luma change between frames",
    )
    a = ap.parse_args(list(argv) if argv is not None else None)
    if a.cmd == "select":
        meta = select_textured(a.src, a.out, a.top, a.by)
        print(json.dumps({k: v for k, v in meta.items() if k != "indices"}))
        return 0
    if a.cmd == "build":
        n_synth = int(round(a.n * a.synth_frac))
        meta = build_cache(
            a.root,
            a.out,
            T=a.T,
            crop=a.crop,
            n_video=a.n - n_synth,
            n_synth=n_synth,
            seed=a.seed,
            progress=not a.no_progress,
            max_frames=a.max_frames,
            weight_cap=a.weight_cap,
            workers=a.workers,
        )
        print(json.dumps({k: meta[k] for k in ("shape", "n_video", "n_synth", "build_seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
