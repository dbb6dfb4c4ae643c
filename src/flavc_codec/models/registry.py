"""Model variants. Ids are fixed integers written into the bitstream (never a position in a
dict); names and ids live in the torch-free ``bitstream.model_ids``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VariantConfig:
    name: str
    model_id: int
    n: int = 64  # analysis/synthesis width
    m: int = 96  # latent channels
    feat: int = 32  # reference-feature channels (1/4 luma resolution)
    nz: int = 48  # hyper-latent channels
    prior_ch: int = 48  # integer entropy-path width
    blocks4: int = 1  # transformer blocks at 1/4 (analysis)
    blocks8: int = 1  # transformer blocks at 1/8 (analysis and synthesis)
    transformer: bool = True  # False: the `cnn-encoder` ablation (residual blocks instead)
    dense: bool = True  # False: the `no-dp` ablation (non-overlapping patches)
    fla_dim: int = 64
    fla_patch: int = 4
    prior_fla_dim: int = 16
    memc: bool = False  # True: optical-flow warping instead of FLA (the "w/o FLA" row)


VARIANTS: dict[str, VariantConfig] = {
    v.name: v
    for v in (
        VariantConfig("flavc", 1),
        VariantConfig(
            "flavc-light",
            2,
            n=40,
            m=64,
            feat=24,
            nz=32,
            prior_ch=32,
            blocks4=0,
            blocks8=1,
            fla_dim=32,
        ),
        VariantConfig("no-dp", 3, dense=False),
        VariantConfig("cnn-encoder", 4, transformer=False),
        VariantConfig("memc", 5, memc=True),
    )
}
BY_ID: dict[int, VariantConfig] = {v.model_id: v for v in VARIANTS.values()}


def get_variant(name_or_id: str | int) -> VariantConfig:
    from ..errors import FlavcError

    if isinstance(name_or_id, int):
        if name_or_id not in BY_ID:
            raise FlavcError(f"unknown model id {name_or_id}")
        return BY_ID[name_or_id]
    if name_or_id not in VARIANTS:
        raise FlavcError(f"unknown model '{name_or_id}' (known: {', '.join(VARIANTS)})")
    return VARIANTS[name_or_id]
