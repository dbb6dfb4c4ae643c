"""The whole model (intra + inter codec) and its weights file.

Weights are safetensors: parameters, the integer tables (Gaussian scale tables, per-channel
hyper-latent tables, per-quality gain tables) and a JSON metadata entry naming the variant.
The stream stores the first 16 bytes of the file's SHA-256, so a decoder refuses a stream
made with other weights instead of decoding noise.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..entropy.tables import IntTables, gaussian_tables
from ..errors import FlavcError
from .codecs import NUM_QUALITIES, InterCodec, IntraCodec, quality_lambda
from .registry import VariantConfig, get_variant

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_LAMBDAS = (50.0, 3200.0)  # the shipped weights' training range (qualities 0 and 63)


class FLAVC(nn.Module):
    def __init__(self, cfg: VariantConfig):
        super().__init__()
        if cfg.memc:
            from .memc import MEMCInterCodec

            inter: nn.Module = MEMCInterCodec(cfg)
        else:
            inter = InterCodec(cfg)
        self.cfg = cfg
        self.intra = IntraCodec(cfg)
        self.inter = inter
        g = gaussian_tables()
        self.register_buffer("gauss_freqs", torch.from_numpy(g.freqs))
        self.register_buffer("gauss_radius", torch.from_numpy(g.radius))
        self._gauss: IntTables | None = None
        self.lambda_range: tuple[float, float] = DEFAULT_LAMBDAS
        # (key_period, key_offset) the weights were trained with (train.loop.TrainConfig):
        # the encoder's default frame-quality structure; (0, 0) = every frame at q
        self.key_structure: tuple[int, int] = (0, 0)

    def lambda_of(self, q: int) -> float:
        """Lambda of quality ``q`` in the weights' training range, as in training."""
        return quality_lambda(q, *self.lambda_range)

    def gauss_tables(self) -> IntTables:
        if self._gauss is None:
            self._gauss = IntTables(
                self.gauss_freqs.cpu().numpy().astype(np.int32),
                self.gauss_radius.cpu().numpy().astype(np.int32),
            )
        return self._gauss

    @torch.no_grad()
    def update_tables(self) -> None:
        """Rebuild every integer table from the float parameters (export time only)."""
        g = gaussian_tables()
        self.gauss_freqs.copy_(torch.from_numpy(g.freqs))
        self.gauss_radius.copy_(torch.from_numpy(g.radius))
        self._gauss = None
        self.intra.update_tables()
        self.inter.update_tables()

    def _apply(self, fn, recurse=True):  # keep cached numpy tables in sync after .to()
        self._gauss = None
        return super()._apply(fn, recurse)


def save_weights(
    model: FLAVC, path: str | Path, recipe: dict | None = None, half: bool = True
) -> str:
    """Write a weights file (fp16 parameters, exact integer tables). Returns its hash."""
    from safetensors.torch import save_file

    sd = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().contiguous()
        if half and v.is_floating_point() and not k.endswith(("t_g", "t_ig")):
            v = v.half()
        sd[k] = v
    # One metadata key: safetensors keeps metadata in a hash map whose order varies between
    # saves, and the file's hash must not.
    info = {"variant": model.cfg.name, "model_id": model.cfg.model_id}
    if recipe is not None:
        info["recipe"] = recipe
    save_file(sd, str(path), metadata={"flavc": json.dumps(info, sort_keys=True)})
    return weights_hash(path)


def weights_hash(path: str | Path) -> str:
    h = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return h[:32]


def _info(meta: dict) -> dict:
    """The ``flavc`` entry of a weights file's safetensors metadata (older files: the
    metadata itself)."""
    return json.loads(meta["flavc"]) if "flavc" in meta else dict(meta)


def weights_info(path: str | Path) -> dict:
    """The ``flavc`` metadata of a weights file (variant, model id, recipe)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return _info(f.metadata() or {})
    except Exception as exc:
        raise FlavcError(f"cannot read weights {path}: {exc}") from None


def load_weights(path: str | Path, device: str | torch.device = "cpu") -> FLAVC:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FlavcError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            sd = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise FlavcError(f"cannot read weights {path}: {exc}") from None
    try:
        info = _info(meta)
        cfg = get_variant(info.get("variant", "flavc"))
    except (ValueError, AttributeError):
        raise FlavcError(f"weights {path.name}: unreadable metadata") from None
    model = FLAVC(cfg)
    own = model.state_dict()
    for k, v in sd.items():
        if k in own and own[k].is_floating_point():
            sd[k] = v.to(own[k].dtype)
    try:
        missing, unexpected = model.load_state_dict(sd, strict=False)
    except RuntimeError:  # shape mismatch
        missing, unexpected = ["?"], []
    if missing or unexpected:
        raise FlavcError(f"weights {path.name} do not match variant {cfg.name}")
    model.lambda_range = _lambda_range(info)
    model.key_structure = trained_key_structure(info)
    model.eval()
    return model.to(device)


def _lambda_range(info: dict) -> tuple[float, float]:
    """The lambdas of qualities 0 and 63 the weights were trained with (their recipe's
    config); encoder-side refinement optimises the same R + lambda * D."""
    cfg = (info.get("recipe") or {}).get("config") or {}
    try:
        lo, hi = float(cfg["lambda_min"]), float(cfg["lambda_max"])
    except (KeyError, TypeError, ValueError):
        return DEFAULT_LAMBDAS
    return (lo, hi) if 0 < lo <= hi else DEFAULT_LAMBDAS


def trained_key_structure(info: dict) -> tuple[int, int]:
    """The (key_period, key_offset) of the weights' last training stage (0, 0 when absent
    or out of range): the encoder codes P-frames as they were trained."""
    cfg = (info.get("recipe") or {}).get("config") or {}
    try:
        period, offset = int(cfg.get("key_period", 0)), int(cfg.get("key_offset", 0))
    except (TypeError, ValueError):
        return (0, 0)
    top = NUM_QUALITIES - 1
    if period <= 0 or period > 65535 or not -top <= offset <= top:
        return (0, 0)
    return (period, offset)


def default_weights_path(variant: str) -> Path:
    return WEIGHTS_DIR / f"{variant}.safetensors"
