"""Paths compared by resolved components, never by string prefix.

``/tmp/../root/.bashrc`` is not inside ``/tmp/``; ``/etcetera`` is not inside
``/etc/``. Normalization is lexical (``..``, ``.``, ``//``, ``~``): the policy
judges what an action names, it does not touch the file system. When the
shared path analyzer (``canopy.decisions.analyzers.paths``) is installed, its
``normalize_path`` is used so every layer resolves paths alike (adopted only if
it honours the contract above on a few known cases). Containment is always a
comparison of component tuples, which the facts precompute once per action.
"""

from __future__ import annotations

import functools
import os
import posixpath
from collections.abc import Callable

__all__ = ["is_within", "normalize_path", "parts_within", "path_parts", "resolved_path"]


def _lexical(path: str) -> str:
    out = posixpath.normpath(path)
    return "/" + out.lstrip("/") if out.startswith("//") else out


@functools.cache
def _shared_normalize() -> Callable[[str], str]:
    try:
        from canopy.decisions.analyzers import paths as shared

        def norm(path: str) -> str:
            try:
                return str(shared.normalize_path(path))
            except ValueError:  # NUL bytes and the like: judge the text as written
                return _lexical(path)

        agrees = (
            norm("/tmp/../root/.bashrc") == "/root/.bashrc"
            and norm("/etc//./passwd") == "/etc/passwd"
            and norm("//a/b/../c/") == "/a/c"
        )
    except Exception:  # absent, or a different signature: keep the local version
        return _lexical
    return norm if agrees else _lexical


def normalize_path(path: str, cwd: str | None = None) -> str:
    """Lexically resolved path; relative paths are joined to an absolute ``cwd`` if given."""
    # ``~`` expands through $HOME, so the home directory is part of the cache key.
    home = os.environ.get("HOME") if path.startswith("~") else None
    return _normalize_path(path, cwd, home)


@functools.lru_cache(maxsize=1024)  # safe_paths roots and common paths recur on every call
def _normalize_path(path: str, cwd: str | None, home: str | None) -> str:
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if not path.startswith("/") and cwd and cwd.startswith("/"):
        path = posixpath.join(cwd, path)
    if not path:
        return ""
    if not path.startswith("/"):
        return _lexical(path)  # relative with no anchor: keep any leading ".."
    return _shared_normalize()(path)


def resolved_path(path: str, cwd: str | None = None) -> str:
    """Where a write to ``path`` lands: symlinks followed through its longest existing
    prefix (the one place the policy looks at the file system: ``allow_if:
    safe_paths`` must not be left through a link inside a safe path)."""
    normalized = normalize_path(path, cwd)
    if not normalized.startswith("/"):
        return normalized
    try:
        from canopy.decisions.analyzers.paths import resolve_path
    except ImportError:  # pragma: no cover - the analyzer ships with the package
        return normalized
    try:
        return str(resolve_path(normalized))
    except ValueError:
        return normalized


def is_within(path: str, root: str) -> bool:
    """True when normalized ``path`` is ``root`` or below it, component by component."""
    return parts_within(path_parts(path), path_parts(root))


def parts_within(parts: tuple[str, ...], root: tuple[str, ...]) -> bool:
    """Component-tuple containment; relative parts never escape upward (``..``)."""
    if parts[:1] == ("..",):
        return False
    return len(parts) >= len(root) and parts[: len(root)] == root


def path_parts(path: str) -> tuple[str, ...]:
    """Components of a normalized path: ``/etc/passwd`` -> ``("/", "etc", "passwd")``."""
    if path.startswith("/"):
        return ("/", *(p for p in path.split("/") if p))
    return tuple(p for p in path.split("/") if p and p != ".")
