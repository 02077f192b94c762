"""Per-program rules: what one resolved command does to paths, processes and the network.

Why: after unquoting and unwrapping, ``rm`` is ``rm`` however it was spelled; these rules
are the one place that says what ``rm -r`` of ``/etc`` means. Each rule reads the parsed
options and operands, records paths and findings, and returns what the command prints
(so pipelines know when a shell is fed downloaded or decoded text).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from urllib.parse import urlsplit

from canopy.decisions.analyzers.shell_env_secrets import rule_printenv
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_options import Parsed
from canopy.decisions.analyzers.shell_paths import (
    has_scheme,
    is_harmless_device,
    looks_like_url,
)
from canopy.decisions.analyzers.shell_programs import (
    CANOPY_PACKAGES,
    DECODERS,
    DISK_SUBCOMMANDS,
    DISK_TOOLS,
    DISK_WRITE_FLAGS,
    ECHOES_OPERANDS,
    EDITORS,
    ENV_DUMPERS,
    HOST_CLIENTS,
    INIT_LEVELS,
    INIT_PROGRAMS,
    MINERS,
    NAMES_BAD_OPERANDS,
    NETWORK_PROGRAMS,
    NON_READERS,
    PACKAGE_SUBCOMMANDS,
    POWER_PROGRAMS,
    PRIVILEGE_PROGRAMS,
    READERS,
    REMOTE_SOURCES,
    SCHEMELESS_HTTP_CLIENTS,
    SECURITY_PREFIXES,
    SECURITY_TOOLS,
    SERVICE_DANGEROUS,
    STRATUM,
    SYSTEMCTL_DANGEROUS,
)
from canopy.decisions.analyzers.shell_secret_flow import (
    names_output_device,
    printed,
    printed_if_secret,
    printed_on_stderr,
    shown,
    shows_input,
    used,
    with_secrets_of,
    written,
)
from canopy.decisions.analyzers.shell_secret_paths import (
    LISTERS,
    computed_secret,
    listing_labels,
)
from canopy.decisions.analyzers.shell_state import UNKNOWN, Collector, Ctx, PathRef, Runner, Scope
from canopy.decisions.analyzers.shell_words import (
    EMPTY,
    LABEL_CANOPY_PIDS,
    LABEL_DECODED,
    LABEL_REMOTE,
    LABEL_SECRET,
    LABEL_SECRET_PATHS,
    LABEL_TRANSFORMED,
    Stream,
    Word,
    decode_base64,
    decode_echo_escapes,
    decode_hex,
    printf_output,
)
from canopy.decisions.model import Severity

__all__ = ["Call", "apply_rules", "delete_target", "protected_hit", "write_target"]

R = ShellRisk
S = Severity


@dataclass(slots=True)
class Call:
    """One resolved command: everything a rule may look at."""

    program: str  # as executed (basename): "python3.12"
    name: str  # the family the tables know it by: "python"
    args: list[Word]
    parsed: Parsed
    text: str  # rendered, for findings
    scope: Scope
    ctx: Ctx
    out: Collector
    runner: Runner
    #: Set by a rule when the command prints a credential (``gh auth token``): what it prints.
    secret_printed: str | None = None

    def ref(self, word: Word) -> PathRef:
        return self.out.ref(word, self.scope)

    def report(self, risk: ShellRisk, severity: Severity, detail: str) -> None:
        self.out.finding(risk, severity, detail, self.text)


def apply_rules(call: Call) -> Stream:
    """Run the program's own rule and the family checks; return what it prints."""
    rule = RULES.get(call.name)
    stream = rule(call) if rule is not None else None
    for check in FAMILY_CHECKS:
        check(call)
    if call.ctx.stdin.prints and any(names_output_device(w.text) for w in call.args):
        shown(call.out, call.ctx.stdin)  # ``| sort -o /dev/stderr``: its input, on screen
    if stream is None and call.name in REMOTE_SOURCES:
        stream = Stream(None, frozenset({LABEL_REMOTE}))
    elif stream is None:
        stream = _default_output(call)
    if call.secret_printed is not None:
        return printed(call.out, call.secret_printed, call.text, stream)
    stream = _secret_operands(call, stream)
    return printed_if_secret(call.out, call.program, call.text, stream)


def _secret_operands(call: Call, stream: Stream) -> Stream:
    """A secret given as an operand to a program that shows its operands: on stdout
    (``basename $TOKEN``), or in the error that names one it cannot use (``ls $TOKEN``:
    "cannot access 'ghp_...'"), where the command's redirections send stderr."""
    if call.name not in ECHOES_OPERANDS and call.name not in NAMES_BAD_OPERANDS:
        return stream
    if not any(LABEL_SECRET in word.labels for word in call.parsed.operands):
        return stream
    if call.name in ECHOES_OPERANDS:
        return replace(stream, labels=stream.labels | {LABEL_SECRET})
    what = f"{call.program} names a secret operand in its error"
    return printed_on_stderr(call.out, what, call.text, stream)


def _default_output(call: Call) -> Stream:
    """A program we do not model: its output derives from its input, if any. Secrets in
    that input (stdin, files it reads) pass only through filters that show it (``grep``,
    ``base64``); any other program uses them (``docker login --password-stdin``, ``kubectl
    ... --from-file=<(...)``): see ``shell_secret_flow``."""
    if not shows_input(call.name, call.parsed):
        for word in call.args:
            if word.content is not None:
                used(call.out, word.content)
        return _derived_output(call.ctx.stdin, keep_secrets=False)
    output = _derived_output(call.ctx.stdin, keep_secrets=True)
    for word in call.parsed.files:
        output = with_secrets_of(output, _known_content(call, word))
    return output


def _derived_output(stdin: Stream, *, keep_secrets: bool) -> Stream:
    """What a program writes when all we know is that it derives from its input."""
    if stdin is UNKNOWN or (stdin.text is None and not stdin.labels):
        return UNKNOWN
    labels = stdin.labels - {LABEL_CANOPY_PIDS}
    if stdin.text:
        labels |= {LABEL_TRANSFORMED}
    if not keep_secrets:
        return Stream(None, labels - {LABEL_SECRET})
    return Stream(None, labels, prints=stdin.prints)


def _known_content(call: Call, word: Word) -> Stream:
    """A file operand's contents, when known: a process substitution, or a file this text
    wrote (``env > e; sort e``)."""
    if word.content is not None:
        return word.content
    if call.scope.files:
        return call.scope.files.get(call.ref(word).path, UNKNOWN)
    return UNKNOWN


# --- shared path effects -------------------------------------------------------------

_CANOPY_INSTALL = re.compile(r"/(?:site|dist)-packages/canopy(?:[-_]runtime[^/]*)?(?:/|$)")


