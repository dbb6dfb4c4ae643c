"""StreamWriter: writes ``path + ".part"``, renames to ``path`` only on a clean close."""

from __future__ import annotations

import os
from dataclasses import replace

from .format import (
    READ_MAJORS,
    U32_MAX,
    VERSION_MAJOR,
    FrameChunk,
    IndexEntry,
    SequenceHeader,
    Trailer,
    Trailer3,
    crc32,
    pack_index,
)


class StreamWriter:
    """Write a flavc stream.

    ::

        with StreamWriter("out.flavc", header) as w:
            w.write_frame(FrameChunk(0, 32, (z_bytes, y_bytes)))

    Data goes to ``out.flavc.part`` in the same directory. A clean exit appends the index
    and trailer, patches ``frame_count`` (and the header CRC), flushes, fsyncs and
    ``os.replace``s the part file onto ``path``. An exception inside the ``with`` block (or
    :meth:`abort`) deletes the part file and leaves ``path`` untouched.

    ``major`` picks the container layout: 3 (default: compact header, index and trailer),
    2 (the 2.1 layout) or 1 (chunk headers). The older two are kept so that their streams
    can still be produced for compatibility tests.
    """

    def __init__(self, path, header: SequenceHeader, major: int = VERSION_MAJOR):
        if major not in READ_MAJORS:
            raise ValueError(f"unknown container major version {major}")
        self.major = major
        self.path = os.fspath(path)
        self.part_path = self.path + ".part"
        self.header = header
        self._entries: list[IndexEntry] = []
        self._f = open(self.part_path, "wb")  # noqa: SIM115
        self._done = False
        try:
            self._head_bytes = header.pack(major)
            self._f.write(self._head_bytes)
            self._pos = len(self._head_bytes)
        except BaseException:
            self.abort()
            raise

    @property
    def frames_written(self) -> int:
        return len(self._entries)

    @property
    def bytes_written(self) -> int:
        return self._pos

    def write_frame(self, chunk: FrameChunk) -> int:
        """Append one frame; returns the bytes it added to the frame data."""
        if self._done:
            raise ValueError("write_frame on a closed StreamWriter")
        n = len(self._entries)
        if n >= U32_MAX:
            raise ValueError("too many frames for one stream")
        if self.major == 1:
            data = chunk.pack(n)
            self._f.write(data)
            self._entries.append(IndexEntry(n, self._pos, chunk.frame_type, len(data)))
            self._pos += len(data)
            return len(data)
        e = IndexEntry.for_chunk_v2(n, self._pos, chunk)
        for s in chunk.sections:
            self._f.write(s)
        self._entries.append(e)
        self._pos += e.nbytes
        return e.nbytes

    def close(self) -> None:
        """Finish the stream: index, trailer, header patch, fsync, rename."""
        if self._done:
            return
        try:
            index = pack_index(self._entries, self.major)
            n = len(self._entries)
            if self.major == 3:  # the header has no frame count: nothing to rewrite
                trailer = Trailer3(len(index), n, crc32(index)).pack()
            else:
                trailer = Trailer(self._pos, n, crc32(index)).pack()
            self._f.write(index)
            self._f.write(trailer)
            self.header = replace(self.header, frame_count=n)
            if self.major != 3:
                head = self.header.pack(self.major)
                assert len(head) == len(self._head_bytes)
                self._f.seek(0)
                self._f.write(head)
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            os.replace(self.part_path, self.path)
            self._done = True
            _fsync_dir(os.path.dirname(os.path.abspath(self.path)))
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Discard everything written: close and delete the part file."""
        if self._done:
            return
        self._done = True
        try:
            self._f.close()
        finally:
            try:
                os.unlink(self.part_path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _fsync_dir(d: str) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
