"""State the shell analyzer carries while it walks: variables, directory, what it found.

Why a separate module: the walker (``shell.py``) and the per-program rules
(``shell_rules.py``) share these records, and neither should own the other's.
"""

from __future__ import annotations

import fnmatch
import posixpath
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from canopy.decisions.analyzers.shell_descriptors import Descriptors
from canopy.decisions.analyzers.shell_model import (
    ShellAnalysis,
    ShellFinding,
    ShellRisk,
    SimpleCommand,
)
from canopy.decisions.analyzers.shell_paths import PathInfo, normalize, path_info
from canopy.decisions.analyzers.shell_secret_flow import SecretPrints
from canopy.decisions.analyzers.shell_words import (
    LABEL_FOUND,
    LABEL_NARROWED,
    Stream,
    Word,
)
from canopy.decisions.model import Severity

__all__ = [
    "UNKNOWN",
    "BudgetExceeded",
    "Collector",
    "Ctx",
    "PathRef",
    "Runner",
    "Scope",
    "render",
]

UNKNOWN = Stream()  # input nobody told us about: not empty, not known

MAX_NODES = 100_000  # syntax nodes visited, over every nested script (a 256 KiB script needs <70k)
MAX_PARSED_BYTES = 4 * 1024 * 1024  # text parsed, over every nested script
MAX_COMMANDS = 20_000
MAX_ALTERNATIVES = 4  # earlier values kept per variable assigned in a branch
MAX_LINK_HOPS = 8  # symlinks created by the script, followed in a chain


class BudgetExceeded(Exception):
    """The analysis would cost more than we allow; the caller reports UNVERIFIABLE."""


@dataclass(slots=True)
class Scope:
    """One shell's variables and directory. Subshells get a copy; files are shared."""

    env: dict[str, Word]
    cwd: str  # absolute when known, else relative to the unknown start ("" = the start)
    home: str
    functions: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Stream] = field(default_factory=dict)  # what this script wrote
    positional: tuple[Word, ...] | None = None  # $1...; None = unknown
    dirstack: list[str] = field(default_factory=list)
    calling: frozenset[str] = frozenset()  # functions being expanded (recursion guard)
    cwd_dynamic: bool = False  # `cd "$DIR"`: relative paths now point anywhere
    arrays: dict[str, tuple[Word, ...]] = field(default_factory=dict)
    #: Values a variable may still hold because a later assignment might not have run
    #: (``if c; then X=/; else X=/tmp/x; fi``): commands using it are analyzed with each.
    alternatives: dict[str, tuple[Word, ...]] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # symlinks this script made
    #: Where stdout and stderr go for the commands that follow (``exec 1>&2`` moves them).
    fds: Descriptors = field(default_factory=Descriptors)
    #: What descriptors opened for reading hold (``exec 3<s``; 0: the stdin of the
    #: commands that follow, after ``exec <s``).
    inputs: dict[int, Stream] = field(default_factory=dict)
    #: ``set -x``: each command is printed on stderr, expanded, before it runs.
    xtrace: bool = False

    def copy(self) -> Scope:
        return Scope(
            env=dict(self.env),
            cwd=self.cwd,
            home=self.home,
            functions=dict(self.functions),
            files=self.files,
            positional=self.positional,
            dirstack=list(self.dirstack),
            calling=self.calling,
            cwd_dynamic=self.cwd_dynamic,
            arrays=dict(self.arrays),
            alternatives=dict(self.alternatives),
            links=self.links,
            fds=self.fds.copy(),
            inputs=dict(self.inputs),
            xtrace=self.xtrace,
        )

    def assign(self, name: str, word: Word, *, conditional: bool) -> None:
        """Straight-line tracking, except that a conditional assignment keeps the old value
        (or "unknown", if there was none) as an alternative."""
        old = self.env.get(name, Word(f"${name}", exact=False, resolved=False))
        if not conditional:
            self.alternatives.pop(name, None)
        elif old.text != word.text or old.exact != word.exact:
            kept = [w for w in self.alternatives.get(name, ()) if w.text != old.text]
            self.alternatives[name] = (*kept, old)[-MAX_ALTERNATIVES:]
        self.env[name] = word

    @property
    def cwd_known(self) -> bool:
        return self.cwd.startswith("/")

    def normalize(self, text: str) -> str:
        return normalize(text, self.cwd, self.home)

    def spelled(self, path: str) -> str:
        """A spelling of the normalized ``path`` that ``normalize`` maps back to it here."""
        base = self.cwd or "."
        if path.startswith("/") != base.startswith("/"):
            return path
        return posixpath.relpath(path, base)

    def follow_links(self, path: str) -> str:
        """The path through the symlinks this script created, as the kernel follows them."""
        for _ in range(MAX_LINK_HOPS):
            link = next((k for k in self.links if path == k or path.startswith(k + "/")), None)
            if link is None:
                break
            path = normalize(self.links[link] + path[len(link) :], self.cwd, self.home)
        return path


@dataclass(frozen=True, slots=True)
class Ctx:
    """How the current command was reached: nesting, wrappers, what its stdin carries."""

    depth: int = 0
    wrappers: tuple[str, ...] = ()
    stdin: Stream = UNKNOWN
    branch: bool = False  # inside if/case/while bodies or after && / ||: may not run

    def wrapped(self, label: str, *, nested: bool = False, stdin: Stream | None = None) -> Ctx:
        return Ctx(
            depth=self.depth + (1 if nested else 0),
            wrappers=(*self.wrappers, label),
            stdin=self.stdin if stdin is None else stdin,
            branch=self.branch,
        )

    def deeper(self) -> Ctx:
        return Ctx(self.depth + 1, self.wrappers, self.stdin, self.branch)

    def with_stdin(self, stdin: Stream) -> Ctx:
        return Ctx(self.depth, self.wrappers, stdin, self.branch)

    def branched(self) -> Ctx:
        return self if self.branch else Ctx(self.depth, self.wrappers, self.stdin, True)


