"""Several processes through torchrun (DistributedDataParallel over gloo, on CPU): one
rank builds the data cache the others wait for, the ranks end with identical weights, and
rank 0 exports them; a rank that diverged is caught instead of exported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("av")
from clips import synthetic_frames, write_clip  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_torchrun_two_ranks_one_cache_same_weights(tmp_path):
    from PIL import Image

    root = tmp_path / "data"
    (root / "video").mkdir(parents=True)
    (root / "images").mkdir()
    write_clip(root / "video" / "a.mp4", synthetic_frames(160, 144, 8))
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (160, 176, 3), dtype=np.uint8)).save(
        root / "images" / "b.png"
    )
    cfg = {"variant": "flavc-light", "stage": "joint", "frames": 2, "batch": 2, "steps": 3,
           "log_every": 1, "ckpt_every": 1, "freeze_intra": False, "threads": 1}  # fmt: skip
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "flavc_codec.train", str(cfg_path), "--data", str(root), "--out", str(run),
         "--cache-size", "8"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    caches = sorted(p.name for p in run.iterdir() if p.name.startswith("cache_"))
    assert caches == ["cache_data_T2_128.json", "cache_data_T2_128.npy"]  # built once
    assert np.load(run / "cache_data_T2_128.npy", mmap_mode="r").shape[:2] == (8, 2)
    meta = json.loads((run / "weights.json").read_text())
    assert meta["recipe"]["world_size"] == 2 and meta["recipe"]["steps"] == 3
    steps = [json.loads(s)["step"] for s in (run / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]  # rank 0 logs, once per step
    from flavc_codec.models.flavc import load_weights, weights_hash

    w = run / "flavc-light.safetensors"
    assert meta["hash"] == weights_hash(w) and load_weights(w).cfg.name == "flavc-light"


def _diverge_worker(rank: int, init: str, perturb: bool, errors) -> None:
    import torch.distributed as dist

    from flavc_codec.train.loop import _check_ranks_agree

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        m = torch.nn.Linear(4, 3)
        if perturb and rank == 1:
            with torch.no_grad():
                m.bias[0] += 1e-6
        try:
            _check_ranks_agree(m, torch.device("cpu"))
            errors[rank] = ""
        except RuntimeError as exc:
            errors[rank] = str(exc)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("perturb", [False, True])
def test_rank_agreement_check(tmp_path, perturb):
    import torch.multiprocessing as mp

    with mp.Manager() as mgr:
        errors = mgr.dict()
        init = f"file://{tmp_path / 'pg'}"
        mp.spawn(_diverge_worker, args=(init, perturb, errors), nprocs=2, join=True)
        got = dict(errors)
    if perturb:
        assert all("1 tensors differ" in got[r] for r in (0, 1)), got
    else:
        assert got == {0: "", 1: ""}
