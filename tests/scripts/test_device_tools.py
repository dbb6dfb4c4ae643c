"""The tools that move work to a lent GPU: WebP-packed caches (scripts/pack_cache.py) and
the cross-device exactness check (benchmarks/cross_device.py), run here on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    r = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _smooth(rng, shape) -> np.ndarray:
    """Photo-like content (WebP on white noise would be meaningless)."""
    n, t, _, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty(shape, np.uint8)
    for i in range(n):
        for j in range(t):
            for c in range(6):
                f = rng.uniform(0.05, 0.3, 2)
                out[i, j, c] = 128 + 90 * np.sin(f[0] * yy + f[1] * xx + j + c)
    return out


def test_pack_unpack_roundtrip_shards(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "c.npy"
    a = _smooth(rng, (5, 3, 6, 32, 32))
    np.save(src, a)
    src.with_suffix(".json").write_text('{"T": 3}')
    _run("scripts/pack_cache.py", "pack", str(src), str(tmp_path / "p1"), "--count", "3")
    _run("scripts/pack_cache.py", "pack", str(src), str(tmp_path / "p2"), "--start", "3")
    dst = tmp_path / "out.npy"
    _run("scripts/pack_cache.py", "unpack", str(tmp_path / "p1"), str(tmp_path / "p2"), str(dst))
    b = np.load(dst)
    assert b.shape == a.shape and b.dtype == np.uint8
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    assert 10 * np.log10(255**2 / mse) > 38  # lossy, but far above the trained range
    # per sequence too: shards land in order, frames are not swapped
    for i in range(len(a)):
        own = np.mean((a[i].astype(float) - b[i].astype(float)) ** 2)
        other = np.mean((a[i].astype(float) - b[(i + 1) % len(a)].astype(float)) ** 2)
        assert own < other / 10
    meta = json.loads(dst.with_suffix(".json").read_text())
    assert [p["shape"][0] for p in meta["packs"]] == [3, 2]
    assert meta["packs"][0]["cache_meta"] == {"T": 3}


def test_cross_device_encode_then_check_is_bit_exact_on_one_machine(tmp_path):
    rng = np.random.default_rng(1)
    n, h, w = 3, 17, 33  # odd sizes
    y = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
    u = rng.integers(0, 256, (n, (h + 1) // 2, (w + 1) // 2), dtype=np.uint8)
    v = rng.integers(0, 256, (n, (h + 1) // 2, (w + 1) // 2), dtype=np.uint8)
    clip = tmp_path / "clip.npz"
    np.savez(clip, y=y, u=u, v=v)
    out = tmp_path / "x"
    _run(
        "benchmarks/cross_device.py",
        "encode",
        str(clip),
        str(out),
        "--device",
        "cpu",
        "--model",
        "flavc-light",
    )
    res = tmp_path / "res.json"
    text = _run("benchmarks/cross_device.py", "check", str(out), "--json", str(res))
    r = json.loads(res.read_text())
    assert r["verdict"] == "bit-exact" and r["cross_device_decode_equal"]
    assert r["size"] == "33x17" and len(r["per_frame"]) == n
    assert "bit-exact" in text
    # a stream altered after encoding is caught, not decoded
    s = (out / "stream.flv").read_bytes()
    (out / "stream.flv").write_bytes(s[:-1] + bytes([s[-1] ^ 1]))
    r2 = subprocess.run(
        [sys.executable, "benchmarks/cross_device.py", "check", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r2.returncode != 0 and "changed in transit" in r2.stderr