def protected_hit(ref: PathRef, out: Collector, *, ancestors: bool = False) -> bool:
    """Does this path name one of Canopy's protected files?

    ``ancestors``: the operation takes whole trees (``rm -r``, ``mv``), so a directory
    holding a protected file counts too. A glob counts when it singles files out
    (``audit.*``); match-everything globs are the recursive-delete rules' business.
    """
    if ref.info is None:
        return False
    path = ref.path
    if _CANOPY_INSTALL.search(path):
        return True
    base = posixpath.basename(path)
    for name in out.protected:
        if "/" in name:
            target = posixpath.normpath(name)
            if path == target or _glob_hits(path, target):
                return True
            if ancestors and target.startswith(path.rstrip("/") + "/"):
                return True
        elif base == name or _glob_hits(base, name):
            return True
    return False


def _glob_hits(pattern: str, name: str) -> bool:
    last = posixpath.basename(pattern)
    if not any(c in last for c in "*?[") or set(last.lstrip(".")) <= {"*", "?"}:
        return False
    return fnmatch.fnmatchcase(name, pattern)


def delete_target(call: Call, ref: PathRef, *, recursive: bool, verb: str = "deletes") -> None:
    """Deleting one operand: from routine (build/) to destroying the system (/)."""
    out, text = call.out, ref.word.text
    recursive = recursive or ref.found
    if ref.info is None:
        out.path("deleted", text)
        risk = R.RECURSIVE_DELETE if recursive else R.DELETE
        sev = S.HIGH if recursive else S.MEDIUM
        call.report(risk, sev, f"{verb} {text}: target is dynamic")
        call.report(R.UNVERIFIABLE, sev, f"{call.program} target {text} is dynamic")
        return
    info = ref.info
    out.path("deleted", ref.path)
    if protected_hit(ref, out, ancestors=recursive):
        call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, f"{verb} Canopy's protected file {ref.path}")
    if not ref.word.exact:
        call.report(
            R.UNVERIFIABLE, S.HIGH, f"{call.program} target {text} is a guess from a default"
        )
    if info.critical and (recursive or info.glob):
        if ref.narrowed and (info.home or not info.critical_exact):
            call.report(R.RECURSIVE_DELETE, S.HIGH, f"{verb} matching files under {ref.path}")
        else:
            call.report(R.DESTROY_SYSTEM, S.CRITICAL, f"{verb} {ref.path} recursively")
    elif info.critical:
        call.report(R.DELETE, S.HIGH, f"{verb} system directory {ref.path}")
    elif recursive:
        routine = info.contained or (
            ref.narrowed and info.relative and not ref.path.startswith("..")
        )
        call.report(
            R.RECURSIVE_DELETE, S.MEDIUM if routine else S.HIGH, f"{verb} {ref.path} recursively"
        )
    else:
        sev = S.HIGH if info.system or info.credential or info.device else S.MEDIUM
        call.report(R.DELETE, sev, f"{verb} {ref.path}")


_SUDOERS = re.compile(r"^/etc/sudoers(?:\.d(?:/.*)?)?$|^/(?:private/)?etc/sudoers")
_SPECIAL_WRITES: tuple[tuple[re.Pattern[str], ShellRisk, Severity, str], ...] = (
    (_SUDOERS, R.PRIVILEGE, S.HIGH, "writes sudoers"),
    (
        re.compile(r"^/proc/sysrq-trigger$|^/proc/sys/"),
        R.SYSTEM_CONTROL,
        S.HIGH,
        "writes kernel controls",
    ),
    (
        re.compile(r"^/etc/ld\.so\.preload$"),
        R.ENV_HIJACK,
        S.HIGH,
        "writes the dynamic loader preload list",
    ),
    (re.compile(r"/\.ssh/authorized_keys2?$"), R.PRIVILEGE, S.HIGH, "grants SSH access"),
    (
        re.compile(r"^/etc/(?:passwd|shadow|group|gshadow)$"),
        R.PRIVILEGE,
        S.HIGH,
        "edits system accounts",
    ),
    (re.compile(r"^/etc/cron|^/var/spool/cron"), R.PRIVILEGE, S.HIGH, "installs scheduled jobs"),
)


def write_target(call: Call, ref: PathRef, *, truncate: bool, verb: str = "writes") -> None:
    """Writing one path: a device write destroys data, a system file is high risk."""
    out = call.out
    if ref.info is None:
        out.path("written", ref.word.text)
        if truncate:
            call.report(R.OVERWRITE, S.MEDIUM, f"{verb} {ref.word.text}: target is dynamic")
            call.report(
                R.UNVERIFIABLE, S.MEDIUM, f"{call.program} write target {ref.word.text} is dynamic"
            )
        return
    path, info = ref.path, ref.info
    if path.startswith(("/dev/tcp/", "/dev/udp/")):
        _network_device(call, path)
        return
    out.path("written", path)
    call.scope.files.pop(path, None)  # what it held is gone; a writer that knows sets it
    if is_harmless_device(path):
        return
    if protected_hit(ref, out):
        call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, f"{verb} Canopy's protected file {path}")
    if info.device or (path.startswith("/dev/") and not info.glob):
        call.report(R.DESTROY_SYSTEM, S.CRITICAL, f"{verb} device {path}")
        return
    for pattern, risk, severity, detail in _SPECIAL_WRITES:
        if pattern.search(path):
            call.report(risk, severity, f"{detail}: {path}")
    if info.shell_rc:
        call.report(R.ENV_HIJACK, S.MEDIUM, f"{verb} shell startup file {path}")
    if info.system or info.critical:
        call.report(R.OVERWRITE, S.HIGH, f"{verb} system path {path}")
    elif truncate:
        routine = info.relative or info.contained
        call.report(R.OVERWRITE, S.LOW if routine else S.MEDIUM, f"{verb} {path}")


def read_target(call: Call, ref: PathRef) -> None:
    if ref.info is None or not ref.info.credential:
        computed = computed_secret(ref.word, call.scope, call.out)
        if computed is not None:
            call.report(R.CREDENTIAL_ACCESS, S.HIGH, f"reads credentials {computed}")
    if ref.info is None:
        return
    if ref.path.startswith(("/dev/tcp/", "/dev/udp/")):
        _network_device(call, ref.path)
        return
    call.out.path("read", ref.path)
    if ref.info.credential:
        call.report(R.CREDENTIAL_ACCESS, S.HIGH, f"reads credentials {ref.path}")


def _network_device(call: Call, path: str) -> None:
    parts = path.split("/")
    url = f"{parts[2]}://{'/'.join(parts[3:5]).replace('/', ':')}" if len(parts) >= 5 else path
    call.out.path("urls", url)
    call.report(R.NETWORK, S.MEDIUM, f"opens a raw socket {url}")


def file_stream(call: Call, ref: PathRef) -> Stream:
    """What reading a file yields, when this script wrote it or it holds secrets."""
    if ref.word.content is not None:
        return ref.word.content
    if ref.info is None:
        return UNKNOWN
    if ref.path in _STDIN_PATHS:
        return call.ctx.stdin
    known = call.scope.files.get(ref.path)
    if known is not None:
        return known
    if ref.info.credential:
        return Stream(None, frozenset({LABEL_SECRET}))
    return UNKNOWN


