"""Stable model ids stored in the sequence header (torch-free).

Ids are permanent: never renumber or reuse an id; append new models with new ids.
``models/`` imports this mapping so the registry and the container agree.
"""

from __future__ import annotations

MODEL_IDS: dict[int, str] = {
    1: "flavc",
    2: "flavc-light",
    3: "no-dp",
    4: "cnn-encoder",
    5: "memc",
}

MODEL_NAMES: dict[str, int] = {v: k for k, v in MODEL_IDS.items()}


def model_name(model_id: int) -> str | None:
    """Name of a model id, or None if this flavc does not know it."""
    return MODEL_IDS.get(model_id)


def model_id(name: str) -> int:
    """Id of a model name; KeyError if unknown."""
    return MODEL_NAMES[name]
