"""Where a command's stdout and stderr end up after its redirections.

Why: a secret printed on stderr is in front of the agent as surely as one on stdout, and
redirections move output between the two, in order: ``echo $T >&2 > /dev/null`` still
shows the token (stdout went to stderr before ``> /dev/null`` was read), ``echo $T 3>&1
1>&2 2>&3 | cat > /dev/null`` swaps the two so the pipe gets nothing and the screen gets
the token, ``bash -c 'echo $T >&2' > /dev/null`` hides stdout only. A table of
descriptors, updated redirect by redirect as bash does, tells where each ends up.

``exec 1>&2`` (no command) changes the table of the shell it runs in for what follows:
the walker keeps that table in the scope (``Scope.fds``), relative to the enclosing
context, and a compound command with redirections (``{ ...; } > f``, ``( ... ) 2>&1``)
starts its body from a fresh table, its own redirections placing the result.

Targets are paths (normalized; ``""`` for a file named at run time), or one of the
markers below. A descriptor this command did not open (``>&3`` with no ``3>`` before it)
or closed (``>&-``) is ``UNKNOWN``: it is judged as if shown, which fails closed.
"""

from __future__ import annotations

__all__ = ["ERR", "OUT", "UNKNOWN_TARGET", "Descriptors"]

OUT = "<stdout>"  # the enclosing stdout: a pipe, a capture, a file further out, the agent
ERR = "<stderr>"  # the enclosing stderr: the agent's screen unless redirected further out
UNKNOWN_TARGET = ""  # a file named at run time, or a descriptor we cannot follow
#: Device files that reopen the command's own descriptors (``> /dev/stderr`` is ``>&2``).
_DESCRIPTOR_FILES = {"/dev/stdout": 1, "/dev/stderr": 2, "/dev/fd/1": 1, "/dev/fd/2": 2}
_DESCRIPTOR_FILES |= {"/proc/self/fd/1": 1, "/proc/self/fd/2": 2}


class Descriptors:
    """The output descriptors of one command, as its redirections leave them."""

    __slots__ = ("_table",)

    def __init__(self) -> None:
        self._table: dict[int, str] = {1: OUT, 2: ERR}

    def copy(self) -> Descriptors:
        other = Descriptors()
        other._table = dict(self._table)
        return other

    def piped(self) -> Descriptors:
        """The table of a pipeline stage whose stdout is the pipe: ``OUT`` now means the
        pipe, so a descriptor that pointed at the shell's stdout is one we cannot name."""
        other = Descriptors()
        other._table = {fd: UNKNOWN_TARGET if t == OUT else t for fd, t in self._table.items()}
        other._table[1] = OUT
        return other

    def to_file(self, fd: int, path: str) -> None:
        """``fd>path`` (also ``>>``, ``>|``, ``<>``)."""
        source = _DESCRIPTOR_FILES.get(path)
        if source is not None:
            self.duplicate(fd, source)
        else:
            self._table[fd] = path

    def duplicate(self, fd: int, source: int) -> None:
        """``fd>&source``: ``fd`` now writes where ``source`` writes at this moment."""
        self._table[fd] = self._table.get(source, UNKNOWN_TARGET)

    def close(self, fd: int) -> None:
        """``fd>&-``: writes fail, or land in whatever the program opens next."""
        self._table[fd] = UNKNOWN_TARGET

    def target(self, fd: int) -> str:
        return self._table.get(fd, UNKNOWN_TARGET)

    @property
    def moved(self) -> bool:
        """Does stdout or stderr go anywhere but where the enclosing command sends it?"""
        return self._table[1] != OUT or self._table[2] != ERR
