"""``flavc train``: resolve a stage config, prepare data (a folder of videos and images is
turned into a cached uint8 sequence file once), run the stage."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import FlavcError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
STAGES = ("intra", "inter", "joint")


def _prepare(data: list[str], frames: int, out: Path, cache_size: int) -> list[str]:
    """Folders of videos/images (not Vimeo-90K trees) become a cache file in the run folder."""
    from .data import build_cache, check_not_eval

    ready = []
    for d in data:
        p = check_not_eval(d)
        if not p.exists():
            raise FlavcError(f"training data not found: {p}")
        if p.suffix == ".npy" or (p / "sep_trainlist.txt").exists():
            ready.append(str(p))
            continue
        t = max(frames, 2)
        cache = out / f"cache_{p.name}_T{t}_128.npy"
        if not cache.exists():
            if _cache_builder():
                n_synth = cache_size // 4
                build_cache(p, cache, T=t, crop=128, n_video=cache_size - n_synth, n_synth=n_synth)
            else:
                _wait_for(cache)
        ready.append(str(cache))
    return ready


def _cache_builder() -> bool:
    """Under torchrun every rank prepares the data: one process per node (local rank 0)
    builds the cache, the others wait for it, instead of all writing the same file."""
    return int(os.environ.get("LOCAL_RANK", "0")) == 0


def _wait_for(path: Path, timeout_s: float = 6 * 3600, poll_s: float = 2.0) -> None:
    """The builder writes a ``.part`` file and renames it: once the name exists, it is
    complete. (torchrun stops the other ranks if the builder fails.)"""
    t0 = time.monotonic()
    while not path.exists():
        if time.monotonic() - t0 > timeout_s:
            raise FlavcError(f"gave up waiting for local rank 0 to build {path}")
        time.sleep(poll_s)


def run_train(
    config: str | None = None,
    stage: str | None = None,
    variant: str | None = None,
    data: list[str] | None = None,
    steps: int | None = None,
    batch: int | None = None,
    out: str | None = None,
    init: str | None = None,
    device: str | None = None,
    threads: int | None = None,
    seed: int | None = None,
    cache_size: int = 2000,
    time_limit: float | None = None,
) -> Path:
    from .loop import TrainConfig, train

    if config is None:
        config = str(CONFIG_DIR / f"{stage or 'intra'}.json")
    if not Path(config).is_file():
        raise FlavcError(f"config not found: {config}")
    cfg = TrainConfig.load(
        config,
        stage=stage,
        variant=variant,
        steps=steps,
        batch=batch,
        out=out,
        init=init,
        device=device,
        threads=threads,
        seed=seed,
        time_limit=time_limit,
    )
    if variant and out is None:
        cfg.out = str(Path(cfg.out).parent.parent / variant / cfg.stage)
    if variant and init is None and cfg.init:  # the shipped configs name the flavc runs
        p = Path(cfg.init)
        cfg.init = str(p.parent.parent.parent / variant / p.parent.name / f"{variant}{p.suffix}")
    if init is None and cfg.init and not Path(cfg.init).exists():
        raise FlavcError(
            f"stage '{cfg.stage}' starts from {cfg.init}, which does not exist "
            "(run the previous stage first, or pass --init)"
        )
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    if data:
        cfg.data = data
    cfg.data = _prepare(cfg.data, cfg.frames, Path(cfg.out), cache_size)
    return train(cfg)
