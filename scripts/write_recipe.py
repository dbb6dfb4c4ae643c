"""Write src/flavc_codec/weights/<variant>.json: the recipe of shipped weights, read from the
run folders (config, steps, time, last logged bpp/PSNR per stage) and the machine. A stage
whose run folder is not on this machine (runs/ is not in git) keeps the entry the previous
recipe recorded for it."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

STAGES = (
    "intra",
    "inter",
    "joint",
    "joint_long",
    "joint_gpu",
    "joint_long2",
    "joint_long3",
    "joint_long4",
    "intra_long",
    "joint_long5",
    "intra_long2",
    "joint_long6",
    # flavc-light's second cycle (intra from the shipped weights, then joint)
    "light_intra2",
    "light_long2",
    # 8-frame cascaded joint stages from the shipped weights
    "joint_long7",
    "light_long3",
    # a third intra-then-joint cycle; the intra stage adds a still-image cache
    "intra_long3",
    "joint_long8",
    # joint stage on a cache of the most textured crops of the training sources
    "joint_long9",
    # a fourth intra-then-joint cycle on the textured caches, then a short low-lr stage
    # that brought the smooth 5-frame P-frame loss back under the previous weights'
    "intra_long4",
    "joint_long11",
    "joint_long12",
    # flavc-light on the textured caches (with 8-frame sequences)
    "light_long4",
    # flavc-light again on those caches plus the fast-motion one, thirteen times (the third
    # to thirteenth with other seeds, so other batches)
    "light_long5",
    "light_long6",
    "light_long7",
    "light_long8",
    "light_long9",
    "light_long10",
    "light_long11",
    "light_long12",
    "light_long13",
    "light_long14",
    "light_long15",
    "light_long16",
    "light_long17",
    # flavc: two stages from joint_long12 that each traded one validation set for another
    # (intra_long5 -> joint_long13 -> joint_long14, and joint_long17), then the weighted
    # average of the three weights (configs/soup1.json), better than joint_long12 on every set
    "intra_long5",
    "joint_long13",
    "joint_long14",
    "joint_long17",
    "soup1",
    # flavc-light's third intra-then-joint cycle: 6000 intra-only steps on textured single
    # frames, then 1500 joint steps on fresh crops (the caches of light_long19)
    "light_intra3",
    "light_long20",
    # flavc-light's fourth cycle: the same intra stage (seed 21), the same joint stage
    # (light_long21, which raised the smooth 5-frame P-frame loss 0.1%), then a second joint
    # stage with the smooth 5-frame crops added (light_long22)
    "light_intra4",
    "light_long21",
    "light_long22",
    # light_long23 (a third joint stage, seed 23) is not listed: own curve +0.10%, 5/10 clips
    # flavc-light's fifth cycle: the fourth's three configs with seeds 24, 24, 25
    "light_intra5",
    "light_long24",
    "light_long25",
    # the sixth cycle: the same three configs, seeds 26, 26, 27, the intra stage 4500 steps
    "light_intra6",
    "light_long26",
    "light_long27",
    # the seventh cycle: the same three configs, seeds 28, 28, 29
    "light_intra7",
    "light_long28",
    "light_long29",
    # the eighth cycle: the same three configs, seeds 30, 30, 31
    "light_intra8",
    "light_long30",
    "light_long31",
    # the ninth cycle: the same three configs, seeds 32, 32, 33
    "light_intra9",
    "light_long32",
    "light_long33",
    # the tenth and eleventh cycles: the same three configs, seeds 34, 34, 35, then 36,
    # 36, 37; shipped together (the tenth alone moved the eval clips the wrong way)
    "light_intra10",
    "light_long34",
    "light_long35",
    "light_intra11",
    "light_long36",
    "light_long37",
    # the twelfth cycle: the same three configs, seeds 38, 38, 39
    "light_intra12",
    "light_long38",
    "light_long39",
    # the thirteenth cycle: the same three configs, seeds 40, 40, 41
    "light_intra13",
    "light_long40",
    "light_long41",
    # the fourteenth cycle: the same three configs, seeds 42, 42, 43
    "light_intra14",
    "light_long42",
    "light_long43",
    # the fifteenth cycle: the same three configs, seeds 44, 44, 45
    "light_intra15",
    "light_long44",
    "light_long45",
    # the sixteenth cycle: the same three configs, seeds 46, 46, 47
    "light_intra16",
    "light_long46",
    "light_long47",
    # the seventeenth cycle: the same three configs, seeds 48, 48, 49
    "light_intra17",
    "light_long48",
    "light_long49",
    # light_long19 (fresh crops, seed 19) is not listed: own curve -0.5% on 6/10 clips
    # joint_long18 and soup2 (the mean of soup1 and joint_long18's snapshots) are not
    # listed: soup2 lowered every validation loss but not the eval clips' (docs/STATUS.md)
    # light_long18 is not listed: its validation gains did not carry to the eval clips
    # (own curve -0.3%, 6/10; docs/STATUS.md)
    # joint_long19 and soup3 (soup1 and joint_long19's snapshots, fast-motion and textured
    # crops) are not listed: the smooth P-frame losses rose (docs/STATUS.md)
    # joint_long10 (configs/joint_long10.json) is not listed: it was not shipped (its
    # 32-frame validation P-frame loss rose; docs/STATUS.md)
)
_CONFIGS = "src/flavc_codec/train/configs"
_CPU_COMMAND = (
    f"flavc train {_CONFIGS}/{{}}.json --time-limit MINUTES (CPU, resumed with the same command)"
)


def stage_command(stage: dict) -> str | None:
    """How a stage that train_default.sh does not run was run: the GPU stage on a lent
    device, a weight average ("model soup", a stage whose record lists what it averaged)
    with train.average, every other later stage with its config on CPU."""
    st = stage["stage"]
    if st == "joint_gpu":
        return "scripts/device_train.sh on a lent GPU, see the stage's note and docs/TRAINING.md"
    if STAGES.index(st) < STAGES.index("joint_gpu"):
        return None
    if "average" in stage:
        return f"python -m flavc_codec.train.average --config {_CONFIGS}/{st}.json"
    return _CPU_COMMAND.format(st)


_BUILD = "python -m flavc_codec.train.data build --root ../shared/data/train"
# every cache a stage config reads, with the command that builds it
CACHES = tuple(
    f"{_BUILD} --out cache/train_{t}.npy --T {t[1]} --crop {t.split('_')[1]} --n {n}"
    for t, n in (("T3_128", 4000), ("T5_128", 1500), ("T3_256", 1500), ("T8_128", 1200))
) + (
    # single frames of the photos at random scale, rotation and occluders (intra_long3)
    f"{_BUILD} --out cache/train_I1_256_stills.npy --T 1 --crop 256 --n 1500 "
    "--synth-frac 1.0 --seed 3",
    # the 1500 most textured of 6000 5-frame crops (joint_long9)
    f"{_BUILD} --out cache/pool_T5_128_s21.npy --T 5 --crop 128 --n 6000 --seed 21",
    "python -m flavc_codec.train.data select --src cache/pool_T5_128_s21.npy "
    "--out cache/train_tex_T5_128.npy --top 1500",
    # 2000 of 8000 5-frame and 750 of 3000 3-frame 256 px crops (first read by joint_long10,
    # which was not shipped; only the caches a shipped stage reads go into the recipe)
    f"{_BUILD} --out cache/pool_T5_128_s22.npy --T 5 --crop 128 --n 8000 --seed 22",
    "python -m flavc_codec.train.data select --src cache/pool_T5_128_s22.npy "
    "--out cache/train_tex2_T5_128.npy --top 2000",
    f"{_BUILD} --out cache/pool_T3_256_s23.npy --T 3 --crop 256 --n 3000 --seed 23",
    "python -m flavc_codec.train.data select --src cache/pool_T3_256_s23.npy "
    "--out cache/train_tex_T3_256.npy --top 750",
    # the 1500 of the seed-22 pool with the most motion (light_long5 to light_long17)
    "python -m flavc_codec.train.data select --src cache/pool_T5_128_s22.npy "
    "--out cache/train_fast_T5_128.npy --top 1500 --by motion",
    # the 1250 most textured of 5000 8-frame crops (joint_long16, not shipped), and 1500
    # 16-frame crops (joint_long17, one of the three weights soup1 averages)
    f"{_BUILD} --out cache/pool_T8_128_s24.npy --T 8 --crop 128 --n 5000 --seed 24 --workers 1",
    "python -m flavc_codec.train.data select --src cache/pool_T8_128_s24.npy "
    "--out cache/train_tex_T8_128.npy --top 1250",
    f"{_BUILD} --out cache/train_T16_128.npy --T 16 --crop 128 --n 1500 --seed 25 --workers 1",
    # fresh crops of the four kinds light_long17 reads, from new seeds (light_long19,
    # light_intra3 with the photo stills, light_long20)
    f"{_BUILD} --out cache/train_T8_128_s28.npy --T 8 --crop 128 --n 1200 --seed 28",
    f"{_BUILD} --out cache/pool_T5_128_s26.npy --T 5 --crop 128 --n 8000 --seed 26",
    "python -m flavc_codec.train.data select --src cache/pool_T5_128_s26.npy "
    "--out cache/train_tex3_T5_128.npy --top 2000",
    "python -m flavc_codec.train.data select --src cache/pool_T5_128_s26.npy "
    "--out cache/train_fast3_T5_128.npy --top 1500 --by motion",
    f"{_BUILD} --out cache/pool_T3_256_s27.npy --T 3 --crop 256 --n 3000 --seed 27",
    "python -m flavc_codec.train.data select --src cache/pool_T3_256_s27.npy "
    "--out cache/train_tex2_T3_256.npy --top 750",
)


def recipe_caches(data: list[str]) -> list[str]:
    """The CACHES commands that build ``data`` (the caches the shipped stages read), with
    the pool each ``select`` reads from, in CACHES order. Caches only an unshipped stage
    reads stay out of the recipe."""
    by_out = {c.split("--out ")[1].split()[0]: c for c in CACHES}
    need, todo = set(), [d for d in data if d in by_out]
    while todo:
        c = by_out[todo.pop()]
        if c not in need:
            need.add(c)
            if " select " in c:
                todo.append(c.split("--src ")[1].split()[0])
    return [c for c in CACHES if c in need]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _seconds(log: list[dict]) -> float | None:
    """Training time of a log that may join several runs (each restarts its clock)."""
    if not log:
        return None
    total, prev = 0.0, 0.0
    for rec in log:
        if rec["time"] < prev:
            total += prev
        prev = rec["time"]
    return round(total + prev, 1)


def main(variant: str, runs: str = "runs") -> None:
    sys.path.insert(0, "src")
    from flavc_codec.models.flavc import weights_hash
    from flavc_codec.train.loop import TrainConfig

    out = Path("src/flavc_codec/weights")
    old = out / f"{variant}.json"
    recorded, old_cpu = {}, None
    if old.exists():
        prev = json.loads(old.read_text())
        recorded = {s["stage"]: s for s in prev.get("stages", [])}
        old_cpu = (prev.get("hardware") or {}).get("cpu")
    stages = []
    final = None
    for st in STAGES:
        d = Path(runs) / variant / st
        if not (d / "config.json").exists():
            if st in recorded:
                stages.append(recorded[st])
            continue
        cfg = json.loads((d / "config.json").read_text())
        w = d / f"{variant}.safetensors"
        if w.exists():
            final = w
        # what the config cannot say (a restart with another setting, ...)
        note = (d / "note.txt").read_text().strip() if (d / "note.txt").exists() else None
        if "average" in cfg:  # a weight average: its inputs, their hashes and weights
            wj = json.loads((d / "weights.json").read_text())
            stages.append(
                {
                    "stage": st,
                    "average": wj["recipe"]["average"],
                    "device": "cpu",
                    "cpu": cpu_name(),
                    "note": note,
                }
            )
            continue
        log = [json.loads(x) for x in (d / "log.jsonl").read_text().splitlines() if x.strip()]
        wj = d / "weights.json"
        run = json.loads(wj.read_text())["recipe"] if wj.exists() else {}
        stages.append(
            {
                "stage": st,
                "steps": log[-1]["step"] if log else cfg["steps"],
                "device": run.get("device"),
                "cpu": cpu_name(),  # the run folder is here, so this machine ran the stage
                "device_name": run.get("device_name"),
                "batch": cfg["batch"],
                "frames": cfg["frames"],
                "lr": cfg["lr"],
                "lr_drop": [
                    cfg.get("lr_drop_at", TrainConfig.lr_drop_at),
                    cfg.get("lr_drop", TrainConfig.lr_drop),
                ],
                "threads": cfg.get("threads") or None,
                "init": cfg.get("init"),
                # lr_drop_at and the 6:1:1 loss fix landed together: older configs lack it.
                "yuv_weighting": "6:1:1" if "lr_drop_at" in cfg else "4:1:1 (plain channel mean)",
                "data": cfg["data"],
                "texture_bias": cfg.get("texture_bias", 0.0),
                "lambda": [cfg["lambda_min"], cfg["lambda_max"]],
                "seconds_logged": _seconds(log),
                "last_log": log[-1] if log else None,
                "note": note,
            }
        )
    if final is None:
        raise SystemExit(f"no exported weights under {runs}/{variant}")
    out.mkdir(parents=True, exist_ok=True)
    dst = out / f"{variant}.safetensors"
    dst.write_bytes(final.read_bytes())
    recipe = {
        "variant": variant,
        "file": dst.name,
        "sha256_16": weights_hash(dst),
        "bytes": dst.stat().st_size,
        "stages": stages,
        "data": "../shared/data/train only (videos + synthetic motion over still images); "
        "never ../shared/data/eval",
        "hardware": {
            # each stage's CPU; stages recorded before stages named theirs ran on the CPUs
            # the previous recipe named (a joined list: split, or every rerun repeats it)
            "cpu": "; ".join(
                dict.fromkeys(
                    one for s in stages if (c := s.get("cpu", old_cpu)) for one in c.split("; ")
                )
            )
            or None,
            "cores": os.cpu_count(),
            "gpu": "; ".join(
                f"{s.get('device_name') or 'unrecorded CUDA device'} (stage {s['stage']})"
                for s in stages
                if str(s.get("device")).startswith("cuda")
            )
            or None,
            "note": "threads per CPU stage and the device of each stage are listed with the stages",
        },
        "loss": "R + lambda * weighted YUV MSE (see yuv_weighting per stage), lambda "
        "log-spaced over qualities 0..63",
        "caches": recipe_caches([d for s in stages for d in s.get("data") or []]),
        "commands": f"scripts/train_default.sh {variant} THREADS 1 LONG (threads and "
        "stages as listed; each stage resumed to its configured steps)"
        + "".join(f"; {s['stage']}: {how}" for s in stages if (how := stage_command(s))),
    }
    (out / f"{variant}.json").write_text(json.dumps(recipe, indent=1) + "\n")
    print(json.dumps({k: recipe[k] for k in ("variant", "sha256_16", "bytes")}))


if __name__ == "__main__":
    main(*sys.argv[1:])
