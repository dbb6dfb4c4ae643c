"""Training loop: stages (intra, inter, joint), variable-rate R + lambda*D, resumable
checkpoints, CPU / one GPU (bf16 autocast) / many GPUs (torchrun + DDP), logs and plots,
export to the package's weights format.

Run: ``flavc train CONFIG.json [--steps N] [--out DIR]`` or
``torchrun --nproc-per-node 8 -m flavc_codec.train CONFIG.json``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, WeightedRandomSampler

from ..models.codecs import NUM_QUALITIES, YUV611, quality_lambda
from ..models.flavc import FLAVC, load_weights, save_weights, weights_hash
from ..models.registry import get_variant


@dataclass
class TrainConfig:
    variant: str = "flavc"
    stage: str = "intra"  # intra | inter | joint
    data: list[str] = field(default_factory=lambda: ["cache/train_T3_128.npy"])
    frames: int = 1  # frames per training sequence (1 for intra)
    batch: int = 8
    lr: float = 1e-4
    steps: int = 1000
    lr_drop_at: float = 1.0  # fraction of `steps` after which the lr is multiplied by lr_drop
    lr_drop: float = 0.1
    lambda_min: float = 50.0  # lambda of quality 0 (distortion: 6:1:1 weighted MSE on [0,1])
    lambda_max: float = 1600.0  # lambda of quality 63
    distortion: str = "mse"  # mse | ms-ssim (luma)
    init: str | None = None  # weights (.safetensors) or checkpoint to start from
    out: str = "runs/flavc-intra"
    ckpt_every: int = 100
    log_every: int = 10
    threads: int = 0  # 0: torch default
    device: str = "auto"
    amp: bool = False  # bf16 autocast on CUDA: opt-in, unvalidated (the GPU run used fp32+TF32)
    seed: int = 0
    workers: int = 0
    freeze_intra: bool = True  # inter stage: intra codec frozen
    # > 0: draw cached sequences with probability ~ texture_score ** texture_bias
    # (see data.texture_weights) instead of uniformly; 0 keeps plain shuffling
    texture_bias: float = 0.0
    time_limit: float = 0.0  # minutes; > 0: checkpoint and stop (resumable) once exceeded
    # a cache set aside for validation (never drawn for training): every `val_every` steps
    # its first `val_count` sequences are scored at fixed qualities into val.jsonl
    val: str | None = None
    val_every: int = 0
    val_count: int = 32
    # > 0: every `keep_every` steps also export the weights as snapshots/step<N>.safetensors
    # (fp16, tables built), so points along the run can be validated and averaged
    # (train.average) instead of judging only the last weights
    keep_every: int = 0
    # weight of the I-frame's loss against one P-frame's in a joint sequence (1: the plain
    # mean over frames). The training sequences have 5-8 frames, so an I-frame gets a fifth
    # to an eighth of the loss, while short clips and still images are mostly I-frames.
    # Validation always scores the plain mean, so runs stay comparable.
    intra_weight: float = 1.0
    # hierarchical quality in low delay (as DCVC-DC): with key_period N > 0, the P-frames
    # at sequence positions N, 2N, ... are coded at quality q + key_offset (clamped to 63)
    # with that quality's lambda, so the frames after them learn to live off a better
    # reference. Validation scores every frame at q, so runs stay comparable.
    key_period: int = 0
    key_offset: int = 0

    def __post_init__(self) -> None:
        # here, not in load(): configs built in Python (and dataclasses.replace) are checked too
        if not self.intra_weight > 0:
            raise ValueError(f"intra_weight must be > 0, got {self.intra_weight}")
        if self.key_period < 0:
            raise ValueError(f"key_period must be >= 0, got {self.key_period}")
        if not -(NUM_QUALITIES - 1) <= self.key_offset <= NUM_QUALITIES - 1:
            raise ValueError(
                f"key_offset must be -{NUM_QUALITIES - 1}..{NUM_QUALITIES - 1}, "
                f"got {self.key_offset}"
            )

    @classmethod
    def load(cls, path: str | Path, **overrides) -> TrainConfig:
        d = json.loads(Path(path).read_text())
        d.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        bad = set(d) - known
        if bad:
            raise ValueError(f"unknown config keys: {sorted(bad)}")
        return cls(**d)


def lambda_of(q: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    return quality_lambda(q, cfg.lambda_min, cfg.lambda_max)


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Step schedule: constant, then one drop for the last part of the run."""
    return cfg.lr * (cfg.lr_drop if step >= cfg.lr_drop_at * cfg.steps else 1.0)


