"""Credential paths a command computes instead of spelling them.

Why: ``cat ~/.ssh/id_rsa`` is refused, and so must be ``cat $(find ~ -name id_rsa)``,
``f=$(ls ~/.ssh); cat $f``, ``ls ~/.ssh | xargs -I{} cat ~/.ssh/{}`` and
``cat ~/.ssh/$(ls ~/.ssh | head -1)``. Two facts carry the path to the reader:

* a listing of a credential location (``ls ~/.ssh``, ``find ~/.aws``, ``find ~ -name
  id_rsa``, ``locate id_rsa``) prints names of credential files: its output is labelled
  ``LABEL_SECRET_PATHS``, and the label follows the text through pipes, substitutions,
  variables and xargs to whatever reads it;
* a path with an unknown part (``~/.ssh/$x``, xargs' ``~/.ssh/{}``) names any entry there:
  its pattern (``/home/me/.ssh/*``) is checked like a glob against the credential table,
  so ``~/.ssh/$x.pub`` stays a public key.

A listing narrowed to names that are not secrets (``find ~/.ssh -name '*.pub'``,
``ls ~/.ssh/*.pub``) is not labelled.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import TYPE_CHECKING

from canopy.decisions.analyzers.paths import is_credential_name
from canopy.decisions.analyzers.shell_paths import path_info
from canopy.decisions.analyzers.shell_words import LABEL_SECRET_PATHS, Word

if TYPE_CHECKING:
    from canopy.decisions.analyzers.shell_rules import Call
    from canopy.decisions.analyzers.shell_state import Collector, PathRef, Scope

__all__ = ["LISTERS", "computed_secret", "find_lists_secrets", "listing_labels"]

_LABELS = frozenset({LABEL_SECRET_PATHS})
_NONE: frozenset[str] = frozenset()
_LOCATORS = ("locate", "plocate", "mlocate")
#: Programs whose output lists paths under (or of) their operands, or, for the locators,
#: paths matching them.
LISTERS = ("ls", "realpath", "readlink", *_LOCATORS)


def listing_labels(call: Call) -> frozenset[str]:
    """``ls ~/.ssh`` (or, run in ``~/.ssh``, plain ``ls``), ``realpath ~/.ssh/id_rsa``,
    ``locate id_rsa``."""
    operands = call.parsed.operands
    if call.name in _LOCATORS:
        home = call.out.home
        return _LABELS if any(_names_secret(w.text, home) for w in operands) else _NONE
    if not operands and call.name == "ls":
        operands = [Word(".")]
    refs = [call.ref(w) for w in operands]
    return _LABELS if any(r.info is not None and r.info.credential for r in refs) else _NONE


def _names_secret(pattern: str, home: str) -> bool:
    """A locate pattern aimed at a credential: its last part is a secret's name, or it
    is a path into a credential location."""
    if "/" in pattern and path_info(pattern, glob=True, home=home, workspace=None).credential:
        return True
    return is_credential_name(posixpath.basename(pattern.rstrip("/")).strip("*"))


def find_lists_secrets(
    roots: Iterable[PathRef], names: Iterable[tuple[str, str]], out: Collector
) -> bool:
    """``find ~/.aws``, ``find ~/.ssh -name config``: a credential location searched, unless
    its name tests only select names that are not secrets (``-name '*.pub'``)."""
    patterns = [pattern for primary, pattern in names if "name" in primary]
    for root in roots:
        if root.info is None or not root.info.credential:
            continue
        if not patterns:
            return True
        for pattern in patterns:
            path = f"{root.path.rstrip('/')}/{pattern}"
            if path_info(path, glob=True, home=out.home, workspace=out.workspace).credential:
                return True
    return False


def computed_secret(word: Word, scope: Scope, out: Collector) -> str | None:
    """The credential a read operand may name though it is not spelled out: a name from a
    listing of secrets, or a path whose unknown part ranges over a credential location."""
    if LABEL_SECRET_PATHS in word.labels and word.content is None:  # <(ls ~/.ssh) is the list
        return f"{word.text} (a name listed from a credential location)"
    pattern = word.pattern
    if pattern is None or word.resolved:
        return None
    star = pattern.find("*")
    if star < 0 or "/" not in pattern[:star]:
        return None  # no known directory: ``$f`` alone is anything, not a glob of one place
    if scope.cwd_dynamic and not pattern.startswith("/"):
        return None
    path = scope.normalize(pattern)
    if path_info(path, glob=True, home=out.home, workspace=out.workspace).credential:
        return f"{path} (a path with an unknown part)"
    return None
