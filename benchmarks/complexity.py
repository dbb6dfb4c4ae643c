#!/usr/bin/env python
"""Compute per frame of each variant (FLOPs of the float networks, counted by
torch.utils.flop_counter on a 1920x1080 P-frame, encoder and decoder side), and parameter
counts. Writes benchmarks/results/complexity.{json,md}. Random-init weights: FLOPs do not
depend on the weights' values."""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from flavc_codec.models.flavc import FLAVC  # noqa: E402
from flavc_codec.models.registry import VARIANTS  # noqa: E402


def count(fn) -> float:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops() / 1e9


def main() -> int:
    w, h = 1920, 1088  # 1080p padded to a multiple of 64
    x = torch.rand(1, 6, h // 2, w // 2)
    rows = []
    for name in ("flavc", "flavc-light", "no-dp", "cnn-encoder", "memc"):
        m = FLAVC(VARIANTS[name]).eval()
        m.update_tables()
        g = m.gauss_tables()
        with torch.no_grad():
            c = m.intra.compress(x, 32, g)
            enc = count(lambda m=m, c=c, g=g: m.inter.compress(x, 32, c.feat, c.y_prev, g))
            c2 = m.inter.compress(x, 32, c.feat, c.y_prev, g)
            hw = (h // 16, w // 16)
            dec = count(
                lambda m=m, c=c, c2=c2, hw=hw, g=g: m.inter.decompress(
                    c2.sections, hw, 32, c.feat, c.y_prev, g, "cpu"
                )
            )
        rows.append(
            {
                "model": name,
                "params_m": sum(p.numel() for p in m.parameters()) / 1e6,
                "p_frame_encode_gflops": enc,
                "p_frame_decode_gflops": dec,
            }
        )
        print(rows[-1], file=sys.stderr)
    base = rows[0]
    for r in rows:
        r["decode_vs_flavc"] = r["p_frame_decode_gflops"] / base["p_frame_decode_gflops"]
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "complexity.json"), "w") as f:
        json.dump({"size": f"{w}x{h}", "rows": rows}, f, indent=1)
    lines = [
        f"P-frame compute at {w}x{h} (float networks; FLOPs = 2 x MACs, "
        "torch.utils.flop_counter; the integer entropy path is included, entropy coding not)",
        "",
        "| model | params (M) | encode GFLOPs | decode GFLOPs | decode vs flavc |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params_m']:.2f} | {r['p_frame_encode_gflops']:.1f} "
            f"| {r['p_frame_decode_gflops']:.1f} | {r['decode_vs_flavc']:.2f} |"
        )
    md = "\n".join(lines) + "\n"
    with open(os.path.join(out, "complexity.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
