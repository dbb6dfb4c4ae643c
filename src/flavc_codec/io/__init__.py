"""Video I/O (torch-free): PyAV reader to 8-bit 4:2:0 frames, y4m/mp4/mkv writers."""

from .reader import SourceInfo, VideoSource, open_video, read_frames
from .writer import ColorDescription, VideoWriter, open_writer

__all__ = [
    "SourceInfo",
    "VideoSource",
    "open_video",
    "read_frames",
    "ColorDescription",
    "VideoWriter",
    "open_writer",
]
