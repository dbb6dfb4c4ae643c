"""``python -m flavc_codec.train.validate --data CACHE.npy WEIGHTS...``: score weights
files (or training checkpoints) on a fixed validation cache (:func:`loop.validate`), so
that runs can be compared on training-distribution data without touching the eval clips.

Build a validation cache from the training sources with a seed of its own, e.g.
``python -m flavc_codec.train.data build --root ../shared/data/train --out
cache/val_T5_128.npy --T 5 --crop 128 --n 64 --seed 7``: other crops and frames of the
same videos and photos, never drawn for training (not footage the model has never seen).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _load(path: str, variant: str):
    import torch

    from ..models.flavc import FLAVC, load_weights
    from ..models.registry import get_variant

    p = Path(path)
    if p.suffix == ".safetensors":
        return load_weights(p)
    ck = torch.load(p, map_location="cpu", weights_only=True)
    model = FLAVC(get_variant(variant))
    model.load_state_dict(ck["model"])
    run_cfg = p.parent / "config.json"  # a run folder's checkpoint: that run's lambdas
    if run_cfg.exists():
        c = json.loads(run_cfg.read_text())
        if "lambda_min" in c and "lambda_max" in c:
            model.lambda_range = (float(c["lambda_min"]), float(c["lambda_max"]))
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flavc_codec.train.validate")
    ap.add_argument("weights", nargs="+", help=".safetensors weights or last.ckpt files")
    ap.add_argument("--data", required=True, help="validation cache (.npy)")
    ap.add_argument("--count", type=int, default=32, help="first N sequences")
    ap.add_argument("--variant", default="flavc", help="variant of checkpoint files")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", dest="json_path", default=None, help="also write the scores")
    a = ap.parse_args(argv)

    import torch

    from .loop import VAL_QUALITIES, validate

    if a.threads:
        torch.set_num_threads(a.threads)
    rows = []
    for w in a.weights:
        r = validate(_load(w, a.variant), a.data, count=a.count)
        r["weights"] = w
        rows.append(r)
    qs = " | ".join(f"PSNR q{q} | bpp q{q}" for q in VAL_QUALITIES)
    print(f"| weights | loss | I loss | P loss | bpp | PSNR-YUV | {qs} |")
    print("|---|" + "---:|" * (5 + 2 * len(VAL_QUALITIES)))
    for r in rows:
        per = " | ".join(
            f"{r['by_quality'][q]['psnr']:.3f} | {r['by_quality'][q]['bpp']:.4f}"
            for q in VAL_QUALITIES
        )
        p_loss = f"{r['inter']['loss']:.4f}" if "inter" in r else "-"
        print(
            f"| {r['weights']} | {r['loss']:.4f} | {r['intra']['loss']:.4f} | {p_loss} "
            f"| {r['bpp']:.4f} | {r['psnr']:.3f} | {per} |"
        )
    if a.json_path:
        Path(a.json_path).write_text(json.dumps({"data": a.data, "results": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