# --- deletion and writes -------------------------------------------------------------


_STDIN_PATHS = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def rule_rm(call: Call) -> Stream:
    recursive = call.parsed.has("r")
    for word in call.parsed.operands:
        delete_target(call, call.ref(word), recursive=recursive)
    return EMPTY


def rule_rmdir(call: Call) -> Stream:
    for word in call.parsed.operands:
        delete_target(call, call.ref(word), recursive=False, verb="removes directory")
    return EMPTY


def rule_shred(call: Call) -> Stream:
    for word in call.parsed.operands:
        ref = call.ref(word)
        info = ref.info
        if info is not None and (info.device or info.critical):
            call.out.path("written", ref.path)
            call.report(R.DESTROY_SYSTEM, S.CRITICAL, f"shreds {ref.path}")
            continue
        write_target(call, ref, truncate=True, verb="shreds")
        call.report(R.OVERWRITE, S.MEDIUM, f"shreds {ref.path}")
        if call.parsed.has("u", "remove"):
            delete_target(call, ref, recursive=False, verb="shreds and deletes")
    return EMPTY


def rule_wipe(call: Call) -> Stream:
    for word in call.parsed.operands:
        delete_target(call, call.ref(word), recursive=True, verb="wipes")
    return EMPTY


def rule_rimraf(call: Call) -> Stream:
    """rimraf (and ``npx rimraf``): ``rm -rf`` for every operand."""
    for word in call.parsed.operands:
        delete_target(call, call.ref(word), recursive=True)
    return EMPTY


def rule_truncate(call: Call) -> Stream:
    for word in call.parsed.operands:
        ref = call.ref(word)
        write_target(call, ref, truncate=True, verb="truncates")
        if ref.info is not None and not ref.info.system:
            call.report(
                R.OVERWRITE,
                S.LOW if ref.info.relative or ref.info.contained else S.MEDIUM,
                f"truncates {ref.path}",
            )
    return EMPTY


def rule_touch(call: Call) -> Stream:
    for word in call.parsed.operands:
        write_target(call, call.ref(word), truncate=False, verb="creates")
    return EMPTY


def rule_tee(call: Call) -> Stream:
    truncate = not call.parsed.has("a")
    for word in call.parsed.operands:
        ref = call.ref(word)
        write_target(call, ref, truncate=truncate)
        if ref.info is not None:
            call.scope.files[ref.path] = call.ctx.stdin
        written(call.out, call.ctx.stdin, ref.path if ref.info is not None else "")
    return call.ctx.stdin


def rule_sponge(call: Call) -> Stream:
    """``sponge FILE`` (moreutils): ``tee FILE`` that prints nothing."""
    rule_tee(call)
    return EMPTY


#: ``getent DATABASE``: the databases that hold password hashes.
_SECRET_DATABASES = frozenset({"shadow", "gshadow"})


def rule_getent(call: Call) -> Stream | None:
    ops = call.parsed.operands
    if ops and ops[0].text in _SECRET_DATABASES:
        call.report(R.CREDENTIAL_ACCESS, S.HIGH, f"getent {ops[0].text} prints password hashes")
        call.secret_printed = f"getent {ops[0].text} prints password hashes"
    return None


def _destination(call: Call) -> tuple[list[Word], Word | None]:
    target = call.parsed.value("t", "target-directory")
    ops = call.parsed.operands
    if target is not None:
        return ops, Word.literal(target)
    if len(ops) < 2:
        return ops, None
    return ops[:-1], ops[-1]


def rule_copy(call: Call) -> Stream:
    sources, dest = _destination(call)
    for word in sources:
        read_target(call, call.ref(word))
    if dest is not None:
        ref = call.ref(dest)
        write_target(call, ref, truncate=True, verb="copies onto")
        if len(sources) == 1 and ref.info is not None:
            content = file_stream(call, call.ref(sources[0]))
            if content is not UNKNOWN:
                call.scope.files[ref.path] = content
    return EMPTY


def rule_mv(call: Call) -> Stream:
    sources, dest = _destination(call)
    dest_ref = call.ref(dest) if dest is not None else None
    into_null = dest_ref is not None and dest_ref.path == "/dev/null"
    for word in sources:
        ref = call.ref(word)
        if into_null:
            delete_target(call, ref, recursive=True, verb="moves to /dev/null")
            continue
        _move_away(call, ref)
    if dest_ref is not None and not into_null:
        write_target(call, dest_ref, truncate=True, verb="moves onto")
        if len(sources) == 1 and dest_ref.info is not None:
            content = file_stream(call, call.ref(sources[0]))
            if content is not UNKNOWN:
                call.scope.files[dest_ref.path] = content


def _move_away(call: Call, ref: PathRef) -> None:
    if ref.info is None:
        call.out.path("deleted", ref.word.text)
        call.report(R.UNVERIFIABLE, S.MEDIUM, f"mv source {ref.word.text} is dynamic")
        return
    call.out.path("deleted", ref.path)
    if protected_hit(ref, call.out, ancestors=True):
        call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, f"moves Canopy's protected file {ref.path}")
    if ref.info.critical and (ref.info.critical_exact or ref.found):
        call.report(R.DESTROY_SYSTEM, S.CRITICAL, f"moves {ref.path} away")
    elif ref.info.system:
        call.report(R.DELETE, S.HIGH, f"moves system path {ref.path} away")


def rule_ln(call: Call) -> Stream:
    sources, dest = _destination(call)
    if dest is None and sources:
        dest = Word.literal(posixpath.basename(sources[0].text.rstrip("/")) or ".")
    if dest is not None:
        ref = call.ref(dest)
        write_target(call, ref, truncate=call.parsed.has("f"), verb="links")
        if ref.info is not None:
            _remember_links(
                call, sources, ref.path, into=len(sources) > 1 or dest.text.endswith("/")
            )
    return EMPTY


def _remember_links(call: Call, sources: list[Word], dest: str, *, into: bool) -> None:
    """Later paths through the link reach its target: ``ln -s /etc/shadow x; cat x``."""
    symbolic = call.parsed.has("s")
    for word in sources:
        if not word.resolved:
            continue
        link = posixpath.join(dest, posixpath.basename(word.text.rstrip("/"))) if into else dest
        text = word.text
        if symbolic and not text.startswith(("/", "~")):
            text = posixpath.join(posixpath.dirname(link), text)  # relative to the link
        call.scope.links[link] = call.scope.normalize(text)


