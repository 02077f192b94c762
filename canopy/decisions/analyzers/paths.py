"""File paths as the kernel would resolve them, and what they protect.

The package we replace compared strings, so ``safe_paths: ["/tmp/"]`` let
``/tmp/../root/.bashrc`` through. Here a path is made absolute (``~``, ``$HOME``,
cwd), collapsed, and resolved through symlinks before any comparison, and
comparisons are component-wise (``/tmp2`` is not inside ``/tmp``).

Decisions documented here:

* Relative paths with no ``cwd`` are joined to ``os.getcwd()`` at call time, and a
  missing ``home`` is ``os.path.expanduser("~")`` at call time.
* ``~name`` is looked up in the password database, as the shell does; an unknown
  name stays a literal component (bash keeps it literal too). Other ``$VARS`` are
  left as they are; only ``$HOME`` and ``${HOME}`` are expanded.
* ``resolve_path`` applies ``..`` after following symlinks, as the kernel does:
  collapsing ``/tmp/link/../x`` lexically first would let a link escape.
* Home-relative rules (``~/.ssh`` ...) apply to the given home, ``/root`` and every
  ``/home/<user>`` and ``/Users/<user>``: another user's keys are still keys.
* ``/opt``, ``/srv``, ``/home``, ``/var`` and ``/run`` are SYSTEM_CRITICAL as
  directories (removing them is catastrophic) but their contents are not; the
  listed system trees (``/etc``, ``/usr``, ...) are critical all the way down.
* Public keys (``id_rsa.pub``) are ORDINARY unless they sit in a protected
  directory; templates (``.env.example``, ``.env.production.sample``, ``*.dist``)
  are ORDINARY.
* ``/dev/null``, ``/dev/zero``, ``/dev/stdout`` and other process-local devices
  are ORDINARY and are not resolved (they point into ``/proc/self``).
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase, translate
from functools import lru_cache
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from canopy.errors import MalformedInputError

try:
    import pwd
except ImportError:  # pragma: no cover - not POSIX
    pwd = None  # type: ignore[assignment]

__all__ = [
    "PROTECTED_CLASSES",
    "PathClass",
    "PathVerdict",
    "check_path",
    "classify_path",
    "credential_examples",
    "glob_may_be_credential",
    "is_autorun_file",
    "is_template_name",
    "is_within",
    "normalize_path",
    "path_classes",
    "resolve_path",
]


class PathClass(StrEnum):
    SYSTEM_CRITICAL = "system_critical"
    CREDENTIAL = "credential"
    SHELL_STARTUP = "shell_startup"  # runs code later: rc files, cron, systemd, hooks
    GOVERNANCE = "governance"  # Canopy's own ledger, keys and policy
    DEVICE = "device"
    ORDINARY = "ordinary"


#: Classes that ``safe_paths`` can never open up.
PROTECTED_CLASSES = frozenset(PathClass) - {PathClass.ORDINARY}
#: Most specific first: what ``classify_path`` reports when several apply.
_PRIORITY = (
    PathClass.GOVERNANCE,
    PathClass.CREDENTIAL,
    PathClass.DEVICE,
    PathClass.SHELL_STARTUP,
    PathClass.SYSTEM_CRITICAL,
)


@dataclass(frozen=True, slots=True)
class PathVerdict:
    """A resolved path, every class it (or a symlink on the way) falls in, and why."""

    path: PurePosixPath
    classes: frozenset[PathClass]
    inside_safe: bool
    notes: tuple[str, ...] = ()

    @property
    def protected(self) -> frozenset[PathClass]:
        return self.classes & PROTECTED_CLASSES


# --- tables ----------------------------------------------------------------
# Patterns are "/"-separated; components use fnmatch; a final "**" matches the
# named directory itself and everything below it.

#: Critical with everything below them (FHS 3.0 system hierarchies).
SYSTEM_TREES = (
    "/bin/**",
    "/boot/**",
    "/dev/**",
    "/etc/**",
    "/lib/**",
    "/lib32/**",
    "/lib64/**",
    "/libx32/**",
    "/proc/**",
    "/sbin/**",
    "/sys/**",
    "/usr/**",
    "/var/lib/**",
    "/var/spool/cron/**",
    "/root/**",
)
#: Critical as directories only.
SYSTEM_DIRS = ("/", "/home", "/opt", "/run", "/srv", "/var", "/Users")
#: Process-local or harmless devices.
BENIGN_DEVICES = frozenset(
    {
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/stdin",
        "/dev/stdout",
        "/dev/stderr",
    }
)

HOME_CREDENTIALS = (
    ".ssh/**",
    ".aws/**",
    ".gnupg/**",
    ".kube/**",
    ".azure/**",
    ".config/gcloud/**",
    ".config/gh/hosts.yml",
    ".docker/config.json",
    ".password-store/**",
    ".netrc",
    ".git-credentials",
    ".vault-token",
    ".terraform.d/credentials.tfrc.json",
    ".config/git/credentials",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".gem/credentials",
    ".m2/settings-security.xml",
    ".config/hub",
    ".config/rclone/rclone.conf",
    ".s3cfg",
    ".boto",
    ".my.cnf",
    ".local/share/keyrings/**",
    ".mozilla/firefox/*/logins.json",  # browsers' saved passwords and their keys
    ".mozilla/firefox/*/key4.db",
    ".mozilla/firefox/*/cookies.sqlite",
    ".config/google-chrome/*/login data",
    ".config/google-chrome/*/cookies",
    ".config/chromium/*/login data",
    ".config/chromium/*/cookies",
    ".config/bravesoftware/*/*/login data",
    ".cache/huggingface/token",
    ".huggingface/token",
    ".config/github-copilot/**",
    ".oci/**",
    ".kaggle/kaggle.json",
    ".databrickscfg",
    ".pulumi/credentials.json",
    ".config/doctl/config.yaml",
    ".config/op/**",
    ".op/**",
    ".bitcoin/wallet.dat",
    ".bitcoin/wallets/**",
    ".ethereum/keystore/**",
    ".electrum/wallets/**",
    # shell and database histories: typed tokens and passwords end up there
    ".bash_history",
    ".zsh_history",
    ".history",
    ".mysql_history",
    ".psql_history",
)
SYSTEM_CREDENTIALS = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d/**",
    "/etc/ssh/ssh_host_*",
    "/etc/master.passwd",
    "/proc/*/environ",  # another process's environment: its tokens and keys
    "/proc/*/task/*/environ",  # ... as each of its threads shows it
    "/proc/*/mem",  # ... and its memory
    "/proc/*/task/*/mem",
    "/etc/kubernetes/*.conf",  # cluster-admin kubeconfigs and the cluster's keys
    "/etc/kubernetes/pki/**",
    "/etc/rancher/k3s/k3s.yaml",
    "/var/lib/rancher/k3s/server/token",
    "/etc/krb5.keytab",
    "/etc/mysql/debian.cnf",  # the MySQL maintenance account's password
    "/etc/wireguard/**",
    "/etc/networkmanager/system-connections/**",  # Wi-Fi and VPN secrets
    "/etc/ipsec.secrets",
    "/etc/letsencrypt/live/**",
    "/etc/letsencrypt/archive/**",
    "/proc/kcore",
    "/run/secrets/**",  # container and Kubernetes secrets
    "/var/run/secrets/**",
    "/run/docker.sock",  # root-equivalent
    "/var/run/docker.sock",
)
#: File names that hold secrets wherever they are.
CREDENTIAL_NAMES = (
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    "authorized_keys",
    "authorized_keys2",
    "known_hosts",  # credential-adjacent: trust decisions for ssh
    ".netrc",
    ".git-credentials",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.ppk",
    "*.keytab",
    "*.kdbx",  # KeePass databases
)
#: Trusted CA certificates: public by design, though named ``*.pem`` like keys are.
PUBLIC_CERTIFICATE_TREES = (
    "/etc/ssl/certs/**",
    "/usr/share/ca-certificates/**",
    "/usr/local/share/ca-certificates/**",
    "/etc/pki/ca-trust/extracted/**",
    "/etc/ca-certificates/**",
)
PUBLIC_CERTIFICATE_NAMES = frozenset(
    {"cacert.pem", "ca-bundle.pem", "ca-bundle.crt", "ca-certificates.crt", "cacerts.pem"}
)
#: Last suffixes of a file committed as a template for others to fill in
#: (``.env.example``, ``id_rsa.sample``): named like a secret, holding none.
TEMPLATE_SUFFIXES = frozenset({"example", "sample", "template", "dist", "tmpl", "tpl"})


#: Files whose contents run later by themselves: git hooks and git's configured
#: commands, direnv, editor tasks that run when a folder opens.
_AUTORUN = re.compile(
    r"(?:^|/)(?:\.git/hooks/[^/]+|\.git/config|\.gitconfig|\.config/git/config|\.envrc"
    r"|\.vscode/tasks\.json|\.vscode/settings\.json|\.idea/workspace\.xml)$"
)


def is_autorun_file(path: str) -> bool:
    """A file that runs code later, unseen by any check, once written."""
    return _AUTORUN.search(path.replace("\\", "/")) is not None


def is_template_name(name: str) -> bool:
    stem, dot, suffix = name.rpartition(".")
    return bool(dot and stem) and suffix.lower() in TEMPLATE_SUFFIXES


HOME_STARTUP = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
    ".zlogout",
    ".pam_environment",
    ".config/fish/config.fish",
    ".config/fish/conf.d/**",
    ".config/systemd/**",
    ".config/autostart/**",
    ".ssh/rc",
    ".ssh/environment",
)
SYSTEM_STARTUP = (
    "/etc/profile",
    "/etc/profile.d/**",
    "/etc/bash.bashrc",
    "/etc/bashrc",
    "/etc/zshrc",
    "/etc/zprofile",
    "/etc/zshenv",
    "/etc/zsh/**",
    "/etc/environment",
    "/etc/ld.so.preload",
    "/etc/rc.local",
    "/etc/init.d/**",
    "/etc/cron*/**",  # crontab, cron.d, cron.daily, ...
    "/var/spool/cron/**",
    "/etc/systemd/**",
    "/lib/systemd/**",
    "/usr/lib/systemd/**",
)
#: Files that run code at interpreter start-up, wherever they are.
STARTUP_NAMES = ("sitecustomize.py", "usercustomize.py")
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
_HOME_EXPR = re.compile(r"\$(?:\{HOME\}|HOME(?![A-Za-z0-9_]))")


_Component = str | re.Pattern[str]  # a literal name, or a compiled fnmatch pattern


def _pattern(text: str) -> tuple[_Component, ...]:
    """The components of a table pattern; wildcard ones compiled as ``fnmatchcase``
    compiles them, literal ones (and the final ``**`` marker) kept as text."""
    return tuple(
        re.compile(translate(part)) if part != "**" and any(c in part for c in "*?[") else part
        for part in text.split("/")
        if part
    )


def _component_matches(part: str, pattern: _Component) -> bool:
    return part == pattern if type(pattern) is str else pattern.match(part) is not None


def _matches(parts: tuple[str, ...], pattern: tuple[_Component, ...]) -> bool:
    if pattern and pattern[-1] == "**":
        prefix = pattern[:-1]
        return len(parts) >= len(prefix) and all(
            _component_matches(part, pat) for part, pat in zip(parts, prefix, strict=False)
        )
    return len(parts) == len(pattern) and all(map(_component_matches, parts, pattern))


@dataclass(frozen=True, slots=True)
class _Table:
    """A pattern table, compiled, with its patterns indexed by a literal first
    component: a path is tried only against those that can match its first one."""

    by_first: dict[str, tuple[tuple[_Component, ...], ...]]
    others: tuple[tuple[_Component, ...], ...]  # led by a wildcard: always tried

    @classmethod
    def of(cls, patterns: tuple[str, ...]) -> _Table:
        by_first: dict[str, list[tuple[_Component, ...]]] = {}
        others = []
        for pattern in map(_pattern, patterns):
            first = pattern[0] if pattern else None
            if type(first) is str and first != "**":
                by_first.setdefault(first, []).append(pattern)
            else:
                others.append(pattern)
        return cls({k: tuple(v) for k, v in by_first.items()}, tuple(others))


_TABLES: dict[tuple[str, ...], _Table] = {}


def _matches_any(parts: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    # Pattern tables are module constants: compile and index each table once.
    table = _TABLES.get(patterns)
    if table is None:
        table = _TABLES[patterns] = _Table.of(patterns)
    candidates = table.by_first.get(parts[0], ()) if parts else ()
    return any(_matches(parts, p) for p in candidates) or any(
        _matches(parts, p) for p in table.others
    )


# --- normalization -------------------------------------------------------------------


def _default_home(home: str | None) -> str:
    """``home``, else what ``os.path.expanduser("~")`` gives, read at call time.

    The common case ($HOME set) is spelled out: ``expanduser`` costs a microsecond
    per path, and it returns ``$HOME`` without trailing slashes (or "/")."""
    if home is not None:
        return home
    env = os.environ.get("HOME")
    if env is None:
        return os.path.expanduser("~")  # the password database, as expanduser asks it
    return env.rstrip("/") or "/"


def _text(path: object) -> str:
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
    if not isinstance(text, str):
        raise MalformedInputError(f"path must be text, not {type(text).__name__}")
    if "\0" in text:
        raise MalformedInputError(f"NUL byte in path {text!r}")
    if not text:
        raise MalformedInputError("empty path")
    return text


def _expand_tilde(text: str, home: str) -> str:
    """POSIX tilde-prefix (XCU 2.6.1): ``~`` and ``~name`` up to the first slash."""
    if not text.startswith("~"):
        return text
    name, slash, rest = text[1:].partition("/")
    if not name:
        return home + slash + rest
    if pwd is not None:
        try:
            return pwd.getpwnam(name).pw_dir + slash + rest
        except KeyError:
            pass
    return text


_LOCAL_FILE_HOSTS = frozenset({"", "localhost", "127.0.0.1", "[::1]"})


def _file_uri(text: str) -> str:
    """``file:///etc/x`` and ``file://localhost/etc/x`` (RFC 8089) name local paths;
    tools that accept URIs open them, so they are read as those paths."""
    if text[:5].lower() != "file:":
        return text
    parts = urlsplit(text)  # lowercases the scheme: ``FILE:///etc/x`` is the same file
    if parts.scheme != "file" or parts.netloc.lower() not in _LOCAL_FILE_HOSTS:
        return text
    return unquote(parts.path) or text


def _absolute(path: object, cwd: str | None, home: str | None) -> str:
    """Expanded and absolute, but not collapsed (symlink resolution needs the '..')."""
    home_dir = _default_home(home)
    text = _expand_tilde(_file_uri(_text(path)), home_dir)
    if "$" in text:
        text = _HOME_EXPR.sub(lambda _: home_dir, text)
    if text.startswith("/"):
        return text
    if cwd is None:
        base = os.getcwd()
    elif type(cwd) is str and cwd.startswith("/") and "$" not in cwd and "\0" not in cwd:
        base = _collapsed_cwd(cwd)  # _absolute(cwd) is cwd itself: no ~, $ or NUL
    else:
        base = _collapsed(_absolute(cwd, None, home_dir))
    return base + "/" + text


def _collapsed(text: str) -> str:
    """Drop empty and '.' components, apply '..' (which stops at the root).

    Works on text: a ``PurePosixPath`` is built once per answer, not per step.
    """
    parts: list[str] = []
    for part in text.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part and part != ".":
            parts.append(part)
    return "/" + "/".join(parts)


#: An agent's working directory is the same on every call: collapsed once.
_collapsed_cwd = lru_cache(maxsize=256)(_collapsed)


def _collapse(text: str) -> PurePosixPath:
    return PurePosixPath(_collapsed(text))


@lru_cache(maxsize=4096)
def _pure_path(text: str) -> PurePosixPath:
    """``PurePosixPath(text)``: immutable, and built from the same few resolved
    paths again and again (construction costs more than the rest of a lookup)."""
    return PurePosixPath(text)


def normalize_path(
    path: str | os.PathLike[str], *, cwd: str | None = None, home: str | None = None
) -> PurePosixPath:
    """Absolute, expanded and lexically collapsed; raises on NUL bytes or ''."""
    return _collapse(_absolute(path, cwd, home))


# --- symlinks ----------------------------------------------------------------------

_MAX_SYMLINKS = 40  # Linux MAXSYMLINKS


@dataclass(frozen=True, slots=True)
class _Resolution:
    path: str  # absolute and collapsed
    links: tuple[tuple[str, str], ...]  # (where the link is, what it points to)
    loop: bool


#: lstat errors that say nothing is there, so nothing can be below it either.
_ABSENT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR})


def _probe(path: str) -> tuple[str | None, bool]:
    """(the link's target or None, True if nothing exists at ``path``).

    The target is None for anything that is not a readable symlink."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as e:
        return None, e.errno in _ABSENT_ERRNOS
    if not stat.S_ISLNK(mode):
        return None, False
    try:
        return os.readlink(path), False
    except OSError:
        return None, False


def _resolve(absolute: str) -> _Resolution:
    """Walk components like path_resolution(7): follow links, then apply '..'.

    Missing components (and ones we may not lstat) are kept lexically. The
    file system is asked on every call: a link may appear at any time. Below a
    component that lstat found missing (ENOENT, ENOTDIR) nothing can exist, so
    the walk stops asking until a '..' climbs back out: the answer is the file
    system as that lstat saw it, one syscall per missing subtree, not per name.
    """
    pending = deque(p for p in absolute.split("/") if p and p != ".")
    resolved = "/"
    links: list[tuple[str, str]] = []
    absent = False  # nothing exists at ``resolved``: every name below it is lexical
    while pending:
        name = pending.popleft()
        if name == "..":
            resolved = posixpath.dirname(resolved)
            absent = False  # the parent may exist: ask again
            continue
        candidate = resolved + name if resolved == "/" else resolved + "/" + name
        if absent:
            resolved = candidate
            continue
        target, absent = _probe(candidate)
        if target is None:
            resolved = candidate
            continue
        if len(links) >= _MAX_SYMLINKS:
            rest = "/".join([name, *pending])
            return _Resolution(_collapsed(resolved + "/" + rest), tuple(links), True)
        links.append((candidate, target))
        if target.startswith("/"):
            resolved = "/"
        pending.extendleft(reversed([p for p in target.split("/") if p and p != "."]))
    return _Resolution(_collapsed(resolved), tuple(links), False)


def resolve_path(
    path: str | os.PathLike[str], *, cwd: str | None = None, home: str | None = None
) -> PurePosixPath:
    """Where the kernel would land: symlinks followed through the longest existing
    prefix, the non-existent rest appended as written."""
    absolute = _absolute(path, cwd, home)
    lexical = _collapsed(absolute)
    if lexical in BENIGN_DEVICES:
        return PurePosixPath(lexical)
    return PurePosixPath(_resolve(absolute).path)


def _absolute_only(path: PurePosixPath | str) -> PurePosixPath:
    text = _text(path)
    if not text.startswith("/"):
        raise MalformedInputError(f"is_within needs absolute paths, got {text!r}")
    return _collapse(text)


def is_within(path: PurePosixPath | str, root: PurePosixPath | str) -> bool:
    """Component-wise containment after lexical collapse: /tmp/x and /tmp are within
    /tmp, /tmp2/x is not. Both must be absolute; resolve symlinks first."""
    inner, outer = _absolute_only(path), _absolute_only(root)
    return inner.parts[: len(outer.parts)] == outer.parts


# --- classification ----------------------------------------------------------------


def _home_relative(parts: tuple[str, ...], home: str) -> list[tuple[str, ...]]:
    """The path relative to every home directory it may be inside."""
    homes = {_home_parts(home), ("/", "root")}
    if len(parts) >= 3 and parts[1] in ("home", "Users", "users"):
        homes.add(parts[:3])
    return [parts[len(h) :] for h in homes if len(h) > 1 and parts[: len(h)] == h]


@lru_cache(maxsize=64)
def _home_parts(home: str) -> tuple[str, ...]:
    return _collapse(home).parts


@dataclass(frozen=True, slots=True)
class _Protected:
    """A governance file, normalized once: its components, directory and sidecars."""

    parts: tuple[str, ...]
    parent: PurePosixPath
    sidecars: frozenset[str]  # the SQLite -wal/-shm/-journal names beside it


def _protected_files(governance: tuple[str, ...], home_dir: str) -> tuple[_Protected, ...]:
    if all(isinstance(entry, str) and entry.startswith("/") for entry in governance):
        return _absolute_protected_files(governance, home_dir)
    return _protect(governance, home_dir)  # a relative entry depends on the working directory


def _protect(governance: tuple[str, ...], home_dir: str) -> tuple[_Protected, ...]:
    out = []
    for entry in governance:
        path = normalize_path(entry, home=home_dir)
        sidecars = frozenset(path.name + suffix for suffix in _SQLITE_SIDECARS)
        out.append(_Protected(path.parts, path.parent, sidecars))
    return tuple(out)


#: Absolute entries normalize the same way every time (a runtime's are fixed): cached.
_absolute_protected_files = lru_cache(maxsize=64)(_protect)


def _is_governance(path: PurePosixPath, governance: tuple[_Protected, ...]) -> bool:
    """Within a governance file (or it), or one of its SQLite sidecars. Both sides
    are collapsed absolute paths, so containment is a prefix of components."""
    parts = path.parts
    for protected in governance:
        if parts[: len(protected.parts)] == protected.parts:
            return True
        if path.name in protected.sidecars and path.parent == protected.parent:
            return True
    return False


#: Any of CREDENTIAL_NAMES, as one pattern (``fnmatchcase`` of each, in one match).
_CREDENTIAL_NAME = re.compile("|".join(translate(pattern) for pattern in CREDENTIAL_NAMES))


def is_credential_name(name: str) -> bool:
    """A file name that holds secrets wherever it is (``id_rsa``, ``.env``, ``*.pem``)."""
    if is_template_name(name):
        return False
    return _CREDENTIAL_NAME.match(name) is not None


def _startup_anywhere(parts: tuple[str, ...]) -> bool:
    """Git hooks, Python start-up files and .pth files in site-packages."""
    in_hooks = any(parts[i : i + 2] == (".git", "hooks") for i in range(len(parts)))
    name = parts[-1] if len(parts) > 1 else ""
    in_site = "site-packages" in parts or "dist-packages" in parts
    return in_hooks or name in STARTUP_NAMES or (in_site and name.endswith(".pth"))


def path_classes(
    path: PurePosixPath | str, *, home: str | None = None, governance: Iterable[str] = ()
) -> frozenset[PathClass]:
    """Every class a (normalized) path falls in; ``{ORDINARY}`` when none."""
    home_dir = _default_home(home)
    text = str(path)
    if text.startswith("/"):
        # A pure function of its (absolute) inputs: agents touch the same paths
        # over and over, so the classification is cached.
        return _cached_classes(text, home_dir, tuple(sorted(map(str, governance))))
    return _classes(normalize_path(path, home=home_dir), home_dir, tuple(governance))


@lru_cache(maxsize=8192)
def _cached_classes(text: str, home_dir: str, governance: tuple[str, ...]) -> frozenset[PathClass]:
    return _classes(normalize_path(text, home=home_dir), home_dir, governance)


def _classes(p: PurePosixPath, home_dir: str, governance: tuple[str, ...]) -> frozenset[PathClass]:
    if str(p) in BENIGN_DEVICES:
        return frozenset({PathClass.ORDINARY})
    root = _proc_root(p)
    if root is not None:  # /proc/PID/root/etc/shadow is /etc/shadow
        return _classes(root, home_dir, governance) | {PathClass.SYSTEM_CRITICAL}
    parts, rel_homes = p.parts, _home_relative(p.parts, home_dir)
    rel = parts[1:]
    found: set[PathClass] = set()
    if _is_governance(p, _protected_files(governance, home_dir)):
        found.add(PathClass.GOVERNANCE)
    if _is_credential(p, home_dir):
        found.add(PathClass.CREDENTIAL)
    if len(rel) > 1 and rel[0] == "dev":
        found.add(PathClass.DEVICE)
    if (
        _matches_any(rel, SYSTEM_STARTUP)
        or _startup_anywhere(parts)
        or any(_matches_any(r, HOME_STARTUP) for r in rel_homes)
    ):
        found.add(PathClass.SHELL_STARTUP)
    if str(p) in SYSTEM_DIRS or _matches_any(rel, SYSTEM_TREES):
        found.add(PathClass.SYSTEM_CRITICAL)
    return frozenset(found or {PathClass.ORDINARY})


def _proc_root(p: PurePosixPath) -> PurePosixPath | None:
    """``/proc/PID/root/...`` (and ``/proc/self/root/...``) is the process's view of ``/``."""
    parts = p.parts
    if len(parts) > 3 and parts[1] == "proc" and parts[3] == "root":
        return PurePosixPath("/", *parts[4:])
    return None


def _is_credential(p: PurePosixPath, home_dir: str) -> bool:
    """Compared in lower case: on case-insensitive file systems (macOS, Windows)
    ``~/.SSH/ID_RSA`` is the key itself."""
    lowered = PurePosixPath(str(p).lower())
    if lowered.name.endswith(".pub"):  # public keys are meant to be shared
        return False
    parts = lowered.parts
    rel_homes = _home_relative(parts, home_dir.lower())
    public = lowered.name in PUBLIC_CERTIFICATE_NAMES or _matches_any(
        parts[1:], PUBLIC_CERTIFICATE_TREES
    )
    return (
        _matches_any(parts[1:], SYSTEM_CREDENTIALS)
        or (is_credential_name(lowered.name) and not public)
        or any(_matches_any(r, HOME_CREDENTIALS) for r in rel_homes)
        # a service account's home anywhere (/var/lib/jenkins/.aws/credentials)
        or any(
            part.startswith(".") and _matches_any(parts[i:], HOME_CREDENTIALS)
            for i, part in enumerate(parts[1:-1], start=1)
        )
    )


# --- globs --------------------------------------------------------------------------

_GLOB_CHARS = frozenset("*?[")


def _is_glob(part: str) -> bool:
    return not _GLOB_CHARS.isdisjoint(part)


def _literal_chunks(pattern: str) -> tuple[str, str]:
    """The literal text before the first and after the last wildcard of a pattern."""
    first = min((pattern.find(c) for c in "*?[" if c in pattern), default=len(pattern))
    last = max(pattern.rfind(c) for c in "*?]")
    return pattern[:first], pattern[last + 1 :]


def _parts_overlap(part: str, pattern: _Component, text: str) -> bool:
    """Could one file name match both the user's component and the table's?"""
    if not _is_glob(part):
        return _component_matches(part, pattern)
    if type(pattern) is str:
        return fnmatchcase(pattern, part)
    user, table = _literal_chunks(part), _literal_chunks(text)
    prefixes = user[0].startswith(table[0]) or table[0].startswith(user[0])
    suffixes = user[1].endswith(table[1]) or table[1].endswith(user[1])
    return prefixes and suffixes


def _glob_overlaps(parts: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    for text in patterns:
        raw = [t for t in text.split("/") if t]
        pattern = _pattern(text)
        if pattern and pattern[-1] == "**":
            if len(parts) < len(pattern) - 1:
                continue
            pairs = zip(parts, pattern[:-1], raw[:-1], strict=False)
        elif len(parts) != len(pattern):
            continue
        else:
            pairs = zip(parts, pattern, raw, strict=True)
        if all(_parts_overlap(part, pat, t) for part, pat, t in pairs):
            return True
    return False


#: Credential file names as examples: literal names, and ``*.pem`` as a name with
#: an unknown stem, so only a glob that could end in ``.pem`` matches it.
_CREDENTIAL_EXAMPLES = tuple(n.replace("*", "\0") for n in CREDENTIAL_NAMES)
#: A glob needs this many literal characters in its last component before it is
#: taken to aim at a secret's name (``cat i*`` is not; ``cat id_*`` and ``.e*`` are).
_MIN_LITERAL = 2


def glob_may_be_credential(path: str, *, home: str | None = None) -> bool:
    """Could this glob (``/etc/sha*``, ``~/.ss?/id_*``, ``.e??``) name a credential file?

    Each component is compared with the credential tables: a literal against the
    table's pattern, a wildcard against the table's literal, and two wildcards by
    their literal prefix and suffix. A last component without literal characters
    (``*``, ``.*``) is not enough to aim at a secret name outside the secret trees.
    """
    return _glob_may_be_credential(path, _default_home(home))


@lru_cache(maxsize=4096)
def _glob_may_be_credential(path: str, home_dir: str) -> bool:
    """Pure, and agents glob the same few patterns: cached."""
    lowered = path.lower()
    parts = tuple(p for p in lowered.split("/") if p)
    if not parts or parts[-1].endswith(".pub"):  # public keys are meant to be shared
        return False
    name = parts[-1]
    aimed = sum(c.isalnum() or c in "._-" for c in re.sub(r"\[[^]]*\]|[*?]", "", name))
    if aimed >= _MIN_LITERAL and any(fnmatchcase(e, name) for e in _CREDENTIAL_EXAMPLES):
        return True
    if not lowered.startswith("/"):
        return False
    homes = _home_relative(("/", *parts), home_dir.lower())
    return _glob_overlaps(parts, SYSTEM_CREDENTIALS) or any(
        _glob_overlaps(r, HOME_CREDENTIALS) for r in homes
    )


@lru_cache(maxsize=64)
def credential_examples(home: str) -> tuple[str, ...]:
    """One concrete path per credential table entry, under ``home`` for the home
    tables (``find -path '*/.ssh/*'`` is matched against these)."""

    def concrete(pattern: str) -> str:
        return pattern.replace("**", "x").replace("*", "x")

    system = [concrete(p) for p in SYSTEM_CREDENTIALS]
    homes = [f"{home.rstrip('/')}/{concrete(p)}" for p in HOME_CREDENTIALS]
    return (*system, *homes)


def classify_path(
    path: PurePosixPath | str, *, home: str | None = None, governance: Iterable[str] = ()
) -> PathClass:
    """The most specific class of a path (see ``path_classes`` for all of them)."""
    classes = path_classes(path, home=home, governance=governance)
    return next((c for c in _PRIORITY if c in classes), PathClass.ORDINARY)


# --- the verdict --------------------------------------------------------------------


def _input_notes(text: str, cwd: str | None) -> list[str]:
    notes: list[str] = []
    dollar = "$" in text  # every $HOME spelling has one: skip the regexes without it
    if text.startswith("~") or (dollar and _HOME_EXPR.search(text)):
        notes.append("home directory expanded")
    if not text.startswith(("/", "~")) and not (dollar and _HOME_EXPR.match(text)):
        notes.append(f"relative path joined to {cwd if cwd is not None else os.getcwd()}")
    if ".." in text.split("/"):
        notes.append("contains '..'")
    if dollar and "$" in _HOME_EXPR.sub("", text):
        notes.append("unexpanded '$' left literal")
    return notes


@lru_cache(maxsize=64)
def _governance_forms(entries: tuple[str, ...], cwd: str | None, home_dir: str) -> tuple[str, ...]:
    """Lexical and resolved forms of the governance files (fixed for a runtime),
    sorted: the form ``path_classes`` keys its cache with."""
    forms: set[str] = set()
    for entry in entries:
        forms.add(str(normalize_path(entry, cwd=cwd, home=home_dir)))
        forms.add(str(resolve_path(entry, cwd=cwd, home=home_dir)))
    return tuple(sorted(forms))


def check_path(
    path: str | os.PathLike[str],
    *,
    safe_paths: Iterable[str] = (),
    cwd: str | None = None,
    home: str | None = None,
    governance: Iterable[str] = (),
) -> PathVerdict:
    """Resolve a path and classify it, and every symlink on the way to it.

    A link's own location counts too (writing ``~/.bashrc`` writes wherever it
    points, and it is still a start-up file). ``inside_safe`` compares resolved
    forms component-wise; it never removes a protected class.
    """
    home_dir = _default_home(home)
    text = _text(path)
    absolute = _absolute(text, cwd, home_dir)
    lexical = _collapsed(absolute)
    if lexical in BENIGN_DEVICES:
        resolution = _Resolution(lexical, (), False)
    else:
        resolution = _resolve(absolute)
    gov = _governance_forms(tuple(governance), cwd, home_dir)
    if lexical == resolution.path and not resolution.links:
        classes = _cached_classes(lexical, home_dir, gov)  # the one path seen
    else:
        seen = {lexical, resolution.path, *(_collapsed(loc) for loc, _ in resolution.links)}
        classes = frozenset().union(*(_cached_classes(p, home_dir, gov) for p in seen))
        if len(classes) > 1:
            classes -= {PathClass.ORDINARY}
    resolved = _pure_path(resolution.path)
    safe = [resolve_path(s, cwd=cwd, home=home_dir) for s in safe_paths]
    inside = any(is_within(resolved, root) for root in safe)
    notes = _input_notes(text, cwd)
    notes += [f"symlink {loc} -> {target}" for loc, target in resolution.links]
    if resolution.loop:
        notes.append("too many symlinks (loop); rest kept lexically")
    protected = classes & PROTECTED_CLASSES
    if inside and protected:
        names = ", ".join(sorted(protected))
        notes.append(f"inside a safe path, but safe_paths do not open {names}")
    return PathVerdict(resolved, classes, inside, tuple(notes))
