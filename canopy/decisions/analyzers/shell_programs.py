"""What the analyzer knows about programs, as data.

Why tables: knowledge about ``rm`` or ``sudo`` should be one line someone can review and
extend, not a branch buried in the walker. Each program that matters gets an option spec
(which options take values, which long names are short ones), and membership in the
risk families below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.model import Severity

__all__ = [
    "DISK_TOOLS",
    "SPECS",
    "WRAPPERS",
    "OptionSpec",
    "Wrapper",
    "family",
    "name_sets",
    "shebang_program",
    "spec_for",
    "word_set",
]


def word_set(text: str) -> frozenset[str]:
    """A set of names written as one space-separated string (keeps tables compact)."""
    return frozenset(text.split())


def name_sets(table: Mapping[str, str]) -> Mapping[str, frozenset[str]]:
    """A read-only table whose values are sets of names, each written as one
    space-separated string."""
    return MappingProxyType({key: word_set(text) for key, text in table.items()})


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """How one program reads its options.

    ``values``/``long_values`` take an argument (``-o FILE``, ``-oFILE``, ``--output=F``);
    ``optional`` short options take one only when attached (``sed -i.bak``), and
    ``numeric`` ones only attached digits, the letters after them being more options
    (``perl -l0e``: ``-l0`` then ``-e``); ``chains`` take a value except when another
    of them follows in the same word (``node -pe CODE`` is ``-p -e CODE``);
    ``known`` (when set) lists every real short option, so ``chmod -x`` or ``kill -9`` is
    an operand; ``stop`` ends options at the first operand (wrappers, ssh, xargs);
    ``data`` leading operands are data, not paths (``grep PATTERN``), unless one of
    ``data_opts`` supplied it instead (``grep -e PATTERN``).
    """

    values: frozenset[str] = frozenset()
    long_values: Mapping[str, int] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()
    long_to_short: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    known: frozenset[str] | None = None
    stop: bool = False
    data: int = 0
    data_opts: frozenset[str] = frozenset()
    numeric: frozenset[str] = frozenset()
    chains: frozenset[str] = frozenset()


def opts(
    values: str = "",
    long_values: str = "",
    *,
    optional: str = "",
    longs: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
    known: str | None = None,
    stop: bool = False,
    data: int = 0,
    data_opts: str = "",
    numeric: str = "",
    chains: str = "",
) -> OptionSpec:
    """Build a spec from compact strings: short letters, space-separated long names.

    A long name written ``name:2`` takes two arguments (``jq --arg NAME VALUE``).
    """
    lv: dict[str, int] = {}
    for item in long_values.split():
        name, _, count = item.partition(":")
        lv[name] = int(count or 1)
    return OptionSpec(
        values=frozenset(values),
        long_values=MappingProxyType(lv),
        optional=frozenset(optional),
        long_to_short=MappingProxyType(dict(longs or {})),
        aliases=MappingProxyType(dict(aliases or {})),
        known=frozenset(known) if known is not None else None,
        stop=stop,
        data=data,
        data_opts=frozenset(data_opts.split()),
        numeric=frozenset(numeric),
        chains=frozenset(chains),
    )


_GREP = opts(
    "efmABCdD",
    "regexp file max-count after-context before-context context include exclude exclude-dir "
    "exclude-from label devices directories binary-files",
    longs={"recursive": "r", "ignore-case": "i", "line-number": "n", "count": "c"},
    data=1,
    data_opts="e f regexp file",
)
_CHOWN = opts(
    "",
    "reference from",
    longs={"recursive": "R", "verbose": "v", "changes": "c", "silent": "f", "quiet": "f"},
    known="RfvchHLP",
)
_SH = opts("oO", "rcfile init-file", stop=True)
_PS_KILL = opts(
    "uUgGPstF",
    "signal euid uid group parent session terminal pidfile ns nslist",
    known="fxnovcielUuGgPstFrAa",
)
_AWK = opts("Fvfi", "field-separator assign file include source", data=1, data_opts="f file")
_SED = opts(
    "efl",
    "expression file line-length",
    optional="i",
    longs={"in-place": "i", "quiet": "n", "silent": "n", "regexp-extended": "E"},
    aliases={"r": "E"},
    data=1,
    data_opts="e f expression file",
)
_CURL = opts(
    "odHXuAebcFTxwmKErCYyzUQDPt",
    "output data data-raw data-binary data-ascii data-urlencode header request user user-agent "
    "referer cookie cookie-jar form form-string upload-file proxy write-out max-time config cert "
    "key range connect-timeout retry output-dir url resolve cacert capath proxy-user oauth2-bearer "
    "max-filesize limit-rate dns-servers interface local-port unix-socket abstract-unix-socket "
    "connect-to preproxy socks4 socks4a socks5 socks5-hostname doh-url retry-delay retry-max-time "
    "speed-limit speed-time expect100-timeout keepalive-time max-redirs tls-max ciphers "
    "tls13-ciphers pinnedpubkey proto proto-redir proto-default netrc-file trace trace-ascii "
    "stderr dump-header etag-save etag-compare hsts alt-svc aws-sigv4 login-options mail-from "
    "mail-rcpt mail-auth ftp-port quote key-type cert-type crlfile engine pass proxy-cert "
    "proxy-key proxy-cacert proxy-capath proxy-header proxy-pass variable json url-query rate "
    "time-cond continue-at telnet-option happy-eyeballs-timeout-ms create-file-mode",
    longs={"remote-name": "O", "location": "L", "silent": "s", "fail": "f", "insecure": "k"},
)
_WGET = opts(
    "OoaPUetTwiBQlARDIX",
    "output-document output-file append-output directory-prefix user-agent execute tries timeout "
    "wait input-file base quota level accept reject domains include-directories "
    "exclude-directories header post-data post-file user password body-data body-file method "
    "limit-rate waitretry read-timeout dns-timeout connect-timeout bind-address "
    "restrict-file-names http-user http-password ftp-user ftp-password proxy-user proxy-password "
    "load-cookies save-cookies referer ca-certificate ca-directory certificate private-key "
    "secure-protocol progress local-encoding remote-encoding cut-dirs default-page",
    longs={"quiet": "q"},
)
_SSH = opts("bcDEeFIiJLlmOopQRSWwB", stop=True)
_NC = opts("pswiqecxXTOIMW", "exec sh-exec lua-exec source wait proxy proxy-type output")
_HTTPIE = opts(
    "aAops",
    "auth auth-type output print style session session-read-only proxy verify cert cert-key "
    "timeout pretty format-options default-scheme max-redirects max-headers boundary ciphers "
    "response-charset response-mime raw",
)
_PIP = opts(
    "rcetif",
    "requirement constraint editable target prefix root index-url extra-index-url find-links src "
    "upgrade-strategy python-version platform abi implementation log cache-dir timeout retries "
    "proxy trusted-host progress-bar",
)

#: Option specs of the programs the rules model. Absent programs parse with GNU defaults.
SPECS: Mapping[str, OptionSpec] = MappingProxyType(
    {
        "rm": opts(
            longs={"recursive": "r", "force": "f", "dir": "d", "verbose": "v", "interactive": "i"},
            aliases={"R": "r", "I": "i"},
        ),
        "rmdir": opts(longs={"parents": "p", "verbose": "v"}),
        "unlink": opts(),
        "shred": opts(
            "ns",
            "iterations size random-source",
            longs={"remove": "u", "zero": "z", "force": "f", "verbose": "v", "exact": "x"},
        ),
        "cp": opts(
            "St",
            "target-directory suffix",
            longs={"recursive": "r", "force": "f", "archive": "a", "no-target-directory": "T"},
            aliases={"R": "r"},
        ),
        "mv": opts(
            "St", "target-directory suffix", longs={"force": "f", "no-target-directory": "T"}
        ),
        "ln": opts("St", "target-directory suffix", longs={"symbolic": "s", "force": "f"}),
        "install": opts("mogtS", "mode owner group target-directory suffix"),
        "chmod": opts(
            "",
            "reference",
            longs={"recursive": "R", "changes": "c", "silent": "f", "quiet": "f", "verbose": "v"},
            known="Rfvc",
        ),
        "chown": _CHOWN,
        "chgrp": _CHOWN,
        "chattr": opts("pv", known="RVfpv"),
        "truncate": opts("sr", "size reference", longs={"no-create": "c"}),
        "tee": opts(longs={"append": "a"}),
        "touch": opts("rdt", "reference date"),
        "mkdir": opts("m", "mode", longs={"parents": "p"}),
        "tar": opts(
            "fCTXbKNgVLIF",
            "file directory files-from exclude exclude-from newer-mtime owner group mode "
            "transform use-compress-program format to-command checkpoint-action info-script "
            "new-volume-script rsh-command",
            longs={
                "create": "c",
                "extract": "x",
                "get": "x",
                "list": "t",
                "append": "r",
                "update": "u",
                "file": "f",
                "directory": "C",
                "gzip": "z",
                "verbose": "v",
            },
        ),
        "zip": opts("bnt", "temp-path", longs={"recurse-paths": "r"}),
        "split": opts(
            "abCln", "suffix-length bytes line-bytes lines number additional-suffix filter"
        ),
        "unzip": opts("dx", ""),
        "cat": opts(),
        "grep": _GREP,
        "egrep": _GREP,
        "fgrep": _GREP,
        "zgrep": _GREP,
        "rg": opts(
            "efmABCgtTjME",
            "regexp file glob iglob type type-not max-count context before-context after-context "
            "threads max-depth encoding",
            data=1,
            data_opts="e f regexp file",
        ),
        "sed": _SED,
        "gsed": _SED,
        "awk": _AWK,
        "gawk": _AWK,
        "mawk": _AWK,
        "nawk": _AWK,
        "jq": opts(
            "fL",
            "arg:2 argjson:2 slurpfile:2 rawfile:2 indent from-file",
            data=1,
            data_opts="f from-file",
        ),
        "head": opts("nc", "lines bytes"),
        "tail": opts("ncs", "lines bytes sleep-interval pid"),
        "kill": opts("sn", "signal", known="snlL"),
        "pkill": _PS_KILL,
        "pgrep": _PS_KILL,
        "killall": opts(
            "usoyZn", "user signal older-than younger-than context", known="eIgilqrsuvwoyZn"
        ),
        "systemctl": opts(
            "tpHMno",
            "type state property host machine signal kill-whom kill-value lines output root",
        ),
        "ssh": _SSH,
        "scp": opts("cFiJloPSDX", longs={}),
        "sftp": opts("BbcDFiJloPRS"),
        "rsync": opts(
            "eBfTM",
            "rsh exclude include filter files-from port password-file backup-dir suffix chmod "
            "chown log-file partial-dir temp-dir compare-dest link-dest copy-dest timeout bwlimit "
            "max-size min-size rsync-path exclude-from include-from",
            longs={"recursive": "r", "archive": "a"},
        ),
        "curl": _CURL,
        "wget": _WGET,
        "nc": _NC,
        "ncat": _NC,
        "netcat": _NC,
        "git": opts("Cc", "git-dir work-tree namespace exec-path config-env", stop=True),
        "pip": _PIP,
        "pip3": _PIP,
        "pipx": _PIP,
        "npm": opts("w", "prefix registry cache userconfig tag workspace"),
        "dd": opts(),
        "xargs": opts(
            "aEdIlLnPs",
            "arg-file delimiter eof replace max-lines max-args max-procs max-chars "
            "process-slot-var",
            optional="ie",
            longs={"null": "0", "no-run-if-empty": "r", "verbose": "t", "interactive": "p"},
            stop=True,
        ),
        "parallel": opts(
            "jSaIdnNX",
            "jobs sshlogin arg-file delimiter max-args max-replace-args joblog results tmpdir "
            "workdir env",
            stop=True,
        ),
        "sh": _SH,
        # -l, -0, -C take attached digits only: ``perl -le CODE`` is -l then -e CODE
        "perl": opts("eEMIm", optional="idDx", numeric="l0C", stop=True),
        "ruby": opts("eIrCEFK", stop=True),
        "node": opts("erp", "eval require print input-type import loader", chains="ep", stop=True),
        "php": opts("rfdcBRE", "", stop=True),
        "lua": opts("el", stop=True),
        "python": opts("cmWXQ", "check-hash-based-pycs", stop=True),
        "sqlite3": opts("", "cmd init separator newline nullvalue", stop=False),
        "psql": opts(
            "cdfhpUvFLoPRT",
            "command dbname file host port username set variable field-separator log-file "
            "output pset record-separator table-attr",
        ),
        "mysql": opts(
            "eDhPSu",
            "execute database host port socket user pager tee init-command",
            optional="p",
        ),
        "mariadb": opts(
            "eDhPSu",
            "execute database host port socket user pager tee init-command",
            optional="p",
        ),
        "man": opts(
            "CMmSsLRpEeP",
            "config-file manpath systems sections locale recode pager preprocessor encoding "
            "extension",
            optional="H",
        ),
        "make": opts(
            "CfIoWjlE",
            "directory file makefile include-dir old-file assume-old what-if new-file "
            "assume-new jobs load-average eval",
        ),
        "ssh-keygen": opts("abCDEfGIJjMmNnOPrSstVwYzZRFT"),
        "sort": opts("okStT", "output key field-separator buffer-size temporary-directory"),
        "patch": opts(
            "pFoirBDdYzVg",
            "strip fuzz output input reject-file prefix ifdef directory basename-prefix suffix "
            "version-control get",
        ),
        "vim": opts("cStTuUwWi", "cmd"),
        "systemd-run": opts(
            "pEuM", "unit property description slice uid gid setenv working-directory", stop=True
        ),
        "crontab": opts("uc"),
        "setfacl": opts(
            "mMxX",
            "modify modify-file remove remove-file set set-file",
            longs={"recursive": "R"},
        ),
        "badblocks": opts("bcdeiopt"),
        "http": _HTTPIE,
        "https": _HTTPIE,
        "xh": _HTTPIE,
        "xhs": _HTTPIE,
        "aria2c": opts(
            "odsxjkimTU",
            "out dir split max-connection-per-server min-split-size max-concurrent-downloads "
            "input-file torrent-file metalink-file user-agent referer header max-tries timeout "
            "connect-timeout http-user http-passwd all-proxy http-proxy https-proxy checksum",
        ),
    }
)

#: Shells: ``-c STRING`` runs a script, otherwise a script file or stdin.
SHELLS = word_set("sh bash zsh dash ksh mksh ash rbash csh tcsh fish yash posh oksh")
#: Interpreters and how each takes a one-liner (option letters/long names carrying code).
INTERPRETER_CODE_OPTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "python": frozenset({"c"}),
        "perl": frozenset({"e", "E"}),
        "ruby": frozenset({"e"}),
        "node": frozenset({"e", "p", "eval", "print"}),
        "php": frozenset({"r"}),
        "lua": frozenset({"e"}),
    }
)
_FAMILY = re.compile(r"^(python|pypy|perl|ruby|php|lua|luajit|node|nodejs)(?:[0-9][0-9.]*)?$")
_FAMILY_NAMES = {"pypy": "python", "nodejs": "node", "luajit": "lua"}


def family(program: str) -> str:
    """``python3.12`` -> ``python``, ``nodejs`` -> ``node``; other names unchanged."""
    m = _FAMILY.match(program)
    if not m:
        return program
    return _FAMILY_NAMES.get(m.group(1), m.group(1))


def shebang_program(script: str) -> str | None:
    """The program a script's ``#!`` line names (``#!/usr/bin/env -S python3 -u`` ->
    ``python3``), or None without one: bash then runs the file itself."""
    if not script.startswith("#!"):
        return None
    words = script[2:].split("\n", 1)[0].split()
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    if program != "env":
        return program
    rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return rest[0].rsplit("/", 1)[-1] if rest else "env"


def spec_for(program: str) -> OptionSpec:
    name = family(program)
    if name in SHELLS:
        return SPECS["sh"]
    return SPECS.get(name, _DEFAULT)


_DEFAULT = OptionSpec()


@dataclass(frozen=True, slots=True)
class Wrapper:
    """A program that runs another program: how to find the wrapped command.

    ``skip`` operands belong to the wrapper (``timeout 5``, ``chroot DIR``, ``ssh HOST``);
    ``script_opt`` is the option whose value is a shell script (``su -c``, ``flock -c``);
    ``join`` means the remaining words form one shell string (``watch``, ``ssh``);
    ``chdir`` options move the wrapped command's directory (``env -C``, ``sudo -D``).
    """

    spec: OptionSpec
    skip: int = 0
    script_opt: str | None = None
    join: bool = False
    chdir: frozenset[str] = frozenset()
    risk: ShellRisk | None = None
    severity: Severity = Severity.NONE


_PRIV = ShellRisk.PRIVILEGE
_NET = ShellRisk.NETWORK
_PKG = ShellRisk.PACKAGE_INSTALL
_NPX = opts("pc", "package call", longs={"call": "c"}, stop=True)

#: The dynamic loader runs the program it is given (``/lib64/ld-linux-x86-64.so.2 /bin/rm``).
_DYNAMIC_LOADERS = (
    "ld.so",
    "ld-linux.so.2",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
    "ld-linux-armhf.so.3",
    "ld-musl-x86_64.so.1",
    "ld-musl-aarch64.so.1",
)
_LOADER = Wrapper(opts("", "library-path inhibit-rpath audit preload argv0", stop=True))
_MPI = Wrapper(
    opts("nHc", "np host hostfile machinefile wdir", stop=True), chdir=frozenset({"wdir"})
)
#: Wrappers the analyzer looks through. ``env``, ``xargs`` and ``find`` are handled apart.
WRAPPERS: Mapping[str, Wrapper] = MappingProxyType(
    {
        "sudo": Wrapper(
            opts(
                "ughpCDrtTU",
                "user group host prompt chdir role type command-timeout other-user close-from",
                stop=True,
            ),
            chdir=frozenset({"D", "chdir"}),
            risk=_PRIV,
            severity=Severity.HIGH,
        ),
        "doas": Wrapper(opts("uC", stop=True), risk=_PRIV, severity=Severity.HIGH),
        "pkexec": Wrapper(opts("", "user", stop=True), risk=_PRIV, severity=Severity.HIGH),
        "su": Wrapper(
            opts("csgG", "command shell group supp-group session-command whitelist-environment"),
            skip=1,
            script_opt="c",
            risk=_PRIV,
            severity=Severity.HIGH,
        ),
        "runuser": Wrapper(
            opts("csgGu", "command shell group supp-group session-command user"),
            skip=1,
            script_opt="c",
            risk=_PRIV,
            severity=Severity.HIGH,
        ),
        "timeout": Wrapper(opts("sk", "signal kill-after", stop=True), skip=1),
        "nice": Wrapper(opts("n", "adjustment", stop=True)),
        "ionice": Wrapper(opts("cnp", "class classdata pid", stop=True)),
        "nohup": Wrapper(opts(stop=True)),
        "stdbuf": Wrapper(opts("ioe", "input output error", stop=True)),
        "setsid": Wrapper(opts(stop=True)),
        "time": Wrapper(opts("fo", "format output", stop=True)),
        "watch": Wrapper(opts("nq", "interval", stop=True), join=True),
        "flock": Wrapper(
            opts("wEc", "timeout conflict-exit-code command", stop=True), skip=1, script_opt="c"
        ),
        "chroot": Wrapper(opts("", "userspec groups", stop=True), skip=1),
        "strace": Wrapper(opts("oepsuEaPSXIbOU", stop=True)),
        "ltrace": Wrapper(opts("oepsunaAlLxX", stop=True)),
        "taskset": Wrapper(opts(stop=True), skip=1),
        "script": Wrapper(
            opts("cTEOIBt", "command log-out log-in log-io log-timing"), skip=1, script_opt="c"
        ),
        "unbuffer": Wrapper(opts(stop=True)),
        "sshpass": Wrapper(opts("pfde", stop=True)),
        "proxychains": Wrapper(opts("f", stop=True), risk=_NET, severity=Severity.MEDIUM),
        "proxychains4": Wrapper(opts("f", stop=True), risk=_NET, severity=Severity.MEDIUM),
        "torsocks": Wrapper(opts("uapP", stop=True), risk=_NET, severity=Severity.MEDIUM),
        "ssh": Wrapper(_SSH, skip=1, join=True, risk=_NET, severity=Severity.MEDIUM),
        "systemd-run": Wrapper(SPECS["systemd-run"]),
        "builtin": Wrapper(opts(stop=True)),
        "command": Wrapper(opts(known="pvV", stop=True)),
        "exec": Wrapper(opts("a", known="acl", stop=True)),
        "coproc": Wrapper(opts(stop=True)),
        "busybox": Wrapper(opts(stop=True)),
        "toybox": Wrapper(opts(stop=True)),
        "caffeinate": Wrapper(opts("t", stop=True)),
        "firejail": Wrapper(opts(stop=True)),
        "catchsegv": Wrapper(opts(stop=True)),
        "valgrind": Wrapper(opts(stop=True)),
        "chrt": Wrapper(
            opts("TPD", "sched-runtime sched-period sched-deadline", stop=True), skip=1
        ),
        "numactl": Wrapper(
            opts("ipCNm", "interleave preferred physcpubind cpunodebind membind", stop=True)
        ),
        "cpulimit": Wrapper(opts("lpPe", "limit pid exe path cpu", stop=True)),
        "prlimit": Wrapper(opts("po", "pid output", optional="cdefilmnqrstuvxy", stop=True)),
        "unshare": Wrapper(
            opts(
                "SGRw",
                "setuid setgid root wd map-user map-group map-users map-groups propagation "
                "setgroups",
                optional="mupinUCT",
                stop=True,
            ),
            chdir=frozenset({"w", "wd"}),
        ),
        "nsenter": Wrapper(
            opts("tSG", "target setuid setgid", optional="mupinUCTrw", stop=True),
            risk=_PRIV,
            severity=Severity.HIGH,
        ),
        "fakeroot": Wrapper(opts("lisb", "lib faked", stop=True)),
        "faketime": Wrapper(opts("mf", stop=True), skip=1),
        "eatmydata": Wrapper(opts(stop=True)),
        "nocache": Wrapper(opts(stop=True)),
        "trickle": Wrapper(opts("udwtlns", stop=True)),
        "xvfb-run": Wrapper(opts("efnpsw", stop=True)),
        "tini": Wrapper(opts("psel", stop=True)),
        "dumb-init": Wrapper(opts("r", "rewrite", stop=True)),
        "screen": Wrapper(opts("SctTehpXs", stop=True)),
        "sg": Wrapper(opts(stop=True), skip=1, script_opt="c", risk=_PRIV, severity=Severity.HIGH),
        "gosu": Wrapper(opts(stop=True), skip=1, risk=_PRIV, severity=Severity.HIGH),
        "su-exec": Wrapper(opts(stop=True), skip=1, risk=_PRIV, severity=Severity.HIGH),
        "setpriv": Wrapper(
            opts(
                "d",
                "reuid regid ruid euid rgid egid groups inh-caps ambient-caps bounding-set "
                "securebits pdeathsig selinux-label apparmor-profile landlock-access "
                "landlock-rule seccomp-filter",
                stop=True,
            )
        ),
        "ssh-agent": Wrapper(opts("aEPtO", stop=True)),
        "dbus-run-session": Wrapper(opts("", "config-file dbus-daemon", stop=True)),
        "dbus-launch": Wrapper(opts("", "config-file autolaunch", stop=True)),
        **dict.fromkeys(_DYNAMIC_LOADERS, _LOADER),
        "proot": Wrapper(
            opts("rbmwqk", "rootfs bind mount pwd cwd qemu kernel-release", stop=True),
            chdir=frozenset({"w", "pwd", "cwd"}),
        ),
        "ifne": Wrapper(opts(stop=True)),
        "chronic": Wrapper(opts(stop=True)),
        "lckdo": Wrapper(opts("W", stop=True), skip=1),
        "gnome-terminal": Wrapper(
            opts("", "title working-directory profile geometry window-with-profile", stop=True)
        ),
        "dtach": Wrapper(opts("erz", stop=True), skip=1),
        "tsp": Wrapper(opts("LDNE", stop=True)),
        "mpirun": _MPI,
        "mpiexec": _MPI,
        "srun": Wrapper(
            opts(
                "NnpJtcwAo",
                "nodes ntasks partition job-name time cpus-per-task nodelist account output",
                stop=True,
            )
        ),
        "chpst": Wrapper(opts("uUe/nlLmdofpcr", stop=True)),
        "envdir": Wrapper(opts(stop=True), skip=1),
        "bwrap": Wrapper(
            opts(
                "",
                "bind:2 ro-bind:2 dev-bind:2 bind-try:2 ro-bind-try:2 dev-bind-try:2 "
                "symlink:2 setenv:2 file:2 bind-data:2 ro-bind-data:2 chmod:2 dir tmpfs proc "
                "dev chdir uid gid hostname unsetenv lock-file remount-ro cap-add cap-drop "
                "mqueue seccomp exec-label file-label perms size args userns userns2 pidns",
                stop=True,
            ),
            chdir=frozenset({"chdir"}),
        ),
        "entr": Wrapper(opts(stop=True), join=True),  # entr -s 'CMD' runs CMD with sh
        "perf": Wrapper(  # perf stat|record|trace [options] CMD
            opts(
                "eopCtcFGjmMx",
                "event output pid cpu tid count freq call-graph mmap-pages cgroup",
                stop=True,
            ),
            skip=1,
        ),
        # Package runners fetch a package and run it: the command they run is analyzed.
        "npx": Wrapper(_NPX, script_opt="c", risk=_PKG, severity=Severity.MEDIUM),
        "pnpx": Wrapper(_NPX, script_opt="c", risk=_PKG, severity=Severity.MEDIUM),
        "bunx": Wrapper(opts("p", "package", stop=True), risk=_PKG, severity=Severity.MEDIUM),
        "uvx": Wrapper(
            opts("p", "from with python with-requirements", stop=True),
            risk=_PKG,
            severity=Severity.MEDIUM,
        ),
    }
)

#: Network clients: running one is NETWORK; what they print is remote data.
NETWORK_PROGRAMS = word_set(
    "curl wget fetch nc ncat netcat socat telnet ssh scp sftp ftp lftp tftp aria2c http https "
    "xh xhs httpie mosh ssh-copy-id lwp-request lynx w3m rclone links elinks"
)
#: Programs whose output is remote content even without a URL we recognize.
REMOTE_SOURCES = word_set(
    "curl wget fetch nc ncat netcat socat telnet ssh http https xh xhs lwp-request lynx w3m "
    "aria2c links elinks"
)
#: Clients that, like curl, read an operand without a scheme as an http:// URL.
SCHEMELESS_HTTP_CLIENTS = word_set("curl wget fetch lynx w3m links elinks aria2c lwp-request")
#: Clients whose first operand is a host to connect to (``telnet HOST PORT``).
HOST_CLIENTS = word_set("telnet ftp tftp mosh")
#: Decoders: their output is decoded data (the spec: base64 -d, xxd -r, openssl enc -d...).
#: The value lists the flags meaning "decode"; an empty set means always.
DECODERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "base64": frozenset({"d", "D", "decode"}),
        "base32": frozenset({"d", "decode"}),
        "basenc": frozenset({"d", "decode"}),
        "xxd": frozenset({"r", "revert"}),
        "uudecode": frozenset(),
        "gunzip": frozenset(),
        "zcat": frozenset(),
        "bunzip2": frozenset(),
        "bzcat": frozenset(),
        "unxz": frozenset(),
        "xzcat": frozenset(),
        "unzstd": frozenset(),
        "zstdcat": frozenset(),
        "gzip": frozenset({"d", "decompress"}),
        "xz": frozenset({"d", "decompress"}),
        "zstd": frozenset({"d", "decompress"}),
        "gpg": frozenset({"d", "decrypt"}),
        "rev": frozenset(),
        "openssl": frozenset({"d"}),
    }
)

#: Package managers: program -> subcommands (space-joined for two words) that install/remove.
PACKAGE_SUBCOMMANDS = name_sets(
    {
        "apt": "install remove purge autoremove upgrade full-upgrade dist-upgrade reinstall",
        "apt-get": "install remove purge autoremove upgrade dist-upgrade reinstall build-dep",
        "aptitude": "install remove purge upgrade full-upgrade safe-upgrade reinstall",
        "yum": "install remove erase upgrade update reinstall groupinstall localinstall downgrade",
        "dnf": "install remove erase upgrade update reinstall groupinstall downgrade",
        "microdnf": "install remove upgrade update reinstall",
        "apk": "add del upgrade fix",
        "brew": "install uninstall remove rm reinstall upgrade tap",
        "zypper": "install in remove rm update up dist-upgrade dup patch",
        "pip": "install uninstall download",
        "pip3": "install uninstall download",
        "pipx": "install uninstall reinstall upgrade run inject",
        "uv": "add remove sync pip:install pip:uninstall pip:sync tool:install tool:run",
        "npm": "install i in ci add uninstall un remove rm r update up upgrade link exec x",
        "yarn": "add install remove upgrade up dlx global",
        "pnpm": "add install i remove rm update up dlx",
        "bun": "add install i remove rm update x",
        "gem": "install uninstall update",
        "cargo": "install add uninstall",
        "go": "install get",
        "snap": "install remove refresh",
        "flatpak": "install uninstall update",
        "conda": "install remove uninstall create update",
        "mamba": "install remove uninstall create update",
        "micromamba": "install remove uninstall create update",
        "poetry": "add remove install update",
        "pipenv": "install uninstall update",
        "bundle": "install add update",
        "composer": "install require remove update",
        "port": "install uninstall upgrade",
        "easy_install": "*",
        "nix-env": "-i --install -e --uninstall -u --upgrade",
        "dpkg": "-i --install -r --remove -P --purge",
        "rpm": "-i --install -U --upgrade -e --erase -F --freshen",
        "pacman": "-S -R -U --sync --remove --upgrade",
        "emerge": "*",
        "pkg": "install add delete remove upgrade",
        "choco": "install uninstall upgrade",
        "winget": "install uninstall upgrade",
    }
)
#: Package names that are Canopy itself: removing them disables governance.
CANOPY_PACKAGES = re.compile(r"^canopy(?:[-_]runtime)?(?:[<>=!~\[;@ ].*)?$", re.IGNORECASE)

PRIVILEGE_PROGRAMS = word_set(
    "sudo doas su pkexec runuser visudo setcap usermod useradd adduser gpasswd chpasswd "
    "passwd newgrp sg"
)
#: Stop or restart the machine whatever the arguments.
POWER_PROGRAMS = word_set("shutdown reboot halt poweroff killall5 kexec")
INIT_PROGRAMS = frozenset({"init", "telinit"})
INIT_LEVELS = word_set("0 1 6 s S single emergency rescue")
SYSTEMCTL_DANGEROUS = word_set(
    "stop disable mask poweroff reboot halt kill isolate emergency rescue kexec suspend "
    "hibernate hybrid-sleep soft-reboot"
)
SERVICE_DANGEROUS = frozenset({"stop", "disable", "mask"})

MINERS = word_set(
    "xmrig xmrig-cuda xmrig-nvidia xmr-stak minerd cpuminer cpuminer-opt ccminer ethminer "
    "nbminer t-rex lolminer phoenixminer gminer bfgminer cgminer nanominer teamredminer "
    "srbminer srbminer-multi nheqminer xmrig-proxy"
)
STRATUM = re.compile(r"stratum[0-9]*\+(?:tcp|ssl|tls)://", re.IGNORECASE)

SECURITY_TOOLS = word_set(
    "nmap masscan zmap sqlmap hydra medusa ncrack john hashcat msfconsole msfvenom msfdb "
    "msfrpcd nikto aircrack-ng aireplay-ng airodump-ng airmon-ng responder crackmapexec "
    "netexec nxc mimikatz gobuster dirb dirbuster wfuzz ettercap bettercap searchsploit "
    "wpscan enum4linux evil-winrm hping3 kerbrute bloodhound-python rubeus chisel ligolo-ng "
    "pwncat pwncat-cs beef-xss setoolkit theharvester amass subfinder nuclei unicornscan "
    "arpspoof dsniff yersinia thc-hydra patator"
)
SECURITY_PREFIXES = ("impacket-",)

#: Filesystem and disk tools that destroy data. The value lists flags that make the
#: invocation read-only (``fdisk -l``); an empty set means always destructive.
DISK_TOOLS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "mkfs": frozenset(),
        "mke2fs": frozenset(),
        "mkswap": frozenset(),
        "mkdosfs": frozenset(),
        "mkntfs": frozenset(),
        "newfs": frozenset(),
        "wipefs": frozenset({"n", "no-act"}),
        "fdisk": frozenset({"l", "list", "s", "getsz"}),
        "sfdisk": frozenset(
            {"l", "list", "d", "dump", "s", "show-size", "V", "verify", "J", "json"}
        ),
        "cfdisk": frozenset(),
        "gdisk": frozenset({"l"}),
        "sgdisk": word_set("p print i info v verify"),
        "parted": frozenset({"l", "list"}),
        "blkdiscard": frozenset(),
        "cryptsetup": frozenset(),
        "lvremove": frozenset(),
        "vgremove": frozenset(),
        "pvremove": frozenset(),
        "zpool": frozenset(),
        "hdparm": frozenset(),
        "mkudffs": frozenset(),
        "mkreiserfs": frozenset(),
        "mkexfatfs": frozenset(),
        "sg_format": frozenset(),
        "sg_sanitize": frozenset(),
    }
)
#: Disk tools that destroy data only with one of these flags (``badblocks -w``).
DISK_WRITE_FLAGS: Mapping[str, frozenset[str]] = MappingProxyType({"badblocks": frozenset({"w"})})
#: For these, only the listed subcommands destroy data.
DISK_SUBCOMMANDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "cryptsetup": frozenset({"luksFormat", "erase", "luksErase", "reencrypt"}),
        "zpool": frozenset({"destroy", "labelclear", "create"}),
        "zfs": frozenset({"destroy"}),
        "parted": word_set("mklabel mktable rm mkpart resizepart rescue"),
        "hdparm": frozenset(
            {"--security-erase", "--security-erase-enhanced", "--trim-sector-ranges"}
        ),
        "diskutil": frozenset(
            {"eraseDisk", "eraseVolume", "zeroDisk", "randomDisk", "secureErase", "partitionDisk"}
        ),
        "nvme": word_set("format sanitize write-zeroes delete-ns"),
        "dmsetup": word_set("remove_all wipe_table"),
        "mdadm": word_set("--zero-superblock --create -C"),
    }
)

#: Words that make text we cannot parse or analyze look destructive (HIGH, not MEDIUM).
DESTRUCTIVE_TOKEN = re.compile(
    r"^(?:rm|dd|mkfs.*|mke2fs|mkswap|shred|wipefs|fdisk|parted|chmod|chown|mv|eval|sh|bash|zsh|dash|"
    r"curl|wget|sudo|python[\d.]*|perl|ruby|node|find|xargs|kill|pkill|truncate|/|/dev/\w+|~)$"
)

#: Environment variables that change which code a program loads.
HIJACK_VARS = word_set(
    "LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT PYTHONPATH PYTHONSTARTUP PYTHONHOME PYTHONINSPECT "
    "NODE_OPTIONS NODE_PATH PERL5LIB PERL5OPT PERLLIB RUBYLIB RUBYOPT BASH_ENV ENV "
    "PROMPT_COMMAND GIT_SSH_COMMAND GIT_EXEC_PATH LUA_PATH LUA_INIT JAVA_TOOL_OPTIONS "
    "_JAVA_OPTIONS GCONV_PATH LD_BIND_NOW SHELLOPTS BASHOPTS PS4"
)
HIJACK_PREFIXES = ("DYLD_",)
#: Environment variables whose value is a command line some program runs (git's pager,
#: man's pager, less's input filter, ssh/sudo askpass...): the value is analyzed.
COMMAND_VARS = word_set(
    "PAGER GIT_PAGER MANPAGER SYSTEMD_PAGER AWS_PAGER PSQL_PAGER EDITOR VISUAL GIT_EDITOR "
    "GIT_SEQUENCE_EDITOR SUDO_EDITOR FCEDIT GIT_SSH GIT_SSH_COMMAND GIT_ASKPASS SSH_ASKPASS "
    "SUDO_ASKPASS GIT_PROXY_COMMAND GIT_EXTERNAL_DIFF LESSOPEN LESSCLOSE BROWSER RSYNC_RSH "
    "CVS_RSH PROMPT_COMMAND"
)
#: Prompt strings: command substitutions in them run each time the prompt is shown.
PROMPT_VARS = word_set("PS0 PS1 PS2 PS3 PS4")
GOVERNANCE_ENV_PREFIX = "CANOPY_"
#: PATH entries that anyone (or this very agent) can write to.
WRITABLE_PATH_ENTRIES = re.compile(
    r"^(?:|\.|\.\./?.*|/tmp(?:/.*)?|/var/tmp(?:/.*)?|/dev/shm(?:/.*)?|[^/$].*)$"
)

#: Names whose redefinition (alias, PATH shadowing) hijacks what a user thinks they run.
COMMON_COMMANDS = word_set(
    "ls cd cat cp mv rm sudo su git ssh scp python python3 pip pip3 npm node grep find echo "
    "curl wget bash sh make docker kubectl vim vi nano ps kill chmod chown id whoami env "
    "export test true false exit clear history canopy"
)

#: Programs whose operands are not read as files (so a key path there is not a leak).
NON_READERS = word_set(
    "echo printf ls stat file test [ chmod chown chgrp chattr touch mkdir rm rmdir unlink "
    "shred mv ln realpath readlink basename dirname cd pushd ssh-add ssh-keygen ssh du df "
    "which type find true false wc git sqlite3 truncate install export unset local declare "
    "locate plocate mlocate"
)
#: Programs that print their operands, or something that shows them, on stdout.
ECHOES_OPERANDS = word_set("basename dirname realpath readlink expr numfmt factor seq")
#: Programs that name an operand they cannot use (no such file, not a number, no such
#: user) in an error on stderr: a secret given as one is shown there.
NAMES_BAD_OPERANDS = word_set(
    "ls dir vdir stat file du wc rm rmdir unlink cp mv ln install chmod chown chgrp chattr "
    "lsattr touch mkdir cat tac nl head tail od xxd hexdump strings md5sum sha1sum sha256sum "
    "sha512sum b2sum cksum sum cmp diff sort uniq cut paste shuf split csplit tee truncate "
    "shred sleep kill id groups date cd pushd zcat gzip gunzip bzip2 xz base64 base32"
)
#: Programs whose operands after the data operand are files they read.
READERS = word_set(
    "cat tac nl less more head tail od xxd hexdump strings base64 base32 sort uniq cut grep "
    "egrep fgrep zgrep rg ag diff cmp md5sum sha1sum sha256sum sha512sum jq yq awk gawk sed "
    "tr paste column fold fmt gpg openssl zcat gunzip source . python perl ruby node bat view "
    "vim vi nano emacs code gedit"
)
#: Editors and database shells: opening a protected file in one is tampering.
EDITORS = word_set(
    "vi vim nvim view nano pico emacs ed ex joe micro kak helix hx code gedit sqlite3 sqlite "
    "duckdb hexedit bvi dd"
)
#: Programs that print the environment (a secret-bearing stream); printenv has its own rule.
ENV_DUMPERS = word_set("env set export declare typeset compgen")
#: Find primaries that narrow which entries an action applies to.
FIND_NARROWING = word_set(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname -newer "
    "-anewer -cnewer -mtime -mmin -atime -amin -ctime -cmin -size -user -group -uid -gid "
    "-nouser -nogroup -perm -empty -links -inum -samefile -used -context"
)
#: Find primaries that take one argument.
FIND_ONE_ARG = word_set(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname -newer "
    "-anewer -cnewer -mtime -mmin -atime -amin -ctime -cmin -size -user -group -uid -gid "
    "-perm -links -inum -samefile -used -context -type -xtype -maxdepth -mindepth -fstype "
    "-printf -fprint -fprint0 -fls -regextype -newerXY -files0-from"
)
FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
FIND_WRITES = frozenset({"-fprint", "-fprint0", "-fls", "-fprintf"})