def rule_dd(call: Call) -> Stream:
    fields = {}
    for word in call.parsed.operands:
        key, eq, value = word.text.partition("=")
        if eq:
            fields[key] = Word(
                value, word.exact, word.resolved, word.glob, word.labels, word.content
            )
    source = fields.get("if")
    stream = call.ctx.stdin
    if source is not None:
        ref = call.ref(source)
        read_target(call, ref)
        stream = file_stream(call, ref)
    dest = fields.get("of")
    if dest is None:
        return stream
    ref = call.ref(dest)
    write_target(call, ref, truncate=True)
    written(call.out, stream, ref.path if ref.info is not None else "")
    if ref.info is not None and not ref.info.device and not ref.info.system:
        call.report(
            R.OVERWRITE,
            S.LOW if ref.info.relative or ref.info.contained else S.MEDIUM,
            f"dd writes {ref.path}",
        )
    return EMPTY


def rule_output_files(call: Call) -> Stream | None:
    """Programs that write a file named by an option or operand: ``sort -o F``,
    ``uniq IN OUT``, ``patch F``, ``ssh-keygen -f KEY`` (generating a key)."""
    p = call.parsed
    targets = p.values.get("o", []) + p.values.get("output", [])
    if call.name == "uniq" and len(p.operands) > 1:
        targets.append(p.operands[1].text)
    if call.name == "patch" and p.operands and not targets:
        targets.append(p.operands[0].text)
    if call.name == "ssh-keygen":
        reading = p.has("y", "l", "F", "R", "H", "B", "L", "Q", "k", "D", "i", "e")
        targets = [] if reading else p.values.get("f", [])
    for target in targets:
        write_target(call, call.ref(Word.literal(target)), truncate=True)
    return None


def rule_sed(call: Call) -> Stream | None:
    if call.parsed.has("i"):
        for word in call.parsed.files:
            write_target(call, call.ref(word), truncate=False, verb="edits")
        return EMPTY
    return None


def rule_editor(call: Call) -> Stream | None:
    databases = call.name in ("sqlite3", "sqlite", "duckdb")
    for word in call.parsed.operands[:1] if databases else call.parsed.operands:
        ref = call.ref(word)
        if ref.info is not None:
            write_target(call, ref, truncate=False, verb="opens for editing")
    return None


def rule_rsync(call: Call) -> Stream:
    ops = call.parsed.operands
    remote = [w.text for w in ops if looks_like_url(w.text)]
    for url in remote:
        call.out.path("urls", url)
    if remote:
        call.report(R.NETWORK, S.MEDIUM, "rsync to or from a remote host")
    if len(ops) < 2:
        return EMPTY
    for word in ops[:-1]:
        if not looks_like_url(word.text):
            read_target(call, call.ref(word))
    dest = ops[-1]
    if looks_like_url(dest.text):
        return EMPTY
    ref = call.ref(dest)
    if any(name.startswith("delete") for name in call.parsed.longs):
        delete_target(call, ref, recursive=True, verb="rsync --delete prunes")
    write_target(call, ref, truncate=True, verb="syncs into")
    return EMPTY


def rule_scp(call: Call) -> Stream:
    ops = call.parsed.operands
    for word in ops:
        if looks_like_url(word.text):
            call.out.path("urls", word.text)
    call.report(R.NETWORK, S.MEDIUM, "copies to or from a remote host")
    for word in ops[:-1]:
        if not looks_like_url(word.text):
            read_target(call, call.ref(word))
    if ops and not looks_like_url(ops[-1].text):
        write_target(call, call.ref(ops[-1]), truncate=True, verb="copies onto")
    return EMPTY


def rule_tar(call: Call) -> Stream:
    p = call.parsed
    ops = list(p.operands)
    archive = p.value("f", "file")
    if p.has("c", "r", "u"):
        if archive and archive != "-":
            write_target(
                call, call.ref(Word.literal(archive)), truncate=p.has("c"), verb="archives into"
            )
        for word in ops:
            read_target(call, call.ref(word))
        if p.has("remove-files"):
            for word in ops:
                delete_target(call, call.ref(word), recursive=True, verb="archives and removes")
    elif p.has("x"):
        if archive and archive != "-":
            read_target(call, call.ref(Word.literal(archive)))
        target = p.value("C", "directory") or "."
        write_target(call, call.ref(Word.literal(target)), truncate=False, verb="extracts into")
    to_stdout = p.has("c") and archive in (None, "-")
    return UNKNOWN if to_stdout else EMPTY


def rule_zip(call: Call) -> Stream:
    ops = call.parsed.operands
    if ops:
        write_target(call, call.ref(ops[0]), truncate=False, verb="archives into")
        for word in ops[1:]:
            read_target(call, call.ref(word))
    return EMPTY


def rule_unzip(call: Call) -> Stream:
    target = call.parsed.value("d") or "."
    write_target(call, call.ref(Word.literal(target)), truncate=False, verb="extracts into")
    return EMPTY


# --- permissions ---------------------------------------------------------------------

_NUMERIC_MODE = re.compile(r"^[0-7]{1,4}$")
_SYMBOLIC_CLAUSE = re.compile(r"([ugoa]*)([-+=])([rwxXstugo]*)")


@dataclass(frozen=True, slots=True)
class _Mode:
    setuid: bool
    world_writable: bool
    breaking: bool  # would break a system tree: strips r/x from the owner, or opens it up


def _mode(text: str) -> _Mode:
    if _NUMERIC_MODE.match(text):
        digits = text.zfill(4)
        special, owner, other = int(digits[0]), int(digits[1]), int(digits[3])
        world = bool(other & 2)
        return _Mode(bool(special & 6), world, world or owner != 7)
    setuid = world = breaking = False
    for who, op, perms in _SYMBOLIC_CLAUSE.findall(text):
        if "s" in perms and op in "+=":
            setuid = True
        if op in "+=" and "w" in perms and (not who or "o" in who or "a" in who):
            world = True
        if op == "=" or (op == "-" and set(perms) & set("rxX")):
            breaking = True
    return _Mode(setuid, world, breaking or world)


def rule_chmod(call: Call) -> Stream:
    p = call.parsed
    reference = p.value("reference") is not None  # mode copied from a file: unknown
    mode = _Mode(False, False, True) if reference or not p.operands else _mode(p.operands[0].text)
    if mode.setuid:
        call.report(R.PRIVILEGE, S.HIGH, "sets the setuid/setgid bit")
    for word in p.operands if reference else p.operands[1:]:
        _permission_target(call, call.ref(word), p.has("R"), mode, "chmod")
    return EMPTY


def rule_chown(call: Call) -> Stream:
    p = call.parsed
    ops = p.operands if p.value("reference") else p.operands[1:]
    for word in ops:
        _permission_target(call, call.ref(word), p.has("R"), _Mode(False, False, True), call.name)
    return EMPTY


def rule_chattr(call: Call) -> Stream:
    ops = [w for w in call.parsed.operands if not w.text.startswith(("+", "-", "="))]
    for word in ops:
        _permission_target(
            call, call.ref(word), call.parsed.has("R"), _Mode(False, False, False), "chattr"
        )
    return EMPTY


def rule_setfacl(call: Call) -> Stream:
    p = call.parsed
    for word in p.operands:
        _permission_target(call, call.ref(word), p.has("R"), _Mode(False, False, True), "setfacl")
    return EMPTY


