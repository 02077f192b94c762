"""Creating files that must never be seen half-written: ledgers, states, keys."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_dir", "link_into_place"]


def fsync_dir(directory: Path) -> None:
    """Make a new or renamed directory entry durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def link_into_place(tmp: Path, path: Path) -> bool:
    """Give a finished temporary file its final name unless one exists already;
    the temporary name is removed either way. True if ours is now in place."""
    try:
        os.link(tmp, path)
        placed = True
    except FileExistsError:
        placed = False
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)
    return placed
