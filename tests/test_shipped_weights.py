"""The shipped weights (src/flavc_codec/weights/*.safetensors), when they exist: the demo
runs, and a real clip round-trips at a sane quality. Skipped while they are being trained."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from flavc_codec.models.flavc import default_weights_path

CLIP = "BQSquare_crop224x128_60_5f_orig.y4m"  # small raw 4:2:0 test material


def _shipped(variant: str):
    p = default_weights_path(variant)
    if not p.is_file():
        pytest.skip(f"shipped weights {p.name} not available yet")
    return p


@pytest.mark.parametrize("variant", ["flavc-light", "flavc"])
def test_demo_runs(variant, monkeypatch):
    _shipped(variant)
    monkeypatch.delenv("FLAVC_WEIGHTS", raising=False)
    from flavc_codec.cli import main

    r = CliRunner().invoke(main, ["demo", "--model", variant, "--size", "96x64",
                                  "--frames", "3", "--device", "cpu"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "flavc demo" in r.stdout and "PSNR-YUV" in r.stdout
    assert "identical to the encoder's reconstruction: True" in r.stdout


@pytest.mark.parametrize("variant", ["flavc-light", "flavc"])
def test_real_clip_roundtrip(variant, shared_data, tmp_path, monkeypatch):
    _shipped(variant)
    monkeypatch.delenv("FLAVC_WEIGHTS", raising=False)
    src = shared_data / "eval" / "video" / CLIP
    if not src.is_file():
        pytest.skip(f"{src} not available")
    from flavc_codec.codec import decode_file, encode_file
    from flavc_codec.io.reader import read_frames
    from flavc_codec.yuv import psnr_yuv

    stream, out = tmp_path / "s.flv", tmp_path / "d.y4m"
    st = encode_file(str(src), str(stream), quality=32, intra_period=2, frames=3,
                     device="cpu", model=variant, progress=False)  # fmt: skip
    decode_file(str(stream), str(out), device="cpu", progress=False)
    info_s, ref = read_frames(str(src), max_frames=3)
    info_d, dec = read_frames(str(out))
    assert len(dec) == len(ref) == st.frames == 3
    assert (info_d.width, info_d.height) == (info_s.width, info_s.height)
    p = np.mean([psnr_yuv(a, b) for a, b in zip(ref, dec, strict=True)], axis=0)
    assert p[3] > 20.0, f"PSNR-YUV {p[3]:.2f} dB at quality 32"
    assert st.psnr_yuv == pytest.approx(p[3], abs=1e-6)
