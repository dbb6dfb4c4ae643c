#!/usr/bin/env python
"""Standard flavc evaluation: the eval video clips and Kodak (intra).

Video: every clip in ``--video-dir`` (default ``../shared/data/eval/video``), first 96
frames (all if fewer), low-delay P with intra period 32, flavc at ``--qualities`` against
x264 / x265 / SVT-AV1 (``--preset``, fixed-QP sweeps, see ``flavc_codec.bench.anchors``).

Kodak: every PNG in ``--kodak-dir`` coded as a single frame (flavc: one I-frame; anchors:
one intra frame of x264 / x265 at the same QP sweep). The reader converts the RGB PNGs to
8-bit BT.601 limited-range 4:2:0; all metrics are on that YUV. Besides per-image BD
values, the mean curve (bpp and PSNR-YUV averaged over the images at each setting) is
reported, which is how Kodak numbers are usually quoted.

Writes ``benchmarks/results/eval.json``, ``eval.md``, ``rd.png`` (video RD grid) and
``rd_kodak.png``. Conventions: see ``flavc_codec.bench.run.CONVENTIONS`` (also in the JSON).

    .venv/bin/python benchmarks/eval.py [--frames 96] [--device cpu] [--no-kodak]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

from flavc_codec.bench.run import (  # noqa: E402
    DEFAULT_QUALITIES,
    _jsonable,
    _valid,
    format_markdown,
    plot_rd,
    run_bench,
)

DATA = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "eval"))
VIDEO_EXT = (".y4m", ".mp4", ".mkv", ".264", ".h264", ".265", ".hevc", ".ivf", ".mov", ".avi")


def _csv_ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def mean_curves(results: dict) -> dict:
    """Per codec and setting: mean bpp / PSNR-YUV / MS-SSIM over inputs with that point."""
    acc: dict = {}
    for e in results.get("inputs", []):
        if e.get("error"):
            continue
        groups = [("flavc", "quality", e.get("flavc", []))]
        groups += [(a, "qp", pts) for a, pts in e.get("anchors", {}).items()]
        for codec, key, pts in groups:
            for p in _valid(pts):
                acc.setdefault(codec, {}).setdefault(p[key], []).append(p)
    out: dict = {}
    for codec, by in acc.items():
        rows = []
        for setting in sorted(by):
            pts = by[setting]
            ms = [p.get("msssim") for p in pts]
            rows.append(
                {
                    "setting": setting,
                    "n": len(pts),
                    "bpp": float(np.mean([p["bpp"] for p in pts])),
                    "psnr_yuv": float(np.mean([p["psnr_yuv"] for p in pts])),
                    "psnr_y": float(np.mean([p["psnr_y"] for p in pts])),
                    "msssim": float(np.mean(ms)) if all(m is not None for m in ms) else None,
                }
            )
        out[codec] = rows
    return out


def _full(rows: list[dict]) -> list[dict]:
    """The settings every input has: a setting only some inputs reached (an extra anchor QP
    swept for one image) averages other content and is not a point of the mean curve."""
    n = max((r["n"] for r in rows), default=0)
    return [r for r in rows if r["n"] == n]


def mean_curve_bd(curves: dict) -> dict:
    """BD between mean curves, over the settings that every input has."""
    from flavc_codec.bench.bdrate import METHODS, bd_psnr_detail, bd_rate_detail

    out: dict = {}
    fl = _full(curves.get("flavc", []))
    for codec, rows in curves.items():
        if codec == "flavc":
            continue
        rows = _full(rows)
        d: dict = {"reasons": {}}
        args = (
            [r["bpp"] for r in rows],
            [r["psnr_yuv"] for r in rows],
            [r["bpp"] for r in fl],
            [r["psnr_yuv"] for r in fl],
        )
        for m in METHODS:
            d[f"bd_rate_{m}"], why = bd_rate_detail(*args, method=m)
            if why:
                d["reasons"][f"bd_rate_{m}"] = why
            d[f"bd_psnr_{m}"], why = bd_psnr_detail(*args, method=m)
            if why:
                d["reasons"][f"bd_psnr_{m}"] = why
        out[codec] = d
    return out


def curves_markdown(title: str, curves: dict, bd: dict) -> str:
    lines = [f"### {title}: mean curve over inputs", ""]
    lines += [
        "| codec | q/QP | n | bpp | PSNR-Y | PSNR-YUV | MS-SSIM |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for codec, rows in curves.items():
        for r in rows:
            ms = "-" if r["msssim"] is None else f"{r['msssim']:.4f}"
            lines.append(
                f"| {codec} | {r['setting']} | {r['n']} | {r['bpp']:.4f} | {r['psnr_y']:.2f}"
                f" | {r['psnr_yuv']:.2f} | {ms} |"
            )
    if bd:
        lines += ["", "| anchor | BD-rate cubic | BD-rate PCHIP | BD-PSNR cubic | note |"]
        lines += ["|---|---:|---:|---:|---|"]
        for codec, d in bd.items():

            def f(v, fmt, unit=""):
                return "-" if v is None else format(v, fmt) + unit

            note = "; ".join(sorted(set(d["reasons"].values())))
            lines.append(
                f"| {codec} | {f(d['bd_rate_cubic'], '+.2f', '%')}"
                f" | {f(d['bd_rate_pchip'], '+.2f', '%')}"
                f" | {f(d['bd_psnr_cubic'], '+.3f', ' dB')} | {note} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video-dir", default=os.path.join(DATA, "video"))
    ap.add_argument("--kodak-dir", default=os.path.join(DATA, "images", "kodak"))
    ap.add_argument("--frames", type=int, default=96)
    ap.add_argument("--intra-period", type=int, default=32)
    ap.add_argument("--qualities", type=_csv_ints, default=DEFAULT_QUALITIES)
    ap.add_argument("--anchors", default="x264,x265,svtav1")
    ap.add_argument("--kodak-anchors", default="x264,x265")
    ap.add_argument("--preset", default="medium", choices=["medium", "veryslow"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--model", default="flavc")
    ap.add_argument("--weights", default=None, help="weights file (default: the shipped ones)")
    ap.add_argument(
        "--refine", type=int, default=0, help="encoder latent refinement steps per P-frame"
    )
    ap.add_argument(
        "--refine-intra",
        type=int,
        default=None,
        help="refinement steps per I-frame (default: the encoder's, max(--refine, 10))",
    )
    ap.add_argument(
        "--drift-guard",
        type=float,
        default=None,
        help="dB; a P-frame this far below the last I-frame is coded as I (0 = off; "
        "default: the encoder's)",
    )
    ap.add_argument(
        "--key-period",
        type=int,
        default=None,
        help="code every N-th P-frame of a GOP at quality q + --key-offset (0 = off; "
        "default: as the weights were trained)",
    )
    ap.add_argument("--key-offset", type=int, default=None, help="see --key-period")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--no-kodak", action="store_true")
    ap.add_argument("--no-video", action="store_true")
    ap.add_argument("--kodak-limit", type=int, default=None, help="first N Kodak images")
    ap.add_argument("--anchors-only", action="store_true", help="skip flavc (check anchors)")
    ap.add_argument("--no-msssim", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)

    os.makedirs(a.out, exist_ok=True)
    qualities = [] if a.anchors_only else a.qualities
    common = dict(
        qualities=qualities,
        preset=a.preset,
        device=a.device,
        model=a.model,
        weights=a.weights,
        refine=a.refine,
        refine_intra=a.refine_intra,
        drift_guard=a.drift_guard,
        key_period=a.key_period,
        key_offset=a.key_offset,
        progress=not a.quiet,
        with_msssim=not a.no_msssim,
        print_table=False,
    )
    report: dict = {"created_by": "benchmarks/eval.py", "args": vars(a)}
    md = ["# flavc evaluation", ""]
    t0 = time.time()

    if not a.no_video:
        clips = sorted(
            p for p in glob.glob(os.path.join(a.video_dir, "*")) if p.lower().endswith(VIDEO_EXT)
        )
        res = run_bench(
            clips,
            frames=a.frames,
            intra_period=a.intra_period,
            anchors=[x for x in a.anchors.split(",") if x],
            plot_path=os.path.join(a.out, "rd.png"),
            **common,
        )
        curves = mean_curves(res)
        report["video"] = res
        report["video_mean_curves"] = curves
        md += ["## Video (low-delay P)", "", format_markdown(res)]
        md += [curves_markdown("Video", curves, {}), ""]

    if not a.no_kodak:
        imgs = sorted(glob.glob(os.path.join(a.kodak_dir, "*.png")))[: a.kodak_limit]
        res = run_bench(
            imgs,
            frames=1,
            intra_period=a.intra_period,
            anchors=[x for x in a.kodak_anchors.split(",") if x],
            plot_path=None,
            **common,
        )
        curves = mean_curves(res)
        bd = mean_curve_bd(curves)
        report["kodak"] = res
        report["kodak_mean_curves"] = curves
        report["kodak_mean_curve_bd"] = bd
        try:
            plot_rd(
                {
                    "inputs": [
                        {
                            "name": "Kodak mean",
                            "width": 768,
                            "height": 512,
                            "frames": 1,
                            "flavc": [dict(r, error=None) for r in _full(curves.get("flavc", []))],
                            "anchors": {
                                c: [dict(r, error=None) for r in _full(rows)]
                                for c, rows in curves.items()
                                if c != "flavc"
                            },
                        }
                    ]
                },
                os.path.join(a.out, "rd_kodak.png"),
            )
        except Exception as exc:
            report["kodak_plot_error"] = str(exc)
        md += ["## Kodak (single intra frame, RGB -> BT.601 yuv420p)", ""]
        md += [curves_markdown("Kodak", curves, bd), ""]
        md += [format_markdown(res, points=False)]

    report["wall_seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(a.out, "eval.json"), "w") as fh:
        json.dump(_jsonable(report), fh, indent=1)
    text = "\n".join(md)
    with open(os.path.join(a.out, "eval.md"), "w") as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
