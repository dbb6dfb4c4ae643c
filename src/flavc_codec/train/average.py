"""``python -m flavc_codec.train.average --out SOUP.safetensors A.safetensors B.safetensors``
(or ``--config configs/soup1.json`` for a recorded stage):
average the parameters of weights of one variant fine-tuned from a common ancestor (a
"model soup"), then rebuild the integer tables from the averaged floats.

Why: CPU stages on batches of 8 end on a noisy point, and two stages from the same
weights often trade one validation set against another (see docs/STATUS.md). Their
average sits between them in the same basin and can be better than either on every set;
``validate`` decides, as for any stage. Integer tables are never averaged: they are
rebuilt from the averaged parameters, exactly as at the end of a training stage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def average_weights(paths: list[str | Path], mix: list[float] | None = None):
    """The model whose floating-point tensors are the ``mix``-weighted mean of those of
    ``paths`` (equal weights by default), with freshly built integer tables. Every file
    must be of the same variant and be trained with the same lambdas."""
    import torch

    from ..errors import FlavcError
    from ..models.flavc import load_weights

    if len(paths) < 2:
        raise FlavcError("averaging needs at least two weights files")
    mix = [1.0] * len(paths) if mix is None else [float(m) for m in mix]
    if len(mix) != len(paths) or any(m < 0 for m in mix) or sum(mix) <= 0:
        raise FlavcError("--mix needs one non-negative weight per file, not all zero")
    total = sum(mix)
    mix = [m / total for m in mix]
    models = [load_weights(p) for p in paths]
    base = models[0]
    for p, m in zip(paths[1:], models[1:], strict=True):
        if m.cfg.name != base.cfg.name:
            raise FlavcError(f"{p}: variant {m.cfg.name}, not {base.cfg.name}")
        if tuple(m.lambda_range) != tuple(base.lambda_range):
            raise FlavcError(f"{p}: trained with lambdas {m.lambda_range}, not {base.lambda_range}")
    sds = [m.state_dict() for m in models]
    out = {}
    with torch.no_grad():
        for k, v in sds[0].items():
            if v.is_floating_point():
                acc = torch.zeros_like(v, dtype=torch.float64)
                for w, sd in zip(mix, sds, strict=True):
                    acc += w * sd[k].double()
                out[k] = acc.to(v.dtype)
            else:
                out[k] = v  # integer tables: rebuilt below
    base.load_state_dict(out)
    base.update_tables()
    return base.eval(), mix


def run_config(path: str | Path) -> Path:
    """An averaging stage from a config file (``{"variant", "average": [weights...],
    "mix": [...], "out": run folder}``): writes ``<out>/<variant>.safetensors``, the
    config and ``weights.json`` as a training stage does, so ``scripts/write_recipe.py``
    records it with the stages. Returns the weights path."""
    from ..errors import FlavcError
    from ..models.flavc import save_weights

    cfg = json.loads(Path(path).read_text())
    bad = set(cfg) - {"variant", "stage", "average", "mix", "out"}
    if bad or not isinstance(cfg.get("average"), list) or "out" not in cfg:
        raise FlavcError(
            f"{path}: an averaging config needs 'average' and 'out' (unknown keys: {sorted(bad)})"
        )
    out = Path(cfg["out"])
    out.mkdir(parents=True, exist_ok=True)
    model, mix = average_weights(cfg["average"], cfg.get("mix"))
    if model.cfg.name != cfg.get("variant", model.cfg.name):
        raise FlavcError(f"{path}: the weights are {model.cfg.name}, not {cfg['variant']}")
    lo, hi = model.lambda_range
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    wpath = out / f"{model.cfg.name}.safetensors"
    recipe = _recipe(cfg["average"], mix, {**cfg, "lambda_min": lo, "lambda_max": hi})
    h = save_weights(model, wpath, recipe)
    (out / "weights.json").write_text(
        json.dumps({"file": wpath.name, "hash": h, "recipe": recipe}, indent=1)
    )
    return wpath


def _recipe(paths: list, mix: list[float], config: dict) -> dict:
    from ..models.flavc import weights_hash

    return {
        "config": config,
        "average": [
            {"file": Path(p).as_posix(), "hash": weights_hash(p), "mix": round(m, 6)}
            for p, m in zip(paths, mix, strict=True)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flavc_codec.train.average")
    ap.add_argument("weights", nargs="*", help=".safetensors weights of one variant")
    ap.add_argument("--config", default=None, help="an averaging stage's config (.json)")
    ap.add_argument("--out", default=None, help="the averaged weights (.safetensors)")
    ap.add_argument("--mix", default=None, help="comma-separated weights, e.g. 2,1,1")
    a = ap.parse_args(argv)

    from ..errors import FlavcError
    from ..models.flavc import save_weights, weights_info

    try:
        if a.config:
            if a.weights or a.out or a.mix:
                raise FlavcError("--config takes no weights, --out or --mix")
            w = run_config(a.config)
            done = json.loads((w.parent / "weights.json").read_text())
            avg = done["recipe"]["average"]
            print(json.dumps({"out": str(w), "hash": done["hash"], "average": avg}))
            return 0
        if not a.out:
            raise FlavcError("--out is required (or --config)")
        mix = [float(x) for x in a.mix.split(",")] if a.mix else None
        model, mix = average_weights(a.weights, mix)
        # the first file's config (it gives the lambdas) plus what was averaged
        first = (weights_info(a.weights[0]).get("recipe") or {}).get("config") or {}
        recipe = _recipe(a.weights, mix, first)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        h = save_weights(model, Path(a.out), recipe)
    except (FlavcError, ValueError, OSError) as exc:
        print(f"error: {exc}")
        return 1
    print(json.dumps({"out": a.out, "hash": h, "average": recipe["average"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
