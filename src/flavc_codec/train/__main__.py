"""``python -m flavc_codec.train CONFIG.json [--steps N] [--out DIR] ...`` (also torchrun)."""

from __future__ import annotations

import argparse

from .loop import TrainConfig, train


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m flavc_codec.train")
    p.add_argument("config")
    p.add_argument("--variant")
    p.add_argument("--steps", type=int)
    p.add_argument("--out")
    p.add_argument("--init")
    p.add_argument("--batch", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--device")
    p.add_argument("--data", nargs="+")
    a = p.parse_args(argv)
    cfg = TrainConfig.load(
        a.config,
        variant=a.variant,
        steps=a.steps,
        out=a.out,
        init=a.init,
        batch=a.batch,
        threads=a.threads,
        device=a.device,
        data=a.data,
    )
    print(train(cfg))


if __name__ == "__main__":
    main()
