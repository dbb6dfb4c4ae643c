"""``python -m flavc_codec.train CONFIG.json [--steps N] [--out DIR] ...`` (also under
``torchrun --nproc-per-node N``). Same as ``flavc train``."""

from __future__ import annotations

import argparse

from .cli import run_train


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m flavc_codec.train")
    p.add_argument("config")
    p.add_argument("--variant")
    p.add_argument("--stage")
    p.add_argument("--steps", type=int)
    p.add_argument("--out")
    p.add_argument("--init")
    p.add_argument("--batch", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--device")
    p.add_argument("--data", nargs="+")
    p.add_argument("--cache-size", type=int, default=2000)
    p.add_argument("--time-limit", type=float, help="minutes; then checkpoint and stop")
    a = p.parse_args(argv)
    print(
        run_train(
            a.config,
            stage=a.stage,
            variant=a.variant,
            data=a.data,
            steps=a.steps,
            batch=a.batch,
            out=a.out,
            init=a.init,
            device=a.device,
            threads=a.threads,
            cache_size=a.cache_size,
            time_limit=a.time_limit,
        )
    )


if __name__ == "__main__":
    main()
