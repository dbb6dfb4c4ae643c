"""The decoder gives the same bytes whatever thread count it runs with, and the same bytes
as the encoder's own reconstruction: streams encoded here (P-frames included) are decoded
in fresh processes through the CLI with 1 and 2 threads (OMP_NUM_THREADS and --threads)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import helpers_model
import pytest

from flavc_codec.bitstream import StreamReader
from flavc_codec.codec import encode_file

model_weights = helpers_model.model_weights  # session fixture: random-init weights

# (width, height, frames, model): both models, odd and even sizes, I and P frames
CLIPS = [(96, 80, 4, "flavc"), (65, 257, 3, "flavc-light")]

# One process decodes every stream through the CLI (one torch start-up per process).
DRIVER = """
import sys
from flavc_codec.cli import main
threads = sys.argv[1]
for src, dst in zip(sys.argv[2::2], sys.argv[3::2]):
    args = ["decode", src, dst, "--quiet", "--device", "cpu"]
    if threads != "env":
        args += ["--threads", threads]
    main(args, standalone_mode=False)
import torch
print("threads", torch.get_num_threads())
"""


@pytest.fixture(scope="module")
def streams(tmp_path_factory, model_weights):
    d = tmp_path_factory.mktemp("determinism")
    out = []
    for w, h, n, model in CLIPS:
        src = helpers_model.write_clip(
            d / f"src_{w}x{h}.y4m", helpers_model.synthetic_frames(w, h, n, seed=w)
        )
        stream, recon = d / f"{model}_{w}x{h}.flv", d / f"{model}_{w}x{h}_recon.y4m"
        encode_file(
            str(src),
            str(stream),
            quality=40,
            intra_period=2,
            device="cpu",
            model=model,
            progress=False,
            weights=model_weights[model],
            recon=str(recon),
        )
        with StreamReader(stream) as r:
            assert [e.frame_type for e in r.index] == [i % 2 for i in range(n)]
        out.append((stream, recon))
    return d, out


def _start(streams, tag: str, threads: str, env_extra: dict, weights_dir: Path):
    """Start one decoding process; returns (process, output paths, expected threads)."""
    d, pairs = streams
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "FLAVC_WEIGHTS"):
        env.pop(k, None)
    env.update(env_extra)
    env["FLAVC_WEIGHTS"] = str(weights_dir)
    args, outs = [], []
    for stream, _ in pairs:
        o = d / f"{stream.stem}_{tag}.y4m"
        args += [str(stream), str(o)]
        outs.append(o)
    p = subprocess.Popen(
        [sys.executable, "-c", DRIVER, threads, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    want = threads if threads != "env" else env_extra["OMP_NUM_THREADS"]
    return p, outs, want


def _run_all(jobs: dict) -> dict:
    """Run the decoding processes side by side (independent processes: the thread counts
    are theirs alone); returns tag -> list of decoded bytes."""
    results = {}
    for tag, (p, outs, want) in jobs.items():
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
        assert p.returncode == 0, f"{tag}: {err[-3000:]}"
        assert f"threads {want}" in out, (tag, out)
        results[tag] = [o.read_bytes() for o in outs]
    return results


def _check(streams, results):
    _, pairs = streams
    for i, (_, recon) in enumerate(pairs):
        ref = recon.read_bytes()
        for tag, outs in results.items():
            assert outs[i] == ref, f"{pairs[i][0].name}: {tag} differs from the encoder recon"


def test_decode_thread_count_invariant(streams, model_weights):
    """Three fresh decoders: 1 thread from OMP_NUM_THREADS, 2 threads (OMP_NUM_THREADS=2 and
    --threads 2), and --threads 1 overriding OMP_NUM_THREADS=2. So both the environment
    (1 vs 2) and the flag (1 vs 2) are varied, in three process start-ups instead of four."""
    configs = {
        "OMP_NUM_THREADS=1": ("env", "1"),
        "OMP_NUM_THREADS=2 --threads 2": ("2", "2"),
        "OMP_NUM_THREADS=2 --threads 1": ("1", "2"),
    }
    jobs = {
        tag: _start(streams, f"j{i}", flag, {"OMP_NUM_THREADS": omp}, model_weights.folder)
        for i, (tag, (flag, omp)) in enumerate(configs.items())
    }
    _check(streams, _run_all(jobs))
