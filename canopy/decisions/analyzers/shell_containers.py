"""Containers given the host: a ``docker``/``podman``/``nerdctl`` run that is root on it.

Why: ``docker run -v /:/h alpine chroot /h`` edits the host's ``/etc/shadow``;
``--privileged`` mounts the host's disks; the engine's socket starts such containers at
will; ``--pid=host`` plus ``nsenter -t 1`` enters the host's init. None of it names a
host path or command the other rules would see, so the run options are read here.

What is decided (DENY: ``HOST_ESCAPE``, critical; approval: ``PRIVILEGE``, medium):

* DENY, root on the host: a bind mount of ``/``, a system-critical directory (``/etc``,
  ``/usr``, ``/var``, ``/proc``, a home directory...) or the engine's socket, even
  read-only (it holds ``/etc/shadow``, keys, and the socket is the engine itself); a
  writable mount of a file in a system tree (``/etc/passwd``, ``/sys/fs/cgroup``);
  ``--privileged`` (on ``run``, ``create`` and ``exec``); an admin capability (ALL,
  SYS_ADMIN, SYS_MODULE, SYS_RAWIO, DAC_READ_SEARCH, BPF); a disk or memory device
  (``--device /dev/sda``); ``--pid=host`` with the means to enter host processes
  (``nsenter`` as the command, or SYS_ADMIN/SYS_PTRACE).
* Approval, a weaker boundary a human should accept: the host's other namespaces
  (``--net=host``, ``--ipc``, ``--uts``, ``--userns``, ``--cgroupns``; ``--pid=host``
  alone), any other ``--cap-add`` or ``--device``, confinement turned off
  (``--security-opt apparmor=unconfined``, ``seccomp=unconfined``, ``label=disable``,
  ``systempaths=unconfined``), a read-only mount from a system tree
  (``/etc/localtime``), and a bind mount of any host path outside the working directory
  and temp directories (or one we cannot resolve).
* A mounted credential (``-v ~/.ssh:/root/.ssh``) is read: ``CREDENTIAL_ACCESS``.
* Named volumes and mounts under the working directory (``-v "$PWD":/src``) are routine.

Kubernetes the same way: ``kubectl debug node/NAME`` (a pod in the node's namespaces with
its root filesystem) and ``kubectl run --privileged`` are DENY; a pod spec in
``--overrides`` is judged by the rules above (``privileged``, ``hostPID``, ``hostNetwork``,
``hostIPC``, ``hostPath``, added capabilities).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from typing import TYPE_CHECKING

from canopy.decisions.analyzers.paths import PathClass, path_classes
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_options import Parsed, parse_options
from canopy.decisions.analyzers.shell_paths import is_block_device
from canopy.decisions.analyzers.shell_programs import opts
from canopy.decisions.analyzers.shell_rules import Call, read_target
from canopy.decisions.analyzers.shell_state import Scope
from canopy.decisions.analyzers.shell_words import Word
from canopy.decisions.model import Severity

if TYPE_CHECKING:
    from canopy.decisions.analyzers.shell_state import PathRef

__all__ = [
    "CONTAINER_ENGINES",
    "ENGINE_OPTIONS",
    "KUBE_OPTIONS",
    "rule_container_run",
    "rule_kubernetes_pod",
]

R = ShellRisk
S = Severity

CONTAINER_ENGINES = ("docker", "podman", "nerdctl", "ctr", "docker-compose", "podman-compose")
#: The engine's own options, before its subcommand (``docker -H HOST run ...``,
#: ``nerdctl -n k8s.io run ...``).
ENGINE_OPTIONS = opts(
    "Hclna",
    "host context config log-level tlscacert tlscert tlskey url connection identity "
    "namespace address",
    stop=True,
)
_COMPOSE_OPTIONS = opts(
    "fp", "file project-name profile env-file project-directory ansi parallel progress", stop=True
)
#: ``run``/``create`` options that take a value; the first operand is the image.
_RUN_OPTIONS = opts(
    "acehlmpuvw",
    "add-host annotation attach blkio-weight cap-add cap-drop cgroup-parent cgroupns cidfile "
    "cpu-period cpu-quota cpu-shares cpus cpuset-cpus cpuset-mems device device-cgroup-rule "
    "dns dns-option dns-search domainname entrypoint env env-file expose gpus group-add "
    "health-cmd health-interval health-retries health-start-period health-timeout hostname ip "
    "ip6 ipc isolation label label-file link log-driver log-opt mac-address memory "
    "memory-reservation memory-swap mount name network net network-alias oom-score-adj pid "
    "pids-limit platform publish pull restart runtime security-opt shm-size stop-signal "
    "stop-timeout storage-opt sysctl tmpfs ulimit user userns uts volume volume-driver "
    "volumes-from workdir pod secret arch os systemd uidmap gidmap timeout tz umask with-ns",
    stop=True,
)
_EXEC_OPTIONS = opts("euw", "detach-keys env env-file user workdir", stop=True)
#: kubectl's options that take a value (global and those of ``run``/``debug``).
KUBE_OPTIONS = opts(
    "snlocfLk",
    "server namespace context cluster user kubeconfig output selector container filename "
    "overrides image profile env labels port",
)
_POD_NAMESPACES = ("hostPID", "hostNetwork", "hostIPC")
_ADMIN_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF"})
_ENTERING_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_PTRACE"})  # with --pid=host
_HOST_NAMESPACES = ("network", "net", "ipc", "uts", "userns", "cgroupns")
_ENGINE_SOCKETS = frozenset({"docker.sock", "podman.sock", "containerd.sock", "crio.sock"})
_UNCONFINED = frozenset(
    {"apparmor=unconfined", "seccomp=unconfined", "label=disable", "systempaths=unconfined"}
)


def rule_container_run(call: Call) -> None:
    """``run``/``create`` (also ``container run``, ``compose run``) and ``exec``."""
    words = parse_options(call.args, ENGINE_OPTIONS).operands
    if call.name.endswith("-compose"):
        words = [Word("compose"), *words]
    if words and words[0].text == "compose":
        words = parse_options(words[1:], _COMPOSE_OPTIONS).operands
        words = words if words and words[0].text in ("run", "exec") else []
    elif words and words[0].text == "container":
        words = words[1:]
    verb = words[0].text if words else ""
    if verb in ("run", "create"):
        _run(call, parse_options(words[1:], _RUN_OPTIONS))
    elif verb == "exec":
        parsed = parse_options(words[1:], _EXEC_OPTIONS)
        if _flag(parsed, "privileged"):
            _escape(call, "exec --privileged: every capability and device of the host")
        _run_inside(call, parsed.operands[:1], parsed.operands[1:])


def _run_inside(call: Call, target: Sequence[Word], command: Sequence[Word]) -> None:
    """``docker exec C CMD``, ``kubectl exec POD -- CMD``: CMD runs in a live container,
    as ``ssh HOST CMD`` runs on a live host: judged as a command, in a scope of its own
    (its files, home and directory are the container's, not ours)."""
    if not target or not command:
        return
    inside = Scope(env={"HOME": Word("/root"), "IFS": Word(" \t\n")}, cwd="", home="/root")
    where = f"{call.program} exec {target[0].text}"
    call.runner.argv(list(command), inside, call.ctx.wrapped(where, nested=True))


def _run(call: Call, parsed: Parsed) -> None:
    if _flag(parsed, "privileged"):
        _escape(call, "--privileged: the host's devices and every capability")
    for word in parsed.value_words.get("v", []) + parsed.value_words.get("volume", []):
        _volume(call, word)
    for word in parsed.value_words.get("mount", []):
        _mount(call, word)
    caps = _capabilities(parsed)
    for cap in sorted(caps):
        if cap in _ADMIN_CAPS:
            _escape(call, f"--cap-add {cap}: administers the host's kernel")
        else:
            _weaker(call, f"--cap-add {cap}")
    for word in parsed.value_words.get("device", []):
        _device(call, word)
    if "host" in parsed.values.get("pid", []):
        if caps & _ENTERING_CAPS or _runs_nsenter(parsed.operands[1:]):
            _escape(call, "--pid=host with the means to enter the host's processes")
        else:
            _weaker(call, "--pid=host: sees and signals the host's processes")
    _namespaces_and_confinement(call, parsed)


def _namespaces_and_confinement(call: Call, parsed: Parsed) -> None:
    for key in _HOST_NAMESPACES:
        if "host" in parsed.values.get(key, []):
            _weaker(call, f"--{key}=host: shares the host's {key} namespace")
    if "net-host" in parsed.longs:  # ctr
        _weaker(call, "--net-host: shares the host's network namespace")
    for value in parsed.values.get("with-ns", []):  # ctr: TYPE:PATH, e.g. /proc/1/ns/pid
        _weaker(call, f"--with-ns {value}: joins another process's namespace")
    for value in parsed.values.get("security-opt", []):
        if value.lower().replace(":", "=", 1) in _UNCONFINED:
            _weaker(call, f"--security-opt {value}: turns confinement off")
    if parsed.values.get("device-cgroup-rule"):
        _weaker(call, "--device-cgroup-rule: opens host devices")


def _flag(parsed: Parsed, name: str) -> bool:
    """``--privileged`` or ``--privileged=true`` (not ``=false``)."""
    values = parsed.values.get(name)
    if values:
        return values[-1].lower() not in ("false", "0")
    return name in parsed.longs


def _capabilities(parsed: Parsed) -> set[str]:
    caps = set()
    for value in parsed.values.get("cap-add", []):
        for cap in value.upper().split(","):
            caps.add(cap.strip().removeprefix("CAP_"))
    return caps - {""}


def _runs_nsenter(command: Sequence[Word]) -> bool:
    return any(posixpath.basename(w.text) == "nsenter" for w in command)


def _volume(call: Call, word: Word) -> None:
    """``-v HOST:CONTAINER[:OPTIONS]``; a first part without a slash is a named volume."""
    if word.text.startswith("="):  # ``-v=/:/h``
        word = word.tail(1)
    if ":" not in word.text:
        return  # an anonymous volume at a container path
    host = word.head(":")
    if not host.text.startswith(("/", ".", "~")) and host.resolved:
        return
    options = word.text.split(":")[2:]
    readonly = any(o in ("ro", "readonly") for opt in options for o in opt.split(","))
    _bind(call, call.ref(host), readonly=readonly)


def _mount(call: Call, word: Word) -> None:
    """``--mount type=bind,source=/,target=/h[,readonly]``."""
    fields = _fields(word.text)
    if fields.get("type") != "bind":
        return
    readonly = any(key in fields for key in ("readonly", "ro"))
    source = _source(fields)
    unknown = _source(_fields(word.pattern)) if word.pattern is not None else ""
    if "*" in unknown:  # the source has an unknown part (``source=$DIR``)
        host = Word(source, exact=False, resolved=False, pattern=unknown)
    else:
        host = Word(source)
    _bind(call, call.ref(host), readonly=readonly)


def _fields(text: str) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in text.split(","))


