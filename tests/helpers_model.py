"""Small random-init weights for tests (the shipped weights may not exist yet).

Import the fixtures into a test module (``from helpers_model import model_weights  # noqa: F401``)
or call :func:`build_weights` directly. Weights are built once per session, seeded, for
``flavc-light`` (fast) and ``flavc``; they are ordinary weights files: ``weights=`` for the
Python API, ``--weights`` for the CLI, or their folder in ``FLAVC_WEIGHTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from clips import synthetic_frames, write_clip  # noqa: E402,F401

VARIANTS = ("flavc-light", "flavc")


@dataclass(frozen=True)
class ModelWeights:
    folder: Path  # every variant's file lives here: usable as FLAVC_WEIGHTS
    files: dict  # variant name -> Path
    hashes: dict  # variant name -> weights hash (hex, 32 chars)

    def __getitem__(self, variant: str) -> Path:
        return self.files[variant]


def build_weights(folder: Path, variant: str, seed: int = 0) -> tuple[Path, str]:
    """Random-init model -> tables -> weights file ``folder/<variant>.safetensors``."""
    import torch

    from flavc_codec.models.flavc import FLAVC, save_weights
    from flavc_codec.models.registry import get_variant

    folder.mkdir(parents=True, exist_ok=True)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = FLAVC(get_variant(variant)).eval()
        model.update_tables()
    finally:
        torch.random.set_rng_state(state)
    path = folder / f"{variant}.safetensors"
    return path, save_weights(model, path)


@pytest.fixture(scope="session")
def model_weights(tmp_path_factory) -> ModelWeights:
    """Weights files for ``flavc-light`` and ``flavc`` in one session-wide temp folder."""
    folder = tmp_path_factory.mktemp("weights")
    files, hashes = {}, {}
    for v in VARIANTS:
        files[v], hashes[v] = build_weights(folder, v)
    return ModelWeights(folder, files, hashes)


@pytest.fixture(scope="session")
def light_weights(model_weights) -> Path:
    return model_weights["flavc-light"]
