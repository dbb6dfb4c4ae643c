"""flavc: learned video compression with feature-level attention (FLAVC, CVPR 2025).

Importing the package is cheap: torch is imported only when the codec is used.
"""

from __future__ import annotations

import os

# Intel MKL (torch's CPU BLAS) splits long reductions differently with 1 and 2 threads;
# its strict reproducibility mode makes results independent of the thread count. It must be
# set before MKL initialises, so it is set here, before anything imports torch.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

__version__ = "0.1.0"
__all__ = ["Encoder", "Decoder", "encode_file", "encode_with", "decode_file", "__version__"]


def __getattr__(name: str):
    if name in ("Encoder", "Decoder", "encode_file", "encode_with", "decode_file"):
        from . import codec

        return getattr(codec, name)
    raise AttributeError(name)