def _permission_target(call: Call, ref: PathRef, recursive: bool, mode: _Mode, verb: str) -> None:
    recursive = recursive or ref.found
    if ref.info is None:
        call.out.path("written", ref.word.text)
        call.report(R.PERMISSIONS, S.MEDIUM, f"{verb} on {ref.word.text}: target is dynamic")
        call.report(
            R.UNVERIFIABLE,
            S.HIGH if recursive else S.MEDIUM,
            f"{verb} target {ref.word.text} is dynamic",
        )
        return
    info = ref.info
    call.out.path("written", ref.path)
    if protected_hit(ref, call.out):
        call.report(
            R.GOVERNANCE_TAMPER, S.CRITICAL, f"{verb} on Canopy's protected file {ref.path}"
        )
    if info.critical and (recursive or info.glob):
        if mode.breaking or verb != "chmod":
            call.report(R.DESTROY_SYSTEM, S.CRITICAL, f"{verb} -R on {ref.path}")
        else:
            call.report(R.PERMISSIONS, S.HIGH, f"{verb} -R on {ref.path}")
    elif info.system or info.critical:
        call.report(
            R.PERMISSIONS,
            S.HIGH if mode.world_writable or verb != "chmod" else S.MEDIUM,
            f"{verb} on system path {ref.path}",
        )
    elif mode.world_writable:
        call.report(R.PERMISSIONS, S.MEDIUM, f"makes {ref.path} world-writable")
    elif verb in ("chown", "chgrp", "setfacl"):
        call.report(R.PERMISSIONS, S.MEDIUM, f"{verb} {ref.path}")


# --- processes and the system --------------------------------------------------------

_CRITICAL_DAEMONS = frozenset(
    {"init", "systemd", "sshd", "dockerd", "containerd", "kubelet", "launchd"}
)


def rule_kill(call: Call) -> Stream:
    ops = list(call.parsed.operands)
    if not call.parsed.has("s", "n", "signal") and ops and ops[0].text.startswith("-"):
        ops = ops[1:]  # kill -9 PID: the first dash word is the signal
    for word in ops:
        if word.text in ("-1", "1"):
            call.report(
                R.SYSTEM_CONTROL,
                S.HIGH,
                "kills every process" if word.text == "-1" else "kills init",
            )
        if LABEL_CANOPY_PIDS in word.labels:
            call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, "kills Canopy's processes")
    if LABEL_CANOPY_PIDS in call.ctx.stdin.labels:
        call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, "kills Canopy's processes")
    return EMPTY


def rule_pkill(call: Call) -> Stream:
    p = call.parsed
    patterns = [w.text for w in p.operands if not w.text.startswith("-")]
    users = p.values.get("u", []) + p.values.get("U", []) + p.values.get("user", [])
    if any(u in ("root", "0") for u in users) and call.name != "pgrep":
        call.report(R.SYSTEM_CONTROL, S.HIGH, "kills root's processes")
    for pattern in patterns:
        if "canopy" in pattern.lower():
            if call.name == "pgrep":
                return Stream(None, frozenset({LABEL_CANOPY_PIDS}))
            call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, f"kills Canopy's processes ({pattern})")
        elif pattern in _CRITICAL_DAEMONS and call.name != "pgrep":
            call.report(R.SYSTEM_CONTROL, S.HIGH, f"kills {pattern}")
    return UNKNOWN if call.name == "pgrep" else EMPTY


def rule_pidof(call: Call) -> Stream:
    if any("canopy" in w.text.lower() for w in call.parsed.operands):
        return Stream(None, frozenset({LABEL_CANOPY_PIDS}))
    return UNKNOWN


def rule_systemctl(call: Call) -> Stream:
    ops = [w.text for w in call.parsed.operands]
    if not ops:
        return UNKNOWN
    verb, units = ops[0], ops[1:]
    if verb in SYSTEMCTL_DANGEROUS:
        call.report(R.SYSTEM_CONTROL, S.HIGH, f"systemctl {verb} {' '.join(units)}".strip())
        if any("canopy" in u.lower() for u in units):
            call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, "stops Canopy's service")
    return UNKNOWN


def rule_service(call: Call) -> Stream:
    ops = [w.text for w in call.parsed.operands]
    if len(ops) >= 2 and ops[1] in SERVICE_DANGEROUS:
        call.report(R.SYSTEM_CONTROL, S.HIGH, f"service {ops[0]} {ops[1]}")
        if "canopy" in ops[0].lower():
            call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, "stops Canopy's service")
    return UNKNOWN


def rule_init(call: Call) -> Stream:
    if any(w.text in INIT_LEVELS for w in call.parsed.operands):
        call.report(R.SYSTEM_CONTROL, S.HIGH, f"{call.program} changes the runlevel")
    return EMPTY


def rule_crontab(call: Call) -> Stream:
    if call.parsed.has("r"):
        call.report(R.DELETE, S.MEDIUM, "removes the crontab")
    elif call.parsed.operands or not call.parsed.shorts & {"l"}:
        call.report(R.PRIVILEGE, S.MEDIUM, "installs scheduled jobs")
    return UNKNOWN


# --- network -------------------------------------------------------------------------


def _urls(call: Call, texts: list[str]) -> list[str]:
    found = [t for t in texts if looks_like_url(t)]
    for url in found:
        call.out.path("urls", url)
    return found


def _client_urls(call: Call, words: list[Word]) -> list[str]:
    """What an http client requests: like curl, it reads ``169.254.169.254/x`` or
    ``localhost:80`` as http://. Operands we could not resolve are left alone."""
    texts = []
    for word in words:
        text = word.text
        if not word.resolved or not text or text.startswith(("-", "@")):
            continue
        texts.append(text if has_scheme(text) else "http://" + text)
    return _urls(call, texts)


#: curl options naming the address it really connects to (or a proxy on the way).
_CURL_ROUTES = ("x", "proxy", "preproxy", "socks4", "socks4a", "socks5", "socks5-hostname")


def _curl_routes(call: Call) -> None:
    p = call.parsed
    hops = [v for key in _CURL_ROUTES for v in p.values.get(key, [])]
    for value in p.values.get("resolve", []):  # HOST:PORT:ADDRESS[,ADDRESS...]
        addresses = value.split(":", 2)[2] if value.count(":") >= 2 else ""
        hops += addresses.split(",")
    for value in p.values.get("connect-to", []):  # HOST1:PORT1:HOST2:PORT2
        parts = value.split(":")
        hops += parts[2:3] if len(parts) == 4 else []
    _client_urls(call, [Word.literal(h) for h in hops if h])
    for key in ("unix-socket", "abstract-unix-socket"):
        for path in p.values.get(key, []):
            read_target(call, call.ref(Word.literal(path)))


