"""Policy problems with their place in the file, and one way to print them.

Every problem the loader, the schema, the compiler or the linter finds is a
``PolicyIssue`` carrying ``file:line:column``, so an operator can jump to it.
Compilation collects all errors and raises them together in one ``PolicyError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from canopy.errors import MalformedInputError

__all__ = ["PolicyError", "PolicyIssue", "format_issue"]

Level = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    """One problem in a policy file. ``line``/``column`` are 1-based; 0 means unknown."""

    file: str | None
    line: int
    column: int
    message: str
    rule_id: str | None = None
    level: Level = "error"


class PolicyError(MalformedInputError):
    """A policy file that cannot be loaded or compiled; ``issues`` lists every error."""

    def __init__(self, issues: list[PolicyIssue]) -> None:
        assert issues, "PolicyError needs at least one issue"
        self.issues = list(issues)
        text = "; ".join(format_issue(i) for i in self.issues[:5])
        if len(self.issues) > 5:
            text += f"; and {len(self.issues) - 5} more"
        super().__init__(text)


def format_issue(issue: PolicyIssue) -> str:
    """``policy.yaml:12:5: error: unknown key 'deny_regexp' in rule 'no-rm' (...)``."""
    where = issue.file or "<policy>"
    if issue.line:
        where += f":{issue.line}"
        if issue.column:
            where += f":{issue.column}"
    return f"{where}: {issue.level}: {issue.message}"
