"""What the rules ask of one action, computed at most once per evaluation.

A ``Facts`` wraps an ``ActionView`` and derives, lazily, the views conditions
and patterns need (normalized text, canonical commands, resolved paths, hosts).
A rule that never asks for hosts costs nothing for hosts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from canopy.decisions.action import ActionView
from canopy.decisions.analyzers.paths import is_template_name
from canopy.decisions.analyzers.shell_model import SimpleCommand
from canopy.decisions.policy.commands import (
    CommandView,
    canonical_command,
    canonical_program,
    command_views,
    fallback_commands,
)
from canopy.decisions.policy.pathmatch import normalize_path, path_parts

__all__ = ["FILE_TYPES", "Facts", "UrlKey", "domain_for", "host_of", "normalize_text", "url_key"]

FILE_TYPES = frozenset({"modify_file", "read_file", "delete_file"})
WRITE_TYPES = frozenset({"modify_file", "delete_file"})

UrlKey = tuple[str, str, int | None, tuple[str, ...]]  # scheme, host, port, path segments
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


def domain_for(action_type: str, has_command: bool) -> str:
    """How ``deny_if`` patterns read for an action: shell, path, url or text."""
    if action_type == "execute_shell":
        return "shell"
    if action_type in FILE_TYPES:
        return "path"
    if action_type == "call_external_api":
        return "url"
    return "shell" if has_command else "text"


def normalize_text(text: str) -> str:
    """NFKC, casefolded, runs of whitespace as one space: what text patterns compare."""
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def host_of(url: str) -> str | None:
    """The lowercased host of a URL (or of ``host/path`` with no scheme)."""
    try:
        parts = urlsplit(url if "://" in url else f"//{url}")
        host = parts.hostname
    except ValueError:
        return None
    if not host:
        return None
    return unicodedata.normalize("NFKC", host).casefold().rstrip(".") or None


def url_key(url: str) -> UrlKey | None:
    """Scheme, host, effective port and path segments, for component-wise prefixes."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = host_of(url)
    scheme = parts.scheme.lower()
    if not scheme or host is None:
        return None
    segments = tuple(s for s in parts.path.split("/") if s)
    return scheme, host, port or _DEFAULT_PORTS.get(scheme), segments


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


