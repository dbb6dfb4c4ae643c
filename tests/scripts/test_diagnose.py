"""benchmarks/diagnose.py end to end on a generated odd-size clip: the rows it reports
are the codec's own (coded bytes, the encoder's reconstruction), and the unquantized
transform measurement is an independent PSNR of the intra transforms."""

from __future__ import annotations

import json

import pytest
from clips import synthetic_frames, write_clip
from scripthelp import run_script

pytest.importorskip("av")


def test_diagnose_reports_rates_psnrs_and_unquantized(tmp_path):
    clip = write_clip(tmp_path / "c.y4m", synthetic_frames(65, 33, n=4, seed=3))
    out = tmp_path / "diag"
    run_script(
        "benchmarks/diagnose.py", str(clip), "--model", "flavc-light",
        "--frames", "4", "--qualities", "0,63", "--threads", "1", "--out", str(out),
    )  # fmt: skip
    res = json.loads(out.with_suffix(".json").read_text())
    (c,) = res["clips"]
    assert c["size"] == [65, 33] and c["frames"] == 4
    lo, hi = c["qualities"]
    assert hi["intra_bpp"] > lo["intra_bpp"] and hi["gop_bpp"] > lo["gop_bpp"]
    assert hi["intra_psnr"] > lo["intra_psnr"]
    assert len(hi["per_frame"]) == 4 and hi["p1_3_psnr"] is not None
    assert hi["p16_psnr"] is None  # fewer than 17 frames
    assert 10 < c["unquantized_psnr"] < 100
    md = out.with_suffix(".md").read_text()
    assert "| unquant. |" in md and f"{c['unquantized_psnr']:.2f}" in md
