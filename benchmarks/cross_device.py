"""Cross-machine exactness: encode on one device (a GPU), decode on another (this CPU), and
check that the decoder's output equals the encoder's own reconstruction, bit for bit.

Peer learned codecs fail this (a stream from one GPU decodes to noise on another): what
steers the entropy coder must be computed identically everywhere. Works without PyAV on
the encoding machine: the clip travels as a .npz of planes.

    # here: cut a clip (odd size on purpose) from any video PyAV reads
    python benchmarks/cross_device.py make CLIP.mp4 devdata/xclip.npz --size 417x239 --frames 12
    # on the GPU machine: encode, decode there too, time both (no PyAV needed there)
    python benchmarks/cross_device.py encode devdata/xclip.npz OUTDIR --device cuda
    # back here: decode OUTDIR/stream.flv on the CPU and compare
    python benchmarks/cross_device.py check OUTDIR [--json benchmarks/results/cross_device.json]

``check`` finds the weights by the stream's hash (package folder, then ``$FLAVC_WEIGHTS``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _info(w: int, h: int, n: int):
    """The reader's own source description (its bit depth needs no PyAV for yuv420p)."""
    from flavc_codec.io.reader import SourceInfo

    return SourceInfo(w, h, 25, 1, n, "yuv420p", 2, 2, 2, 0)


