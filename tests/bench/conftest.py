import os
import sys

import pytest

_SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")
if os.path.isdir(_SRC) and os.path.abspath(_SRC) not in map(os.path.abspath, sys.path):
    sys.path.insert(0, os.path.abspath(_SRC))

from bench_helpers import make_clip, write_y4m  # noqa: E402


@pytest.fixture
def tiny_clip():
    return make_clip(64, 48, 5)


@pytest.fixture
def tiny_y4m(tmp_path):
    return write_y4m(os.path.join(tmp_path, "tiny.y4m"), make_clip(64, 48, 5))
