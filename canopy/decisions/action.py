"""The action as the layers see it: a normalized type and the facts in its payload.

``ActionView`` is built once per decision by ``canopy.decisions.extract`` and
read by every layer and by the policy language. It holds facts, never verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from canopy.decisions.analyzers.shell_model import ShellAnalysis

__all__ = ["CANONICAL_ACTION_TYPES", "ActionView"]

#: Action types the built-in layers understand; anything else is analysed by
#: payload shape (a command, path, URL or amount under any key).
CANONICAL_ACTION_TYPES = frozenset(
    {
        "execute_shell",
        "modify_file",
        "delete_file",
        "read_file",
        "call_external_api",
        "spend_money",
        "send_message",
        "spawn_agent",
        "physical_action",
        "query_database",
        "process_personal_data",
        "modify_governance",
    }
)


@dataclass(frozen=True, slots=True)
class ActionView:
    """One requested action, normalized, with what the analyzers found in it."""

    action_type: str  # canonical (aliases and spelling normalized)
    requested_type: str  # as the caller wrote it
    payload: Mapping[str, Any]
    agent_ctx: Mapping[str, Any]
    payload_text: str  # canonical JSON of the payload: what text conditions see
    commands: tuple[str, ...] = ()  # shell texts found (a joined argv counts)
    shell: ShellAnalysis | None = None  # merged analysis of every command
    paths: tuple[str, ...] = ()  # file paths named by the payload (raw)
    urls: tuple[str, ...] = ()  # URLs named by the payload or contacted by commands
    #: URLs only mentioned in the free text of an action that is no request (an issue's
    #: body, a message): maybe requested by whatever reads it, maybe only words.
    mentioned_urls: tuple[str, ...] = ()
    #: Commands only written in an unknown tool's text fields (``{"input": "rm -rf /"}``):
    #: run if that tool is a shell, words if it is not. Analysed, never executed here.
    mentioned_shell: ShellAnalysis | None = None
    money: Any = None  # canopy.decisions.analyzers.money.Money | None
    #: One Money per currency when the payload mixes them (a USD price, a EUR fee);
    #: ``money`` is then None, as no single amount says what the action moves.
    amounts: tuple[Any, ...] = ()
    money_error: str | None = None  # an amount-like field that does not parse
    shape_error: str | None = None  # the payload lacks what the action type needs
    notes: tuple[str, ...] = field(default=())
    governance: frozenset[str] = frozenset()  # Canopy's own files (ledger, key, policy)
    # Per-decision memo of analyzer results shared by the layers (see facts.py).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_command(self) -> bool:
        return bool(self.commands)
