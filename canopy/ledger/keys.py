"""Signing key files: created on first use, mode 0600, never world-readable.

A key file holds one line, the signer in Go ``sumdb/note`` form
(``PRIVATE+KEY+name+hash+base64``). By default it lives beside the ledger
(``<ledger>.key``); ``CANOPY_SIGNING_KEY`` names another path. A key file
that group or others can read is refused, like ssh refuses such keys.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from canopy.errors import KeyFileError, MalformedInputError
from canopy.ledger.files import fsync_dir
from canopy.ledger.note import Signer, generate_signer

__all__ = ["SIGNING_KEY_ENV", "create_signer", "default_key_path", "load_signer", "write_signer"]

SIGNING_KEY_ENV = "CANOPY_SIGNING_KEY"


def default_key_path(ledger_path: str | os.PathLike[str]) -> Path:
    """``CANOPY_SIGNING_KEY`` if set, else ``<ledger>.key`` beside the ledger."""
    configured = os.environ.get(SIGNING_KEY_ENV)
    if configured:
        return Path(configured)
    return Path(f"{os.fspath(ledger_path)}.key")


def read_key_file(path: Path, what: str = "signing key") -> str:
    """A private key file's text, refusing one that group or others can access."""
    try:
        info = path.stat()
    except FileNotFoundError as e:
        raise KeyFileError(f"{what} {path} does not exist") from e
    except OSError as e:
        raise KeyFileError(f"cannot read {what} {path}: {e}") from e
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{what} {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise KeyFileError(f"cannot read {what} {path}: {e}") from e


def load_signer(path: Path) -> Signer:
    text = read_key_file(path)
    try:
        return Signer.from_skey(text)
    except MalformedInputError as e:
        raise KeyFileError(f"signing key {path} is malformed: {e}") from e


def write_signer(path: Path, signer: Signer, *, replace: bool = False) -> None:
    """Write a key file with mode 0600, durably and atomically.

    The key is written to a private temporary file first and then linked (or,
    with ``replace``, renamed) into place, so a key file never exists half
    written; without ``replace`` an existing key file is never overwritten.
    """
    data = (signer.skey + "\n").encode("ascii")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        raise KeyFileError(f"cannot create signing key {path}: {e}") from e
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError as e:
                raise KeyFileError(f"signing key {path} already exists") from e
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def create_signer(path: Path, name: str) -> Signer:
    signer = generate_signer(name)
    write_signer(path, signer)
    return signer
