"""``inspect()`` / ``format_info()`` for ``flavc info``: structure only, no decoding, no torch."""

from __future__ import annotations

from .format import FLAG_ONE_STREAM, FLAG_PAD16, FLAG_RANGE_CODER, FRAME_TYPES, KNOWN_FLAGS
from .model_ids import MODEL_IDS
from .reader import StreamReader

# FFmpeg enum names (subset that matters for 8-bit video), for the human-readable text
COLOR_PRIMARIES = {1: "bt709", 2: "unspecified", 4: "bt470m", 5: "bt470bg", 6: "smpte170m",
                   7: "smpte240m", 8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431",
                   12: "smpte432", 22: "ebu3213"}  # fmt: skip
COLOR_TRC = {1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m",
             7: "smpte240m", 8: "linear", 13: "iec61966-2-1", 14: "bt2020-10",
             15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}  # fmt: skip
COLORSPACE = {0: "rgb", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg", 6: "smpte170m",
              7: "smpte240m", 8: "ycgco", 9: "bt2020nc", 10: "bt2020c"}  # fmt: skip
COLOR_RANGE = {0: "unspecified", 1: "tv", 2: "pc"}


def inspect(
    path,
    frames: bool = False,
    model_names: dict[int, str] | None = None,
    verify: bool = False,
) -> dict:
    """Describe a flavc stream as a JSON-serialisable dict (reads header and index only).

    ``frames=True`` adds a per-frame list (type, bytes, bits, offset). ``verify=True``
    also reads every frame and checks its CRC (raises ``BitstreamError`` on damage).
    A frame's bytes are what it occupies in the frame data: in 2.0 its payload (its index
    entry counts as overhead), in 1.0 its whole chunk.
    bpp = file bytes * 8 / (W * H * frames), container included; kbit/s uses the
    header's frame rate.
    """
    names = dict(MODEL_IDS)
    if model_names:
        names.update(model_names)
    with StreamReader(path) as r:
        if verify:
            r.verify()
        h = r.header
        n = len(r)
        size = r.file_size
        d: dict = {
            "path": str(path),
            "format": "flavc",
            "version": f"{r.version[0]}.{r.version[1]}",
            "width": h.width,
            "height": h.height,
            "fps_num": h.fps_num,
            "fps_den": h.fps_den,
            "fps": h.fps,
            "frame_count": h.frame_count,
            "source_pix_fmt": h.source_pix_fmt,
            "source_bit_depth": h.source_bit_depth,
            "color_primaries": h.color_primaries,
            "color_trc": h.color_trc,
            "colorspace": h.colorspace,
            "color_range": h.color_range,
            "model_id": h.model_id,
            "model_name": names.get(h.model_id),
            "weights_hash": h.weights_hash.hex(),
            "quality": h.quality,
            "intra_period": h.intra_period,
            "flags": h.flags,
            "i_frames": sum(1 for e in r.index if e.frame_type == 0),
            "p_frames": sum(1 for e in r.index if e.frame_type == 1),
            "file_bytes": size,
            "frame_bytes": sum(e.nbytes for e in r.index),
        }
        d["overhead_bytes"] = size - d["frame_bytes"]
        duration = n * h.fps_den / h.fps_num
        d["duration_s"] = duration
        d["bpp"] = size * 8 / (h.width * h.height * n) if n else None
        d["kbps"] = size * 8 / duration / 1000 if n else None
        d["verified"] = bool(verify)
        if frames:
            d["frames"] = [
                {
                    "frame": e.frame,
                    "type": FRAME_TYPES[e.frame_type],
                    "bytes": e.nbytes,
                    "bits": e.nbytes * 8,
                    "offset": e.offset,
                    **({"quality": e.quality} if e.quality is not None else {}),
                }
                for e in r.index
            ]
    return d


def _fmt_color(table: dict[int, str], v: int) -> str:
    return f"{table.get(v, 'unknown')} ({v})"


def _flag_names(flags: int) -> str:
    names = ["pad16"] if flags & FLAG_PAD16 else []
    if flags & FLAG_ONE_STREAM:
        names.append("one-stream")
    if flags & FLAG_RANGE_CODER:
        names.append("range-coder")
    if flags & ~KNOWN_FLAGS:
        names.append(f"unknown 0x{flags & ~KNOWN_FLAGS:x}")
    return f" ({', '.join(names)})" if names else ""


def format_info(d: dict) -> str:
    """Human-readable text for an :func:`inspect` result."""
    model = d.get("model_name") or "unknown"
    ip = d["intra_period"]
    lines = [
        f"{d['path']}: flavc stream, version {d['version']}",
        f"  size         {d['width']}x{d['height']}, {d['frame_count']} frames "
        f"({d['i_frames']} I, {d['p_frames']} P)",
        f"  frame rate   {d['fps_num']}/{d['fps_den']} ({d['fps']:.3f} fps), "
        f"duration {d['duration_s']:.3f} s",
        f"  source       {d['source_pix_fmt']}, {d['source_bit_depth']}-bit",
        f"  colour       primaries {_fmt_color(COLOR_PRIMARIES, d['color_primaries'])}, "
        f"trc {_fmt_color(COLOR_TRC, d['color_trc'])}, "
        f"matrix {_fmt_color(COLORSPACE, d['colorspace'])}, "
        f"range {_fmt_color(COLOR_RANGE, d['color_range'])}",
        f"  model        {model} (id {d['model_id']}), weights {d['weights_hash']}",
        f"  quality      {d['quality']}, intra period {'-1 (single I-frame)' if ip == -1 else ip}",
        f"  flags        0x{d['flags']:08x}{_flag_names(d['flags'])}",
        f"  bytes        {d['file_bytes']} total, {d['frame_bytes']} of frame data, "
        f"{d['overhead_bytes']} header/index",
    ]
    if d.get("bpp") is not None:
        lines.append(
            f"  rate         {d['bpp']:.5f} bpp, {d['kbps']:.2f} kbit/s (container included)"
        )
    if d.get("verified"):
        lines.append("  integrity    all frame CRCs OK")
    if "frames" in d:
        has_q = all("quality" in f for f in d["frames"])  # container 2.0 indexes it
        lines.append("  frame  type      bytes       bits" + ("  quality" if has_q else ""))
        for f in d["frames"]:
            q = f"  {f['quality']:7d}" if has_q else ""
            lines.append(f"  {f['frame']:5d}  {f['type']:>4}  {f['bytes']:9d}  {f['bits']:9d}{q}")
    return "\n".join(lines)
