"""Compile a policy file once; compile again only when the file changes.

The cache key is the file's identity and shape as ``stat`` sees it (real path,
``st_mtime_ns``, ``st_size``, ``st_ino``, ``st_dev``), checked on every call: one
``stat`` per decision, one compilation per edit. The bytes compiled and hashed are
read from the same open file whose ``fstat`` becomes the key, so the snapshot
hash always describes the rules that run.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from canopy.decisions.policy.errors import PolicyError, PolicyIssue

if TYPE_CHECKING:
    from canopy.decisions.policy.evaluate import CompiledPolicy

__all__ = ["DEFAULT_POLICY", "PRODUCTION_POLICY", "clear_cache", "load_policy"]

_POLICIES = Path(__file__).resolve().parents[2] / "policies"
DEFAULT_POLICY = _POLICIES / "default.yaml"
PRODUCTION_POLICY = _POLICIES / "production.yaml"

_Key = tuple[int, int, int, int]  # st_mtime_ns, st_size, st_ino, st_dev
_lock = threading.Lock()
# (real path, source) -> compiled; and the same by the name the caller used, so a
# cache hit costs one stat() and no realpath(). stat() follows symlinks: a path
# that now names another file has another inode and misses.
_by_real: dict[tuple[str, str], tuple[_Key, CompiledPolicy]] = {}
_by_name: dict[tuple[str, str], tuple[_Key, CompiledPolicy]] = {}


def _key(st: os.stat_result) -> _Key:
    return st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev


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
            try:
                with open(real, "rb") as f:
                    read_key = _key(os.fstat(f.fileno()))
                    data = f.read()
            except OSError as e:
                raise _unreadable(path, e) from e
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
