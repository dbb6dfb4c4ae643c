"""flavc container (writes 3.0, reads 3.0, 2.x and 1.0): headers, frames, index, writer, reader,
inspect.

Standard library only (no numpy, no torch): ``flavc info`` must answer fast.
The byte layout is specified in ``bitstream_spec.md`` at the repository root.
"""

from ..errors import BitstreamError
from .format import (
    FLAG_ONE_STREAM,
    FLAG_PAD16,
    FLAG_RANGE_CODER,
    FRAME_I,
    FRAME_P,
    KNOWN_FLAGS,
    MAGIC,
    MAX_PAYLOAD,
    MAX_SECTIONS,
    READ_MAJORS,
    VERSION_MAJOR,
    VERSION_MINOR,
    FrameChunk,
    IndexEntry,
    SequenceHeader,
)
from .inspect import format_info, inspect
from .model_ids import MODEL_IDS, model_id, model_name
from .reader import StreamReader
from .writer import StreamWriter

__all__ = [
    "BitstreamError",
    "FLAG_ONE_STREAM",
    "FLAG_PAD16",
    "FLAG_RANGE_CODER",
    "FRAME_I",
    "FRAME_P",
    "KNOWN_FLAGS",
    "MAGIC",
    "MAX_PAYLOAD",
    "MAX_SECTIONS",
    "READ_MAJORS",
    "VERSION_MAJOR",
    "VERSION_MINOR",
    "FrameChunk",
    "IndexEntry",
    "SequenceHeader",
    "StreamReader",
    "StreamWriter",
    "inspect",
    "format_info",
    "MODEL_IDS",
    "model_id",
    "model_name",
]
