"""Compile a policy file once; compile again only when the file changes.

The cache key is the file's identity and shape as ``stat`` sees it (real path,
``st_mtime_ns``, ``st_ctime_ns``, ``st_size``, ``st_ino``, ``st_dev``), checked on
every call: one ``stat`` per decision, one compilation per edit. ``st_ctime_ns``
catches what the others miss: a same-size rewrite whose mtime was put back
(``touch -r``, ``cp -p``, ``tar x``) and a ``chmod`` that makes the file unreadable.
The bytes compiled and hashed are read from the same open file whose ``fstat``
becomes the key, so the snapshot hash always describes the rules that run. Only a
regular file of at most ``MAX_POLICY_BYTES`` is read: a FIFO or a device in the
policy's place is an error, not a wait.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from canopy.decisions.policy.errors import PolicyError, PolicyIssue

if TYPE_CHECKING:
    from canopy.decisions.policy.evaluate import CompiledPolicy

__all__ = [
    "DEFAULT_POLICY",
    "MAX_POLICY_BYTES",
    "PRODUCTION_POLICY",
    "clear_cache",
    "load_policy",
]

_POLICIES = Path(__file__).resolve().parents[2] / "policies"
DEFAULT_POLICY = _POLICIES / "default.yaml"
PRODUCTION_POLICY = _POLICIES / "production.yaml"

_Key = tuple[int, int, int, int, int]  # st_mtime_ns, st_ctime_ns, st_size, st_ino, st_dev
#: A policy is a few kilobytes; anything past this is not one (``/dev/zero``).
MAX_POLICY_BYTES = 16 << 20
_lock = threading.Lock()
# (real path, source) -> compiled; and the same by the name the caller used, so a
# cache hit costs one stat() and no realpath(). stat() follows symlinks: a path
# that now names another file has another inode and misses.
_by_real: dict[tuple[str, str], tuple[_Key, CompiledPolicy]] = {}
_by_name: dict[tuple[str, str], tuple[_Key, CompiledPolicy]] = {}


def _key(st: os.stat_result) -> _Key:
    return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_dev


def _read_policy(real: str, path: object) -> tuple[_Key, bytes]:
    """The bytes of a regular file, and the key of what was read. Opened without
    blocking, so a FIFO in the policy's place is refused instead of waited on."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise PolicyError([PolicyIssue(str(path), 0, 0, "policy is not a regular file")])
            data = f.read(MAX_POLICY_BYTES + 1)
    except OSError as e:
        raise _unreadable(path, e) from e
    if len(data) > MAX_POLICY_BYTES:
        issue = f"policy is larger than {MAX_POLICY_BYTES} bytes"
        raise PolicyError([PolicyIssue(str(path), 0, 0, issue)])
    return _key(st), data


def _unreadable(path: object, e: OSError) -> PolicyError:
    return PolicyError([PolicyIssue(str(path), 0, 0, f"cannot read policy: {e}")])


def load_policy(
    path: str | os.PathLike[str] | None, *, source: str | None = None
) -> CompiledPolicy:
    """The compiled policy at ``path`` (``None``: the bundled default), cached.

    ``source`` labels the snapshot ("default" for the bundled file, "file"
    otherwise; a caller that took the path from ``CANOPY_POLICY_FILE`` passes
    "env"). Raises ``PolicyError`` for unreadable or invalid files.
    """
    if path is None:
        path, source = DEFAULT_POLICY, source or "default"
    label = source or "file"
    name = os.fspath(path)
    try:
        key = _key(os.stat(name))
    except OSError as e:
        raise _unreadable(path, e) from e
    hit = _by_name.get((name, label))
    if hit is not None and hit[0] == key:
        return hit[1]
    # Compile under the lock: edits are rare, and two threads must not race to
    # publish different compilations of the same file.
    with _lock:
        real = os.path.realpath(name)
        cached = _by_real.get((real, label))
        if cached is None or cached[0] != key:
            read_key, data = _read_policy(real, path)
            # The compiler (and PyYAML) loads with the first policy compiled.
            from canopy.decisions.policy.compiler import compile_policy_bytes

            cached = (read_key, compile_policy_bytes(data, file=real, source=label))
            _by_real[(real, label)] = cached
        _by_name[(name, label)] = cached
        return cached[1]


def clear_cache() -> None:
    """Forget every compiled policy (tests, and operators reloading by hand)."""
    with _lock:
        _by_real.clear()
        _by_name.clear()
