"""benchmarks/compare_runs.py: flavc's own curves in two eval results, clip by clip."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    path = ROOT / "benchmarks" / "compare_runs.py"
    spec = importlib.util.spec_from_file_location("flavc_compare_runs", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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