def rule_curl(call: Call) -> Stream:
    p = call.parsed
    listed = _listed_urls(call, ("K", "config"), config=True)
    urls = _client_urls(call, [*p.operands, *p.value_words.get("url", []), *listed])
    _curl_routes(call)
    remote = Stream(None, frozenset({LABEL_REMOTE}))
    to_stdout = True
    for target in p.values.get("o", []) + p.values.get("output", []):
        if target != "-":
            _download_to(call, Word.literal(target), remote)
            to_stdout = False
    if p.has("O"):
        for url in urls:
            _download_to(call, Word.literal(_url_basename(url)), remote)
        to_stdout = False
    for key in ("T", "upload-file"):
        for word in p.value_words.get(key, []):
            read_target(call, call.ref(word))
    for key in (
        "d",
        "data",
        "data-binary",
        "data-raw",
        "data-urlencode",
        "F",
        "form",
        "data-ascii",
    ):
        for value in p.value_words.get(key, []):
            _upload_value(call, value)
    return remote if to_stdout else EMPTY


def _upload_value(call: Call, value: Word) -> None:
    """``-d @FILE``, ``-F name=@FILE;type=...``: curl sends that file's contents."""
    at = value.text.find("@")
    if at < 0 or (at and "=" not in value.text[:at]):
        return
    path = value.tail(at + 1).head(";")
    if path.text and path.text != "-":
        read_target(call, call.ref(path))


def _listed_urls(call: Call, keys: tuple[str, ...], *, config: bool) -> list[Word]:
    """URLs a client reads from a file or stdin (``wget -i -``, ``curl -K -``), when this
    text wrote that file or fed that stdin. curl's config names them ``url = "..."``."""
    words: list[Word] = []
    for name in (v for key in keys for v in call.parsed.values.get(key, [])):
        stream = call.ctx.stdin if name == "-" else file_stream(call, call.ref(Word.literal(name)))
        for line in (stream.text or "").splitlines():
            text = _config_url(line) if config else line.strip()
            words += [Word.literal(text)] if text else []
    return words


def _config_url(line: str) -> str:
    m = _CURL_CONFIG_URL.match(line)
    return m.group(1) if m else ""


_CURL_CONFIG_URL = re.compile(r"""^\s*(?:--)?url\s*[=:]?\s*["']?([^"'\s]+)""")


def rule_wget(call: Call) -> Stream:
    p = call.parsed
    urls = _client_urls(call, [*p.operands, *_listed_urls(call, ("i", "input-file"), config=False)])
    remote = Stream(None, frozenset({LABEL_REMOTE}))
    target = p.value("O", "output-document")
    if target == "-":
        return remote
    if target is not None:
        _download_to(call, Word.literal(target), remote)
        return EMPTY
    prefix = p.value("P", "directory-prefix")
    for url in urls:
        name = _url_basename(url)
        _download_to(call, Word.literal(posixpath.join(prefix, name) if prefix else name), remote)
    return EMPTY


def _url_basename(url: str) -> str:
    path = urlsplit(url).path if "://" in url else url
    return posixpath.basename(path.rstrip("/")) or "index.html"


def _download_to(call: Call, word: Word, stream: Stream) -> None:
    ref = call.ref(word)
    write_target(call, ref, truncate=True, verb="downloads into")
    if ref.info is not None:
        call.scope.files[ref.path] = stream


def rule_aria2c(call: Call) -> Stream:
    p = call.parsed
    urls = _client_urls(call, p.operands)
    remote = Stream(None, frozenset({LABEL_REMOTE}))
    folder = p.value("d", "dir")
    names = [p.value("o", "out")] if p.value("o", "out") else [_url_basename(u) for u in urls]
    for name in names:
        if name:
            _download_to(
                call, Word.literal(posixpath.join(folder, name) if folder else name), remote
            )
    return EMPTY


_HTTP_METHOD = re.compile(r"^[A-Z]+$")
#: HTTPie request items that upload a file: ``field@FILE``, ``field=@FILE``, ``field:=@FILE``.
_HTTPIE_FILE_ITEM = re.compile(r"^[^=@:]*(?::=@|=@|@)(.+)$")


def rule_httpie(call: Call) -> Stream:
    """``http [METHOD] URL [ITEMS]`` (HTTPie, xh): ``:3000`` is localhost:3000 and a URL
    without a scheme is http:// (https:// for ``https``/``xhs``)."""
    ops = list(call.parsed.operands)
    if ops and _HTTP_METHOD.match(ops[0].text) and len(ops) > 1:
        ops = ops[1:]
    if ops and ops[0].resolved:
        target = ops[0].text
        scheme = "https" if call.name in ("https", "xhs") else "http"
        if target.startswith(":"):
            target = "localhost" + target
        _urls(call, [target if has_scheme(target) else f"{scheme}://{target}"])
    for item in ops[1:]:
        m = _HTTPIE_FILE_ITEM.match(item.text)
        if m:
            read_target(call, call.ref(Word.literal(m.group(1))))
    output = call.parsed.value("o", "output")
    if output:
        write_target(call, call.ref(Word.literal(output)), truncate=True, verb="downloads into")
    return Stream(None, frozenset({LABEL_REMOTE}))


def rule_nc(call: Call) -> Stream:
    p = call.parsed
    ops = [w.text for w in p.operands]
    if ops and not p.has("l", "listen"):  # a listener's operands are its own port/address
        host = ops[0]
        call.out.path("urls", f"{host}:{ops[1]}" if len(ops) > 1 else host)
    program = p.value("e", "exec")
    script = p.value("c", "sh-exec")
    if program or script:
        call.report(R.REMOTE_CODE, S.HIGH, "connects a command to the network (reverse/bind shell)")
        ctx = call.ctx.wrapped(
            f"{call.program} -e", nested=True, stdin=Stream(None, frozenset({LABEL_REMOTE}))
        )
        if script:
            call.runner.script(script, call.scope.copy(), ctx)
        if program:
            call.runner.argv([Word.literal(t) for t in program.split()], call.scope.copy(), ctx)
    return Stream(None, frozenset({LABEL_REMOTE}))


_SOCAT_EXEC = re.compile(r"^(EXEC|SYSTEM):(.*)$", re.IGNORECASE | re.DOTALL)
_SOCAT_NET = re.compile(r"^(?:TCP|UDP|SSL|OPENSSL|SCTP|SOCKS|PROXY)[\w-]*:", re.IGNORECASE)


def rule_socat(call: Call) -> Stream:
    addresses = [w.text for w in call.parsed.operands]
    networked = [a for a in addresses if _SOCAT_NET.match(a)]
    for a in networked:
        call.out.path("urls", a)
    if networked:
        call.report(R.NETWORK, S.MEDIUM, "socat opens a network connection")
    for a in addresses:
        m = _SOCAT_EXEC.match(a)
        if not m:
            continue
        body = m.group(2).split(",", 1)[0]
        if networked:
            call.report(R.REMOTE_CODE, S.HIGH, "socat connects a command to the network")
        ctx = call.ctx.wrapped("socat EXEC", nested=True)
        if m.group(1).upper() == "SYSTEM":
            call.runner.script(body, call.scope.copy(), ctx)
        else:
            call.runner.argv([Word.literal(t) for t in body.split()], call.scope.copy(), ctx)
    return Stream(None, frozenset({LABEL_REMOTE})) if networked else UNKNOWN