def _source(fields: dict[str, str]) -> str:
    return fields.get("source") or fields.get("src") or ""


def _bind(call: Call, ref: PathRef, *, readonly: bool) -> None:
    """What a bind mount hands the container (see the module docstring)."""
    if ref.info is None:
        _weaker(call, f"bind-mounts host path {ref.word.text}, which is not known")
        return
    path, info = ref.path, ref.info
    if posixpath.basename(path) in _ENGINE_SOCKETS:
        _escape(call, f"mounts the container engine's socket {path}")
    elif info.critical:
        _escape(call, f"mounts the host's {path}")
    elif PathClass.SYSTEM_CRITICAL in path_classes(path, home=call.out.home) and not readonly:
        _escape(call, f"mounts system path {path} writable")
    elif info.credential:
        read_target(call, ref)
    elif not (info.contained or info.relative or path == call.out.workspace):
        _weaker(call, f"bind-mounts host path {path}")


def _device(call: Call, word: Word) -> None:
    ref = call.ref(word.head(":"))
    if ref.info is not None and is_block_device(ref.path):
        _escape(call, f"--device {ref.path}: the host's disk or memory")
    else:
        _weaker(call, f"--device {word.text}")


def rule_kubernetes_pod(call: Call) -> None:
    """``kubectl debug node/N``, ``kubectl run --privileged``, ``--overrides`` pod specs."""
    parsed = parse_options(call.args, KUBE_OPTIONS)
    ops = [w.text for w in parsed.operands]
    verb = ops[0] if ops else ""
    if verb == "exec":  # kubectl exec [-it] POD [-c C] -- CMD
        _run_inside(call, parsed.operands[1:2], parsed.operands[2:])
    if verb == "debug" and any(op.startswith(("node/", "nodes/")) for op in ops[1:]):
        _escape(call, "debug node: a pod in the node's namespaces with its root filesystem")
    if verb != "run":
        return
    if _flag(parsed, "privileged"):
        _escape(call, "run --privileged: the node's devices and every capability")
    for word in parsed.value_words.get("overrides", []):
        _pod_overrides(call, word.text)


