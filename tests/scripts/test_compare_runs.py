"""benchmarks/compare_runs.py: flavc's own curves in two eval results, clip by clip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripthelp import load_script


def _module():
    return load_script("benchmarks/compare_runs.py", "flavc_compare_runs")


def _result(path: Path, curves: dict[str, list[tuple[float, float]]]) -> str:
    inputs = [
        {"name": n, "flavc": [{"bpp": b, "psnr_yuv": p} for b, p in pts]}
        for n, pts in curves.items()
    ]
    path.write_text(json.dumps({"video": {"inputs": inputs}}))
    return str(path)


def test_new_curve_at_the_same_psnr_for_fewer_bits_is_negative(tmp_path):
    old_pts = [(0.10, 28.0), (0.15, 29.5), (0.21, 30.8), (0.28, 31.8)]
    cheaper = [(b * 0.8, p) for b, p in old_pts]  # 20% fewer bits at every quality
    dearer = [(b * 1.25, p) for b, p in old_pts]
    old = _result(tmp_path / "old.json", {"a": old_pts, "b": old_pts, "only_old": old_pts})
    new = _result(tmp_path / "new.json", {"a": cheaper, "b": dearer})
    rows = {r["input"]: r for r in _module().compare(old, new)}
    assert set(rows) == {"a", "b"}  # a clip in one result only is left out
    assert rows["a"]["bd_rate"] == pytest.approx(-20.0, abs=0.5)
    assert rows["b"]["bd_rate"] == pytest.approx(25.0, abs=0.5)
    assert rows["a"]["bd_psnr"] > 0 > rows["b"]["bd_psnr"]
    assert rows["a"]["top_psnr_new"] == pytest.approx(31.8)


def test_bytes_over_the_ideal_size_per_frame(tmp_path):
    """With ``bytes``, ``frames`` and ``estimated_bits`` recorded, each row gives the bytes
    per frame spent over the entropy model's ideal size, averaged over the curve."""
    pts = [(0.10, 28.0), (0.15, 29.5), (0.21, 30.8)]

    def write(path, excess):
        flavc = [
            {"bpp": b, "psnr_yuv": p, "bytes": 1000 * (i + 1) + 10 * excess, "frames": 10}
            | {"estimated_bits": 8000 * (i + 1)}
            for i, (b, p) in enumerate(pts)
        ]
        path.write_text(json.dumps({"video": {"inputs": [{"name": "a", "flavc": flavc}]}}))
        return str(path)

    (row,) = _module().compare(write(tmp_path / "o.json", 9.0), write(tmp_path / "n.json", 2.5))
    assert row["excess_bytes_per_frame_old"] == pytest.approx(9.0)
    assert row["excess_bytes_per_frame_new"] == pytest.approx(2.5)
    old = _result(tmp_path / "plain.json", {"a": pts})  # no sizes recorded: None
    (row,) = _module().compare(old, old)
    assert row["excess_bytes_per_frame_old"] is None


def test_missing_or_foreign_result_is_one_error_line(tmp_path):
    ok = _result(tmp_path / "ok.json", {"a": [(0.1, 28.0), (0.2, 30.0)]})
    (tmp_path / "other.json").write_text(json.dumps({"images": []}))
    (tmp_path / "text.json").write_text("not json")
    for bad in ("missing.json", "other.json", "text.json"):
        with pytest.raises(SystemExit) as e:
            _module().compare(ok, str(tmp_path / bad))
        msg = str(e.value.code)
        assert msg.startswith("error: ") and bad in msg and "\n" not in msg