def make(src: str, dst: Path, size: str, frames: int) -> None:
    from flavc_codec.io.reader import read_frames

    w, h = (int(v) for v in size.split("x"))
    info, fr = read_frames(src, max_frames=frames)
    if info.width < w or info.height < h:
        raise SystemExit(f"{src} is {info.width}x{info.height}, smaller than {size}")
    ys = np.stack([f.y[:h, :w] for f in fr])
    # chroma of an odd-sized crop at the origin: the first ceil(n/2) samples
    us = np.stack([f.u[: (h + 1) // 2, : (w + 1) // 2] for f in fr])
    vs = np.stack([f.v[: (h + 1) // 2, : (w + 1) // 2] for f in fr])
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dst, y=ys, u=us, v=vs)
    print(f"{dst}: {len(ys)} frames {w}x{h}")


def _frames(npz: Path, tile: str | None = None):
    """The clip's frames; ``tile="WxH"`` wraps them to another size (speed runs)."""
    from flavc_codec.yuv import YUVFrame

    d = np.load(npz, allow_pickle=False)
    ys, us, vs = d["y"], d["u"], d["v"]
    if tile:
        w, h = (int(v) for v in tile.split("x"))
        c = (slice(None), slice(0, (h + 1) // 2), slice(0, (w + 1) // 2))
        ys = np.pad(
            ys, ((0, 0), (0, max(0, h - ys.shape[1])), (0, max(0, w - ys.shape[2]))), "wrap"
        )
        us = np.pad(us, ((0, 0), (0, h), (0, w)), "wrap")[c]
        vs = np.pad(vs, ((0, 0), (0, h), (0, w)), "wrap")[c]
        ys = ys[:, :h, :w]
    return [
        YUVFrame(np.ascontiguousarray(y), np.ascontiguousarray(u), np.ascontiguousarray(v))
        for y, u, v in zip(ys, us, vs)
    ]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _decode(stream: Path, out: Path, device: str, split: dict | None = None) -> list[float]:
    import torch

    from flavc_codec.bitstream import StreamReader
    from flavc_codec.codec import Decoder
    from flavc_codec.io.writer import open_writer

    times = []
    with StreamReader(stream) as r:
        h = r.header
        dec = Decoder(h, device)
        with open_writer(str(out), h.width, h.height, h.fps_num, h.fps_den, color=h) as w:
            for i in range(len(r)):
                t = time.perf_counter()
                f = dec.decode(r.read_frame(i), i)
                if dec.device.type == "cuda":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t)
                w.write(f)
    if split is not None:
        split.update(dec.timer.t)
    return times


def encode(
    npz: Path, outdir: Path, device: str, quality: int, model: str, ip: int, tile: str | None
) -> None:
    import torch

    from flavc_codec.bitstream import StreamWriter
    from flavc_codec.codec import Encoder
    from flavc_codec.io.writer import open_writer

    frames = _frames(npz, tile)
    w, h = frames[0].width, frames[0].height
    info = _info(w, h, len(frames))
    outdir.mkdir(parents=True, exist_ok=True)
    enc = Encoder(model, quality, ip, device)
    times = []
    with (
        StreamWriter(outdir / "stream.flv", enc.header(info)) as sw,
        open_writer(str(outdir / "enc_recon.y4m"), w, h, 25, 1, color=info) as rw,
    ):
        for f in frames:
            t = time.perf_counter()
            chunk, rec, _ = enc.encode(f)
            if enc.device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
            sw.write_frame(chunk)
            rw.write(rec)
    dev = enc.device
    dsplit: dict = {}
    dtimes = _decode(outdir / "stream.flv", outdir / f"dec_{dev.type}.y4m", str(dev), dsplit)
    same = _sha(outdir / "enc_recon.y4m") == _sha(outdir / f"dec_{dev.type}.y4m")
    meta = {
        "encoder_device": str(dev),
        "encoder_device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "platform": platform.platform(),
        "model": model,
        "weights_sha256_16": enc.hash,
        "quality": quality,
        "intra_period": ip,
        "size": f"{w}x{h}",
        "frames": len(frames),
        "stream_sha256": _sha(outdir / "stream.flv"),
        "enc_recon_sha256": _sha(outdir / "enc_recon.y4m"),
        "same_device_decode_equal": same,
        "encode_s_per_frame_median": float(np.median(times[1:] or times)),
        "decode_s_per_frame_median": float(np.median(dtimes[1:] or dtimes)),
        # seconds over all frames: rANS, the exact integer prior, the rest (networks)
        "encode_split_s": {k: round(v, 4) for k, v in enc.timer.t.items()},
        "decode_split_s": {k: round(v, 4) for k, v in dsplit.items()},
    }
    (outdir / "encode.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta, indent=1))
    if not same:
        raise SystemExit("decode on the encoding device differs from the encoder's recon")


def _samples(path: Path) -> list[np.ndarray]:
    """Each frame's Y, U and V samples as one int16 vector."""
    from flavc_codec.io.reader import read_frames

    _, frames = read_frames(str(path))
    return [
        np.concatenate([f.y.ravel(), f.u.ravel(), f.v.ravel()]).astype(np.int16) for f in frames
    ]


def check(outdir: Path, json_path: Path | None) -> None:
    """Verdicts: ``bit-exact``; ``entropy-exact`` (every frame decoded, samples off by at
    most 1: the float synthesis rounds differently on the two devices, the entropy-coded
    latents are identical, since one wrong symbol would garble a whole region); or a
    mismatch (exit 1)."""
    import torch

    meta = json.loads((outdir / "encode.json").read_text())
    if _sha(outdir / "stream.flv") != meta["stream_sha256"]:
        raise SystemExit("stream.flv changed in transit")
    out = Path("/tmp") / f"cross_device_{meta['stream_sha256'][:12]}.y4m"
    _decode(outdir / "stream.flv", out, "cpu")
    equal = _sha(out) == meta["enc_recon_sha256"]
    per_frame = []
    for a, b in zip(_samples(out), _samples(outdir / "enc_recon.y4m")):
        d = np.abs(a - b)
        mse = float((d.astype(np.float64) ** 2).mean())
        per_frame.append(
            {
                "max_abs_diff": int(d.max()),
                "samples_differing": round(float((d > 0).mean()), 5),
                "psnr_db": round(10 * np.log10(255**2 / mse), 2) if mse else None,
            }
        )
    worst = max(f["max_abs_diff"] for f in per_frame)
    verdict = "bit-exact" if equal else ("entropy-exact" if worst <= 1 else "MISMATCH")
    res = dict(meta)
    res.update(
        decoder_device="cpu",
        decoder_torch=torch.__version__,
        decoder_platform=platform.platform(),
        cross_device_decode_equal=equal,
        verdict=verdict,
        per_frame=per_frame,
    )
    print(json.dumps({k: v for k, v in res.items() if k != "per_frame"}, indent=1))
    for i, f in enumerate(per_frame):
        print(
            f"frame {i:3d}: max |diff| {f['max_abs_diff']}, "
            f"{100 * f['samples_differing']:.2f}% of samples differ, {f['psnr_db']} dB"
        )
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(res, indent=1) + "\n")
    dev = meta["encoder_device_name"]
    if verdict == "MISMATCH":
        raise SystemExit(f"MISMATCH: the CPU decode of a {dev} stream is off by up to {worst}")
    print(f"{verdict}: {dev} encode, CPU decode")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make")
    a.add_argument("src")
    a.add_argument("dst", type=Path)
    a.add_argument("--size", default="417x239")
    a.add_argument("--frames", type=int, default=12)
    b = sub.add_parser("encode")
    b.add_argument("clip", type=Path)
    b.add_argument("outdir", type=Path)
    b.add_argument("--device", default="auto")
    b.add_argument("--quality", type=int, default=40)
    b.add_argument("--model", default="flavc")
    b.add_argument("--intra-period", type=int, default=32)
    b.add_argument("--tile", default=None, help="WxH: wrap the clip to this size (speed)")
    c = sub.add_parser("check")
    c.add_argument("outdir", type=Path)
    c.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    if args.cmd == "make":
        make(args.src, args.dst, args.size, args.frames)
    elif args.cmd == "encode":
        encode(
            args.clip,
            args.outdir,
            args.device,
            args.quality,
            args.model,
            args.intra_period,
            args.tile,
        )
    else:
        check(args.outdir, args.json)


if __name__ == "__main__":
    main()