_GIT_NETWORK = frozenset(
    {"clone", "fetch", "pull", "push", "ls-remote", "submodule", "remote", "archive"}
)


def rule_git(call: Call) -> Stream | None:
    ops = [w.text for w in call.parsed.operands]
    if not ops:
        return None
    sub, rest = ops[0], ops[1:]
    if (
        sub in _GIT_NETWORK
        and (sub != "remote" or "update" in rest)
        and (sub != "archive" or any(r.startswith("--remote") for r in rest))
    ):
        call.report(R.NETWORK, S.MEDIUM, f"git {sub}")
        _urls(call, rest)
    if sub == "push" and any(
        r in ("-f", "--force", "--force-with-lease", "--mirror") or r.startswith("+") for r in rest
    ):
        call.report(R.OVERWRITE, S.MEDIUM, "force-pushes, rewriting remote history")
    if sub == "clean" and any(
        r.startswith("-") and "f" in r.lstrip("-") for r in rest if not r.startswith("--")
    ):
        call.report(R.RECURSIVE_DELETE, S.MEDIUM, "git clean deletes untracked files")
    if sub == "clone" and len([r for r in rest if not r.startswith("-")]) >= 2:
        dest = [r for r in rest if not r.startswith("-")][-1]
        write_target(call, call.ref(Word.literal(dest)), truncate=False, verb="clones into")
    _git_credential_files(call)
    return None


def _git_credential_files(call: Call) -> None:
    """git's operands are refs and repository paths, but ``diff --no-index``,
    ``commit -F``, ``hash-object`` and ``show REV:PATH`` read a file's contents: a
    credential file named anywhere in a git command is read (and may enter history)."""
    for word in call.args:
        text = word.text.partition("=")[2] if word.text.startswith("--") else word.text
        if not text or text.startswith("-") or "://" in text:
            continue
        # REV:PATH (``git show HEAD:.env``) prints that file as committed.
        candidates = {text.rpartition(":")[2]} if ":" in text else {text}
        for candidate in candidates - {""}:
            ref = call.ref(Word.literal(candidate))
            if ref.info is not None and ref.info.credential:
                read_target(call, ref)


# --- output producers ----------------------------------------------------------------


def rule_echo(call: Call) -> Stream:
    words = [w.text for w in call.args]
    flags: set[str] = set()
    while words and re.fullmatch(r"-[neE]+", words[0]):
        flags |= set(words.pop(0)[1:])
    text = " ".join(words)
    labels = _labels(call.args)
    if "e" in flags:
        text, numeric = decode_echo_escapes(text)
        if numeric:
            labels |= {LABEL_DECODED}
    return Stream(text if "n" in flags else text + "\n", labels)


def rule_printf(call: Call) -> Stream:
    words = [w.text for w in call.args]
    target = None
    if len(words) >= 2 and words[0] == "-v":
        target, words = words[1], words[2:]
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        return EMPTY
    text, numeric = printf_output(words[0], words[1:])
    labels = _labels(call.args) | ({LABEL_DECODED} if numeric else set())
    if target is not None:
        call.scope.assign(target, Word(text, labels=frozenset(labels)), conditional=call.ctx.branch)
        return EMPTY
    return Stream(text, frozenset(labels))