class _lazy:
    """``cached_property`` without its per-access lock (Python 3.11): Facts is per call."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.name = fn.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class Facts:
    """Lazy, per-evaluation facts about one action. Not shared across threads."""

    def __init__(self, view: ActionView) -> None:
        self.view = view

    @_lazy
    def domain(self) -> str:
        return domain_for(self.view.action_type, bool(self.view.commands))

    @_lazy
    def text(self) -> str:
        """The normalized payload text; JSON escapes (``\\n``, ``\\"``) also read decoded."""
        raw = self.view.payload_text
        if "\\" in raw:  # canonical JSON escapes only quotes, backslashes and controls
            raw = "\n".join((raw, *_strings(self.view.payload)))
        return normalize_text(raw)

    @_lazy
    def cwd(self) -> str | None:
        cwd = self.view.agent_ctx.get("cwd")
        return cwd if isinstance(cwd, str) else None

    @_lazy
    def commands(self) -> tuple[SimpleCommand, ...]:
        """The analyzer's commands; the crude fallback only when it found none."""
        shell = self.view.shell
        found = shell.commands if shell is not None else ()
        if shell is not None and found and not shell.parse_error:
            return found
        extra = tuple(c for text in self.view.commands for c in fallback_commands(text))
        return (*found, *extra)

    @_lazy
    def command_views(self) -> tuple[CommandView, ...]:
        return tuple(v for c in self.commands for v in command_views(c))

    @_lazy
    def views_by_program(self) -> dict[str, tuple[CommandView, ...]]:
        """Command views by program, also under the base of a dotted name (mkfs.ext4)."""
        index: dict[str, list[CommandView]] = {}
        for view in self.command_views:
            for name in {view.program, view.program.split(".", 1)[0]}:
                index.setdefault(name, []).append(view)
        return {name: tuple(views) for name, views in index.items()}

    @_lazy
    def shell_regex_targets(self) -> tuple[str, ...]:
        """Payload text, command texts, and every spelling of every command.

        Spellings come from the command as analyzed and in canonical flags, so
        ``rm\\s+-rf`` also meets ``rm -R -f`` and ``rm --recursive --force``.
        """
        spellings: list[str] = []
        for command in self.commands:
            spellings += command.spellings()
            canonical = canonical_command(command)
            if canonical is not command:
                spellings += canonical.spellings()
        return tuple(dict.fromkeys((self.view.payload_text, *self.view.commands, *spellings)))

    @_lazy
    def regex_targets(self) -> tuple[str, ...]:
        """What ``deny_regex`` and ``payload matches`` are tested against."""
        if self.domain == "shell":
            return self.shell_regex_targets
        v = self.view
        return (v.payload_text, *v.paths, *v.urls)

    @_lazy
    def paths(self) -> tuple[str, ...]:
        """Every path the action names, normalized (payload, analyzer, command words)."""
        raw: list[str] = list(self.view.paths)
        shell = self.view.shell
        if shell is not None:
            raw += [*shell.paths_written, *shell.paths_deleted, *shell.paths_read]
        for command in self.commands if (shell is not None or self.view.commands) else ():
            for word in (*command.args, *command.operands):
                candidate = word.split("=", 1)[1] if "=" in word[1:] else word
                if candidate.startswith(("/", "~")) or "/" in candidate:
                    raw.append(candidate)
        return tuple(dict.fromkeys(normalize_path(p, self.cwd) for p in raw if p))

    @_lazy
    def folded_parts(self) -> tuple[tuple[str, ...], ...]:
        """Components of each path, casefolded: what deny patterns compare."""
        return tuple(path_parts(p.casefold()) for p in self.paths)

    @_lazy
    def path_index(self) -> dict[str | tuple[str, ...], str]:
        """Lookups for path patterns, each to the first path that has it:

        * every leading run of components (``("/", "etc")`` for ``/etc/passwd``);
        * every component and its dotted stems (``id_rsa.pub`` also as ``id_rsa``),
          but not a template's (``.env.example`` is no ``.env``: it is committed
          for others to copy, and holds no secret).
        """
        out: dict[str | tuple[str, ...], str] = {}
        for path, parts in zip(self.paths, self.folded_parts, strict=True):
            for end in range(1, len(parts) + 1):
                out.setdefault(parts[:end], path)
            for part in parts:
                out.setdefault(part, path)
                if is_template_name(part):
                    continue
                dot = part.find(".", 1)
                while dot != -1:
                    out.setdefault(part[:dot], path)
                    dot = part.find(".", dot + 1)
        return out

    @_lazy
    def written_paths(self) -> tuple[str, ...] | None:
        """Paths the action writes or deletes; ``None`` when they cannot be known."""
        view = self.view
        if view.action_type in WRITE_TYPES:
            return tuple(normalize_path(p, self.cwd) for p in view.paths if p)
        if view.shell is not None and not view.shell.parse_error:
            written = (*view.shell.paths_written, *view.shell.paths_deleted)
            return tuple(normalize_path(p, self.cwd) for p in written if p)
        if view.commands:
            return None
        return ()

    @_lazy
    def urls(self) -> tuple[str, ...]:
        shell = self.view.shell
        return tuple(dict.fromkeys((*self.view.urls, *(shell.urls if shell else ()))))

    @_lazy
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h for h in map(host_of, self.urls) if h))

    @_lazy
    def url_keys(self) -> tuple[tuple[str, UrlKey], ...]:
        """(url, key) for every URL that parses with a scheme and a host."""
        pairs = ((u, url_key(u)) for u in self.urls)
        return tuple((u, k) for u, k in pairs if k is not None)

    @_lazy
    def programs(self) -> tuple[str, ...]:
        """Canonical program names, wrappers included (``sudo``, ``bash``)."""
        names: list[str] = []
        for command in self.commands:
            if command.program:
                names.append(canonical_program(command.program))
            names += [canonical_program(w.split()[0]) for w in command.wrappers if w.strip()]
        return tuple(dict.fromkeys(names))

    @_lazy
    def program_keys(self) -> frozenset[str]:
        """Programs and the base of dotted names (``mkfs.ext4`` is also ``mkfs``)."""
        return frozenset(k for p in self.programs for k in (p, p.split(".", 1)[0]))

    @_lazy
    def risks(self) -> tuple[str, ...]:
        shell = self.view.shell
        return tuple(dict.fromkeys(f.risk.value for f in shell.findings)) if shell else ()

    @_lazy
    def amount(self) -> Any:
        return getattr(self.view.money, "amount", None)

    @_lazy
    def currency(self) -> Any:
        return getattr(self.view.money, "currency", None)
