"""scripts/write_recipe.py: a new stage's run folder is read, and stages whose run folders
are gone (runs/ is not in git) keep the entries the previous recipe recorded."""

from __future__ import annotations

import json

import helpers_model
from scripthelp import REPO, load_script

SCRIPT = REPO / "scripts" / "write_recipe.py"


def _load():
    return load_script("scripts/write_recipe.py", "write_recipe")


def test_new_stage_is_appended_to_the_recorded_ones(tmp_path, monkeypatch):
    run = tmp_path / "runs" / "flavc" / "joint_long4"
    run.mkdir(parents=True)
    w, h = helpers_model.build_weights(run, "flavc")
    cfg = {"batch": 8, "frames": 5, "lr": 4e-5, "lr_drop_at": 0.75, "lr_drop": 0.125,
           "steps": 300, "threads": 2, "init": "x.safetensors", "data": ["cache/a.npy"],
           "texture_bias": 1.0, "lambda_min": 50.0, "lambda_max": 3200.0}  # fmt: skip
    (run / "config.json").write_text(json.dumps(cfg))
    log = [{"loss": 1.0, "bpp": 0.2, "psnr": 30.0, "step": s, "time": s / 2} for s in (100, 200)]
    log.append({"loss": 0.9, "bpp": 0.2, "psnr": 31.0, "step": 300, "time": 10.0})  # a resume
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    (run / "note.txt").write_text("resumed once\n")
    out = tmp_path / "src" / "flavc_codec" / "weights"
    out.mkdir(parents=True)
    old = [
        {"stage": "intra", "steps": 3000, "device": "cpu", "device_name": None},
        {"stage": "joint_gpu", "steps": 5715, "device": "cuda:0", "device_name": "H100"},
    ]
    (out / "flavc.json").write_text(json.dumps({"stages": old, "hardware": {"cpu": "Old CPU"}}))

    monkeypatch.chdir(tmp_path)
    _load().main("flavc", str(tmp_path / "runs"))

    rec = json.loads((out / "flavc.json").read_text())
    assert [s["stage"] for s in rec["stages"]] == ["intra", "joint_gpu", "joint_long4"]
    assert rec["stages"][:2] == old
    new = rec["stages"][2]
    assert new["steps"] == 300 and new["texture_bias"] == 1.0 and new["note"] == "resumed once"
    assert new["seconds_logged"] == 110.0  # 100 s, then a restarted clock at 10 s
    assert new["lr_drop"] == [0.75, 0.125]
    assert rec["sha256_16"] == h and (out / "flavc.safetensors").read_bytes() == w.read_bytes()
    assert "joint_long4.json" in rec["commands"]
    assert rec["hardware"]["gpu"] == "H100 (stage joint_gpu)"
    # recorded stages keep the CPU the previous recipe named; the new one is this machine's
    mod = _load()
    assert new["cpu"] == mod.cpu_name()
    assert rec["hardware"]["cpu"] == "; ".join(dict.fromkeys(["Old CPU", mod.cpu_name()]))
    # a rerun on the same run folders writes the same CPU list (it used to grow each time)
    mod.main("flavc", str(tmp_path / "runs"))
    again = json.loads((out / "flavc.json").read_text())
    assert again["hardware"]["cpu"] == rec["hardware"]["cpu"]


def test_every_training_cache_a_config_reads_has_its_build_command():
    """The recipe's ``caches`` must rebuild what every shipped stage config trains on (the
    caches are not in git), including caches made by ``data select``."""
    mod = _load()
    built = {c.split("--out ")[1].split()[0] for c in mod.CACHES}
    configs = SCRIPT.parents[1] / "src" / "flavc_codec" / "train" / "configs"
    for f in sorted(configs.glob("*.json")):
        for src in json.loads(f.read_text()).get("data") or []:
            if src.startswith("cache/train_"):
                assert src in built, f"{f.name}: no build command for {src}"


def test_recipe_lists_only_the_caches_shipped_stages_read():
    """An unshipped stage's caches stay out; a selected cache brings its pool's build."""
    mod = _load()
    got = mod.recipe_caches(["cache/train_T3_128.npy", "cache/train_tex_T5_128.npy"])
    outs = [c.split("--out ")[1].split()[0] for c in got]
    assert outs == [
        "cache/train_T3_128.npy",
        "cache/pool_T5_128_s21.npy",
        "cache/train_tex_T5_128.npy",
    ]
    assert not any("pool_T5_128_s22" in c for c in got)
    assert mod.recipe_caches([]) == []


def test_an_averaging_stage_is_recorded_with_its_inputs(tmp_path, monkeypatch):
    """A weight average (``train.average --config``) is a stage of the recipe: its inputs
    with their hashes and weights, its command, and its weights become the shipped file."""
    from flavc_codec.train.average import run_config

    runs = tmp_path / "runs" / "flavc"
    inputs = {}
    for st, seed in (("joint_long14", 1), ("joint_long17", 2)):
        inputs[st] = helpers_model.build_weights(runs / st, "flavc", seed=seed)
    cfg = {"variant": "flavc", "stage": "average", "mix": [3, 1], "out": str(runs / "soup1"),
           "average": [str(p) for p, _ in inputs.values()]}  # fmt: skip
    (tmp_path / "soup1.json").write_text(json.dumps(cfg))
    w = run_config(tmp_path / "soup1.json")
    out = tmp_path / "src" / "flavc_codec" / "weights"
    out.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    _load().main("flavc", str(tmp_path / "runs"))

    rec = json.loads((out / "flavc.json").read_text())
    soup = rec["stages"][-1]
    assert soup["stage"] == "soup1"
    assert [(a["hash"], a["mix"]) for a in soup["average"]] == [
        (h, m) for (_, h), m in zip(inputs.values(), (0.75, 0.25), strict=True)
    ]
    assert (out / "flavc.safetensors").read_bytes() == w.read_bytes()
    assert "train.average --config src/flavc_codec/train/configs/soup1.json" in rec["commands"]
