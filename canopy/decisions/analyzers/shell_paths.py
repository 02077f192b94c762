"""Where a path points, lexically: which trees a command would touch.

Why: ``rm -rf /``, ``rm -rf //``, ``cd / && rm -rf *``, ``rm -rf ~/`` and ``rm -rf /e*`` all
delete a system tree. Paths are normalized without touching the filesystem (the analyzer
never looks at the machine) and then classified against tables of critical trees,
devices, credential files and Canopy's own protected files.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

from canopy.decisions.analyzers.paths import (
    PathClass,
    glob_may_be_credential,
    is_credential_name,
    path_classes,
)

__all__ = [
    "CRITICAL_DIRS",
    "PathInfo",
    "has_scheme",
    "is_block_device",
    "is_harmless_device",
    "looks_like_url",
    "normalize",
    "path_info",
    "remote_url",
]


def _names(text: str) -> frozenset[str]:
    """A set of names written as one space-separated string (keeps tables compact)."""
    return frozenset(text.split())


#: Deleting, wiping or re-owning any of these (or their contents) destroys the system.
CRITICAL_DIRS = _names(
    "/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /opt /proc /root /run /sbin "
    "/snap /srv /sys /usr /var /usr/bin /usr/sbin /usr/lib /usr/lib32 /usr/lib64 /usr/libexec "
    "/usr/local /usr/share /var/lib /Applications /Library /System /Users /private "
    "/private/etc /private/var"
)
_HOMES_PARENTS = ("/home", "/Users")  # /home/NAME is someone's home directory
_TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/private/tmp")
_USER_AREAS = (*_HOMES_PARENTS, *_TEMP_DIRS)

_BLOCK_DEVICE = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|rdisk\d|md\d|dm-\d|"
    r"mapper/|loop\d|sr\d|fd\d|mem$|kmem$|port$|nbd\d|zd\d|root$)"
)
_HARMLESS_DEVICES = _names(
    "/dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/stdin /dev/stdout "
    "/dev/stderr /dev/tty /dev/console /dev/ptmx /dev/log"
)
_HARMLESS_DEVICE_PREFIXES = (
    "/dev/fd/",
    "/dev/pts/",
    "/dev/shm/",
    "/dev/tcp/",
    "/dev/udp/",
    "/dev/tty",
)

_SHELL_RC = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".kshrc",
    ".config/fish/config.fish",
)
_GLOB_CHARS = frozenset("*?[")
_SYSTEM_TOPS = frozenset(d.split("/")[1] for d in CRITICAL_DIRS if d != "/")


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
_SCP_TARGET = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)\S*$")


def normalize(path: str, cwd: str, home: str) -> str:
    """Lexically normalize: expand a leading ~, resolve . and .., collapse //.

    ``cwd`` is absolute when known, otherwise a path relative to the unknown starting
    directory ("" for the start itself); relative results stay relative.
    """
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    if not path.startswith("/"):
        path = posixpath.join(cwd, path) if cwd else path
    if not path:
        return "."
    absolute = path.startswith("/")
    out = posixpath.normpath(path)
    if absolute:
        out = "/" + out.lstrip("/")
    return out


@dataclass(frozen=True, slots=True)
class PathInfo:
    """What a normalized path is, for the rules: one record per operand."""

    path: str
    relative: bool  # relative to a directory we do not know
    glob: bool
    critical: bool  # the path (or a glob covering it) is /, a system tree or a home directory
    critical_exact: bool  # the path itself, not only some entries under it (for narrowed finds)
    home: bool  # the user's home directory (or all of /home)
    device: bool  # a disk or memory device: writing to it destroys data
    system: bool  # inside a system tree (not a home, not a temp dir)
    contained: bool  # inside the workspace or a temp dir: deleting it is routine
    credential: bool
    shell_rc: bool


def path_info(path: str, *, glob: bool, home: str, workspace: str | None) -> PathInfo:
    """Classify a normalized path against the tables above."""
    relative = not path.startswith("/")
    base, rest = _split_glob(path) if glob else (path, [])
    match_all = all(_matches_everything(c) for c in rest)
    target = base if match_all else None  # the glob covers all of ``base``
    homes = _home_dirs(home)
    critical = _is_critical(target, homes) if target is not None else False
    if not critical and rest:
        critical = _glob_hits_critical(path, homes)
    device = not relative and is_block_device(path)
    system = not relative and _in_system_tree(path)
    return PathInfo(
        path=path,
        relative=relative,
        glob=bool(rest),
        critical=critical,
        critical_exact=critical and (target == path or match_all),
        home=target is not None and (target == home or target in _HOMES_PARENTS),
        device=device,
        system=system,
        contained=_contained(path, base, rest, match_all, workspace),
        credential=_is_credential(path, home)
        or (bool(rest) and glob_may_be_credential(path, home=home)),
        shell_rc=_under_any(path, homes, _SHELL_RC),
    )


def _split_glob(path: str) -> tuple[str, list[str]]:
    parts = path.split("/")
    for i, part in enumerate(parts):
        if _GLOB_CHARS & set(part):
            base = "/".join(parts[:i]) or ("/" if path.startswith("/") else ".")
            return base, parts[i:]
    return path, []


def _matches_everything(component: str) -> bool:
    """``*``, ``.*``, ``?*``, ``**``: a pattern any file name (or any dotfile) matches."""
    stripped = component.removeprefix(".")
    return bool(stripped) and set(stripped) <= {"*", "?"} and "*" in stripped


def _home_dirs(home: str) -> tuple[str, ...]:
    return (home, "/root") if home not in ("/root", "/") else ("/root",)


def _is_critical(target: str, homes: tuple[str, ...]) -> bool:
    if target in CRITICAL_DIRS or target in homes:
        return True
    parent = posixpath.dirname(target)
    return parent in _HOMES_PARENTS and target != parent


def _glob_hits_critical(pattern: str, homes: tuple[str, ...]) -> bool:
    """``/e*`` or ``/u?r`` could name ``/etc`` or ``/usr``: match each critical path."""
    if not pattern.startswith("/"):
        return False
    depth = pattern.count("/")
    for candidate in (*CRITICAL_DIRS, *homes):
        if candidate.count("/") == depth and fnmatch.fnmatchcase(candidate, pattern):
            return True
    return False


def _in_system_tree(path: str) -> bool:
    top = path.split("/", 2)[1] if path.startswith("/") and path != "/" else ""
    if top not in _SYSTEM_TOPS or path == "/" + top:
        return False  # outside system trees, or the tree itself (that is ``critical``)
    return not (_under_prefixes(path, _USER_AREAS) or is_harmless_device(path))


def _contained(
    path: str, base: str, rest: list[str], match_all: bool, workspace: str | None
) -> bool:
    """Routine targets: below the working directory, or inside a temp dir."""
    if path.startswith("/"):
        target = base if (rest and match_all) else path
        if rest and not match_all:
            return _under_prefixes(base, _TEMP_DIRS) or (
                workspace is not None and (base == workspace or _is_under(base, workspace))
            )
        if _under_prefixes(target, _TEMP_DIRS) and target not in _TEMP_DIRS:
            return True
        return workspace is not None and _is_under(target, workspace)
    if base.startswith(".."):
        return False
    if rest:
        return not match_all or base not in (".", "")
    return path not in (".", "")


def _under_prefixes(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or _is_under(path, p) for p in prefixes)


def _is_under(path: str, parent: str) -> bool:
    return path.startswith(parent.rstrip("/") + "/")


def _under_any(path: str, homes: tuple[str, ...], names: tuple[str, ...]) -> bool:
    rel = _relative_to_home(path, homes)
    return rel is not None and rel in names


def _relative_to_home(path: str, homes: tuple[str, ...]) -> str | None:
    for h in homes:
        if _is_under(path, h):
            return path[len(h.rstrip("/")) + 1 :]
    for parent in _HOMES_PARENTS:
        if _is_under(path, parent):
            rest = path[len(parent) + 1 :]
            if "/" in rest:
                return rest.split("/", 1)[1]
    return None


def _is_credential(path: str, home: str) -> bool:
    """The firewall's one credential table (``paths.py``), so a file is a secret to
    the shell analyzer exactly when it is one to ``read_file``."""
    if path.startswith("/"):
        return PathClass.CREDENTIAL in path_classes(path, home=home)
    name = posixpath.basename(path)
    return not name.endswith(".pub") and is_credential_name(name)


def is_block_device(path: str) -> bool:
    """A disk, partition or memory device (``/dev/sda1``, ``/dev/nvme0n1``, ``/dev/mem``)."""
    return bool(_BLOCK_DEVICE.match(path))


def is_harmless_device(path: str) -> bool:
    return path in _HARMLESS_DEVICES or path.startswith(_HARMLESS_DEVICE_PREFIXES)


def has_scheme(text: str) -> bool:
    return bool(_URL.match(text))


def remote_url(text: str) -> str:
    """A URL fact as a client reads it: scp/rsync/git's ``[user@]host:path`` (and
    rsync's ``host::module``) is ``ssh://host``; ``host:port`` and URLs stay as they are."""
    m = _SCP_TARGET.match(text)
    if m is None or _URL.match(text) or _PORT_AFTER_HOST.match(text, m.end(1)):
        return text
    return f"ssh://{m.group(1)}"


_PORT_AFTER_HOST = re.compile(r":\d+(?:/.*)?$")


def looks_like_url(text: str) -> bool:
    """``scheme://...`` or scp-style ``[user@]host:path``."""
    return bool(_URL.match(text) or _SCP_TARGET.match(text))
