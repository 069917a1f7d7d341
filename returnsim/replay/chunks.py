"""A file's lines a block at a time, cut from chunks of its bytes.

A report is read a block of some thousands of lines at a time, a block never ending inside a
quoted field (a field may hold a line break). The lines are found in chunks of the file's bytes
by numpy (where each ends), not read as a Python object each and joined again: a block is its
bytes and its lines' ends, and a line's bytes are taken from them only where needed
(:func:`line_bytes`). The bytes can be hashed as they are read (:class:`Hashed`), so a file's
digest costs no second reading.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import BinaryIO, Protocol

import numpy as np

__all__ = ["ByteReader", "Hashed", "CHUNK_BYTES", "raw_blocks", "line_bytes"]


class ByteReader(Protocol):
    """A file opened in binary mode, or :class:`Hashed`."""

    def read(self, size: int = -1, /) -> bytes: ...

    def readline(self, size: int = -1, /) -> bytes: ...


class Hashed:
    """A file opened in binary mode whose bytes are hashed (SHA-256) as they are read: read to
    its end, ``sha`` is the file's digest, without reading the file again for it."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, size: int = -1, /) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        return data

    def readline(self, size: int = -1, /) -> bytes:
        data = self.fh.readline(size)
        self.sha.update(data)
        return data


CHUNK_BYTES = 1 << 20
"""Bytes read from a file at a time (a block of lines is cut from them)."""


class _Lines:
    """A binary file's lines, read a chunk of bytes at a time: the chunks not yet taken, and
    where each whole line in them ends (after its ``\\n``; the file's last line, without one,
    ends at the end of the file), counted from the first byte not taken. Lines are found by
    numpy, not a Python object each, and a block's bytes are copied once, when it is taken
    (the chunks are kept as they were read, not appended to a buffer that would be copied as
    it grows and shifted as it is taken from)."""

    def __init__(self, fh: ByteReader) -> None:
        self.fh = fh
        self.chunks: list[bytes | memoryview] = []
        self.size = 0
        """Bytes in ``chunks``."""
        self.ends = np.zeros(0, dtype=np.int64)
        self.eof = False

    def more(self) -> bool:
        """Read another chunk (False at the end of the file, nothing read)."""
        if self.eof:
            return False
        data = self.fh.read(CHUNK_BYTES)
        if not data:
            self.eof = True
            if self.size > (int(self.ends[-1]) if len(self.ends) else 0):  # a last line without \n
                self.ends = np.append(self.ends, self.size)
            return True
        nl = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        self.ends = np.concatenate([self.ends, nl + (self.size + 1)])
        self.chunks.append(data)
        self.size += len(data)
        return True

    def take(self, n: int) -> tuple[bytes, np.ndarray]:
        """The first ``n`` lines' bytes and where each ends in them; they are dropped."""
        end = int(self.ends[n - 1])
        parts: list[bytes | memoryview] = []
        got = 0
        while got < end:
            chunk = self.chunks[0]
            if got + len(chunk) <= end:
                parts.append(self.chunks.pop(0))
                got += len(chunk)
            else:  # (a view: the rest of the chunk is not copied)
                view = memoryview(chunk)
                parts.append(view[: end - got])
                self.chunks[0] = view[end - got :]
                got = end
        raw = parts[0] if len(parts) == 1 and isinstance(parts[0], bytes) else b"".join(parts)
        self.size -= end
        ends, self.ends = self.ends[:n], self.ends[n:] - end
        return raw, ends


def raw_blocks(fh: ByteReader, block: int) -> Iterator[tuple[bytes, np.ndarray]]:
    """The rest of a file's lines, ``block`` at a time and on to where the quotes balance (a
    block never ends inside a quoted field): their bytes (line ends kept), and where each line
    ends in them (:func:`line_bytes` gives a line back)."""
    lines = _Lines(fh)
    while True:
        while len(lines.ends) < block and lines.more():
            pass
        n = min(block, len(lines.ends))
        if not n:
            return
        raw, ends = lines.take(n)
        quotes = raw.count(b'"') if raw.find(b'"') >= 0 else 0  # (find is memchr)
        if quotes % 2:  # inside a quoted field: read on, a line at a time, to where it closes
            parts, at = [raw], [ends]
            size = len(raw)
            while quotes % 2:
                while not len(lines.ends) and lines.more():
                    pass
                if not len(lines.ends):
                    break
                line, end = lines.take(1)
                quotes += line.count(b'"')
                parts.append(line)
                at.append(end + size)
                size += len(line)
            raw, ends = b"".join(parts), np.concatenate(at)
        yield raw, ends


def line_bytes(raw: bytes, ends: np.ndarray, rows: np.ndarray) -> list[bytes]:
    """Lines ``rows`` of a block (its bytes and line ends, as :func:`raw_blocks` gives them),
    each without its ``\\n``."""
    if not len(rows):
        return []
    stop = ends[rows]
    start = np.where(rows > 0, ends[np.maximum(rows - 1, 0)], 0)
    stop = stop - (np.frombuffer(raw, dtype=np.uint8)[stop - 1] == 10)
    return [raw[a:b] for a, b in zip(start.tolist(), stop.tolist(), strict=True)]
