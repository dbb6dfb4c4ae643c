"""StreamReader: validates a whole flavc stream's structure up front, then reads frames."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace

from ..errors import BitstreamError
from .format import (
    CRC,
    FRAME_TYPES,
    HEADER_MAX_SIZE,
    INDEX2_ENTRY_MIN,
    INDEX_ENTRY,
    INDEX_ENTRY_SIZE,
    INDEX_HEAD,
    INDEX_MARKER,
    MAX_CHUNK_SIZE,
    PREAMBLE_SIZE,
    TRAILER3_SIZE,
    TRAILER_SIZE,
    FrameChunk,
    IndexEntry,
    SequenceHeader,
    Trailer,
    Trailer3,
    crc32,
    index_size,
    parse_index_v2,
)


class StreamReader:
    """Open and validate a flavc stream (container 1.x, 2.x or 3.x).

    Checked on open: magic, major version, header length/CRC/ranges, trailer magic, index
    offset/size/CRC/marker, index count == header frame_count (1.x, 2.x; a 3.0 header
    has no count and takes the trailer's), entries numbered 0..n-1,
    contiguous (each frame starts where the previous ends, the first right after the
    header, the last ends at the index), known frame types, sane sizes. Payloads are checked
    (CRC, and in 1.0 the chunk's own header) by :meth:`read_frame`. Every failure is a
    ``BitstreamError``.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self._f = open(self.path, "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise BitstreamError(f"cannot open {self.path}: no such file") from None
        except IsADirectoryError:
            raise BitstreamError(f"cannot open {self.path}: is a directory") from None
        except OSError as e:
            raise BitstreamError(f"cannot open {self.path}: {e.strerror}") from None
        try:
            self._open()
        except BaseException:
            self._f.close()
            raise

    def _read_at(self, offset: int, n: int) -> bytes:
        self._f.seek(offset)
        return self._f.read(n)

    def _open(self) -> None:
        size = os.fstat(self._f.fileno()).st_size
        self.file_size = size
        head = self._read_at(0, PREAMBLE_SIZE + HEADER_MAX_SIZE + CRC.size)
        self.header, self.data_offset = SequenceHeader.unpack(head)
        self.version = (head[8], head[9])  # (major, minor) as stored in the file
        if self.version[0] == 3:
            self._open_v3(size)
            return
        if size < self.data_offset + INDEX_HEAD.size + TRAILER_SIZE:
            raise BitstreamError(
                "truncated stream: no index trailer (encode interrupted or file cut short)"
            )
        tr = Trailer.unpack(self._read_at(size - TRAILER_SIZE, TRAILER_SIZE))
        n = tr.frame_count
        if n != self.header.frame_count:
            raise BitstreamError(
                f"index: trailer frame count {n} does not match header ({self.header.frame_count})"
            )
        index_end = size - TRAILER_SIZE
        if self.version[0] == 1:
            self._open_index_v1(tr, index_end)
        else:
            self._open_index_v2(tr, index_end)
        self.index_offset = tr.index_offset

    def _open_v3(self, size: int) -> None:
        """3.0: the trailer gives the index size and the frame count; the index (entries
        alone) ends where the trailer starts."""
        if size < self.data_offset + TRAILER3_SIZE:
            raise BitstreamError(
                "truncated stream: no index trailer (encode interrupted or file cut short)"
            )
        tr = Trailer3.unpack(self._read_at(size - TRAILER3_SIZE, TRAILER3_SIZE))
        n, isize = tr.frame_count, tr.index_size
        index_offset = size - TRAILER3_SIZE - isize
        # arithmetic first: a huge count or size is refused before anything is read
        if index_offset < self.data_offset or isize < INDEX2_ENTRY_MIN * n:
            raise BitstreamError(
                f"index: {isize} bytes / {n} entries do not fit the file "
                f"({self.file_size} bytes; stream corrupted or truncated)"
            )
        self.index: list[IndexEntry] = self._compact_index(
            index_offset, isize, n, tr.index_crc, head=False
        )
        self.header = replace(self.header, frame_count=n)
        self.index_offset = index_offset

    def _compact_index(
        self, offset: int, isize: int, n: int, crc: int, head: bool
    ) -> list[IndexEntry]:
        """Read, check and parse a 2.x (``head``) or 3.0 index of ``n`` compact entries
        (its place already checked against the file); the frames must end where it starts."""
        raw = self._read_index(offset, isize, crc)
        entries = parse_index_v2(raw, n, self.data_offset, head=head)
        end = entries[-1].offset + entries[-1].nbytes if entries else self.data_offset
        if end != offset:
            raise BitstreamError(f"index: frames end at {end} but the index starts at {offset}")
        return entries

    def _read_index(self, offset: int, isize: int, crc: int) -> bytes:
        """Read the index (its size already checked against the file) and check its CRC."""
        raw = self._read_at(offset, isize)  # size bounded by the file size
        if len(raw) != isize:
            raise BitstreamError("truncated stream: index cut short")
        if crc32(raw) != crc:
            raise BitstreamError("index: CRC mismatch (stream corrupted)")
        return raw

    def _open_index_v1(self, tr: Trailer, index_end: int) -> None:
        n = tr.frame_count
        isize = index_size(n)
        if tr.index_offset < self.data_offset or tr.index_offset + isize != index_end:
            raise BitstreamError(
                f"index: offset {tr.index_offset} / size {isize} do not fit the file "
                f"({self.file_size} bytes; stream corrupted or truncated)"
            )
        raw = self._read_index(tr.index_offset, isize, tr.index_crc)
        marker, count = INDEX_HEAD.unpack_from(raw, 0)
        if marker != INDEX_MARKER or count != n:
            raise BitstreamError("index: bad marker or count (stream corrupted)")
        entries: list[IndexEntry] = []
        expect = self.data_offset
        for i in range(n):
            fnum, off, ftype, nbytes = INDEX_ENTRY.unpack_from(
                raw, INDEX_HEAD.size + i * INDEX_ENTRY_SIZE
            )
            if fnum != i:
                raise BitstreamError(f"index: entry {i} names frame {fnum}")
            if off != expect:
                raise BitstreamError(
                    f"frame {i}: index offset {off} is not where the previous chunk ends ({expect})"
                )
            if ftype not in FRAME_TYPES:
                raise BitstreamError(f"frame {i}: unknown frame type {ftype} in index")
            if not FrameChunk.header_size(0) <= nbytes <= MAX_CHUNK_SIZE:
                raise BitstreamError(f"frame {i}: chunk size {nbytes} out of range")
            if off + nbytes > tr.index_offset:
                raise BitstreamError(
                    f"truncated stream: frame {i} ends at {off + nbytes}, "
                    f"past the index at {tr.index_offset}"
                )
            entries.append(IndexEntry(fnum, off, ftype, nbytes))
            expect = off + nbytes
        if expect != tr.index_offset:
            raise BitstreamError(
                f"index: chunks end at {expect} but the index starts at {tr.index_offset}"
            )
        self.index: list[IndexEntry] = entries

    def _open_index_v2(self, tr: Trailer, index_end: int) -> None:
        n = tr.frame_count
        isize = index_end - tr.index_offset
        # arithmetic first: a huge count or offset is refused before anything is read
        if tr.index_offset < self.data_offset or isize < INDEX_HEAD.size + INDEX2_ENTRY_MIN * n:
            raise BitstreamError(
                f"index: offset {tr.index_offset} / {n} entries do not fit the file "
                f"({self.file_size} bytes; stream corrupted or truncated)"
            )
        self.index = self._compact_index(tr.index_offset, isize, n, tr.index_crc, head=True)

    # ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.index)

    @property
    def intra_frames(self) -> list[int]:
        """Frame numbers of the I-frames (random-access points), from the index alone."""
        return [e.frame for e in self.index if e.frame_type == 0]

    def read_frame(self, i: int) -> FrameChunk:
        """Read and check frame ``i`` (CRC; in 1.0 also frame number and type vs index)."""
        if not 0 <= i < len(self.index):
            raise IndexError(f"frame {i} out of range 0..{len(self.index) - 1}")
        e = self.index[i]
        data = self._read_at(e.offset, e.nbytes)
        if len(data) != e.nbytes:
            raise BitstreamError(f"truncated stream: frame {i} cut short")
        if self.version[0] != 1:
            if crc32(e.head_v2(), data) != e.crc:
                raise BitstreamError(f"frame {i}: CRC mismatch (stream corrupted)")
            secs, pos = [], 0
            for n in e.section_lens:
                secs.append(data[pos : pos + n])
                pos += n
            return FrameChunk(e.frame_type, e.quality, tuple(secs))
        chunk, _ = FrameChunk.unpack(data, expect_frame=i)
        if FrameChunk.header_size(len(chunk.sections)) + chunk.payload_size != e.nbytes:
            raise BitstreamError(f"frame {i}: chunk size does not match the index")
        if chunk.frame_type != e.frame_type:
            raise BitstreamError(f"frame {i}: frame type differs from the index")
        return chunk

    def __iter__(self) -> Iterator[FrameChunk]:
        for i in range(len(self.index)):
            yield self.read_frame(i)

    def verify(self) -> None:
        """Read every frame (CRC checks); raises BitstreamError on the first bad one."""
        for _ in self:
            pass

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
