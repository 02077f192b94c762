"""What every command shares: exit codes, error mapping, option parsing, console."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from canopy.errors import CanopyError, MalformedInputError, VerificationError
from canopy.ledger.note import Verifier

EXIT_OK = 0
EXIT_FAILED = 1  # tampered, inconsistent, invalid, or "nothing matched"
EXIT_USAGE = 2  # usage error, unreadable or not-a-ledger file, bad key

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn library errors into CLI errors with the documented exit codes."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except VerificationError as e:
            err_console.print(f"[bold red]invalid:[/] {e}")
            sys.exit(EXIT_FAILED)
        except (CanopyError, OSError, ValueError) as e:
            err_console.print(f"[bold red]error:[/] {e}")
            sys.exit(EXIT_USAGE)

    return wrapper  # type: ignore[return-value]


def progress_bar(label: str, *, show: bool) -> Progress:
    """A progress bar over events, shown only on a terminal."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (show and console.is_terminal),
    )


def parse_verifier(value: str) -> Verifier:
    """A vkey given inline, or the path of a file holding one (first non-comment line)."""
    text = value
    path = Path(value)
    if "+" not in value or path.exists():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise click.BadParameter(
                f"{value}: not a verifier key and not a readable file ({e})"
            ) from e
        candidates = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
        if not candidates:
            raise click.BadParameter(f"{value}: file holds no verifier key")
        text = candidates[0]
    try:
        return Verifier.from_vkey(text)
    except MalformedInputError as e:
        raise click.BadParameter(f"{value}: {e}") from e


def public_key_option(func: F) -> F:
    return click.option(
        "--public-key",
        "public_keys",
        multiple=True,
        metavar="VKEY|FILE",
        help="Trusted verifier key (C2SP vkey) or a file holding one. Repeatable.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(func)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def ledger_argument(func: F) -> F:
    return click.argument("ledger", type=click.Path(dir_okay=False, path_type=Path))(func)
