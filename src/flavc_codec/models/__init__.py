"""Neural networks of the codec (imports torch and compressai)."""

import warnings

# compressai calls torch.jit.script at import time, which torch 2.10+ flags as deprecated.
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
