"""Canopy's policy language: YAML rules compiled once, evaluated per action.

The public surface is small: load or compile a policy, evaluate an
``ActionView``, lint a file, run policy test cases. docs/policy.md describes
the language.
"""

from canopy.decisions.policy.cache import DEFAULT_POLICY, PRODUCTION_POLICY, load_policy
from canopy.decisions.policy.cases import CaseResult, PolicyCase, run_policy_cases
from canopy.decisions.policy.compiler import compile_policy_text
from canopy.decisions.policy.errors import PolicyError, PolicyIssue, format_issue
from canopy.decisions.policy.evaluate import CompiledPolicy, PolicyResult, PolicySnapshot
from canopy.decisions.policy.lint import LintReport, lint_policy

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
