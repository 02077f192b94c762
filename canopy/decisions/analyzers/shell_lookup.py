"""Which file a bare command name runs: PATH lookup against the files a text wrote.

``echo 'rm -rf /' > ls; PATH=$PWD:$PATH ls`` runs the file it just wrote, not
``/bin/ls``. The walker asks here, for each command named without a slash, which
of the files this text wrote a PATH lookup could find first.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable

from canopy.decisions.analyzers.shell_programs import word_set

__all__ = ["INHERITED_PATH", "SHELL_BUILTINS", "path_candidates"]

#: Found before any PATH lookup: a file of the same name never runs in their place.
SHELL_BUILTINS = word_set(
    ". : [ alias bg bind break builtin caller cd command compgen complete compopt "
    "continue declare dirs disown echo enable eval exec exit export false fc fg getopts "
    "hash help history jobs kill let local logout mapfile popd printf pushd pwd read "
    "readarray readonly return set shift shopt source suspend test times trap true type "
    "typeset ulimit umask unalias unset wait"
)

#: What an inherited ``$PATH`` holds on common systems, user directories included
#: (Debian's ``.profile`` adds ``~/bin`` and ``~/.local/bin`` when they exist).
INHERITED_PATH = (
    "~/.local/bin",
    "~/bin",
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
)

_INHERITED_NAMES = frozenset({"$PATH", "${PATH}"})


def path_candidates(
    program: str,
    path_value: str | None,
    written: Iterable[str],
    normalize: Callable[[str], str],
) -> list[str]:
    """The written files a lookup of ``program`` could run, nearest PATH entry first.

    ``path_value`` is PATH as the text set it (None: inherited). An entry the
    analysis cannot resolve (``$PWD``, ``$(pwd)/bin``) could be any directory, so
    every written file of that name is a candidate; an empty entry or ``.`` is the
    working directory, as in bash.
    """
    if not program or "/" in program or program in SHELL_BUILTINS:
        return []
    named = [path for path in written if posixpath.basename(path) == program]
    if not named:
        return []
    entries = _entries(path_value)
    found: list[str] = []
    for entry in entries:
        if entry is None:
            matches = named
        else:
            directory = normalize(entry or ".").rstrip("/") or "/"
            matches = [path for path in named if (posixpath.dirname(path) or ".") == directory]
        found.extend(path for path in matches if path not in found)
    return found


def _entries(path_value: str | None) -> list[str | None]:
    """PATH's directories in order; None for one that could be anything."""
    if path_value is None:
        return list(INHERITED_PATH)
    entries: list[str | None] = []
    for entry in path_value.split(":"):
        if entry in _INHERITED_NAMES:
            entries.extend(INHERITED_PATH)
        elif "$" in entry or "`" in entry:
            entries.append(None)
        else:
            entries.append(entry)
    return entries