def _pod_overrides(call: Call, text: str) -> None:
    try:
        spec = json.loads(text)
    except ValueError:
        return
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            _pod_settings(call, node)
            stack.extend(node.values())


def _pod_settings(call: Call, node: dict[str, object]) -> None:
    """One object of a pod spec: the settings that reach the node."""
    if node.get("privileged") is True:
        _escape(call, "a privileged container: the node's devices and every capability")
    for key in _POD_NAMESPACES:
        if node.get(key) is True:
            _weaker(call, f"{key}: shares the node's namespace")
    host_path = node.get("hostPath")
    if isinstance(host_path, dict) and isinstance(host_path.get("path"), str):
        _bind(call, call.ref(Word(host_path["path"])), readonly=False)
    added = node.get("add") if "drop" in node or "add" in node else None
    for cap in added if isinstance(added, list) else ():
        name = str(cap).upper().removeprefix("CAP_")
        if name in _ADMIN_CAPS:
            _escape(call, f"capability {name}: administers the node's kernel")
        else:
            _weaker(call, f"capability {name}")


def _escape(call: Call, detail: str) -> None:
    call.report(R.HOST_ESCAPE, S.CRITICAL, f"{call.program} {detail}")


def _weaker(call: Call, detail: str) -> None:
    call.report(R.PRIVILEGE, S.MEDIUM, f"{call.program} {detail}")
