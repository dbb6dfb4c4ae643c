"""Shared pytest fixtures for flavc (torch-free).

* ``make_clip``: a factory writing small synthetic clips with PyAV into ``tmp_path`` at
  any size (odd sizes included), container and pixel format; returns the path. Use
  ``synthetic_frames`` to get the 8-bit frames the clip was made from.
* ``shared_data``: the project's real-footage folder (``../shared/data`` next to the
  repository, or ``$FLAVC_SHARED_DATA``); the test is skipped when it is absent.
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction
from pathlib import Path

import pytest

_SRC = Path(__file__).resolve().parents[1] / "src"
try:  # run from a checkout without an editable install
    import flavc_codec  # noqa: F401
except ImportError:
    sys.path.insert(0, str(_SRC))


REPO = Path(__file__).resolve().parents[1]


from clips import synthetic_frames, write_clip  # noqa: E402,F401


@pytest.fixture
def make_clip(tmp_path):
    """Factory: ``make_clip(width, height, n=3, ext=".y4m", pix_fmt="yuv420p", codec=None,
    fps=Fraction(25), seed=0) -> Path`` (frames = ``synthetic_frames(width, height, n, seed)``).
    """

    def _make(
        width: int = 64,
        height: int = 48,
        n: int = 3,
        ext: str = ".y4m",
        pix_fmt: str = "yuv420p",
        codec: str | None = None,
        fps: Fraction = Fraction(25),
        seed: int = 0,
    ) -> Path:
        name = f"clip_{width}x{height}_{pix_fmt}_{codec or 'default'}_{n}f{ext}"
        return write_clip(
            tmp_path / name, synthetic_frames(width, height, n, seed), pix_fmt, codec, fps
        )

    return _make


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the shared real-footage folder; skips the test when it is absent."""
    env = os.environ.get("FLAVC_SHARED_DATA")
    p = Path(env) if env else (REPO / ".." / "shared" / "data").resolve()
    if not p.is_dir():
        pytest.skip(f"shared data not available at {p}")
    return p
