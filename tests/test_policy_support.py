"""Builders shared by the policy tests (no tests here).

Views are built by hand, never by the analyzers, so these tests do not depend
on ``canopy.decisions.analyzers.shell`` existing: a ``SimpleCommand`` is
constructed the way the analyzer documents it (bundles split, long flags
named, operands in order, wrappers recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from canopy.canonical import canonical_text
from canopy.decisions.action import ActionView
from canopy.decisions.analyzers.shell_model import (
    ShellAnalysis,
    ShellFinding,
    ShellRisk,
    SimpleCommand,
)
from canopy.decisions.model import Severity
from canopy.decisions.policy import CompiledPolicy, load_policy


@dataclass(frozen=True)
class Money:
    """Stand-in for analyzers.money.Money: the policy reads .amount and .currency."""

    amount: Decimal
    currency: str


def write_policy(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def policy_from(tmp_path: Path, text: str, name: str = "policy.yaml") -> CompiledPolicy:
    return load_policy(write_policy(tmp_path, text, name))


def cmd(*words: str, wrappers: tuple[str, ...] = ()) -> SimpleCommand:
    """A SimpleCommand as the analyzer would report ``words`` (program first)."""
    program, args = words[0].rsplit("/", 1)[-1], tuple(words[1:])
    short: set[str] = set()
    long: set[str] = set()
    operands: list[str] = []
    for arg in args:
        if arg.startswith("--"):
            long.add(arg[2:])
        elif arg.startswith("-") and len(arg) > 1:
            short.update(arg[1:])
        else:
            operands.append(arg)
    return SimpleCommand(
        program=program,
        args=args,
        short_flags=frozenset(short),
        long_flags=frozenset(long),
        operands=tuple(operands),
        wrappers=wrappers,
        source=" ".join(words),
    )


def view(
    action_type: str,
    payload: dict[str, Any] | None = None,
    agent_ctx: dict[str, Any] | None = None,
    **facts: Any,
) -> ActionView:
    payload = payload if payload is not None else {}
    return ActionView(
        action_type=action_type,
        requested_type=action_type,
        payload=payload,
        agent_ctx=agent_ctx or {},
        payload_text=canonical_text(payload),
        **facts,
    )


def shell_view(
    command: str,
    *commands: SimpleCommand,
    agent_ctx: dict[str, Any] | None = None,
    analyzed: bool = True,
    risks: tuple[ShellRisk, ...] = (),
    written: tuple[str, ...] = (),
) -> ActionView:
    """An execute_shell view; ``analyzed=False`` means no analyzer ran (shell=None)."""
    shell = None
    if analyzed:
        findings = tuple(ShellFinding(r, Severity.MEDIUM, str(r)) for r in risks)
        shell = ShellAnalysis(command, commands, findings=findings, paths_written=written)
    return view("execute_shell", {"command": command}, agent_ctx, commands=(command,), shell=shell)
