#!/usr/bin/env python
"""flavc speed and memory benchmark on generated content.

* Content: a moving textured pattern (sinusoid gradients, a translating checker texture,
  mild noise; chroma slowly varying), written as 8-bit 4:2:0 y4m, at 1280x720 and 1920x1080
  (``--sizes``), ``--frames`` frames (default 4).
* For each device (cpu, and cuda when ``torch.cuda.is_available()``): ``encode_file`` and
  ``decode_file`` at ``--quality``; fps = frames / the engine's ``seconds`` (wall time if
  absent; the wall time including model loading is also recorded); the engine's
  ``timings`` dict (e.g. "network", "entropy" seconds) when present, so entropy coding is
  separated from network time; coded bytes vs ``EncodeStats.estimated_bits`` / 8 when the
  engine reports it.
* Peak memory: peak RSS of this process during each call (VmHWM after a reset through
  /proc/self/clear_refs; includes the interpreter, torch and the loaded model), plus
  ``torch.cuda.max_memory_allocated`` on GPU.
* Decoder memory growth: decode peak RSS for streams of ``--mem-frames`` (default 10,300)
  frames at ``--mem-size`` (default 416x240, kept small so CPU encoding finishes).
* Comparison: x265 ``--x265-preset`` (default veryslow) encode fps on the same 1080p frames
  in the same run (fixed QP 32, low-delay P, intra period 32, PyAV's bundled libx265,
  default threads).

Writes ``benchmarks/results/speed.json`` and ``speed.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

from flavc_codec.bench.anchors import encode_anchor  # noqa: E402
from flavc_codec.bench.run import _err, _jsonable  # noqa: E402
from flavc_codec.bench.sysinfo import PeakMemory, machine_info, versions  # noqa: E402
from flavc_codec.yuv import YUVFrame  # noqa: E402


def moving_pattern(width: int, height: int, n: int, seed: int = 0) -> list[YUVFrame]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = rng.normal(0, 4, (height, width)).astype(np.float32)
    ch, cw = (height + 1) // 2, (width + 1) // 2
    cy, cx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    frames = []
    for t in range(n):
        dx, dy = 3.0 * t, 1.5 * t
        grad = 60 * np.sin((xx + dx) / 37.0) * np.cos((yy + dy) / 23.0)
        checker = 30 * (((xx + 2 * dx) // 16 + (yy + dy) // 16) % 2)
        y = np.clip(100 + grad + checker + noise, 0, 255).astype(np.uint8)
        u = np.clip(128 + 30 * np.sin((cx + dx / 2) / 40.0 + t * 0.05), 0, 255).astype(np.uint8)
        v = np.clip(128 + 30 * np.cos((cy + dy / 2) / 30.0), 0, 255).astype(np.uint8)
        frames.append(YUVFrame(y, u, v))
    return frames


def write_y4m(path: str, frames: list[YUVFrame], fps: int = 25) -> str:
    h, w = frames[0].y.shape
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for f in frames:
            fh.write(b"FRAME\n")
            for p in (f.y, f.u, f.v):
                fh.write(np.ascontiguousarray(p).tobytes())
    return path


def _cuda_peak_reset(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _cuda_peak(device: str) -> float | None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return None


def flavc_speed(
    src: str,
    n: int,
    w: int,
    h: int,
    device: str,
    quality: int,
    workdir: str,
    model: str,
    refine: int = 0,
    refine_intra: int | None = None,
) -> dict:
    from flavc_codec.codec import resolve_refine_intra

    tag = f"{model}_{w}x{h}_{device}_{n}f_r{refine}_{refine_intra}"
    stream = os.path.join(workdir, tag + ".flavc")
    recon = os.path.join(workdir, tag + ".y4m")
    r: dict = {
        "model": model,
        "size": f"{w}x{h}",
        "device": device,
        "frames": n,
        "quality": quality,
        "refine": refine,
        "refine_intra": resolve_refine_intra(refine, refine_intra),
    }
    try:
        from flavc_codec.codec import decode_file, encode_file

        _cuda_peak_reset(device)
        with PeakMemory() as me:
            t0 = time.perf_counter()
            es = encode_file(
                src,
                stream,
                quality=quality,
                frames=n,
                device=device,
                model=model,
                progress=False,
                refine=refine,
                refine_intra=refine_intra,
            )
            r["enc_wall_seconds"] = time.perf_counter() - t0
        r["enc_gpu_peak_mb"] = _cuda_peak(device)
        _cuda_peak_reset(device)
        with PeakMemory() as md:
            t0 = time.perf_counter()
            ds = decode_file(stream, recon, device=device, progress=False)
            r["dec_wall_seconds"] = time.perf_counter() - t0
        r["dec_gpu_peak_mb"] = _cuda_peak(device)
        nbytes = os.path.getsize(stream)
        est = getattr(es, "estimated_bits", None)
        r.update(
            bytes=nbytes,
            bpp=nbytes * 8 / (w * h * n),
            enc_seconds=getattr(es, "seconds", None) or r["enc_wall_seconds"],
            dec_seconds=getattr(ds, "seconds", None) or r["dec_wall_seconds"],
            time_source="engine" if getattr(es, "seconds", None) else "wall",
            enc_timings=dict(getattr(es, "timings", None) or {}),
            dec_timings=dict(getattr(ds, "timings", None) or {}),
            estimated_bits=est,
            coded_vs_estimate=(nbytes * 8 / est) if est else None,
            enc_peak_rss_mb=me.peak_mb,
            dec_peak_rss_mb=md.peak_mb,
            enc_peak_rss_delta_mb=me.delta_mb,
            dec_peak_rss_delta_mb=md.delta_mb,
            error=None,
        )
        r["enc_fps"] = n / r["enc_seconds"]
        r["dec_fps"] = n / r["dec_seconds"]
        for side in ("enc", "dec"):
            t = r[f"{side}_timings"]
            tot = sum(v for v in t.values() if isinstance(v, (int, float)))
            if "entropy" in t and tot > 0:
                r[f"{side}_entropy_share"] = t["entropy"] / tot
    except Exception as exc:
        r["error"] = _err(exc)
    finally:
        for p in (stream, recon):
            if os.path.exists(p):
                os.remove(p)
    return r


def _fmt(v, fmt):
    return "-" if v is None else format(v, fmt)


def to_markdown(rep: dict) -> str:
    m = rep["machine"]
    lines = [
        "# flavc speed",
        "",
        f"CPU: {m.get('cpu')} ({m.get('cores')} cores), GPU: {m.get('gpu') or 'none'}; "
        f"generated moving pattern, {rep['args']['frames']} frames, quality "
        f"{rep['args']['quality']}. fps = frames / engine seconds (wall if not reported); "
        "network / prior (exact integer entropy path) / entropy (rANS) = seconds for all "
        "frames; coded/estimate = file bits (container included) / ideal bits under the "
        "integer tables; peak RSS = process peak during the call (includes interpreter + "
        "torch + model and what earlier calls left resident).",
        "",
        "| model | refine P/I | size | device | enc fps | dec fps | enc network s | enc prior s "
        "| enc entropy s | dec network s | dec prior s | dec entropy s | coded/estimate "
        "| enc peak RSS MiB | dec peak RSS MiB | GPU peak MiB | error |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rep["flavc"]:
        et, dt = r.get("enc_timings", {}), r.get("dec_timings", {})
        gpu = max([x for x in (r.get("enc_gpu_peak_mb"), r.get("dec_gpu_peak_mb")) if x] or [0])
        lines.append(
            f"| {r['model']} | {_refine_cell(r)} | {r['size']} | {r['device']}"
            f" | {_fmt(r.get('enc_fps'), '.3f')}"
            f" | {_fmt(r.get('dec_fps'), '.3f')} | {_fmt(et.get('network'), '.2f')}"
            f" | {_fmt(et.get('prior'), '.2f')} | {_fmt(et.get('entropy'), '.2f')}"
            f" | {_fmt(dt.get('network'), '.2f')} | {_fmt(dt.get('prior'), '.2f')}"
            f" | {_fmt(dt.get('entropy'), '.2f')} | {_fmt(r.get('coded_vs_estimate'), '.4f')}"
            f" | {_fmt(r.get('enc_peak_rss_mb'), '.0f')} | {_fmt(r.get('dec_peak_rss_mb'), '.0f')}"
            f" | {_fmt(gpu or None, '.0f')} | {r.get('error') or ''} |"
        )
    lines += ["", "## Decoder memory vs stream length", ""]
    lines += ["| model | size | device | frames | dec peak RSS MiB | dec fps | error |"]
    lines += ["|---|---|---|---:|---:|---:|---|"]
    for r in rep["decode_memory"]:
        lines.append(
            f"| {r['model']} | {r['size']} | {r['device']} | {r['frames']}"
            f" | {_fmt(r.get('dec_peak_rss_mb'), '.0f')}"
            f" | {_fmt(r.get('dec_fps'), '.3f')} | {r.get('error') or ''} |"
        )
    lines += ["", "## Reference encoders on the same frames (CPU)", ""]
    lines += [
        "| encoder | preset | size | frames | QP | enc fps | dec fps | bpp | PSNR-YUV | error |"
    ]
    lines += ["|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rep["anchors"]:
        lines.append(
            f"| {r['encoder']} | {r['preset']} | {r['width']}x{r['height']} | {r['frames']}"
            f" | {r['qp']} | {_fmt(r.get('enc_fps'), '.3f')} | {_fmt(r.get('dec_fps'), '.2f')}"
            f" | {_fmt(r.get('bpp'), '.4f')} | {_fmt(r.get('psnr_yuv'), '.2f')}"
            f" | {r.get('error') or ''} |"
        )
    return "\n".join(lines) + "\n"


def rewrite_markdown(out: str) -> str:
    """Regenerate speed.md from speed.json (no new measurement)."""
    with open(os.path.join(out, "speed.json")) as fh:
        md = to_markdown(json.load(fh))
    with open(os.path.join(out, "speed.md"), "w") as fh:
        fh.write(md)
    return md


def _refine_cell(r: dict) -> str:
    """P-frame/I-frame refinement steps (older results set one number for every frame)."""
    p = r.get("refine", 0)
    i = r.get("refine_intra")
    return f"{p}" if i is None else f"{p}/{i}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="flavc speed/memory benchmark")
    ap.add_argument("--sizes", default="1280x720,1920x1080")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--quality", type=int, default=32)
    ap.add_argument("--devices", default=None, help="default: cpu (+cuda if available)")
    ap.add_argument("--mem-frames", default="10,300")
    ap.add_argument("--mem-size", default="416x240")
    ap.add_argument("--mem-device", default="cpu")
    ap.add_argument("--models", default="flavc,flavc-light")
    ap.add_argument(
        "--refine", default="0", help="comma-separated encoder refinement steps per P-frame"
    )
    ap.add_argument(
        "--refine-intra",
        default="",
        help="comma-separated refinement steps per I-frame (default: the encoder's, "
        "max(refine, 10))",
    )
    ap.add_argument("--mem-model", default="flavc-light")
    ap.add_argument("--x265-preset", default="veryslow", choices=["medium", "veryslow"])
    ap.add_argument("--no-flavc", action="store_true", help="only the reference encoders")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args(argv)

    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",") if s]
    if a.devices:
        devices = [d for d in a.devices.split(",") if d]
    else:
        devices = ["cpu"]
        try:
            import torch

            if torch.cuda.is_available():
                devices.append("cuda")
        except Exception:
            pass
    rep: dict = {
        "created_by": "benchmarks/speed.py",
        "args": vars(a),
        "versions": versions(),
        "machine": machine_info(),
        "memory_method": PeakMemory.__doc__.strip().splitlines()[0],
        "flavc": [],
        "decode_memory": [],
        "anchors": [],
    }
    os.makedirs(a.out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flavc_speed_") as wd:
        for w, h in sizes:
            frames = moving_pattern(w, h, a.frames)
            src = write_y4m(os.path.join(wd, f"src_{w}x{h}.y4m"), frames)
            if not a.no_flavc:
                intra = [int(k) for k in a.refine_intra.split(",") if k] or [None]
                runs = [
                    (model, int(k), ki, dev)
                    for model in a.models.split(",")
                    if model
                    for k in a.refine.split(",")
                    if k
                    for ki in intra
                    for dev in devices
                ]
                for model, k, ki, dev in runs:
                    print(f"{model} refine {k}/{ki} {w}x{h} {dev} ...", file=sys.stderr, flush=True)
                    rep["flavc"].append(
                        flavc_speed(src, a.frames, w, h, dev, a.quality, wd, model, k, ki)
                    )
            if (w, h) == max(sizes, key=lambda s: s[0] * s[1]):
                print(f"x265 {a.x265_preset} {w}x{h} ...", file=sys.stderr, flush=True)
                pt = encode_anchor(
                    frames,
                    "x265",
                    32,
                    os.path.join(wd, "x265.mp4"),
                    intra_period=32,
                    preset=a.x265_preset,
                    with_msssim=False,
                    keep_file=False,
                )
                rep["anchors"].append(pt.to_dict())
            del frames
            os.remove(src)
        if not a.no_flavc:
            mw, mh = (int(x) for x in a.mem_size.split("x"))
            for n in [int(x) for x in a.mem_frames.split(",") if x]:
                print(f"decode memory {a.mem_size} x {n} ...", file=sys.stderr, flush=True)
                src = write_y4m(os.path.join(wd, f"mem_{n}.y4m"), moving_pattern(mw, mh, n))
                r = flavc_speed(src, n, mw, mh, a.mem_device, a.quality, wd, a.mem_model)
                rep["decode_memory"].append(r)
                os.remove(src)
    with open(os.path.join(a.out, "speed.json"), "w") as fh:
        json.dump(_jsonable(rep), fh, indent=1)
    md = to_markdown(rep)
    with open(os.path.join(a.out, "speed.md"), "w") as fh:
        fh.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
