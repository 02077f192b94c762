"""The quickstart agent's tools: dry runs that say what they would do.

The quickstart session asks for ``rm -r -f /`` on purpose, so no tool body
here touches the machine: each returns a description of the call and notes
that it ran, which lets the quickstart show which calls reached a tool body.
"""

from __future__ import annotations

from collections.abc import Callable

#: Names of the tools whose bodies ran, in order (reset per session).
RAN: list[str] = []


def execute_shell(command: str) -> str:
    """Run a shell command (dry run)."""
    RAN.append("execute_shell")
    return f"would run: {command}"


def shell(cmd: str) -> str:
    """Run a shell command given as cmd (dry run)."""
    RAN.append("shell")
    return f"would run: {cmd}"


def write_file(path: str, content: str) -> str:
    """Write text to a file (dry run)."""
    RAN.append("write_file")
    return f"would write {len(content)} characters to {path}"


def http_request(url: str) -> str:
    """Fetch a URL (dry run)."""
    RAN.append("http_request")
    return f"would fetch {url}"


def call_external_api(url: str) -> str:
    """Call an external API (dry run)."""
    RAN.append("call_external_api")
    return f"would call {url}"


def pay(amount: str, recipient: str) -> str:
    """Pay an amount to a recipient (dry run)."""
    RAN.append("pay")
    return f"would pay {amount} to {recipient}"


TOOLS: dict[str, Callable[..., str]] = {
    fn.__name__: fn
    for fn in (execute_shell, shell, write_file, http_request, call_external_api, pay)
}
