#!/usr/bin/env python
"""Decoder memory over a long stream: resident set size of one decoding process sampled
after 10, 50, 100, ... frames of the same stream (generated content, flavc-light by
default). Flat numbers mean no per-frame growth. Writes results/decode_memory.{json,md}.

    python benchmarks/decode_memory.py [--size 1920x1080] [--frames 300] [--model flavc-light]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
sys.path.insert(0, HERE)

from speed import moving_pattern, write_y4m  # noqa: E402

from flavc_codec.bitstream import StreamReader  # noqa: E402
from flavc_codec.codec import Decoder, encode_file  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--model", default="flavc-light")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args(argv)
    w, h = (int(v) for v in a.size.split("x"))
    marks = sorted({m for m in (10, 50, 100, 150, 200, 250, 300, a.frames) if m <= a.frames})
    rows = []
    with tempfile.TemporaryDirectory(prefix="flavc_mem_") as wd:
        src, stream = os.path.join(wd, "src.y4m"), os.path.join(wd, "s.flv")
        write_y4m(src, moving_pattern(w, h, a.frames))
        encode_file(src, stream, model=a.model, device=a.device, progress=False)
        os.remove(src)
        base = rss_mib()
        with StreamReader(stream) as r:
            dec = Decoder(r.header, a.device)
            for i in range(len(r)):
                dec.decode(r.read_frame(i), i)
                if i + 1 in marks:
                    rows.append({"frames": i + 1, "rss_mib": round(rss_mib(), 1)})
                    print(rows[-1], file=sys.stderr, flush=True)
    rep = {
        "size": a.size,
        "model": a.model,
        "device": a.device,
        "rss_before_decoder_mib": round(base, 1),
        "samples": rows,
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "decode_memory.json"), "w") as f:
        json.dump(rep, f, indent=1)
    lines = [
        f"Decoder RSS (MiB) while decoding one {a.size} stream, {a.model}, {a.device}; "
        f"process RSS before the decoder: {base:.0f} MiB",
        "",
        "| frames decoded | RSS MiB |",
        "|---:|---:|",
    ]
    lines += [f"| {r['frames']} | {r['rss_mib']:.0f} |" for r in rows]
    md = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "decode_memory.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
