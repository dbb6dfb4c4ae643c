"""Video output: y4m by hand (byte exact, stdout capable), mp4/mkv through PyAV.

Torch-free. Choose the format by the destination:

* ``*.y4m``, ``"-"`` (stdout) or a binary file object: YUV4MPEG2 written by hand. The
  header is ``YUV4MPEG2 W<w> H<h> F<num>:<den> Ip A1:1 C420jpeg`` (plus
  `` XCOLORRANGE=FULL`` when the colour range is full/JPEG), then per frame ``FRAME\\n``
  followed by the Y, U and V planes (chroma ``ceil(W/2) x ceil(H/2)``). The planes are
  exactly the ``YUVFrame`` bytes, at any size including odd ones.
* ``*.mkv``: FFV1 (lossless, ``yuv420p``) in Matroska. FFV1 accepts odd sizes, so the
  decoded video has exactly the source size and samples.
* ``*.mp4``: H.264 via libx264, ``crf 10``, preset ``medium``, ``yuv420p``, no B-frames.
  x264 refuses odd dimensions in 4:2:0, so an odd width/height is padded to the next
  even number by edge replication (right column / bottom row repeated): the decoded mp4
  is then up to 1 pixel wider/taller than the source. Use ``.mkv`` or ``.y4m`` when the
  exact size matters.

Any other extension raises ``FlavcError``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import BinaryIO

import numpy as np

from ..errors import FlavcError
from ..yuv import YUVFrame, chroma_size, pad_plane

__all__ = ["ColorDescription", "VideoWriter", "Y4MWriter", "PyAVWriter", "open_writer"]

X264_CRF = 10
X264_PRESET = "medium"


@dataclass(frozen=True)
class ColorDescription:
    """FFmpeg enum values; 2 = unspecified for primaries/trc/colorspace, 0 for range."""

    color_primaries: int = 2
    color_trc: int = 2
    colorspace: int = 2
    color_range: int = 0

    @classmethod
    def of(cls, obj) -> ColorDescription:
        """From anything with the four attributes (SourceInfo, SequenceHeader, ...)."""
        if obj is None:
            return cls()
        if isinstance(obj, ColorDescription):
            return obj
        return cls(
            int(getattr(obj, "color_primaries", 2)),
            int(getattr(obj, "color_trc", 2)),
            int(getattr(obj, "colorspace", 2)),
            int(getattr(obj, "color_range", 0)),
        )


class VideoWriter:
    """Common interface: ``write(YUVFrame)``, ``close()``, context manager."""

    frames_written: int

    def __init__(self, width: int, height: int, fps_num: int, fps_den: int, color=None):
        if width < 1 or height < 1:
            raise FlavcError(f"invalid output size {width}x{height}")
        if fps_num < 1 or fps_den < 1:
            raise FlavcError(f"invalid frame rate {fps_num}/{fps_den}")
        self.width, self.height = int(width), int(height)
        self.fps_num, self.fps_den = int(fps_num), int(fps_den)
        self.color = ColorDescription.of(color)
        self.frames_written = 0
        self.closed = False

    def _check(self, frame: YUVFrame) -> None:
        if self.closed:
            raise FlavcError("write to a closed video writer")
        if frame.width != self.width or frame.height != self.height:
            raise FlavcError(
                f"frame {self.frames_written}: size {frame.width}x{frame.height} "
                f"does not match the output {self.width}x{self.height}"
            )

    def write(self, frame: YUVFrame) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def y4m_header(width: int, height: int, fps_num: int, fps_den: int, color_range: int = 0) -> bytes:
    """The YUV4MPEG2 stream header line (with trailing newline)."""
    h = f"YUV4MPEG2 W{width} H{height} F{fps_num}:{fps_den} Ip A1:1 C420jpeg"
    if color_range == 2:
        h += " XCOLORRANGE=FULL"
    return (h + "\n").encode("ascii")


class Y4MWriter(VideoWriter):
    """Byte-exact y4m to a path, stdout (``"-"``) or a binary file object."""

    def __init__(self, dest, width, height, fps_num, fps_den, color=None):
        super().__init__(width, height, fps_num, fps_den, color)
        self._own = False
        if hasattr(dest, "write"):
            self._f: BinaryIO = dest
        elif dest == "-":
            self._f = sys.stdout.buffer
        else:
            try:
                self._f = open(dest, "wb")  # noqa: SIM115
            except OSError as e:
                raise FlavcError(f"cannot write {dest}: {e.strerror}") from None
            self._own = True
        self._f.write(
            y4m_header(self.width, self.height, self.fps_num, self.fps_den, self.color.color_range)
        )

    def write(self, frame: YUVFrame) -> None:
        self._check(frame)
        self._f.write(b"FRAME\n")
        self._f.write(frame.tobytes())
        self.frames_written += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._f.flush()
        if self._own:
            self._f.close()


def _fill_plane(plane, arr: np.ndarray) -> None:
    """Copy an (h, w) uint8 array into a PyAV plane honouring its line size."""
    h, ls = plane.height, plane.line_size
    buf = np.zeros(plane.buffer_size, np.uint8)
    view = buf[: h * ls].reshape(h, ls)
    view[:, : arr.shape[1]] = arr
    plane.update(buf.tobytes())


def _set_color(obj, c: ColorDescription) -> None:
    """Copy the colour description onto a PyAV codec context or frame, where supported."""
    for attr in ("color_primaries", "color_trc", "colorspace", "color_range"):
        try:
            setattr(obj, attr, getattr(c, attr))
        except Exception:
            pass


class PyAVWriter(VideoWriter):
    """mp4 (libx264 crf 10, odd sizes padded to even) or mkv (FFV1 lossless, exact size)."""

    def __init__(self, path, width, height, fps_num, fps_den, color=None, kind="mp4"):
        super().__init__(width, height, fps_num, fps_den, color)
        import av

        self._av = av
        self.path = os.fspath(path)
        if kind == "mp4":
            codec, self.enc_w, self.enc_h = "libx264", width + width % 2, height + height % 2
            options = {"crf": str(X264_CRF), "preset": X264_PRESET, "bf": "0"}
        else:
            codec, self.enc_w, self.enc_h = "ffv1", width, height
            options = {"level": "3", "slicecrc": "1"}
        try:
            self._container = av.open(self.path, mode="w")
        except Exception as e:
            raise FlavcError(f"cannot write {self.path}: {str(e).splitlines()[0]}") from None
        rate = Fraction(self.fps_num, self.fps_den)
        self._tb = Fraction(self.fps_den, self.fps_num)
        st = self._container.add_stream(codec, rate=rate, options=options)
        st.width, st.height, st.pix_fmt = self.enc_w, self.enc_h, "yuv420p"
        st.codec_context.time_base = self._tb
        if codec == "libx264":
            st.codec_context.bit_rate = 0
        _set_color(st.codec_context, self.color)
        self._stream = st

    def write(self, frame: YUVFrame) -> None:
        self._check(frame)
        av = self._av
        vf = av.VideoFrame(self.enc_w, self.enc_h, "yuv420p")
        cw, ch = chroma_size(self.enc_w, self.enc_h)
        _fill_plane(vf.planes[0], pad_plane(frame.y, self.enc_h, self.enc_w))
        _fill_plane(vf.planes[1], pad_plane(frame.u, ch, cw))
        _fill_plane(vf.planes[2], pad_plane(frame.v, ch, cw))
        _set_color(vf, self.color)
        vf.pts = self.frames_written
        vf.time_base = self._tb
        for pkt in self._stream.encode(vf):
            self._container.mux(pkt)
        self.frames_written += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            for pkt in self._stream.encode(None):
                self._container.mux(pkt)
        finally:
            self._container.close()


def open_writer(
    path_or_dash,
    width: int,
    height: int,
    fps_num: int = 25,
    fps_den: int = 1,
    color=None,
) -> VideoWriter:
    """Open a video writer chosen by extension (see module docstring).

    ``path_or_dash``: a path (``.y4m``, ``.mp4``, ``.mkv``), ``"-"`` for y4m on stdout, or
    a binary file object (y4m). ``color``: a ``ColorDescription`` or any object with
    ``color_primaries``/``color_trc``/``colorspace``/``color_range`` (e.g. ``SourceInfo``).
    """
    if hasattr(path_or_dash, "write"):
        return Y4MWriter(path_or_dash, width, height, fps_num, fps_den, color)
    dest = os.fspath(path_or_dash)
    if dest == "-":
        return Y4MWriter("-", width, height, fps_num, fps_den, color)
    ext = os.path.splitext(dest)[1].lower()
    if ext == ".y4m":
        return Y4MWriter(dest, width, height, fps_num, fps_den, color)
    if ext in (".mp4", ".mkv"):
        return PyAVWriter(dest, width, height, fps_num, fps_den, color, kind=ext[1:])
    raise FlavcError(
        f"cannot write {dest}: unknown output extension {ext or '(none)'!r} "
        "(use .y4m, .mp4, .mkv or - for y4m on stdout)"
    )