def distortion(x_hat: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample distortion: 6:1:1 weighted YUV MSE, or 1 - MS-SSIM of luma."""
    if kind == "mse":
        return ((x_hat - x).pow(2).mean((2, 3)) * x.new_tensor(YUV611)).sum(1)
    if kind == "ms-ssim":
        from pytorch_msssim import ms_ssim

        y = torch.nn.functional.pixel_shuffle(x[:, :4], 2)
        yh = torch.nn.functional.pixel_shuffle(x_hat[:, :4].clamp(0, 1), 2)
        return 1 - ms_ssim(yh, y, data_range=1.0, size_average=False, win_size=7)
    raise ValueError(kind)


def sequence_loss(
    model: FLAVC,
    seq: torch.Tensor,
    q: torch.Tensor,
    cfg: TrainConfig,
    frames: list | None = None,
):
    """Cascaded loss over a sequence: I-frame then P-frames, gradients flow through the
    reference features across frames (learning to resist error propagation). When a list
    is given as ``frames``, each coded frame's detached (loss, bpp, mse) is appended to it
    (validation reports the I-frame apart from the P-frames)."""
    b, t, _, h, w = seq.shape
    npix = 4 * h * w
    lam = lambda_of(q, cfg)
    losses, bpps, mses = [], [], []
    with torch.set_grad_enabled(
        cfg.stage == "intra" or not cfg.freeze_intra or cfg.stage == "joint"
    ):
        out = model.intra(seq[:, 0], q)
    if cfg.stage != "intra" and cfg.freeze_intra and cfg.stage == "inter":
        out.feat, out.y_prev = out.feat.detach(), out.y_prev.detach()
    if cfg.stage != "inter":
        bpp = (out.bits_y + out.bits_z) / npix
        mse = distortion(out.x_hat, seq[:, 0], cfg.distortion)
        losses.append(bpp + lam * mse)
        bpps.append(bpp.detach())
        mses.append(distortion(out.x_hat.detach().clamp(0, 1), seq[:, 0], "mse"))
        if frames is not None:
            frames.append((losses[-1].detach(), bpps[-1], mses[-1]))
    for i in range(1, t):
        qi, lam_i = q, lam
        if cfg.key_period and i % cfg.key_period == 0:
            qi = (q + cfg.key_offset).clamp(0, NUM_QUALITIES - 1)
            lam_i = lambda_of(qi, cfg)
        out = model.inter(seq[:, i], qi, out.feat, out.y_prev)
        bpp = (out.bits_y + out.bits_z) / npix
        mse = distortion(out.x_hat, seq[:, i], cfg.distortion)
        losses.append(bpp + lam_i * mse)
        bpps.append(bpp.detach())
        mses.append(distortion(out.x_hat.detach().clamp(0, 1), seq[:, i], "mse"))
        if frames is not None:
            frames.append((losses[-1].detach(), bpps[-1], mses[-1]))
    if cfg.intra_weight != 1.0 and cfg.stage != "inter" and len(losses) > 1:
        w = torch.ones(len(losses), device=losses[0].device, dtype=losses[0].dtype)
        w[0] = cfg.intra_weight
        # weighted mean over frames (first axis), then the mean over samples
        loss = torch.tensordot(w, torch.stack(losses), dims=1).mean() / w.sum()
    else:
        loss = torch.stack(losses).mean()
    bpp = torch.stack(bpps).mean()
    psnr = (10 * torch.log10(1 / torch.stack(mses).clamp_min(1e-10))).mean()
    return loss, bpp, psnr


VAL_QUALITIES = (0, 21, 42, 63)


def _frame_means(frames: list) -> tuple[float, float, float]:
    """Loss, bpp and PSNR of some of a sequence's frames (entries of ``sequence_loss``'s
    ``frames``), reduced as ``sequence_loss`` reduces the whole sequence."""
    loss = torch.stack([f[0] for f in frames]).mean()
    bpp = torch.stack([f[1] for f in frames]).mean()
    psnr = (10 * torch.log10(1 / torch.stack([f[2] for f in frames]).clamp_min(1e-10))).mean()
    return float(loss), float(bpp), float(psnr)


@torch.no_grad()
def validate(
    model: FLAVC,
    data: str | Path,
    cfg: TrainConfig | None = None,
    count: int = 32,
    batch: int = 8,
    device: torch.device | str = "cpu",
) -> dict:
    """Score weights on a fixed set: the first ``count`` sequences of a cache (whole, no
    flips, whatever the stage: an intra stage's val shows what it does to the P-frames),
    each at every quality of VAL_QUALITIES, with the training loss (R + lambda * D, mean
    over frames, every frame counted; the lambdas of ``cfg``, else those the weights were
    trained with) in eval mode: the rate of the rounded latents, no
    noise. The same weights give the same numbers, so runs and checkpoints can be
    compared without the eval clips.
    Returns the means over qualities, the same for the I-frames alone (``intra``) and the
    P-frames alone (``inter``), and a ``by_quality`` breakdown."""
    import dataclasses

    from .data import CachedSequences, check_not_eval

    path = check_not_eval(data)
    ds = CachedSequences(path, hflip=False)  # T defaults to the whole cached sequence
    if cfg is None:  # standalone: the lambdas the weights were trained with
        lo, hi = model.lambda_range
        cfg = TrainConfig(lambda_min=lo, lambda_max=hi)
    cfg = dataclasses.replace(
        cfg, stage="joint", freeze_intra=False, intra_weight=1.0, key_period=0
    )
    n = min(count, len(ds))
    if n == 0:
        raise ValueError(f"{data}: no sequences")
    modes = [(m, m.training) for m in model.modules()]  # e.g. a frozen intra stays in eval
    model.eval()
    keys = ("loss", "bpp", "psnr")
    parts = ("intra", "inter") if ds.T > 1 else ("intra",)
    by_q = {
        q: {**dict.fromkeys(keys, 0.0), **{p: dict.fromkeys(keys, 0.0) for p in parts}}
        for q in VAL_QUALITIES
    }
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            for i in range(0, n, batch):
                seq = torch.stack([ds[j] for j in range(i, min(n, i + batch))]).to(device)
                w = seq.shape[0] / n
                for q in VAL_QUALITIES:
                    qt = torch.full((seq.shape[0],), q, device=seq.device)
                    frames: list = []
                    sequence_loss(model, seq, qt, cfg, frames)
                    sel = {"intra": frames[:1], "inter": frames[1:]}
                    for acc, fr in [(by_q[q], frames)] + [(by_q[q][p], sel[p]) for p in parts]:
                        for k, v in zip(keys, _frame_means(fr), strict=True):
                            acc[k] += v * w
    finally:
        for m, mode in modes:
            m.training = mode
    res = {k: sum(r[k] for r in by_q.values()) / len(by_q) for k in keys}
    for p in parts:
        res[p] = {k: sum(r[p][k] for r in by_q.values()) / len(by_q) for k in keys}
    res["by_quality"] = by_q
    res["sequences"] = n
    return res


class _SequenceLoss(torch.nn.Module):
    """The loss as a module, so DistributedDataParallel's forward (and its gradient
    all-reduce) wraps it."""

    def __init__(self, model: FLAVC, cfg: TrainConfig):
        super().__init__()
        self.model = model
        self.cfg = cfg

    def forward(self, seq: torch.Tensor, q: torch.Tensor):
        return sequence_loss(self.model, seq, q, self.cfg)


def _datasets(cfg: TrainConfig) -> list:
    """One dataset per data source (sources may differ in crop size). A cache holding fewer
    frames than ``cfg.frames`` gives sequences of its own length, so long sequences of small
    crops (error propagation) can be mixed with short sequences of large crops."""
    from .data import CachedSequences, VideoFolder, VimeoSeptuplet, check_not_eval, load_cache

    sets = []
    for src in cfg.data:
        p = check_not_eval(src)
        if p.suffix == ".npy":
            t = min(cfg.frames, int(load_cache(p).shape[1]))
            if t < 2 <= cfg.frames:
                raise ValueError(f"{p}: one frame per sequence, stage {cfg.stage} needs 2+")
            sets.append(CachedSequences(p, T=t))
        elif (p / "sep_trainlist.txt").exists():
            sets.append(VimeoSeptuplet(p, T=cfg.frames))
        else:
            sets.append(VideoFolder(p, T=cfg.frames))
    return sets


def _texture_sampler(ds, bias: float, seed: int) -> WeightedRandomSampler:
    """Draws ``len(ds)`` items per epoch with replacement, weighted towards texture."""
    from .data import texture_scores, texture_weights

    w = texture_weights(texture_scores(ds.data), bias)
    g = torch.Generator().manual_seed(seed)
    return WeightedRandomSampler(
        torch.from_numpy(w), num_samples=len(ds), replacement=True, generator=g
    )


class _Batches:
    """Endless batches, alternating between the data sources step by step. Each source has
    its own batch size, scaled so that a batch holds about as many pixels as one of the
    first source: mixing crop sizes teaches the global attention to work at any frame size
    (trained on small crops alone, it degrades on whole frames)."""

    def __init__(self, sets: list, cfg: TrainConfig, ddp: bool):
        from .data import CachedSequences

        ref = sets[0][0]
        ref_area = ref.shape[-1] * ref.shape[-2]
        self.loaders, self.samplers, self.iters = [], [], []
        rank = dist.get_rank() if ddp else 0
        for k, ds in enumerate(sets):
            item = ds[0]
            bs = max(1, round(cfg.batch * ref_area / (item.shape[-1] * item.shape[-2])))
            if cfg.texture_bias > 0 and isinstance(ds, CachedSequences):
                # ranks draw independently (own seed), so no DistributedSampler split
                sampler = _texture_sampler(ds, cfg.texture_bias, cfg.seed + 1000 * rank + k)
            else:
                sampler = DistributedSampler(ds, seed=cfg.seed) if ddp else None
            self.samplers.append(sampler)
            self.loaders.append(
                DataLoader(
                    ds,
                    batch_size=bs,
                    shuffle=sampler is None,
                    sampler=sampler,
                    num_workers=cfg.workers,
                    drop_last=True,
                )
            )
            self.iters.append(iter(self.loaders[-1]))
        self.epoch = [0] * len(sets)

    def batch(self, step: int) -> torch.Tensor:
        i = step % len(self.loaders)
        try:
            return next(self.iters[i])
        except StopIteration:
            self.epoch[i] += 1
            if isinstance(self.samplers[i], DistributedSampler):
                self.samplers[i].set_epoch(self.epoch[i])
            self.iters[i] = iter(self.loaders[i])
            return next(self.iters[i])


def _trainable(model: FLAVC, cfg: TrainConfig):
    if cfg.stage == "intra":
        return list(model.intra.parameters())
    if cfg.stage == "inter" and cfg.freeze_intra:
        return list(model.inter.parameters())
    return list(model.parameters())


def train(cfg: TrainConfig, progress: bool = True) -> Path:
    """Run (or resume) one stage; returns the exported weights path."""
    from tqdm import tqdm

    ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = 0
    if ddp:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank = dist.get_rank()
    if cfg.device == "auto":
        device = torch.device(
            f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
        )
    else:
        device = torch.device(cfg.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # fixed crop sizes: autotune the convolutions
        torch.set_float32_matmul_precision("high")  # TF32 matmuls when amp is off
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.val and Path(cfg.val).resolve() in {Path(d).resolve() for d in cfg.data}:
        raise ValueError(f"validation data {cfg.val} is also training data")
    torch.manual_seed(cfg.seed + rank)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=1))

    # on the training device before any state is loaded: AdamW's load_state_dict then puts
    # its moments on the parameters' device
    model = FLAVC(get_variant(cfg.variant)).to(device)
    ckpt_path = out / "last.ckpt"
    start = 0
    params = _trainable(model, cfg)
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(ck["model"])
        if "opt" in ck:  # a model-only checkpoint (moved between machines) restarts AdamW
            opt.load_state_dict(ck["opt"])
        start = int(ck["step"])
    elif cfg.init:
        _init_from(model, cfg.init)
    model.train()
    if cfg.stage == "inter" and cfg.freeze_intra:
        model.intra.eval()
    trainable = {id(p) for p in params}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable)
    net = _SequenceLoss(model, cfg)
    if ddp:
        net = torch.nn.parallel.DistributedDataParallel(
            net,
            device_ids=[device] if device.type == "cuda" else None,
            find_unused_parameters=True,
        )

    batches = _Batches(_datasets(cfg), cfg, ddp)
    log_path, val_path = out / "log.jsonl", out / "val.jsonl"
    if rank == 0:
        _truncate_log(log_path, start)
        _truncate_log(val_path, start)
    bar = tqdm(
        total=cfg.steps,
        initial=start,
        disable=not progress or rank != 0,
        desc=f"{cfg.variant}/{cfg.stage}",
        unit="step",
    )
    t0 = time.time()
    acc = {"loss": 0.0, "bpp": 0.0, "psnr": 0.0, "n": 0}
    amp = cfg.amp and device.type == "cuda"
    step = start - 1
    for step in range(start, cfg.steps):
        seq = batches.batch(step).to(device, non_blocking=True)
        q = torch.randint(0, NUM_QUALITIES, (seq.shape[0],), device=device)
        for g in opt.param_groups:  # from the config, so a resumed run can change it
            g["lr"] = lr_at(step, cfg)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss, bpp, psnr = net(seq, q)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        # detached sums, read at log time: a .item() per step would sync the GPU each step
        acc["loss"] += loss.detach()
        acc["bpp"] += bpp.detach()
        acc["psnr"] += psnr.detach()
        acc["n"] += 1
        bar.update(1)
        over = cfg.time_limit > 0 and time.time() - t0 > 60 * cfg.time_limit
        if ddp and cfg.time_limit > 0:
            # every rank stops at the same step; agreed at log steps only (each is a sync)
            over = (step + 1) % cfg.log_every == 0 and _any_rank(over, device)
        last = step + 1 == cfg.steps or over
        if ((step + 1) % cfg.log_every == 0 or last) and rank == 0 and acc["n"] > 0:
            n = acc.pop("n")
            rec = {k: float(v) / n for k, v in acc.items()}
            rec.update(step=step + 1, time=round(time.time() - t0, 1))
            bar.set_postfix(
                loss=f"{rec['loss']:.3f}", bpp=f"{rec['bpp']:.3f}", psnr=f"{rec['psnr']:.2f}"
            )
            with log_path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            acc = {"loss": 0.0, "bpp": 0.0, "psnr": 0.0, "n": 0}
        if cfg.val and cfg.val_every > 0 and rank == 0:
            if (step + 1) % cfg.val_every == 0 or last:
                v = validate(model, cfg.val, cfg, cfg.val_count, cfg.batch, device)
                rec = {k: v[k] for k in ("loss", "bpp", "psnr", "intra", "inter") if k in v}
                rec.update(step=step + 1, time=round(time.time() - t0, 1))
                with val_path.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
        if cfg.keep_every > 0 and (step + 1) % cfg.keep_every == 0 and rank == 0:
            _save_snapshot(model, cfg, step + 1, out / "snapshots")
        if ((step + 1) % cfg.ckpt_every == 0 or last) and rank == 0:
            _save_ckpt(model, opt, step + 1, ckpt_path)
        if over:
            print(f"time limit ({cfg.time_limit} min) reached at step {step + 1}; resumable")
            break
    bar.close()
    if ddp:
        _check_ranks_agree(model, device)
    wpath = out / f"{cfg.variant}.safetensors"
    if rank == 0:
        model.eval().cpu()
        model.update_tables()
        recipe = {
            "config": asdict(cfg),
            "steps": step + 1,
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "world_size": int(os.environ.get("WORLD_SIZE", "1")),
            "seconds_this_run": round(time.time() - t0, 1),
        }
        h = save_weights(model, wpath, recipe)
        (out / "weights.json").write_text(
            json.dumps({"file": wpath.name, "hash": h, "recipe": recipe}, indent=1)
        )
        try:
            from .plot import plot_log

            plot_log(log_path, out / "curves.png", val_path if val_path.exists() else None)
        except Exception as exc:  # plotting is a convenience, never fatal
            print(f"warning: could not plot curves: {exc}")
    if ddp:
        dist.destroy_process_group()
    return wpath


@torch.no_grad()
def _check_ranks_agree(model: torch.nn.Module, device: torch.device) -> None:
    """Every rank must end with the same weights (DDP averages the gradients, every rank
    steps the same AdamW): a float64 checksum per parameter, compared through MIN and MAX
    all-reduces, so rank 0 never exports a model the others would disagree with."""
    sums = torch.stack([p.detach().double().sum() for p in model.parameters()]).to(device)
    lo, hi = sums.clone(), sums.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    if not torch.equal(lo, hi):
        bad = int((lo != hi).sum())
        raise RuntimeError(f"DDP ranks ended with different weights ({bad} tensors differ)")


def _any_rank(flag: bool, device: torch.device) -> bool:
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _truncate_log(path: Path, step: int) -> None:
    """On (re)start, drop log lines past the checkpoint: a run killed between checkpoints
    logged steps that the resumed run repeats."""
    if not path.exists():
        return
    keep = []
    for line in path.read_text().splitlines():
        try:
            if int(json.loads(line)["step"]) <= step:
                keep.append(line)
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by the kill
    path.write_text("".join(k + "\n" for k in keep))


def _save_snapshot(model: FLAVC, cfg: TrainConfig, step: int, folder: Path) -> Path:
    """The weights at ``step`` as an ordinary weights file (a CPU copy: the training model's
    buffers and mode are left alone). Written to a temporary name, then renamed."""
    import copy

    folder.mkdir(parents=True, exist_ok=True)
    snap = copy.deepcopy(model).cpu().eval()
    snap.update_tables()
    path = folder / f"step{step:06d}.safetensors"
    tmp = path.with_suffix(".tmp")
    save_weights(snap, tmp, {"config": asdict(cfg), "steps": step})
    os.replace(tmp, path)
    return path


def _save_ckpt(model, opt, step: int, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, tmp)
    os.replace(tmp, path)


def _init_from(model: FLAVC, path: str) -> None:
    """Start from exported weights or a checkpoint of an earlier stage (same variant)."""
    p = Path(path)
    if p.suffix == ".safetensors":
        src = load_weights(p).state_dict()
    else:
        src = torch.load(p, map_location="cpu", weights_only=True)["model"]
    own = model.state_dict()
    n = 0
    for k, v in src.items():
        if k in own and own[k].shape == v.shape:
            own[k] = v.to(own[k].dtype)
            n += 1
    model.load_state_dict(own)
    what = weights_hash(p) if p.suffix == ".safetensors" else "checkpoint"
    print(f"initialised {n}/{len(own)} tensors from {p} ({what})")
