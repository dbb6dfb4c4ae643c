"""Rate-distortion benchmark: flavc against x264 / x265 / SVT-AV1 anchors.

``run_bench`` is what ``flavc bench INPUT... [--frames 96] [--intra-period 32]
[--qualities ...] [--anchors x264,x265,svtav1] [--preset medium|veryslow] [--device ...]
[--json results.json] [--plot rd.png]`` calls.

Conventions (also written into the JSON under ``conventions``):

* low-delay P, first ``frames`` frames (all if fewer), intra period ``intra_period``
  (-1 = one I-frame), the same for flavc and every anchor;
* bpp = file bytes * 8 / (W * H * frames), container included, source resolution;
* PSNR-YUV = (6 Y + U + V) / 8 per frame, sequence value = mean of per-frame PSNR (DCVC);
* MS-SSIM on Y (pytorch_msssim, data_range 255), None for frames too small for 5 scales;
* BD-rate / BD-PSNR of flavc against each anchor on (bpp, PSNR-YUV), both the cubic
  (Bjontegaard polynomial) and PCHIP methods; averages are plain means over the inputs
  where the value is defined (the count is given);
* speed: flavc fps from the engine's own ``seconds`` when reported (else wall time around
  ``encode_file`` / ``decode_file``), anchors from wall time around PyAV encode+mux and
  demux+decode; peak memory: see :class:`flavc_codec.bench.sysinfo.PeakMemory`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from fractions import Fraction

import numpy as np

from ..errors import FlavcError
from .anchors import ANCHORS, DEFAULT_QPS, anchor_sweep, extend_qps
from .bdrate import METHODS, bd_psnr_detail, bd_rate_detail
from .metrics import sequence_metrics
from .sysinfo import PeakMemory, machine_info, versions

__all__ = [
    "DEFAULT_QUALITIES",
    "CONVENTIONS",
    "run_bench",
    "flavc_point",
    "compute_bd",
    "format_markdown",
    "plot_rd",
]

DEFAULT_QUALITIES = [0, 13, 25, 38, 50, 63]
SCHEMA = "flavc-bench/1"
CONVENTIONS = {
    "configuration": "low-delay P (no B-frames, no reordering), closed GOP = intra period",
    "bpp": "file bytes * 8 / (W * H * frames), container included, source resolution",
    "psnr_yuv": "(6*PSNR_Y + PSNR_U + PSNR_V) / 8 per frame on 8-bit 4:2:0",
    "sequence_average": "mean of per-frame values (DCVC convention); PSNR capped at 100 dB",
    "msssim": "Y plane, pytorch_msssim data_range=255, 5 scales; None if min side < 161",
    "bd": "Bjontegaard on (bpp, PSNR-YUV): 'cubic' = degree-3 polyfit of log-rate, "
    "'pchip' = scipy PchipInterpolator; negative BD-rate = flavc saves bits",
    "anchors": "PyAV bundled FFmpeg: libx264/libx265 (preset as given), libsvtav1 "
    "(medium->6, veryslow->2), fixed QP, odd sizes padded to even by edge replication",
    "speed": "flavc: engine-reported seconds if available else wall time; anchors: wall "
    "time of encode+mux / demux+decode; fps = frames / seconds",
}

MEMORY_METHOD = (
    "peak RSS of the benchmark process during each run: VmHWM read after resetting it via "
    "/proc/self/clear_refs (includes what was already resident: interpreter, torch, source "
    "frames); falls back to ru_maxrss (process lifetime peak) where the reset is unavailable"
)

FlavcRunner = Callable[..., dict]


def _err(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}".rstrip(": ")


def flavc_point(
    src: str,
    ref_frames: Sequence,
    quality: int,
    workdir: str,
    intra_period: int = 32,
    device: str = "auto",
    model: str = "flavc",
    with_msssim: bool = True,
    keep_files: bool = False,
    tag: str = "clip",
    weights: str | None = None,
    refine: int = 0,
    drift_guard: float | None = None,
    refine_intra: int | None = None,
    key_period: int | None = None,
    key_offset: int | None = None,
) -> dict:
    """encode_file -> decode_file -> read_frames -> metrics for one quality. ``weights``:
    a weights file other than the shipped one (e.g. from ``flavc train``); ``refine`` /
    ``refine_intra``: the encoder's latent refinement steps per P-frame / I-frame (None =
    the encoder's default); ``drift_guard``: dB, None = the encoder's default;
    ``key_period`` / ``key_offset``: key P-frames (None = as the weights were trained)."""
    from ..codec import decode_file, encode_file
    from ..io.reader import read_frames

    n = len(ref_frames)
    h, w = ref_frames[0].y.shape
    stream = os.path.join(workdir, f"{tag}_flavc_q{quality}.flavc")
    recon = os.path.join(workdir, f"{tag}_flavc_q{quality}.y4m")
    point: dict = {
        "codec": "flavc",
        "model": model,
        "quality": int(quality),
        "frames": n,
        "refine": int(refine),
        "refine_intra": refine_intra,  # None: the encoder's default
    }
    try:
        with PeakMemory() as mem_e:
            t0 = time.perf_counter()
            es = encode_file(
                src,
                stream,
                quality=int(quality),
                intra_period=intra_period,
                frames=n,
                device=device,
                model=model,
                progress=False,
                weights=weights,
                refine=refine,
                drift_guard=drift_guard,
                refine_intra=refine_intra,
                key_period=key_period,
                key_offset=key_offset,
            )
            enc_wall = time.perf_counter() - t0
        with PeakMemory() as mem_d:
            t0 = time.perf_counter()
            ds = decode_file(stream, recon, device=device, progress=False, weights=weights)
            dec_wall = time.perf_counter() - t0
        nbytes = os.path.getsize(stream)
        _, dec_frames = read_frames(recon)
        if len(dec_frames) != n:
            raise RuntimeError(f"decoded {len(dec_frames)} frames, expected {n}")
        m = sequence_metrics(ref_frames, dec_frames, with_msssim=with_msssim)
        enc_s = getattr(es, "seconds", None) or enc_wall
        dec_s = getattr(ds, "seconds", None) or dec_wall
        point.update(
            bytes=nbytes,
            stats_bytes=getattr(es, "bytes", None),
            bpp=nbytes * 8.0 / (w * h * n),
            psnr_y=m.psnr_y,
            psnr_u=m.psnr_u,
            psnr_v=m.psnr_v,
            psnr_yuv=m.psnr_yuv,
            msssim=m.msssim,
            msssim_note=m.msssim_note,
            enc_seconds=enc_s,
            dec_seconds=dec_s,
            enc_wall_seconds=enc_wall,
            dec_wall_seconds=dec_wall,
            time_source="engine" if getattr(es, "seconds", None) else "wall",
            enc_fps=n / enc_s if enc_s else None,
            dec_fps=n / dec_s if dec_s else None,
            enc_peak_rss_mb=mem_e.peak_mb,
            dec_peak_rss_mb=mem_d.peak_mb,
            peak_rss_mb=max(mem_e.peak_mb or 0, mem_d.peak_mb or 0) or None,
            timings=dict(getattr(es, "timings", None) or {}),
            guard_intra=getattr(es, "guard_intra", None),
            dec_timings=dict(getattr(ds, "timings", None) or {}),
            estimated_bits=getattr(es, "estimated_bits", None),
            error=None,
        )
    except Exception as exc:
        point["error"] = _err(exc)
    finally:
        if not keep_files:
            for p in (stream, recon):
                if os.path.exists(p):
                    os.remove(p)
    return point


def _valid(points: Sequence[dict]) -> list[dict]:
    return [
        p
        for p in points
        if not p.get("error") and p.get("bpp") is not None and p.get("psnr_yuv") is not None
    ]


def compute_bd(anchor_points: Sequence[dict], test_points: Sequence[dict]) -> dict:
    """BD-rate (%) and BD-PSNR (dB) of test vs anchor on (bpp, PSNR-YUV), both methods."""
    a, t = _valid(anchor_points), _valid(test_points)
    r1 = [p["bpp"] for p in a]
    d1 = [p["psnr_yuv"] for p in a]
    r2 = [p["bpp"] for p in t]
    d2 = [p["psnr_yuv"] for p in t]
    out: dict = {"anchor_points": len(a), "test_points": len(t), "reasons": {}}
    for method in METHODS:
        v, why = bd_rate_detail(r1, d1, r2, d2, method)
        out[f"bd_rate_{method}"] = v
        if why:
            out["reasons"][f"bd_rate_{method}"] = why
        v, why = bd_psnr_detail(r1, d1, r2, d2, method)
        out[f"bd_psnr_{method}"] = v
        if why:
            out["reasons"][f"bd_psnr_{method}"] = why
    return out


def _needs_extension(anchor: Sequence[dict], test: Sequence[dict]) -> int:
    """-1: anchor must reach higher quality/rate (lower QP); +1: lower (higher QP); 0: ok.

    Extends until the anchor spans the test curve's PSNR range (or runs out of QPs), not
    only until the curves overlap at all: BD figures integrate over the overlap, and an
    anchor stopping just above the test curve's low end measures it on a sliver (a
    one-image clip read +22% vs x264 over 2.3 dB of overlap, then +109% over 0.07 dB
    with weights 0.2 dB better at the top)."""
    a, t = _valid(anchor), _valid(test)
    if not a or not t:
        return 0
    a_d = [p["psnr_yuv"] for p in a]
    t_d = [p["psnr_yuv"] for p in t]
    a_r = [p["bpp"] for p in a]
    t_r = [p["bpp"] for p in t]
    if max(a_d) <= min(t_d) or max(a_r) <= min(t_r):
        return -1
    if min(a_d) >= max(t_d) or min(a_r) >= max(t_r):
        return 1
    if min(a_d) > min(t_d):
        return 1
    if max(a_d) < max(t_d):
        return -1
    return 0


def _fps_of(info) -> Fraction:
    try:
        return Fraction(int(info.fps_num), int(info.fps_den))
    except Exception:
        return Fraction(25)


def _weights_info(model: str, weights: str | None) -> dict | None:
    """Which weights the flavc points used: path and hash (None if not found)."""
    from ..models.flavc import default_weights_path, weights_hash

    path = weights or str(default_weights_path(model))
    try:
        return {"path": path, "hash": weights_hash(path)}
    except OSError:
        return None


def _key_structure(
    model: str, weights: str | None, period: int | None, offset: int | None
) -> tuple[int, int]:
    """The key P-frame structure the encoder will use: the given values, else those the
    weights were trained with (recorded, so a table says how its streams were coded)."""
    from ..models.flavc import default_weights_path, trained_key_structure, weights_info

    if period is None or offset is None:
        try:
            info = weights_info(weights or str(default_weights_path(model)))
            p, o = trained_key_structure(info)
        except FlavcError:  # no weights: the encoder will say so
            p, o = 0, 0
        period = p if period is None else period
        offset = o if offset is None else offset
    return int(period), int(offset)


def run_bench(
    inputs: Sequence[str],
    frames: int = 96,
    intra_period: int = 32,
    qualities: Sequence[int] | None = None,
    anchors: Sequence[str] = ("x264", "x265", "svtav1"),
    preset: str = "medium",
    device: str = "auto",
    model: str = "flavc",
    json_path: str | None = None,
    plot_path: str | None = None,
    workdir: str | None = None,
    progress: bool = True,
    *,
    anchor_qps: dict[str, Sequence[int]] | None = None,
    with_msssim: bool = True,
    extend_rounds: int = 2,
    keep_files: bool = False,
    flavc_runner: FlavcRunner | None = None,
    print_table: bool = True,
    weights: str | None = None,
    refine: int = 0,
    drift_guard: float | None = None,
    refine_intra: int | None = None,
    key_period: int | None = None,
    key_offset: int | None = None,
) -> dict:
    """Benchmark flavc and the anchors on each input; return (and optionally write) results.

    ``flavc_runner(src, ref_frames, quality, workdir, intra_period=, device=, model=,
    with_msssim=, keep_files=, tag=) -> dict`` replaces :func:`flavc_point` (tests).
    A failing input, flavc point or anchor point is recorded with ``error`` and the run
    goes on.
    """
    from tqdm.auto import tqdm

    if isinstance(inputs, str):
        inputs = [inputs]
    if isinstance(anchors, str):
        anchors = [a for a in anchors.split(",") if a]
    anchors = list(anchors)
    for a in anchors:
        if a not in ANCHORS:
            raise ValueError(f"unknown anchor {a!r}; choose from {sorted(ANCHORS)}")
    qualities = list(DEFAULT_QUALITIES if qualities is None else qualities)
    if drift_guard is None and qualities:
        from ..codec import DRIFT_GUARD_DB

        drift_guard = DRIFT_GUARD_DB
    if qualities:
        from ..codec import resolve_refine_intra

        refine_intra = resolve_refine_intra(refine, refine_intra)
        key_period, key_offset = _key_structure(model, weights, key_period, key_offset)
    runner = flavc_runner or functools.partial(
        flavc_point,
        weights=weights,
        refine=refine,
        drift_guard=drift_guard,
        refine_intra=refine_intra,
        key_period=key_period,
        key_offset=key_offset,
    )
    own_workdir = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="flavc_bench_")
    os.makedirs(workdir, exist_ok=True)
    qps_cfg = {a: list((anchor_qps or {}).get(a, DEFAULT_QPS[a])) for a in anchors}

    results: dict = {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": {
            "inputs": [str(p) for p in inputs],
            "frames": frames,
            "intra_period": intra_period,
            "qualities": qualities,
            "anchors": anchors,
            "anchor_qps": qps_cfg,
            "preset": preset,
            "device": device,
            "model": model,
            "weights": _weights_info(model, weights) if qualities else None,
            "refine": int(refine),
            "refine_intra": refine_intra,
            "drift_guard": drift_guard,
            "key_period": key_period,
            "key_offset": key_offset,
            "bd_methods": list(METHODS),
            "msssim": with_msssim,
        },
        "conventions": dict(CONVENTIONS),
        "memory_method": MEMORY_METHOD,
        "versions": versions(),
        "machine": machine_info(),
        "inputs": [],
        "summary": {},
    }

    per_input_jobs = len(qualities) + sum(len(q) for q in qps_cfg.values())
    bar = tqdm(
        total=per_input_jobs * len(inputs),
        desc="bench",
        unit="pt",
        disable=not progress,
        file=sys.stderr,
    )
    try:
        for idx, path in enumerate(inputs):
            entry = _bench_one(
                path,
                idx,
                frames,
                intra_period,
                qualities,
                anchors,
                qps_cfg,
                preset,
                device,
                model,
                workdir,
                with_msssim,
                extend_rounds,
                keep_files,
                runner,
                bar,
            )
            results["inputs"].append(entry)
    finally:
        bar.close()
        if own_workdir and not keep_files:
            shutil.rmtree(workdir, ignore_errors=True)

    results["summary"] = _summarize(results["inputs"], anchors)
    if json_path:
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        with open(json_path, "w") as fh:
            json.dump(_jsonable(results), fh, indent=1)
    if plot_path:
        try:
            plot_rd(results, plot_path)
            results["plot"] = plot_path
        except Exception as exc:
            results["plot_error"] = _err(exc)
    if print_table:
        print(format_markdown(results))
    return results


def _bench_one(
    path,
    idx,
    frames,
    intra_period,
    qualities,
    anchors,
    qps_cfg,
    preset,
    device,
    model,
    workdir,
    with_msssim,
    extend_rounds,
    keep_files,
    runner,
    bar,
) -> dict:
    name = os.path.splitext(os.path.basename(path))[0]
    tag = f"{idx:02d}_{name}"
    entry: dict = {"path": str(path), "name": name, "error": None, "flavc": [], "anchors": {}}
    entry["bd"] = {}
    try:
        from ..io.reader import read_frames

        info, ref = read_frames(path, max_frames=frames)
        if not ref:
            raise RuntimeError("no frames decoded")
    except Exception as exc:
        entry["error"] = _err(exc)
        bar.update(len(qualities) + sum(len(q) for q in qps_cfg.values()))
        return entry
    h, w = ref[0].y.shape
    fps = _fps_of(info)
    entry.update(
        width=w,
        height=h,
        frames=len(ref),
        fps=float(fps),
        pix_fmt=getattr(info, "pix_fmt", None),
    )
    bar.set_postfix_str(f"{name} flavc")
    for q in qualities:
        try:
            pt = runner(
                path,
                ref,
                q,
                workdir,
                intra_period=intra_period,
                device=device,
                model=model,
                with_msssim=with_msssim,
                keep_files=keep_files,
                tag=tag,
            )
        except Exception as exc:  # a runner is not supposed to raise; be safe anyway
            pt = {"codec": "flavc", "quality": int(q), "error": _err(exc)}
        entry["flavc"].append(pt)
        bar.update(1)

    for codec in anchors:
        bar.set_postfix_str(f"{name} {codec}")
        qps = list(qps_cfg[codec])

        def _tick(_p):
            bar.update(1)

        pts = [
            p.to_dict()
            for p in anchor_sweep(
                ref,
                codec,
                workdir,
                qps=qps,
                intra_period=intra_period,
                preset=preset,
                fps=fps,
                with_msssim=with_msssim,
                keep_files=keep_files,
                tag=tag,
                progress=_tick,
            )
        ]
        for _ in range(extend_rounds):
            direction = _needs_extension(pts, entry["flavc"])
            if direction == 0:
                break
            more = extend_qps(codec, [p["qp"] for p in pts], direction)
            if not more:
                break
            bar.total += len(more)
            pts += [
                p.to_dict()
                for p in anchor_sweep(
                    ref,
                    codec,
                    workdir,
                    qps=more,
                    intra_period=intra_period,
                    preset=preset,
                    fps=fps,
                    with_msssim=with_msssim,
                    keep_files=keep_files,
                    tag=tag,
                    progress=_tick,
                )
            ]
        pts.sort(key=lambda p: p["qp"])
        entry["anchors"][codec] = pts
        entry["bd"][codec] = compute_bd(pts, entry["flavc"])
    return entry


def _summarize(entries: Sequence[dict], anchors: Sequence[str]) -> dict:
    out: dict = {}
    for codec in anchors:
        s: dict = {}
        for key in [f"bd_{k}_{m}" for k in ("rate", "psnr") for m in METHODS]:
            vals = [
                e["bd"][codec][key]
                for e in entries
                if codec in e.get("bd", {}) and e["bd"][codec].get(key) is not None
            ]
            s[key] = float(np.mean(vals)) if vals else None
            s[f"{key}_n"] = len(vals)
        out[codec] = s
    out["inputs"] = len(entries)
    out["failed_inputs"] = sum(1 for e in entries if e.get("error"))
    return out


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if np.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Fraction):
        return float(obj)
    return obj


def _f(v, fmt: str, unit: str = "") -> str:
    if v is None:
        return "-"
    try:
        return format(v, fmt) + unit
    except (TypeError, ValueError):
        return str(v)


def _guard_text(guard: float | None) -> str:
    if guard is None:  # results written before the guard was recorded
        return ""
    return f", drift guard {guard:g} dB" if guard else ", drift guard off"


def _refine_text(cfg: dict) -> str:
    p = cfg.get("refine", 0)
    i = cfg.get("refine_intra")
    if i is None:  # results written before I-frames had their own setting: all frames alike
        return f", encoder refinement {p} steps per frame"
    return f", encoder refinement {i} steps per I-frame and {p} per P-frame"


def _key_text(cfg: dict) -> str:
    p = cfg.get("key_period") or 0
    return f", key P-frames every {p} at quality {cfg.get('key_offset', 0):+d}" if p else ""


def format_markdown(results: dict, points: bool = True) -> str:
    """Markdown report: BD summary, per-input BD table and (optionally) all RD points."""
    cfg = results.get("config", {})
    lines = [
        "## flavc RD benchmark",
        "",
        f"frames <= {cfg.get('frames')}, intra period {cfg.get('intra_period')} (low-delay P), "
        f"anchor preset {cfg.get('preset')}, device {cfg.get('device')}, model {cfg.get('model')}"
        + _refine_text(cfg)
        + _key_text(cfg)
        + _guard_text(cfg.get("drift_guard"))
        + ". "
        "PSNR-YUV = (6Y+U+V)/8, mean of per-frame PSNR; bpp from file size incl. container; "
        "BD on (bpp, PSNR-YUV), negative BD-rate = flavc saves bits.",
        "",
    ]
    summ = results.get("summary", {})
    anchors = cfg.get("anchors", [])
    if anchors:
        lines += [
            "| anchor | BD-rate cubic | BD-rate PCHIP | BD-PSNR cubic | BD-PSNR PCHIP | inputs |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for a in anchors:
            s = summ.get(a, {})
            cells = [
                _f(s.get("bd_rate_cubic"), "+.2f", "%"),
                _f(s.get("bd_rate_pchip"), "+.2f", "%"),
                _f(s.get("bd_psnr_cubic"), "+.3f", " dB"),
                _f(s.get("bd_psnr_pchip"), "+.3f", " dB"),
                f"{s.get('bd_rate_cubic_n', 0)}/{summ.get('inputs', 0)}",
            ]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
        lines += ["", "Averages are means over inputs where the value is defined.", ""]
        lines += [
            "| input | size x frames | anchor | BD-rate cubic | BD-rate PCHIP "
            "| BD-PSNR cubic | note |",
            "|---|---|---|---:|---:|---:|---|",
        ]
        for e in results.get("inputs", []):
            size = f"{e.get('width', '?')}x{e.get('height', '?')} x {e.get('frames', '?')}"
            if e.get("error"):
                lines.append(f"| {e['name']} | {size} | - | - | - | - | error: {e['error']} |")
                continue
            for a in anchors:
                bd = e.get("bd", {}).get(a, {})
                note = "; ".join(sorted(set(bd.get("reasons", {}).values())))
                lines.append(
                    f"| {e['name']} | {size} | {a} | {_f(bd.get('bd_rate_cubic'), '+.2f', '%')}"
                    f" | {_f(bd.get('bd_rate_pchip'), '+.2f', '%')} | "
                    f"{_f(bd.get('bd_psnr_cubic'), '+.3f')} | {note} |"
                )
        lines.append("")
    if points:
        lines += [
            "| input | codec | q/QP | bpp | PSNR-Y | PSNR-YUV | MS-SSIM | enc fps | dec fps "
            "| peak RSS MiB | frame types | error |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for e in results.get("inputs", []):
            rows = [("flavc", p.get("quality"), p) for p in e.get("flavc", [])]
            for a, pts in e.get("anchors", {}).items():
                rows += [(a, p.get("qp"), p) for p in pts]
            for codec, q, p in rows:
                lines.append(
                    f"| {e['name']} | {codec} | {q} | {_f(p.get('bpp'), '.4f')}"
                    f" | {_f(p.get('psnr_y'), '.2f')} | {_f(p.get('psnr_yuv'), '.2f')}"
                    f" | {_f(p.get('msssim'), '.4f')} | {_f(p.get('enc_fps'), '.2f')}"
                    f" | {_f(p.get('dec_fps'), '.2f')} | {_f(p.get('peak_rss_mb'), '.0f')}"
                    f" | {p.get('frame_types', '')} | {p.get('error') or ''} |"
                )
        lines.append("")
    return "\n".join(lines)


def plot_rd(results: dict, path: str) -> str:
    """bpp vs PSNR-YUV, one subplot per input, one curve per codec (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = [e for e in results.get("inputs", []) if not e.get("error")]
    n = max(1, len(entries))
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.8 * rows), squeeze=False)
    for ax, e in zip(axes.ravel(), entries, strict=False):
        curves = [("flavc", e.get("flavc", []))] + list(e.get("anchors", {}).items())
        for name, pts in curves:
            v = sorted(_valid(pts), key=lambda p: p["bpp"])
            if v:
                ax.plot(
                    [p["bpp"] for p in v],
                    [p["psnr_yuv"] for p in v],
                    marker="o",
                    ms=3,
                    lw=2 if name == "flavc" else 1,
                    label=name,
                )
        ax.set_title(f"{e['name']} ({e.get('width')}x{e.get('height')}, {e.get('frames')} f)")
        ax.set_xlabel("bpp (file size)")
        ax.set_ylabel("PSNR-YUV 6:1:1 (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(entries) :]:
        ax.axis("off")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