@dataclass(frozen=True, slots=True)
class PathRef:
    """An operand as a path: the word, its normalized form, and what it points at."""

    word: Word
    path: str
    info: PathInfo | None  # None when the path is not known (unresolved expansion)

    @property
    def found(self) -> bool:
        """Stands for every entry under a tree (``find ROOT -exec CMD {}``)."""
        return LABEL_FOUND in self.word.labels

    @property
    def narrowed(self) -> bool:
        return LABEL_NARROWED in self.word.labels

    @property
    def dynamic(self) -> bool:
        return not self.word.exact


class Runner(Protocol):
    """What rules may ask of the walker: analyze nested shell text, an argv, or the code
    files in a language that this text wrote (a test runner or build tool loads them)."""

    def script(self, text: str, scope: Scope, ctx: Ctx) -> Stream: ...

    def argv(self, words: list[Word], scope: Scope, ctx: Ctx) -> Stream: ...

    def project_code(self, language: str, scope: Scope, ctx: Ctx, text: str) -> Stream: ...


class Collector:
    """Accumulates commands, findings and paths for one ``analyze_*`` call."""

    def __init__(
        self, text: str, home: str, workspace: str | None, protected: frozenset[str]
    ) -> None:
        self.text = text
        self.home = home
        self.workspace = workspace
        self.protected = protected
        self.commands: list[SimpleCommand] = []
        self._commands_seen: set[SimpleCommand] = set()
        self.findings: dict[tuple[ShellRisk, str, str], ShellFinding] = {}
        self.paths: dict[str, dict[str, None]] = {
            "deleted": {},
            "written": {},
            "read": {},
            "urls": {},
        }
        self.notes: dict[str, None] = {}
        self.secrets = SecretPrints()  # prints of secrets, decided by where they went
        self.parse_error = False
        self.nodes = 0
        self.parsed_bytes = 0

    def spend(self, nodes: int = 0, parsed: int = 0) -> None:
        self.nodes += nodes
        self.parsed_bytes += parsed
        if self.nodes > MAX_NODES or self.parsed_bytes > MAX_PARSED_BYTES:
            raise BudgetExceeded(
                f"analysis budget exhausted ({self.nodes} nodes, {self.parsed_bytes} bytes)"
            )

    def command(self, cmd: SimpleCommand) -> None:
        if cmd in self._commands_seen:
            return
        if len(self.commands) >= MAX_COMMANDS:
            raise BudgetExceeded(f"more than {MAX_COMMANDS} commands")
        self._commands_seen.add(cmd)
        self.commands.append(cmd)

    def finding(self, risk: ShellRisk, severity: Severity, detail: str, command: str = "") -> None:
        key = (risk, detail, command)
        old = self.findings.get(key)
        if old is None or old.severity < severity:
            self.findings[key] = ShellFinding(risk, severity, detail, command)

    def path(self, kind: str, path: str) -> None:
        if path:
            self.paths[kind][path] = None

    def wrote(self, path: str, *, glob: bool = False, tree: bool = False) -> bool:
        """Did this text write ``path`` (or a directory above it; with ``glob``, a path
        the pattern matches; with ``tree``, anything under it)? Running such a file is
        running what this text made."""
        below = path.rstrip("/") + "/" if path not in ("", ".") else ""
        for written in self.paths["written"]:
            if path == written or path.startswith(written.rstrip("/") + "/"):
                return True
            if glob and fnmatch.fnmatchcase(written, path):
                return True
            if tree and (not below or written.startswith(below)):
                return True
        return False

    def made(self, scope: Scope) -> list[str]:
        """Every path this text wrote or fetched, once each: those whose contents are
        known (``scope.files``) first."""
        return list(dict.fromkeys([*scope.files, *self.paths["written"]]))

    def note(self, text: str) -> None:
        self.notes[text] = None

    def ref(self, word: Word, scope: Scope) -> PathRef:
        """The path an operand names, classified. Unknown parts leave ``info`` empty."""
        if not word.resolved:
            return PathRef(word, word.text, None)
        if scope.cwd_dynamic and not word.text.startswith(("/", "~")):
            return PathRef(replace(word, exact=False, resolved=False), word.text, None)
        path = scope.normalize(word.text)
        if scope.links:
            path = scope.follow_links(path)
        info = path_info(path, glob=word.glob, home=self.home, workspace=self.workspace)
        return PathRef(word, path, info)

    def result(self) -> ShellAnalysis:
        self.secrets.report(self.finding)
        findings = sorted(self.findings.values(), key=lambda f: (-f.severity, f.risk.value))
        return ShellAnalysis(
            text=self.text,
            commands=tuple(self.commands),
            findings=tuple(findings),
            parse_error=self.parse_error,
            paths_deleted=tuple(self.paths["deleted"]),
            paths_written=tuple(self.paths["written"]),
            paths_read=tuple(self.paths["read"]),
            urls=tuple(self.paths["urls"]),
            notes=tuple(self.notes),
        )


def render(words: Sequence[Word | str]) -> str:
    """A command as one line of shell, quoted so it reads back as the same words."""
    texts = [w.text if isinstance(w, Word) else w for w in words]
    return " ".join(t if t and _plain(t) else shlex.quote(t) for t in texts)


def _plain(text: str) -> bool:
    return all(c.isalnum() or c in "-_./=:@%+,~*?[]{}$" for c in text)
