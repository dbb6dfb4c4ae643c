"""Loss / bpp / PSNR curves of a training log (log.jsonl) as a PNG, with the validation
scores (val.jsonl) on the same axes when there are any."""

from __future__ import annotations

import json
from pathlib import Path


def _read(path: str | Path | None) -> list[dict]:
    if path is None:
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_log(
    log_path: str | Path, png_path: str | Path, val_path: str | Path | None = None
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs, val = _read(log_path), _read(val_path)
    if not recs:
        return
    steps = [r["step"] for r in recs]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    for ax, key, label in zip(
        axes, ("loss", "bpp", "psnr"), ("loss (R + lambda D)", "bpp", "PSNR-YUV (dB)")
    ):
        ax.plot(steps, [r[key] for r in recs], label="training batches")
        if val:
            ax.plot([r["step"] for r in val], [r[key] for r in val], "o-", label="validation")
            ax.legend(fontsize=8)
        ax.set_xlabel("step")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
