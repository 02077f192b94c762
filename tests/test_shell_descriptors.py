"""Secrets printed on stdout or stderr are judged where the redirections send them.

The model (``shell_descriptors``) is checked twice: a table of spellings an agent could
use to hide a print (or that CI uses to discard one), and a property test that runs each
generated command in a real bash and compares where the secret really went with what
the analyzer says: shown must always be reported (soundness), and when bash ran the
command cleanly the verdict must be exact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canopy.decisions.analyzers.shell import analyze_shell
from canopy.decisions.analyzers.shell_descriptors import ERR, OUT, UNKNOWN_TARGET, Descriptors
from canopy.decisions.analyzers.shell_model import ShellRisk

R = ShellRisk
SHOWN, FILE, USED = R.CREDENTIAL_ACCESS, R.SECRET_TO_FILE, None
_SECRET_RISKS = frozenset({SHOWN, FILE})
_PY_STDERR = "python3 -c 'import os, sys; print(os.environ[\"GITHUB_TOKEN\"], file=sys.stderr)'"


def fate(text: str) -> ShellRisk | None:
    """The gravest secret risk the analyzer reports for ``text`` (None: only used)."""
    found = {f.risk for f in analyze_shell(text, home="/home/agent").findings} & _SECRET_RISKS
    return SHOWN if SHOWN in found else FILE if FILE in found else None


# --- the table -------------------------------------------------------------------------

FATES: dict[str, ShellRisk | None] = {
    # stdout moved to stderr is still in front of the agent
    "echo $GITHUB_TOKEN >&2": SHOWN,
    "echo $GITHUB_TOKEN 1>&2 >/dev/null": USED,
    "echo $GITHUB_TOKEN >&2 2>/dev/null": SHOWN,  # stdout went where stderr was first
    "echo $GITHUB_TOKEN 2>/dev/null >&2": USED,
    "echo $GITHUB_TOKEN 3>&1 1>&2 2>&3 | cat >/dev/null": SHOWN,  # swapped: was ALLOW
    "echo $GITHUB_TOKEN >&2 | cat >/dev/null": SHOWN,
    "echo $GITHUB_TOKEN > /dev/stderr 2>/dev/null": SHOWN,
    "{ echo $GITHUB_TOKEN > /dev/stderr; } 2>/dev/null": USED,
    "echo $GITHUB_TOKEN 2>&1 >&2 | docker login -u me --password-stdin": USED,
    "echo $GITHUB_TOKEN >&3": SHOWN,  # a descriptor we cannot follow: as if shown
    "echo $GITHUB_TOKEN >&-": SHOWN,
    "echo $GITHUB_TOKEN {fd}>f": SHOWN,  # a new descriptor; stdout unchanged
    "echo $GITHUB_TOKEN {fd}>&2 >/dev/null": USED,
    "echo $GITHUB_TOKEN {a,b}>f": FILE,  # not a name: brace expansion, then >f
    # shells and groups pass stderr through to the redirections around them
    "bash -c 'echo $GITHUB_TOKEN >&2' >/dev/null": SHOWN,  # was ALLOW
    "bash -c 'echo $GITHUB_TOKEN >&2' 2>/dev/null": USED,
    "{ echo $GITHUB_TOKEN >&2; } 2>/dev/null": USED,
    "{ echo $GITHUB_TOKEN >&2; } >/dev/null": SHOWN,
    "(echo $GITHUB_TOKEN >&2 | cat) 2>/dev/null": USED,
    "f() { echo $GITHUB_TOKEN >&2; }; f 2>/dev/null": USED,
    "f() { echo $GITHUB_TOKEN >&2; }; f >/dev/null": SHOWN,
    "x=$(echo $GITHUB_TOKEN >&2)": SHOWN,  # a substitution captures stdout only
    "x=$(echo $GITHUB_TOKEN 2>&1)": USED,
    "env 2>&1 >/dev/null": USED,
    "env >&2 2>/dev/null": SHOWN,
    "cat <<EOF >&2 2>/dev/null\n$GITHUB_TOKEN\nEOF": SHOWN,
    # interpreters printing on stderr (was: shown whatever the redirections)
    _PY_STDERR: SHOWN,
    f"{_PY_STDERR} >/dev/null": SHOWN,
    f"{_PY_STDERR} 2>/dev/null": USED,
    f"{_PY_STDERR} &>/dev/null": USED,
    f"{_PY_STDERR} 2>err.txt": FILE,
    f"{_PY_STDERR} 2>&1 | docker login -u me --password-stdin": USED,
    f"{_PY_STDERR} |& docker login -u me --password-stdin": USED,
    "printenv GITHUB_TOKEN >&2 |& cat >/dev/null": SHOWN,  # |&'s 2>&1 comes after >&2
    "{ printenv GITHUB_TOKEN >&2; } |& cat >/dev/null": USED,
    # exec moves the shell's own descriptors for what follows, in its context
    "( exec 1>&2; printenv GITHUB_TOKEN ) >/dev/null": SHOWN,
    "{ exec 1>&2; printenv GITHUB_TOKEN; } >/dev/null": SHOWN,
    "f() { exec 1>&2; printenv GITHUB_TOKEN; }; f >/dev/null": SHOWN,
    "bash -c 'exec 1>&2; printenv GITHUB_TOKEN' >/dev/null": SHOWN,
    "sh -c 'exec 2>&1; printenv GITHUB_TOKEN >&2' 2>/dev/null": SHOWN,
    "exec >/dev/null; printenv GITHUB_TOKEN": USED,
    "exec 1>&2; printenv GITHUB_TOKEN | docker login -u me --password-stdin": USED,
    "exec 1>&2; { printenv GITHUB_TOKEN; } >/dev/null": USED,
    # <(...) writes its stderr to the shell's, whatever the command it feeds redirects
    "cat <(printenv GITHUB_TOKEN >&2) 2>/dev/null": SHOWN,
    "diff <(printenv GITHUB_TOKEN >&2) /dev/null 2>/dev/null": SHOWN,
    # code that names stderr may print on either stream
    "perl -e 'print STDERR $ENV{GITHUB_TOKEN}' >/dev/null": SHOWN,
    "perl -e 'print STDERR $ENV{GITHUB_TOKEN}' >/dev/null 2>/dev/null": USED,
    "php -r 'fwrite(STDERR, getenv(\"GITHUB_TOKEN\"));' >/dev/null": SHOWN,
    "python3 -c 'import os, sys; sys.stdout = sys.stderr; print(os.environ[\"GITHUB_TOKEN\"])' "
    ">/dev/null": SHOWN,
    "echo $GITHUB_TOKEN | perl -ne 'print STDERR' >/dev/null": SHOWN,
    "echo $GITHUB_TOKEN | perl -ne 'print' >/dev/null": USED,
    # awk: ENVIRON printed, to stdout, stderr or a file
    """awk 'BEGIN { print ENVIRON["GITHUB_TOKEN"] }'""": SHOWN,
    """awk 'BEGIN { print ENVIRON["GITHUB_TOKEN"] > "/dev/stderr" }' >/dev/null""": SHOWN,
    """awk 'BEGIN { for (k in ENVIRON) print k "=" ENVIRON[k] }' >/dev/null""": USED,
    """awk 'BEGIN { x = ENVIRON["GITHUB_TOKEN"]; print x > "t.txt" }'""": FILE,
    """awk 'BEGIN { x = ENVIRON["GITHUB_TOKEN"]; print "ok" }'""": USED,
    """awk 'BEGIN { print ENVIRON["HOME"] }'""": USED,
    """printf 'BEGIN { print ENVIRON["GITHUB_TOKEN"] }' > f.awk; awk -f f.awk""": SHOWN,
    # a program told to write its output to the screen shows its input
    "echo $GITHUB_TOKEN | sort -o /dev/stderr >/dev/null": SHOWN,
    "echo $GITHUB_TOKEN | sed 'w /dev/stderr' >/dev/null": SHOWN,
    "echo $GITHUB_TOKEN | sort >/dev/null": USED,
    f"{_PY_STDERR} | docker login -u me --password-stdin": SHOWN,
    f"{_PY_STDERR} 2>&1 | tee log.txt": SHOWN,
    f"{_PY_STDERR} 2>&1 | tee log.txt >/dev/null": FILE,
    # set -x prints each command, expanded, on the shell's stderr before it runs
    'set -x; curl -sH "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user': SHOWN,
    "set -x; docker login -u me -p $GITHUB_TOKEN >/dev/null 2>&1": SHOWN,  # traced first
    "set -o xtrace; T=$GITHUB_TOKEN": SHOWN,
    "bash -xc 'true $GITHUB_TOKEN'": SHOWN,
    "set -x; exec 2>/dev/null; true $GITHUB_TOKEN": USED,
    "(set -x; true $GITHUB_TOKEN) 2>/dev/null": USED,
    "set -x; exec 2>trace.log; true $GITHUB_TOKEN": FILE,
    "set -x; set +x; true $GITHUB_TOKEN": USED,
    "set -x; bash -c 'true $GITHUB_TOKEN'": USED,  # a new shell does not inherit -x
    "true $GITHUB_TOKEN": USED,
}


@pytest.mark.parametrize(("text", "expected"), FATES.items())
def test_secret_goes_where_the_descriptors_say(text: str, expected: ShellRisk | None) -> None:
    assert fate(text) == expected, text


# --- the model alone -------------------------------------------------------------------


def test_duplicates_copy_the_target_at_that_moment() -> None:
    fds = Descriptors()
    fds.to_file(1, "/w/f")
    fds.duplicate(2, 1)
    fds.to_file(1, "/dev/null")
    assert (fds.target(1), fds.target(2)) == ("/dev/null", "/w/f")


def test_swap_through_a_third_descriptor() -> None:
    fds = Descriptors()
    fds.duplicate(3, 1)
    fds.duplicate(1, 2)
    fds.duplicate(2, 3)
    assert (fds.target(1), fds.target(2)) == (ERR, OUT)
    assert fds.moved


def test_unopened_and_closed_descriptors_are_unknown() -> None:
    fds = Descriptors()
    assert not fds.moved
    fds.duplicate(1, 7)
    fds.close(2)
    assert fds.target(1) == fds.target(2) == UNKNOWN_TARGET


def test_device_files_reopen_the_commands_own_descriptors() -> None:
    fds = Descriptors()
    fds.to_file(1, "/dev/stderr")
    fds.to_file(2, "/proc/self/fd/1")
    assert (fds.target(1), fds.target(2)) == (ERR, ERR)


# --- against a real bash ---------------------------------------------------------------

_REDIRECTS = (
    ">f1",
    ">>f2",
    "2>f1",
    "2>f3",
    ">/dev/null",
    "2>/dev/null",
    "&>f3",
    ">&f2",
    ">&2",
    "2>&1",
    "3>&1",
    "3>&2",
    "1>&3",
    "2>&3",
    "3>f2",
    ">/dev/stderr",
    "2>/dev/stdout",
    ">&-",
    "2>&-",
)
_PRINTERS = (
    "echo $GITHUB_TOKEN",
    _PY_STDERR,
    "{ echo $GITHUB_TOKEN >&2; }",
    "bash -c 'echo $GITHUB_TOKEN >&2'",
    "{ set -x; true $GITHUB_TOKEN; }",  # the trace of a command is printed on stderr
)
#: ``exec`` with only redirections moves the shell's own descriptors for what follows.
_BEFORE = ("", "exec 1>&2; ", "exec 2>&1; ", "exec 3>&1 1>&2 2>&3; ", "exec >/dev/null; ")
#: What reaches the pipe is discarded: only stderr can show it (with ``|&`` not even that,
#: unless the command's own redirections sent it elsewhere first).
_AFTER = ("", " | cat >/dev/null", " |& cat >/dev/null")
_TOKEN = "ghp_" + "Q" * 36


def _where_bash_put_it(command: str, workdir: Path) -> tuple[ShellRisk | None, bool]:
    """Run ``command`` with a token in the environment: SHOWN if the token reached the
    real stdout or stderr, FILE if only a file, else None; and whether bash ran it
    cleanly (a bad or closed descriptor makes bash or the program fail)."""
    for leftover in workdir.iterdir():
        leftover.unlink()
    env = {"PATH": os.environ["PATH"], "GITHUB_TOKEN": _TOKEN, "LC_ALL": "C"}
    argv = ["bash", "-o", "pipefail", "-c", command]
    done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, timeout=20)
    if _TOKEN.encode() in done.stdout + done.stderr:
        where = SHOWN
    elif any(_TOKEN.encode() in f.read_bytes() for f in workdir.iterdir()):
        where = FILE
    else:
        where = None
    return where, done.returncode == 0 and not done.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    before=st.sampled_from(_BEFORE),
    printer=st.sampled_from(_PRINTERS),
    redirects=st.lists(st.sampled_from(_REDIRECTS), min_size=1, max_size=4),
    after=st.sampled_from(_AFTER),
    grouped=st.booleans(),
)
def test_agrees_with_bash(
    tmp_path_factory: pytest.TempPathFactory,
    before: str,
    printer: str,
    redirects: list[str],
    after: str,
    grouped: bool,
) -> None:
    command = f"{before}{printer} {' '.join(redirects)}"
    if grouped:  # the exec and the command in a subshell whose stdout is discarded
        command = f"( {command} ) >/dev/null"
    command += after
    workdir = tmp_path_factory.mktemp("bash")
    really, clean = _where_bash_put_it(command, workdir)
    said = fate(command)
    if really is SHOWN:
        assert said is SHOWN, f"{command!r}: bash showed the token, analyzer said {said}"
    elif clean and "&-" not in command:
        assert said is really, f"{command!r}: bash: {really}, analyzer: {said}"
    else:  # bash refused a descriptor, or the program met a closed one (Python then
        # prints to stdout what was meant for stderr): the analyzer may only be stricter
        order = [None, FILE, SHOWN]
        assert order.index(said) >= order.index(really), f"{command!r}: {said}"
