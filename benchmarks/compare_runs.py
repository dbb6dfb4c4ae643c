#!/usr/bin/env python
"""Compare flavc's own curves in two ``eval.py`` results (old weights against new).

BD-rate against an anchor is measured only where the curves overlap, so when new weights
reach higher quality the overlap window moves and the anchor figures of two runs compare
different ranges (a clip can look worse against x264 with a curve that is better at every
point). This compares the two flavc curves directly, per clip: BD-rate and BD-PSNR of new
against old on (bpp, PSNR-YUV), and the top quality's PSNR. Where the results record the
entropy model's ideal size (``estimated_bits``), also the bytes per frame spent over it
(container framing and entropy-coder endings): with the same weights, a coder change shows
there alone.

    python benchmarks/compare_runs.py OLD/eval.json NEW/eval.json [--json OUT]

``OLD`` may come from git: ``git show REV:benchmarks/results/light/eval.json > old.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))


def _curves(path: str) -> dict[str, list[dict]]:
    """The flavc points per clip of an ``eval.py`` result; a missing or foreign file is one
    error line, not a traceback."""
    try:
        with open(path) as f:
            inputs = json.load(f)["video"]["inputs"]
    except OSError as exc:
        raise SystemExit(f"error: {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError):
        raise SystemExit(f"error: {path}: not an eval.py result (no video inputs)") from None
    return {x["name"]: x["flavc"] for x in inputs if x.get("flavc")}


def _excess(points: list[dict]) -> float | None:
    """Mean over a curve's points of (file bytes - ideal bytes) per frame."""
    vals = [
        (p["bytes"] - p["estimated_bits"] / 8) / p["frames"]
        for p in points
        if p.get("estimated_bits") is not None and p.get("bytes") and p.get("frames")
    ]
    return sum(vals) / len(vals) if vals else None


def compare(old_path: str, new_path: str) -> list[dict]:
    """Per clip present in both: new against old on flavc's own (bpp, PSNR-YUV) curves."""
    from flavc_codec.bench.bdrate import bd_psnr, bd_rate

    old, new = _curves(old_path), _curves(new_path)
    rows = []
    for name in sorted(set(old) & set(new)):
        a, b = old[name], new[name]
        ra, da = [p["bpp"] for p in a], [p["psnr_yuv"] for p in a]
        rb, db = [p["bpp"] for p in b], [p["psnr_yuv"] for p in b]
        rows.append(
            {
                "input": name,
                "bd_rate": bd_rate(ra, da, rb, db),
                "bd_psnr": bd_psnr(ra, da, rb, db),
                "top_psnr_old": max(da),
                "top_psnr_new": max(db),
                "excess_bytes_per_frame_old": _excess(a),
                "excess_bytes_per_frame_new": _excess(b),
            }
        )
    return rows


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    rows = compare(args.old, args.new)
    if not rows:
        raise SystemExit("error: the two results share no clip with flavc points")
    print(
        "| input | BD-rate new vs old | BD-PSNR | top PSNR old | top PSNR new "
        "| bytes/frame over ideal old | new |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['input']} | {_fmt(r['bd_rate'], '+.2f')}% | {_fmt(r['bd_psnr'], '+.3f')} dB "
            f"| {r['top_psnr_old']:.2f} | {r['top_psnr_new']:.2f} "
            f"| {_fmt(r['excess_bytes_per_frame_old'], '.1f')} "
            f"| {_fmt(r['excess_bytes_per_frame_new'], '.1f')} |"
        )
    rates = [r["bd_rate"] for r in rows if r["bd_rate"] is not None]
    if rates:
        better = sum(v < 0 for v in rates)
        mean = sum(rates) / len(rates)
        print(f"\nmean BD-rate {mean:+.2f}% over {len(rates)} clips, {better} better")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"old": args.old, "new": args.new, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
