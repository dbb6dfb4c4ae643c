"""Loss / bpp / PSNR curves of a training log (log.jsonl) as a PNG."""

from __future__ import annotations

import json
from pathlib import Path


def plot_log(log_path: str | Path, png_path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line.strip()]
    if not recs:
        return
    steps = [r["step"] for r in recs]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    for ax, key, label in zip(
        axes, ("loss", "bpp", "psnr"), ("loss (R + lambda D)", "bpp", "PSNR-YUV (dB)")
    ):
        ax.plot(steps, [r[key] for r in recs])
        ax.set_xlabel("step")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