def _labels(words: list[Word]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for w in words:
        out |= w.labels
    return out


def rule_decoder(call: Call) -> Stream | None:
    flags = DECODERS[call.name]
    if flags and not call.parsed.has(*flags):
        return None
    source = call.ctx.stdin
    files = [w for w in call.parsed.operands if w.text != "-"]
    if files:
        source = file_stream(call, call.ref(files[0]))
    text = None
    if source.text is not None:
        if call.name in ("base64", "basenc"):
            text = decode_base64(source.text)
        elif call.name == "xxd" and call.parsed.has("p", "ps", "plain"):
            text = decode_hex(source.text)
        elif call.name == "rev":
            text = "\n".join(line[::-1] for line in source.text.split("\n"))
    return Stream(text, source.labels | {LABEL_DECODED}, prints=source.prints)


def rule_passthrough(call: Call) -> Stream | None:
    files = [w for w in call.parsed.files if w.text != "-"]
    if not files:
        return call.ctx.stdin
    stream = EMPTY
    for word in files:
        stream = stream.merge(file_stream(call, call.ref(word)))
    return stream


def rule_env_dump(call: Call) -> Stream | None:
    if call.name in ("export", "declare", "typeset") and call.parsed.operands:
        return None
    if call.name == "compgen":
        return None  # names (of variables, commands, files), never values
    if call.name == "set" and call.args:
        return None
    return Stream(None, frozenset({LABEL_SECRET}))


def rule_pwd(call: Call) -> Stream | None:
    """``$(pwd)`` is the directory we track, like ``$PWD`` (``pwd -P`` may follow links)."""
    if call.scope.cwd_known and not call.parsed.has("P"):
        return Stream(call.scope.cwd + "\n")
    return None


def rule_listing(call: Call) -> Stream | None:
    """``ls ~/.ssh``, ``locate id_rsa``: the names it prints are credential files."""
    labels = listing_labels(call)
    return Stream(None, labels) if labels else None


def rule_interpreter_files(call: Call) -> Stream | None:
    """``perl -i`` / ``ruby -i`` edit their file operands in place."""
    if call.parsed.has("i"):
        for word in call.parsed.operands:
            write_target(call, call.ref(word), truncate=False, verb="edits")
    return None


RULES: Mapping[str, Callable[[Call], Stream | None]] = MappingProxyType(
    {
        "rm": rule_rm,
        "unlink": rule_rmdir,
        "rmdir": rule_rmdir,
        "shred": rule_shred,
        "wipe": rule_wipe,
        "srm": rule_wipe,
        "rimraf": rule_rimraf,
        "truncate": rule_truncate,
        "touch": rule_touch,
        "mkdir": rule_touch,
        "tee": rule_tee,
        "sponge": rule_sponge,
        "getent": rule_getent,
        "cp": rule_copy,
        "install": rule_copy,
        "mv": rule_mv,
        "ln": rule_ln,
        "dd": rule_dd,
        "sed": rule_sed,
        "gsed": rule_sed,
        "sort": rule_output_files,
        "uniq": rule_output_files,
        "patch": rule_output_files,
        "ssh-keygen": rule_output_files,
        "rsync": rule_rsync,
        "scp": rule_scp,
        "tar": rule_tar,
        "zip": rule_zip,
        "unzip": rule_unzip,
        "chmod": rule_chmod,
        "chown": rule_chown,
        "chgrp": rule_chown,
        "chattr": rule_chattr,
        "setfacl": rule_setfacl,
        "kill": rule_kill,
        "pkill": rule_pkill,
        "killall": rule_pkill,
        "pgrep": rule_pkill,
        "pidof": rule_pidof,
        "systemctl": rule_systemctl,
        "service": rule_service,
        "init": rule_init,
        "telinit": rule_init,
        "crontab": rule_crontab,
        "curl": rule_curl,
        "wget": rule_wget,
        "aria2c": rule_aria2c,
        "http": rule_httpie,
        "https": rule_httpie,
        "xh": rule_httpie,
        "xhs": rule_httpie,
        "nc": rule_nc,
        "ncat": rule_nc,
        "netcat": rule_nc,
        "socat": rule_socat,
        "git": rule_git,
        "echo": rule_echo,
        "printf": rule_printf,
        "perl": rule_interpreter_files,
        "ruby": rule_interpreter_files,
        **{name: rule_decoder for name in DECODERS},
        **{name: rule_passthrough for name in ("cat", "head", "tail", "tac", "less", "more", "pv")},
        **{name: rule_editor for name in EDITORS if name != "dd"},
        **{name: rule_env_dump for name in ENV_DUMPERS},
        "printenv": rule_printenv,
        **{name: rule_listing for name in LISTERS},
        "pwd": rule_pwd,
    }
)


# --- family checks: every call -------------------------------------------------------


def check_tables(call: Call) -> None:
    name = call.name
    if name in MINERS:
        call.report(R.CRYPTO_MINING, S.HIGH, f"runs crypto miner {name}")
    if name in SECURITY_TOOLS or name.startswith(SECURITY_PREFIXES):
        call.report(R.SECURITY_TOOL, S.MEDIUM, f"runs offensive security tool {name}")
    if name in PRIVILEGE_PROGRAMS:
        call.report(R.PRIVILEGE, S.HIGH, f"{name} changes privileges or accounts")
    if name in POWER_PROGRAMS:
        call.report(R.SYSTEM_CONTROL, S.HIGH, f"{name} stops the machine or every process")
    if name in INIT_PROGRAMS and not call.parsed.operands:
        return
    if any(STRATUM.search(w.text) for w in call.args):
        call.report(R.CRYPTO_MINING, S.HIGH, "connects to a mining pool (stratum)")


def check_disk(call: Call) -> None:
    name = call.name
    base = "mkfs" if name.startswith("mkfs") else name
    if base in DISK_SUBCOMMANDS:
        subs = DISK_SUBCOMMANDS[base]
        if not any(w.text in subs for w in call.args):
            return
    elif base in DISK_WRITE_FLAGS:
        if not call.parsed.has(*DISK_WRITE_FLAGS[base]):
            return
    elif base not in DISK_TOOLS:
        return
    if DISK_TOOLS.get(base) and call.parsed.has(*DISK_TOOLS[base]):
        return
    targets = [w.text for w in call.parsed.operands] or ["a disk"]
    call.report(R.DESTROY_SYSTEM, S.CRITICAL, f"{name} destroys data on {' '.join(targets)}")


def check_network(call: Call) -> None:
    if call.name in NETWORK_PROGRAMS and call.name not in ("rsync", "scp"):
        call.report(R.NETWORK, S.MEDIUM, f"{call.name} uses the network")
        ops = call.parsed.operands
        if call.name in HOST_CLIENTS and ops and ops[0].resolved:
            call.out.path("urls", _host_url(ops))
        elif call.name in SCHEMELESS_HTTP_CLIENTS:
            if call.name not in ("curl", "wget", "aria2c"):
                _client_urls(call, [w for w in ops if not w.text.startswith("-")])
        elif call.name not in _OWN_URL_RULES:
            _urls(call, [w.text for w in ops])
    if LABEL_SECRET in call.ctx.stdin.labels and call.name in NETWORK_PROGRAMS:
        call.report(
            R.CREDENTIAL_ACCESS, S.HIGH, "sends environment or credentials over the network"
        )


def check_packages(call: Call) -> None:
    subs = PACKAGE_SUBCOMMANDS.get(call.name)
    if subs is None:
        return
    ops = [w.text for w in call.parsed.operands]
    hit = _package_action(call, subs, ops)
    if hit is None:
        return
    call.report(R.PACKAGE_INSTALL, S.MEDIUM, f"{call.name} {hit}".strip())
    _urls(call, ops)
    if hit in ("download",):
        call.report(R.NETWORK, S.MEDIUM, f"{call.name} downloads packages")
    removing = any(
        k in hit
        for k in ("uninstall", "remove", "rm", "erase", "purge", "del", "-e", "-r", "-R", "un")
    )
    if removing and any(CANOPY_PACKAGES.match(o) for o in ops[1:] + ops[:1]):
        call.report(R.GOVERNANCE_TAMPER, S.CRITICAL, "uninstalls Canopy")


def _package_action(call: Call, subs: frozenset[str], ops: list[str]) -> str | None:
    if "*" in subs:
        return "runs a package"
    first = ops[0] if ops else ""
    if first in subs:
        return first
    if len(ops) >= 2 and f"{ops[0]}:{ops[1]}" in subs:
        return f"{ops[0]} {ops[1]}"
    for token in subs:
        if token.startswith("--") and token[2:] in call.parsed.longs:
            return token
        if token.startswith("-") and not token.startswith("--") and token[1:] in call.parsed.shorts:
            return token
    return None


def check_reads(call: Call) -> None:
    if call.name in NON_READERS or call.name in RULES_WITH_OWN_READS:
        return
    reader = call.name in READERS
    for word in call.parsed.files:
        if word.text.startswith("-") or looks_like_url(word.text):
            continue
        ref = call.ref(word)
        if ref.info is None or ref.info.credential or LABEL_SECRET_PATHS in word.labels:
            read_target(call, ref)
        elif reader:
            call.out.path("read", ref.path)


_OWN_URL_RULES = frozenset({"http", "https", "xh", "xhs"})


def _host_url(ops: list[Word]) -> str:
    """``telnet [user@]HOST [PORT]`` as a URL (operands with a scheme kept as they are)."""
    host = ops[0].text
    if looks_like_url(host):
        return host
    port = f":{ops[1].text}" if len(ops) > 1 and ops[1].text.isdigit() else ""
    return f"//{host.rpartition('@')[2]}{port}"


RULES_WITH_OWN_READS = frozenset(
    {"cp", "install", "mv", "rsync", "scp", "tar", "zip", "dd", "tee", "curl", "wget"}
)


FAMILY_CHECKS: tuple[Callable[[Call], None], ...] = (
    check_tables,
    check_disk,
    check_network,
    check_packages,
    check_reads,
)


def remote_labels(stream: Stream) -> bool:
    """Executing this stream runs code from the network or deliberately encoded."""
    return bool(stream.labels & {LABEL_REMOTE, LABEL_DECODED})
