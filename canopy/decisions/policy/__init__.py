"""Canopy's policy language: YAML rules compiled once, evaluated per action.

The public surface is small: load or compile a policy, evaluate an
``ActionView``, lint a file, run policy test cases. docs/policy.md describes
the language. Names load on first use: the compiler (and PyYAML) is only
needed when a policy file is compiled, not to import the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canopy._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_POLICY": "canopy.decisions.policy.cache",
    "PRODUCTION_POLICY": "canopy.decisions.policy.cache",
    "load_policy": "canopy.decisions.policy.cache",
    "CaseResult": "canopy.decisions.policy.cases",
    "PolicyCase": "canopy.decisions.policy.cases",
    "run_policy_cases": "canopy.decisions.policy.cases",
    "compile_policy_text": "canopy.decisions.policy.compiler",
    "PolicyError": "canopy.decisions.policy.errors",
    "PolicyIssue": "canopy.decisions.policy.errors",
    "format_issue": "canopy.decisions.policy.errors",
    "CompiledPolicy": "canopy.decisions.policy.evaluate",
    "PolicyResult": "canopy.decisions.policy.evaluate",
    "PolicySnapshot": "canopy.decisions.policy.evaluate",
    "LintReport": "canopy.decisions.policy.lint",
    "lint_policy": "canopy.decisions.policy.lint",
}

__all__ = [
    "DEFAULT_POLICY",
    "PRODUCTION_POLICY",
    "CaseResult",
    "CompiledPolicy",
    "LintReport",
    "PolicyCase",
    "PolicyError",
    "PolicyIssue",
    "PolicyResult",
    "PolicySnapshot",
    "compile_policy_text",
    "format_issue",
    "lint_policy",
    "load_policy",
    "run_policy_cases",
]

if TYPE_CHECKING:
    from canopy.decisions.policy.cache import DEFAULT_POLICY, PRODUCTION_POLICY, load_policy
    from canopy.decisions.policy.cases import CaseResult, PolicyCase, run_policy_cases
    from canopy.decisions.policy.compiler import compile_policy_text
    from canopy.decisions.policy.errors import PolicyError, PolicyIssue, format_issue
    from canopy.decisions.policy.evaluate import CompiledPolicy, PolicyResult, PolicySnapshot
    from canopy.decisions.policy.lint import LintReport, lint_policy


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)
