"""Video input through PyAV: any container/codec PyAV reads -> 8-bit 4:2:0 ``YUVFrame``s.

Torch-free (used by the CLI's light commands).

Pixel formats:
  * ``yuv420p`` / ``yuvj420p``: planes are copied as they are (no resampling, no range
    conversion); ``yuvj*`` sources are reported with ``color_range = 2`` (full/JPEG).
  * other YUV / gray formats (10-bit 4:2:0, 4:2:2, 4:4:4, ...): converted by swscale to
    ``yuv420p`` keeping the source range (no range expansion or compression).
  * RGB formats (e.g. FFV1 ``bgr0``): converted to BT.601 limited-range ``yuv420p``; the
    reported colour description is then ``colorspace = 5`` (BT.601), ``color_range = 1``.

Planes are read through ``frame.planes[i]`` and its ``line_size`` so odd widths and
heights work (chroma planes are ``ceil(W/2) x ceil(H/2)``).

Colour description fields are FFmpeg enum values: primaries / trc / colorspace use
``2`` for "unspecified"; range uses ``0`` unspecified, ``1`` limited (MPEG), ``2`` full (JPEG).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import InputError
from ..yuv import YUVFrame

__all__ = ["SourceInfo", "VideoSource", "open_video", "read_frames", "frame_to_yuv"]

_U32_MAX = 0xFFFFFFFF
_UNSPEC = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED
_RANGE_UNSPEC, _RANGE_MPEG, _RANGE_JPEG = 0, 1, 2
_SPC_RGB, _SPC_BT601 = 0, 5


@dataclass(frozen=True)
class SourceInfo:
    width: int
    height: int
    fps_num: int  # rational frame rate (average if variable)
    fps_den: int
    frame_count: int | None  # None if the container does not say (y4m, raw .264)
    pix_fmt: str  # source pixel format, e.g. "yuv420p10le"
    color_primaries: int
    color_trc: int
    colorspace: int
    color_range: int

    @property
    def fps(self) -> float:
        return self.fps_num / self.fps_den

    @property
    def bit_depth(self) -> int:
        return pix_fmt_bit_depth(self.pix_fmt)


def pix_fmt_bit_depth(pix_fmt: str) -> int:
    """Bits per component of an FFmpeg pixel format name (8 if unknown)."""
    try:
        import av

        fmt = av.VideoFormat(pix_fmt)
        return max((c.bits for c in fmt.components), default=8) or 8
    except Exception:
        return 8


def _rate_to_u32(rate) -> tuple[int, int]:
    """A positive rational frame rate that fits u32/u32; 25/1 when absent or absurd."""
    try:
        fr = Fraction(rate) if rate is not None else None
    except (TypeError, ValueError, ZeroDivisionError):
        fr = None
    if fr is None or fr <= 0 or fr > 1000 or fr < Fraction(1, 1000):
        return 25, 1
    while fr.numerator > _U32_MAX or fr.denominator > _U32_MAX:
        fr = fr.limit_denominator(max(1, fr.denominator // 2))
    return fr.numerator, fr.denominator


def _enum_int(value, default: int) -> int:
    if value is None:
        return default
    try:
        v = int(value)
    except (TypeError, ValueError):
        return default
    return v if 0 <= v <= 255 else default


def _plane_array(plane) -> np.ndarray:
    """Copy one plane into an (height, width) uint8 array, dropping line padding."""
    h, w, ls = plane.height, plane.width, plane.line_size
    buf = np.frombuffer(memoryview(plane), dtype=np.uint8)
    if buf.size < h * ls:  # last row may be short of its padding
        buf = np.concatenate([buf, np.zeros(h * ls - buf.size, np.uint8)])
    return buf[: h * ls].reshape(h, ls)[:, :w].copy()


def _is_rgb(fmt) -> bool:
    return bool(getattr(fmt, "is_rgb", False)) or fmt.name.startswith(
        ("rgb", "bgr", "argb", "abgr", "gbr", "0rgb", "0bgr", "pal8")
    )


def frame_to_yuv(frame) -> tuple[YUVFrame, int | None, int | None]:
    """Convert a PyAV ``VideoFrame`` to an 8-bit 4:2:0 ``YUVFrame``.

    Returns ``(yuv, colorspace_override, range_override)``: overrides are not None when the
    conversion decided the colour description (RGB sources, yuvj sources).
    """
    name = frame.format.name
    spc_override = rng_override = None
    if name == "yuv420p":
        f = frame
    elif name == "yuvj420p":
        f = frame
        rng_override = _RANGE_JPEG
    elif _is_rgb(frame.format):
        f = frame.reformat(
            format="yuv420p",
            dst_colorspace="ITU601",
            src_color_range="JPEG",
            dst_color_range="MPEG",
        )
        spc_override, rng_override = _SPC_BT601, _RANGE_MPEG
    else:
        rng = _enum_int(frame.color_range, _RANGE_UNSPEC)
        if name.startswith("yuvj"):
            rng = rng_override = _RANGE_JPEG
        keep = "JPEG" if rng == _RANGE_JPEG else "MPEG"
        f = frame.reformat(format="yuv420p", src_color_range=keep, dst_color_range=keep)
    y = _plane_array(f.planes[0])
    u = _plane_array(f.planes[1])
    v = _plane_array(f.planes[2])
    return YUVFrame(y, u, v), spc_override, rng_override


class VideoSource:
    """An opened video: ``.info`` (SourceInfo) and iteration over ``YUVFrame``s.

    Use as a context manager (closes the container) and iterate once.
    """

    def __init__(self, path: str, max_frames: int | None = None):
        self.path = os.fspath(path)
        self.max_frames = max_frames
        if max_frames is not None and max_frames < 0:
            raise ValueError("max_frames must be >= 0")
        source = self.path
        if self.path == "-":  # a pipe: `ffmpeg ... -f yuv4mpegpipe - | flavc encode - out.flv`
            import sys

            source = sys.stdin.buffer
        elif not os.path.exists(self.path):
            raise InputError(f"cannot open {self.path}: no such file")
        if self.path != "-" and os.path.isdir(self.path):
            raise InputError(f"cannot open {self.path}: is a directory")
        import av

        self._av = av
        try:
            self._container = av.open(source, mode="r")
        except Exception as e:  # av.FFmpegError, UnicodeDecodeError, ...
            raise InputError(f"cannot open {self.path}: {_one_line(e)}") from None
        try:
            vstreams = self._container.streams.video
            if not vstreams:
                raise InputError(f"cannot read {self.path}: no video stream")
            self._stream = vstreams[0]
            self._stream.thread_type = "AUTO"
            self._frames = self._container.decode(self._stream)
            self._first = self._next_raw()
            if self._first is None:
                raise InputError(f"cannot read {self.path}: no decodable video frames")
            self.info = self._make_info(self._first)
        except BaseException:
            self._container.close()
            raise
        self._yielded = 0
        self._closed = False

    # -- internals -------------------------------------------------------------------
    def _next_raw(self):
        try:
            return next(self._frames)
        except StopIteration:
            return None
        except Exception as e:
            raise InputError(f"cannot decode {self.path}: {_one_line(e)}") from None

    def _make_info(self, frame) -> SourceInfo:
        st = self._stream
        cc = st.codec_context
        _, spc_o, rng_o = frame_to_yuv(frame)
        rate = st.average_rate or st.guessed_rate or getattr(st, "base_rate", None)
        fps_num, fps_den = _rate_to_u32(rate)
        n = st.frames or None
        if n is not None and self.max_frames is not None:
            n = min(n, self.max_frames)

        def col(attr: str, unspecified: int) -> int:
            # frame value first, then the stream's; reserved 0 counts as unspecified
            # for primaries/trc (0 is meaningful for colorspace: RGB)
            for obj in (frame, cc):
                v = _enum_int(getattr(obj, attr, None), unspecified)
                if v == unspecified or (v == 0 and attr in ("color_primaries", "color_trc")):
                    continue
                return v
            return unspecified

        prim, trc = col("color_primaries", _UNSPEC), col("color_trc", _UNSPEC)
        spc, rng = col("colorspace", _UNSPEC), col("color_range", _RANGE_UNSPEC)
        if spc_o is not None:
            spc = spc_o
        elif spc == _SPC_RGB:
            spc = _UNSPEC
        if rng_o is not None:
            rng = rng_o
        return SourceInfo(
            width=int(frame.width),
            height=int(frame.height),
            fps_num=fps_num,
            fps_den=fps_den,
            frame_count=n,
            pix_fmt=str(frame.format.name),
            color_primaries=prim,
            color_trc=trc,
            colorspace=spc,
            color_range=rng,
        )

    # -- public ----------------------------------------------------------------------
    def __iter__(self) -> Iterator[YUVFrame]:
        while self.max_frames is None or self._yielded < self.max_frames:
            if self._first is not None:
                raw, self._first = self._first, None
            else:
                raw = self._next_raw()
            if raw is None:
                break
            if raw.width != self.info.width or raw.height != self.info.height:
                raise InputError(
                    f"{self.path}: frame {self._yielded}: size changed from "
                    f"{self.info.width}x{self.info.height} to {raw.width}x{raw.height}"
                )
            try:
                yuv, _, _ = frame_to_yuv(raw)
            except InputError:
                raise
            except Exception as e:
                raise InputError(
                    f"{self.path}: frame {self._yielded}: cannot convert: {_one_line(e)}"
                ) from None
            self._yielded += 1
            yield yuv

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self._container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def _one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0] if s else type(e).__name__


def open_video(path: str, max_frames: int | None = None) -> VideoSource:
    """Open any video PyAV can read. Raises ``InputError`` (one line) if it cannot."""
    return VideoSource(path, max_frames=max_frames)


def read_frames(path: str, max_frames: int | None = None) -> tuple[SourceInfo, list[YUVFrame]]:
    """Read a whole clip (or its first ``max_frames`` frames) into memory."""
    with open_video(path, max_frames=max_frames) as src:
        frames = list(src)
        info = src.info
    if info.frame_count is None or info.frame_count != len(frames):
        from dataclasses import replace

        info = replace(info, frame_count=len(frames))
    return info, frames
