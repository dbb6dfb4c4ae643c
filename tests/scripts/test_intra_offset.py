"""benchmarks/intra_offset.py on generated odd-size clips: I-frames (or, with
``--key-period``, every N-th P-frame) are coded at the offset quality (clamped to 63),
the other frames at the base quality, offset 0 is the plain encoder, and each offset's
curve gets a BD-rate against offset 0's."""

from __future__ import annotations

import json

import pytest
from clips import synthetic_frames, write_clip
from scripthelp import run_script

pytest.importorskip("av")


def _run(tmp_path, w: int, h: int, n: int, *args: str) -> dict:
    """Run the script on an n-frame w x h clip with the light model, guard off; its JSON."""
    clip = write_clip(tmp_path / "c.y4m", synthetic_frames(w, h, n=n, seed=w + h))
    out = tmp_path / "off.json"
    run_script(
        "benchmarks/intra_offset.py", str(clip), "--model", "flavc-light",
        "--frames", str(n), "--drift-guard", "0", "--threads", "1", "--out", str(out), *args,
    )  # fmt: skip
    return json.loads(out.read_text())


def test_intra_offset_codes_i_frames_at_the_offset(tmp_path):
    res = _run(
        tmp_path, 65, 33, 4, "--offsets", "6", "--qualities", "0,20,40,60", "--intra-period", "2"
    )
    assert res["offsets"] == [0, 6]  # offset 0 is always the reference
    (c,) = res["clips"].values()
    base, off = c["curves"]["0"], c["curves"]["6"]
    assert [p["i_qualities"] for p in base] == [[0], [20], [40], [60]]
    assert [p["i_qualities"] for p in off] == [[6], [26], [46], [63]]
    # a better I-frame at every quality costs bits; the BD-rate is a finite number
    assert all(o["bpp"] > b["bpp"] for o, b in zip(off, base))
    assert isinstance(c["bd_rate_vs_0"]["6"], float)


def test_key_period_boosts_every_nth_p_frame_only(tmp_path):
    res = _run(
        tmp_path, 33, 17, 5, "--offsets", "5", "--qualities", "10,30,50,60",
        "--intra-period", "32", "--key-period", "2",
    )  # fmt: skip
    assert res["key_period"] == 2
    (c,) = res["clips"].values()
    base, off = c["curves"]["0"], c["curves"]["5"]
    # I-frames stay at the base quality; GOP positions 2 and 4 are boosted, 1 and 3 not
    assert [p["i_qualities"] for p in off] == [[10], [30], [50], [60]]
    assert [p["p_qualities"] for p in base] == [[10], [30], [50], [60]]
    assert [p["p_qualities"] for p in off] == [[10, 15], [30, 35], [50, 55], [60, 63]]
    # every point is coded differently; at 33x17 two boosted P-frames can round to the
    # same whole 32-bit rANS words (same bytes, another picture), so only the curve as a
    # whole must cost more bits
    assert all((o["bpp"], o["psnr_yuv"]) != (b["bpp"], b["psnr_yuv"]) for o, b in zip(off, base))
    assert sum(o["bpp"] for o in off) > sum(b["bpp"] for b in base)
