"""Output files that are whole or absent.

Every file returnsim writes (CSV tables, the report, tables.txt) goes to a temporary name in
the same folder and is renamed over the final name only once complete and flushed to disk. A
write that fails (a full disk, a killed process, an error half-way) leaves the previous file,
or none, never a file cut at 8,192 bytes that reads as if it were whole (issue 22).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomically", "write_text_atomically"]


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Have ``write`` fill a temporary file next to ``path``, then rename it to ``path``.

    Args:
        path: the final file.
        write: writes the whole content to the path it is given (e.g. ``df.to_csv``).

    Returns:
        ``path``, as a :class:`~pathlib.Path`.

    Raises:
        Whatever ``write`` or the file system raises; the temporary file is removed and a file
        already at ``path`` is left as it was.
    """
    final = Path(path)
    # Hidden and in the same folder: a rename within one file system is atomic.
    part = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
    try:
        write(part)
        with open(part, "rb") as f:  # the content on disk before the name points at it
            os.fsync(f.fileno())
        os.replace(part, final)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return final


def write_text_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all (:func:`write_atomically`)."""
    return write_atomically(path, lambda p: p.write_text(text, encoding="utf-8"))
