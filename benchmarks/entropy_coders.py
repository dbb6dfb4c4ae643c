#!/usr/bin/env python
"""rANS against the range coder (header flag FLAG_RANGE_CODER) on the integer tables:
bits over the ideal length per stream, and encode/decode time of a 1080p-sized latent.

    python benchmarks/entropy_coders.py [--streams 300] [--json OUT]

Short streams (5-400 symbols, like a low-rate frame's section) show the stream ending:
rANS ends in a flushed state in whole 32-bit words, the range coder at byte granularity.
The large one (96 x 68 x 120 symbols, a 1920x1088 frame's latent) shows the bulk cost and
the time the range encoder's verifying decode adds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))


def _latent(rng, shape):
    import numpy as np

    from flavc_codec.entropy.tables import scale_table

    grp = rng.integers(0, 40, shape)
    return np.round(rng.normal(0, scale_table()[grp])).astype(np.int64), grp


def run(streams: int = 300, repeats: int = 3) -> dict:
    import numpy as np

    from flavc_codec.entropy import coder
    from flavc_codec.entropy.tables import gaussian_tables

    tables = gaussian_tables()
    rng = np.random.default_rng(0)
    over = {"rans": [], "range": []}
    for _ in range(streams):
        sym, grp = _latent(rng, int(rng.integers(5, 400)))
        ideal = coder.estimate_bits(sym, grp, tables)
        for name, rc in (("rans", False), ("range", True)):
            over[name].append(len(coder.encode_symbols(sym, grp, tables, rc)) * 8 - ideal)
    sym, grp = _latent(rng, (96, 68, 120))
    ideal = coder.estimate_bits(sym, grp, tables)
    large = {}
    for name, rc in (("rans", False), ("range", True)):
        enc, dec = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            data = coder.encode_symbols(sym, grp, tables, rc)
            t1 = time.perf_counter()
            out = coder.decode_symbols(data, grp, tables, rc)
            dec.append(time.perf_counter() - t1)
            enc.append(t1 - t0)
            assert np.array_equal(out, sym)
        large[name] = {
            "bytes": len(data),
            "bits_over_ideal": len(data) * 8 - ideal,
            "encode_s": min(enc),
            "decode_s": min(dec),
        }
    return {
        "created_by": "benchmarks/entropy_coders.py",
        "short_streams": {
            "count": streams,
            "symbols": "5-400 per stream, Gaussian tables, scale rows 0-39",
            **{
                name: {
                    "mean_bits_over_ideal": float(np.mean(v)),
                    "p5": float(np.percentile(v, 5)),
                    "p95": float(np.percentile(v, 95)),
                }
                for name, v in over.items()
            },
        },
        "large_stream": {"symbols": int(sym.size), "ideal_bytes": ideal / 8, **large},
        "threads": "numpy/constriction, single-threaded",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=300)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    r = run(args.streams)
    s = r["short_streams"]
    print(f"short streams ({s['count']}): bits over the ideal length, mean (5th-95th pct)")
    for name in ("rans", "range"):
        v = s[name]
        print(f"  {name:6s} {v['mean_bits_over_ideal']:6.1f} ({v['p5']:.1f} .. {v['p95']:.1f})")
    lg = r["large_stream"]
    print(f"large stream ({lg['symbols']} symbols, ideal {lg['ideal_bytes']:.0f} bytes)")
    for name in ("rans", "range"):
        v = lg[name]
        print(
            f"  {name:6s} {v['bytes']} bytes ({v['bits_over_ideal'] / 8:+.0f} over ideal), "
            f"encode {v['encode_s']:.3f} s, decode {v['decode_s']:.3f} s"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
