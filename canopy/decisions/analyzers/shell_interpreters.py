"""What interpreter one-liners do: ``python -c``, ``perl -e``, ``node -e``, ``awk`` programs.

Why: ``python3 -c 'import shutil; shutil.rmtree("/")'`` never mentions ``rm``. Python code
is parsed with the stdlib ``ast`` module; for Perl, Ruby, Node, PHP, Lua and awk there is
no parser in the standard library, so a tokenizer that understands their strings and
comments pulls out the literal arguments of calls that run commands or delete files.

The result is a list of ``Effect`` records; the shell analyzer turns them into findings
with the same path and command rules it uses for shell text. Anything dangerous called
with a value we cannot compute becomes an UNVERIFIABLE effect, never a silent pass.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from canopy.decisions.analyzers.interpreter_effects import Effect, EffectKind
from canopy.decisions.analyzers.interpreter_secrets import (
    SHOWN,
    STDERR,
    WHOLE_ENVIRONMENT,
    Secret,
    merged,
    secret_effect,
    variable,
)
from canopy.decisions.analyzers.python_secrets import python_secret_effects
from canopy.decisions.analyzers.script_secrets import opener_of, script_secret_effects
from canopy.decisions.analyzers.shell_words import read_delimited

__all__ = ["Effect", "EffectKind", "python_effects", "script_effects"]


def _names(text: str) -> frozenset[str]:
    """A set of names written as one space-separated string (keeps tables compact)."""
    return frozenset(text.split())


MAX_DEPTH = 6  # exec("exec('...')") nesting inside one interpreter


# --- Python ----------------------------------------------------------------------------

_PY_SHELL = _names(
    "os.system os.popen subprocess.getoutput subprocess.getstatusoutput "
    "commands.getoutput commands.getstatusoutput asyncio.create_subprocess_shell "
    "platform.popen"
)
_PY_PROCESS = _names(
    "subprocess.run subprocess.call subprocess.check_call subprocess.check_output "
    "subprocess.Popen pty.spawn"
)
_PY_EXEC_LIST = frozenset(
    {"os.execv", "os.execve", "os.execvp", "os.execvpe", "os.posix_spawn", "os.posix_spawnp"}
)
_PY_EXEC_VARARGS = frozenset(
    {"os.execl", "os.execle", "os.execlp", "os.execlpe", "asyncio.create_subprocess_exec"}
)
_PY_SPAWN_LIST = frozenset({"os.spawnv", "os.spawnve", "os.spawnvp", "os.spawnvpe"})
_PY_SPAWN_VARARGS = frozenset({"os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe"})
_PY_DELETE = MappingProxyType(
    {
        "shutil.rmtree": True,
        "os.remove": False,
        "os.unlink": False,
        "os.rmdir": False,
        "os.removedirs": False,
        "pathlib.Path.unlink": False,
        "pathlib.Path.rmdir": False,
    }
)
_PY_WRITE_FIRST = _names(
    "os.truncate os.chmod os.chown os.lchown pathlib.Path.write_text "
    "pathlib.Path.write_bytes pathlib.Path.touch pathlib.Path.chmod"
)
_PY_WRITE_SECOND = frozenset(
    {"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree", "os.symlink", "os.link"}
)
_PY_MOVE = _names(
    "shutil.move os.rename os.replace os.renames pathlib.Path.rename pathlib.Path.replace"
)
_PY_READ_FIRST = frozenset({"pathlib.Path.read_text", "pathlib.Path.read_bytes"})
_PY_NETWORK = _names(
    "urllib.request.urlopen urllib.request.urlretrieve urllib.request.Request "
    "urllib.urlopen urllib2.urlopen requests.get requests.post requests.put "
    "requests.delete requests.head requests.request requests.Session httpx.get httpx.post "
    "httpx.Client http.client.HTTPConnection http.client.HTTPSConnection socket.socket "
    "socket.create_connection ftplib.FTP telnetlib.Telnet paramiko.SSHClient"
)
_PY_CODE = _names("eval exec compile builtins.eval builtins.exec execfile")
_PY_IMPORT = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})
_PY_OPAQUE = _names(
    "marshal.loads pickle.loads runpy.run_path runpy.run_module ctypes.CDLL types.FunctionType"
)
_PY_FORK = frozenset({"os.fork", "os.forkpty", "pty.fork"})
_PY_PATH_TYPES = frozenset({"pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"})
#: Methods that delete whatever path object they are called on.
_PY_PATH_DELETERS = frozenset({"unlink", "rmdir", "rmtree"})
_REFERENCES = (ast.Name, ast.Attribute, ast.Subscript)
#: Names that read or write variables by a computed name.
_PY_DYNAMIC_SCOPE = _names("globals locals vars exec eval compile setattr delattr __import__")


#: Methods that change a list, dict, set or bytearray in place.
_PY_MUTATORS = _names(
    "append extend insert pop remove clear reverse sort update add discard setdefault "
    "popitem __setitem__ __iadd__ __delitem__"
)
_HOME_MARK = "~"


def python_effects(code: str, depth: int = 0) -> list[Effect]:
    """Effects of a Python program, from its syntax tree (never executed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning on odd literals is not our business
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [Effect(EffectKind.UNVERIFIABLE, "python code does not parse")]
    visitor = _PyVisitor(depth, _changing_names(tree))
    try:
        visitor.visit(tree)
        secrets = python_secret_effects(tree, visitor)
    except RecursionError:
        return [Effect(EffectKind.UNVERIFIABLE, "python code nested too deeply", destructive=True)]
    return _with_reverse_shell(visitor.effects + secrets)


def _changing_names(tree: ast.AST) -> frozenset[str] | None:
    """Names whose value can change after it is first set: bound more than once (also
    as a parameter, ``except ... as``, ``import ... as``), changed in place (``c +=
    "; rm -rf /"``, ``c[0] = "rm"``, ``c.append("/")``), aliased (``d = c``) or declared
    global. The visitor reads the program once, in order, while a function defined
    earlier or a loop's next turn sees the later value: such names are never constants.
    None: the program reaches variables by computed names (``globals()``, ``exec``,
    ``setattr``...), so no name is a constant."""
    bound: dict[str, int] = {}
    changed: set[str] = set()

    def bind(name: str | None) -> None:
        if name:
            bound[name] = bound.get(name, 0) + 1

    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in _PY_DYNAMIC_SCOPE:
                return None
            if isinstance(node.ctx, ast.Store | ast.Del):
                bind(node.id)
        elif isinstance(node, ast.arg | ast.ExceptHandler):
            bind(node.arg if isinstance(node, ast.arg) else node.name)
        elif isinstance(node, ast.alias):
            bind(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.MatchAs | ast.MatchStar):
            bind(node.name)
        elif isinstance(node, ast.Attribute) and node.attr in ("__dict__", "f_locals", "f_globals"):
            return None
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            changed.add(node.value.id)  # d = c: changing d changes c
        elif isinstance(node, ast.AugAssign):
            changed.add(_base_name(node.target))
        elif isinstance(node, ast.Subscript | ast.Attribute) and isinstance(
            node.ctx, ast.Store | ast.Del
        ):
            changed.add(_base_name(node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _PY_MUTATORS:
                changed.add(_base_name(node.func.value))
        elif isinstance(node, ast.Global | ast.Nonlocal):
            changed.update(node.names)
    return frozenset(changed | {name for name, count in bound.items() if count > 1})


def _base_name(node: ast.AST) -> str:
    while isinstance(node, ast.Subscript | ast.Attribute | ast.Starred):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


_SHELL_BASENAMES = frozenset({"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "fish", "csh"})


def _interactive_shell(effect: Effect) -> bool:
    """A shell started with no command and no script: it runs what its stdin sends."""
    if effect.kind is EffectKind.ARGV:
        argv = list(effect.argv)
    elif effect.kind is EffectKind.SHELL:
        argv = effect.text.split()
    else:
        return False
    if not argv or argv[0].rsplit("/", 1)[-1] not in _SHELL_BASENAMES:
        return False
    options = [a for a in argv[1:] if not ("<" in a or ">" in a)]  # redirections: not operands
    return all(a.startswith("-") and "c" not in a[1:] for a in options)


def _with_reverse_shell(effects: list[Effect]) -> list[Effect]:
    """A network connection and an interactive shell in one program: a reverse shell."""
    network = any(e.kind is EffectKind.NETWORK for e in effects)
    if network and any(_interactive_shell(e) for e in effects):
        effects.append(Effect(EffectKind.REMOTE_CODE, "connects a shell to the network"))
    return effects


class _PyVisitor(ast.NodeVisitor):
    """Walks statements in order, tracking imports and constant assignments."""

    def __init__(self, depth: int, changing: frozenset[str] | None = frozenset()) -> None:
        self.depth = depth
        self.aliases: dict[str, str] = {}
        self.consts: dict[str, Any] = {}
        self.effects: list[Effect] = []
        self.loops = 0
        self.paths: dict[str, Any] = {}  # p = Path("/etc"): methods of p act on "/etc"
        #: names whose value may change (None: any name; see _changing_names)
        self.changing = changing

    # imports and assignments feed name resolution
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.aliases[a.asname or a.name.split(".")[0]] = (
                a.name if a.asname else a.name.split(".")[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for a in node.names:
            if a.name != "*":
                self.aliases[a.asname or a.name] = f"{node.module or ''}.{a.name}"
            else:
                for name in _STAR_EXPORTS.get(node.module or "", ()):
                    self.aliases[name] = f"{node.module}.{name}"

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        value = _fold(node.value, self)
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._assign_name(target.id, node.value, value)

    def _assign_name(self, name: str, node: ast.expr, value: Any) -> None:
        self.paths.pop(name, None)
        if self.changing is None or name in self.changing:  # a later value: never a constant
            value = None
        elif self._is_path_object(node):
            self.paths[name] = value
        if value is not None:
            self.consts[name] = value
            return
        self.consts.pop(name, None)
        module = self._imported_module(node)
        if module is not None:  # m = __import__("os"): m is an alias of os
            self.aliases[name] = module
            return
        function = self.qualname(node) if isinstance(node, _REFERENCES) else None
        if function is not None and ("." in function or function in _PY_CODE):
            self.aliases[name] = function  # f = os.system: f(...) is os.system(...)

    def fold(self, node: ast.AST | None) -> Any:
        """The constant value of an expression, when it has one (None: computed)."""
        return _fold(node, self)

    def _is_path_object(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and self.qualname(node.func) in _PY_PATH_TYPES

    def _imported_module(self, node: ast.expr) -> str | None:
        if not isinstance(node, ast.Call) or not node.args:
            return None
        if self.qualname(node.func) not in _PY_IMPORT:
            return None
        module = _fold(node.args[0], self)
        return module if isinstance(module, str) else None

    def _loop(self, node: ast.AST) -> None:
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1

    visit_While = _loop
    visit_For = _loop
    visit_ListComp = _loop
    visit_GeneratorExp = _loop
    visit_SetComp = _loop
    visit_DictComp = _loop

    def qualname(self, node: ast.AST) -> str | None:
        """Dotted name a call target resolves to, through imports and getattr."""
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):
            return self._namespace_item(node)
        if isinstance(node, ast.Call):
            inner = self.qualname(node.func)
            if inner in _PY_IMPORT and node.args:
                module = _fold(node.args[0], self)
                return module if isinstance(module, str) else None
            if inner == "getattr" and len(node.args) >= 2:
                attr = _fold(node.args[1], self)
                base = self.qualname(node.args[0])
                return f"{base}.{attr}" if base and isinstance(attr, str) else None
            if inner in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"):
                return "pathlib.Path()"
        return None

    def _namespace_item(self, node: ast.Subscript) -> str | None:
        """``os.__dict__["system"]``, ``vars(os)["system"]``: an attribute by its name."""
        key = _fold(node.slice, self)
        if not isinstance(key, str):
            return None
        holder = node.value
        if self.qualname(holder) == "sys.modules":  # sys.modules["os"] is os
            return self.aliases.get(key, key)
        if isinstance(holder, ast.Attribute) and holder.attr == "__dict__":
            base = self.qualname(holder.value)
        elif (
            isinstance(holder, ast.Call)
            and isinstance(holder.func, ast.Name)
            and holder.func.id == "vars"
            and holder.args
        ):
            base = self.qualname(holder.args[0])
        else:
            return None
        return f"{base}.{key}" if base else None

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = self.qualname(node.func)
        if name is None:
            return
        name = name.removeprefix("__builtins__.").removeprefix("builtins.")
        name = name.removesuffix(".__call__")  # f.__call__(x) is f(x)
        if name.startswith("pathlib.Path()."):
            self._path_method(node, name.removeprefix("pathlib.Path()."))
            return
        func = node.func
        receiver = (
            func.value.id
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            else None
        )
        if receiver in self.paths:  # p = Path("/etc/x"); p.unlink()
            assert isinstance(func, ast.Attribute) and receiver is not None
            self._call_path_effect(f"pathlib.Path.{func.attr}", self.paths[receiver], node)
            return
        for check in _PY_CHECKS:
            if check(self, node, name):
                return
        if isinstance(func, ast.Attribute) and func.attr in _PY_PATH_DELETERS:
            self.effects.append(
                Effect(EffectKind.UNVERIFIABLE, f".{func.attr}() of a computed path")
            )

    def _path_method(self, node: ast.Call, method: str) -> None:
        assert isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
        ctor = node.func.value
        path = _fold(ctor.args[0], self) if ctor.args else "."
        self._call_path_effect(f"pathlib.Path.{method}", path, node)

    def _call_path_effect(self, name: str, path: Any, node: ast.Call) -> None:
        if name in _PY_DELETE:
            self._path(EffectKind.DELETE, path, recursive=_PY_DELETE[name], what=name)
        elif name in _PY_WRITE_FIRST:
            self._path(EffectKind.WRITE, path, what=name)
        elif name in _PY_READ_FIRST:
            self._path(EffectKind.READ, path, what=name)
        elif name in ("pathlib.Path.open",):
            mode = _fold(node.args[0], self) if node.args else "r"
            kind = (
                EffectKind.WRITE
                if not isinstance(mode, str) or set(mode) & set("wax+")
                else EffectKind.READ
            )
            self._path(kind, path, what=name)
        elif name in ("pathlib.Path.rename", "pathlib.Path.replace"):
            self._path(EffectKind.DELETE, path, what=name, recursive=True)

    def _path(self, kind: EffectKind, path: Any, *, recursive: bool = False, what: str) -> None:
        text = _as_text(path)
        if text is None:
            destructive = kind in (EffectKind.DELETE, EffectKind.WRITE)
            self.effects.append(
                Effect(
                    EffectKind.UNVERIFIABLE, f"{what} on a computed path", destructive=destructive
                )
            )
            if kind is EffectKind.DELETE:
                self.effects.append(Effect(kind, "", recursive=recursive))
            return
        self.effects.append(Effect(kind, text, recursive=recursive))

    def shell(self, value: Any, what: str) -> None:
        text = _as_text(value)
        if text is None:
            self.effects.append(
                Effect(EffectKind.UNVERIFIABLE, f"{what} runs a computed command", destructive=True)
            )
        else:
            self.effects.append(Effect(EffectKind.SHELL, text))

    def argv(self, value: Any, what: str) -> None:
        if (
            isinstance(value, (list, tuple))
            and value
            and all(_as_text(v) is not None for v in value)
        ):
            self.effects.append(
                Effect(EffectKind.ARGV, argv=tuple(_as_text(v) or "" for v in value))
            )
        elif isinstance(value, (str, bytes)):
            self.effects.append(Effect(EffectKind.ARGV, argv=(_as_text(value) or "",)))
        else:
            self.effects.append(
                Effect(EffectKind.UNVERIFIABLE, f"{what} runs a computed command", destructive=True)
            )

    def code(self, node: ast.Call, name: str) -> None:
        if not node.args:
            return
        if any(self._is_network_call(n) for n in ast.walk(node.args[0])):
            self.effects.append(Effect(EffectKind.REMOTE_CODE, f"{name} of downloaded code"))
            return
        value = _fold(node.args[0], self)
        text = _as_text(value)
        if text is None:
            self.effects.append(
                Effect(EffectKind.UNVERIFIABLE, f"{name} of a computed value", destructive=True)
            )
        elif self.depth >= MAX_DEPTH:
            self.effects.append(
                Effect(EffectKind.UNVERIFIABLE, f"{name} nested too deeply", destructive=True)
            )
        else:
            self.effects.extend(python_effects(text, self.depth + 1))

    def _is_network_call(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and (self.qualname(node.func) or "") in _PY_NETWORK


def _check_shell(v: _PyVisitor, node: ast.Call, name: str) -> bool:
    if name not in _PY_SHELL:
        return False
    v.shell(_fold(node.args[0], v) if node.args else None, name)
    return True


def _check_process(v: _PyVisitor, node: ast.Call, name: str) -> bool:
    if name not in _PY_PROCESS:
        return False
    first = node.args[0] if node.args else _keyword(node, "args")
    value = _fold(first, v) if first is not None else None
    shell_kw = _keyword(node, "shell")
    uses_shell = shell_kw is not None and not (
        isinstance(shell_kw, ast.Constant) and not shell_kw.value
    )
    if uses_shell or (isinstance(value, str) and name == "pty.spawn" and " " in value):
        v.shell(value, name)
    else:
        v.argv(value, name)
    return True


def _check_exec(v: _PyVisitor, node: ast.Call, name: str) -> bool:
    if name in _PY_EXEC_LIST:
        v.argv(_fold(node.args[1], v) if len(node.args) > 1 else None, name)
    elif name in _PY_EXEC_VARARGS:
        v.argv([_fold(a, v) for a in node.args[1:]] or None, name)
    elif name in _PY_SPAWN_LIST:
        v.argv(_fold(node.args[2], v) if len(node.args) > 2 else None, name)
    elif name in _PY_SPAWN_VARARGS:
        v.argv([_fold(a, v) for a in node.args[2:]] or None, name)
    else:
        return False
    return True


def _check_files(v: _PyVisitor, node: ast.Call, name: str) -> bool:
    first = _fold(node.args[0], v) if node.args else None
    second = _fold(node.args[1], v) if len(node.args) > 1 else None
    if name in _PY_DELETE or name in _PY_WRITE_FIRST or name in _PY_READ_FIRST:
        v._call_path_effect(name, first, node)
    elif name in _PY_WRITE_SECOND:
        v._path(EffectKind.READ, first, what=name)
        v._path(EffectKind.WRITE, second, what=name)
    elif name in _PY_MOVE:
        v._path(EffectKind.DELETE, first, recursive=True, what=name)
        v._path(EffectKind.WRITE, second, what=name)
    elif name in ("open", "io.open", "codecs.open", "builtins.open"):
        mode_node = node.args[1] if len(node.args) > 1 else _keyword(node, "mode")
        mode = _fold(mode_node, v) if mode_node is not None else "r"
        writes = not isinstance(mode, str) or bool(set(mode) & set("wax+"))
        v._path(EffectKind.WRITE if writes else EffectKind.READ, first, what=name)
    else:
        return False
    return True


def _check_network(v: _PyVisitor, node: ast.Call, name: str) -> bool:
    if name not in _PY_NETWORK:
        return False
    first = _as_text(_fold(node.args[0], v)) if node.args else None
    v.effects.append(Effect(EffectKind.NETWORK, first if first and "://" in first else name))
    return True


def _check_code(v: _PyVisitor, node: ast.Call, name: str) -> bool:
    if name in _PY_CODE:
        v.code(node, name)
    elif name in _PY_IMPORT:
        if not node.args or _fold(node.args[0], v) is None:
            v.effects.append(Effect(EffectKind.UNVERIFIABLE, f"{name} of a computed module name"))
    elif name in _PY_OPAQUE:
        v.effects.append(Effect(EffectKind.UNVERIFIABLE, f"{name} runs opaque code"))
    elif name in _PY_FORK:
        if v.loops:
            v.effects.append(Effect(EffectKind.FORK_BOMB, f"{name} inside a loop"))
    elif name == "os.kill" and len(node.args) == 2:
        pid, sig = _fold(node.args[0], v), _fold(node.args[1], v)
        if isinstance(pid, int):
            signal = f"-{sig}" if isinstance(sig, int) else "-9"
            v.effects.append(Effect(EffectKind.ARGV, argv=("kill", signal, str(pid))))
    else:
        return False
    return True


_PY_CHECKS = (_check_shell, _check_process, _check_exec, _check_files, _check_network, _check_code)
_STAR_EXPORTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "os": (
            "environ",
            "environb",
            "getenv",
            "getenvb",
            "system",
            "popen",
            "remove",
            "unlink",
            "rmdir",
            "removedirs",
            "execv",
            "execvp",
            "execl",
            "execlp",
            "fork",
            "kill",
            "chmod",
            "rename",
        ),
        "shutil": ("rmtree", "move", "copy", "copytree"),
        "subprocess": ("run", "call", "check_call", "check_output", "Popen", "getoutput"),
    }
)


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    for kw in node.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return None


def _fold(node: ast.AST | None, v: _PyVisitor) -> Any:
    """Compute a constant expression, or None. Handles the usual obfuscations."""
    if node is None:
        return None
    folder = _FOLDERS.get(type(node))
    if folder is None:
        return None
    try:
        return folder(node, v)
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        OverflowError,
        UnicodeError,
        binascii.Error,
        LookupError,
    ):
        return None


def _fold_constant(node: ast.Constant, v: _PyVisitor) -> Any:
    return node.value if isinstance(node.value, (str, bytes, int)) else None


def _fold_name(node: ast.Name, v: _PyVisitor) -> Any:
    return v.consts.get(node.id)


def _fold_joined(node: ast.JoinedStr, v: _PyVisitor) -> Any:
    parts = []
    for value in node.values:
        part = _fold(value.value if isinstance(value, ast.FormattedValue) else value, v)
        if part is None:
            return None
        parts.append(str(part) if not isinstance(part, bytes) else part.decode())
    return "".join(parts)


def _fold_binop(node: ast.BinOp, v: _PyVisitor) -> Any:
    left, right = _fold(node.left, v), _fold(node.right, v)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add) and type(left) is type(right):
        return left + right
    if isinstance(node.op, ast.Mod) and isinstance(left, str):
        return left % (tuple(right) if isinstance(right, list) else right)
    if isinstance(node.op, ast.Mult) and isinstance(left, (str, list)) and isinstance(right, int):
        return left * min(right, 64)
    return None


def _fold_sequence(node: ast.List | ast.Tuple, v: _PyVisitor) -> Any:
    items = [_fold(e, v) for e in node.elts]
    return None if any(i is None for i in items) else items


def _fold_subscript(node: ast.Subscript, v: _PyVisitor) -> Any:
    value = _fold(node.value, v)
    if value is None:
        return None
    if isinstance(node.slice, ast.Slice):
        parts = (node.slice.lower, node.slice.upper, node.slice.step)
        bounds = [_fold(b, v) if b is not None else None for b in parts]
        if any(b is None for b, part in zip(bounds, parts, strict=True) if part is not None):
            return None  # a bound we cannot compute: so is the slice
        return value[slice(*bounds)]
    index = _fold(node.slice, v)
    return value[index] if index is not None else None


def _fold_environ(node: ast.Subscript, v: _PyVisitor) -> Any:
    """``os.environ["HOME"]`` is the home directory; other variables are unknown."""
    if v.qualname(node.value) == "os.environ" and _fold(node.slice, v) == "HOME":
        return _HOME_MARK
    return _fold_subscript(node, v)


def _fold_unary(node: ast.UnaryOp, v: _PyVisitor) -> Any:
    operand = _fold(node.operand, v)
    if not isinstance(operand, int):
        return None
    if isinstance(node.op, ast.USub):
        return -operand
    return operand if isinstance(node.op, ast.UAdd) else None


def _fold_attribute(node: ast.Attribute, v: _PyVisitor) -> Any:
    name = v.qualname(node)
    if name in ("os.environ.HOME", "os.sep"):
        return _HOME_MARK if name.endswith("HOME") else "/"
    return None


def _fold_call(node: ast.Call, v: _PyVisitor) -> Any:
    args = [_fold(a, v) for a in node.args]
    if isinstance(node.func, ast.Attribute):
        method = node.func.attr
        target = _fold(node.func.value, v)
        if target is not None and method in _METHODS:
            return _METHODS[method](target, args)
    name = v.qualname(node.func)
    if name in _FUNCS and all(a is not None for a in args):
        return _FUNCS[name](args)
    if name in ("os.getenv", "os.environ.get") and args and args[0] == "HOME":
        return _HOME_MARK
    return None


def _join(target: Any, args: list[Any]) -> Any:
    return target.join(args[0]) if args and isinstance(args[0], list) else None


def _decode(target: Any, args: list[Any]) -> Any:
    return (
        target.decode(*(a for a in args if isinstance(a, str)))
        if isinstance(target, bytes)
        else target
    )


def _encode(target: Any, args: list[Any]) -> Any:
    return target.encode() if isinstance(target, str) else target


_METHODS: Mapping[str, Any] = MappingProxyType(
    {
        "join": _join,
        "decode": _decode,
        "encode": _encode,
        "replace": lambda t, a: (
            t.replace(a[0], a[1]) if len(a) >= 2 and None not in a[:2] else None
        ),
        "strip": lambda t, a: t.strip(),
        "lower": lambda t, a: t.lower(),
        "upper": lambda t, a: t.upper(),
        "format": lambda t, a: t.format(*a) if None not in a else None,
    }
)
_FUNCS: Mapping[str, Any] = MappingProxyType(
    {
        "base64.b64decode": lambda a: base64.b64decode(a[0]),
        "base64.standard_b64decode": lambda a: base64.standard_b64decode(a[0]),
        "base64.urlsafe_b64decode": lambda a: base64.urlsafe_b64decode(a[0]),
        "base64.b32decode": lambda a: base64.b32decode(a[0]),
        "base64.b16decode": lambda a: base64.b16decode(a[0]),
        "base64.a85decode": lambda a: base64.a85decode(a[0]),
        "binascii.unhexlify": lambda a: binascii.unhexlify(a[0]),
        "binascii.a2b_hex": lambda a: binascii.a2b_hex(a[0]),
        "bytes.fromhex": lambda a: bytes.fromhex(a[0]),
        "codecs.decode": lambda a: codecs.decode(a[0], *a[1:2]),
        "chr": lambda a: chr(a[0]),
        "str": lambda a: str(a[0]) if not isinstance(a[0], bytes) else None,
        "bytes": lambda a: bytes(a[0]) if isinstance(a[0], list) else None,
        "bytearray": lambda a: bytes(a[0]) if isinstance(a[0], list) else None,
        "os.path.expanduser": lambda a: a[0],
        "os.path.join": lambda a: "/".join(a),
        "pathlib.Path": lambda a: "/".join(a) if a else ".",
        "pathlib.Path.home": lambda a: _HOME_MARK,
        "os.path.expandvars": lambda a: a[0],
        "os.getcwd": lambda a: ".",
    }
)
_FOLDERS: Mapping[type, Any] = MappingProxyType(
    {
        ast.Constant: _fold_constant,
        ast.Name: _fold_name,
        ast.JoinedStr: _fold_joined,
        ast.BinOp: _fold_binop,
        ast.List: _fold_sequence,
        ast.Tuple: _fold_sequence,
        ast.Subscript: _fold_environ,
        ast.Attribute: _fold_attribute,
        ast.Call: _fold_call,
        ast.UnaryOp: _fold_unary,
    }
)


# --- other interpreters: tokenize, then match calls ------------------------------------


#: An identifier with its dotted, ``::`` or ``->`` path (``require("fs").readFileSync``
#: is ``readFileSync`` after a call, ``File::Path::rmtree`` one name).
_DEFAULT_IDENT = r"[A-Za-z_$][\w$]*(?:(?:::|\.|->)[A-Za-z_$][\w$]*)*"


@dataclass(frozen=True, slots=True)
class _Lang:
    """What one language's one-liners look like to the tokenizer and the call matcher."""

    line_comments: tuple[str, ...]
    block_comment: tuple[str, str] | None
    command_quote: str | None  # backticks run a shell command (perl, ruby, php)
    interpolation: re.Pattern[str] | None  # a double-quoted string containing this is computed
    shell: frozenset[str]  # calls whose string argument is a shell command
    process: frozenset[str]  # calls taking a program and an argument list
    delete: Mapping[str, bool]  # call -> recursive
    code: frozenset[str]  # eval-like calls
    network: frozenset[str]
    requires: str | None = None  # shell/process calls only count if the code mentions this
    quote_ops: frozenset[str] = frozenset()  # perl qx{}, ruby %x{}
    reads: frozenset[str] = frozenset()  # calls reading the file named by their first argument
    writes: frozenset[str] = frozenset()  # ... writing it
    opens: frozenset[str] = frozenset()  # open(PATH, MODE): reads or writes by the mode
    ident: re.Pattern[str] = field(default=re.compile(_DEFAULT_IDENT))
    bare_calls: bool = False  # ``system $cmd``: a call without parentheses takes names too
    single_command: bool = False  # shell calls take one command string (PHP's extra args)
    handle_first: bool = False  # open(FH, ...): the first argument is a file handle (Perl)
    string_calls: bool = False  # "system"("ls"): a string names the function it calls (PHP)


def _lang(
    *,
    comments: str,
    block: tuple[str, str] | None = None,
    backticks: bool = False,
    interpolation: str | None = None,
    shell: str = "",
    process: str = "",
    delete: str = "",
    code: str = "",
    network: str = "",
    requires: str | None = None,
    quote_ops: str = "",
    reads: str = "",
    writes: str = "",
    opens: str = "",
    ident: str = _DEFAULT_IDENT,
    bare_calls: bool = False,
    single_command: bool = False,
    handle_first: bool = False,
    string_calls: bool = False,
) -> _Lang:
    """Build a language entry from compact strings; ``name:r`` marks a recursive delete."""
    deletes = {d.removesuffix(":r"): d.endswith(":r") for d in delete.split()}
    return _Lang(
        line_comments=tuple(comments.split()),
        block_comment=block,
        command_quote="`" if backticks else None,
        interpolation=re.compile(interpolation) if interpolation else None,
        shell=_names(shell),
        process=_names(process),
        delete=MappingProxyType(deletes),
        code=_names(code),
        network=_names(network),
        requires=requires,
        quote_ops=_names(quote_ops),
        reads=_names(reads),
        writes=_names(writes),
        opens=_names(opens),
        ident=re.compile(ident),
        bare_calls=bare_calls,
        single_command=single_command,
        handle_first=handle_first,
        string_calls=string_calls,
    )


_LANGS: Mapping[str, _Lang] = MappingProxyType(
    {
        "perl": _lang(
            comments="#",
            backticks=True,
            interpolation=r"(?<!\\)[$@][{\w]",
            shell="system exec readpipe",
            delete="unlink rmdir rmtree:r remove_tree:r",
            code="eval",
            network="get getstore LWP::Simple::get HTTP::Tiny IO::Socket::INET IO::Socket socket",
            quote_ops="qx",
            reads="read_file slurp",
            writes="write_file spew",
            opens="open sysopen",
            handle_first=True,
            ident=r"[$@%]?[A-Za-z_]\w*(?:(?:::|->)[A-Za-z_]\w*)*|\$[^\w\s]",
            bare_calls=True,
        ),
        "ruby": _lang(
            comments="#",
            backticks=True,
            interpolation=r"#\{",
            shell="system exec spawn popen capture2 capture2e capture3 popen2 popen3 pipeline",
            delete="delete unlink rm rm_f rmdir rm_r:r rm_rf:r remove_dir:r remove_entry:r "
            "rmtree:r remove_entry_secure:r",
            code="eval instance_eval class_eval module_eval",
            network="Net::HTTP open-uri URI.open TCPSocket UDPSocket Socket get_response",
            quote_ops="%x",
            reads="read readlines binread read_file foreach",
            writes="write binwrite",
            opens="open File.new",
            ident=r"[$@]{0,2}[A-Za-z_]\w*[?!]?(?:(?:::|\.)[A-Za-z_]\w*[?!]?)*",
            bare_calls=True,
        ),
        "node": _lang(
            comments="//",
            block=("/*", "*/"),
            interpolation=r"\$\{",
            shell="exec execSync",
            process="spawn spawnSync execFile execFileSync fork",
            delete="unlinkSync unlink rmdirSync rmdir rmSync rm",
            code="eval Function runInThisContext runInNewContext runInContext compileFunction",
            network="http.get https.get http.request https.request fetch net.connect "
            "net.createConnection axios",
            requires="child_process",
            reads="readFileSync readFile createReadStream",
            writes="writeFileSync writeFile appendFileSync appendFile createWriteStream "
            "truncateSync",
        ),
        "php": _lang(
            comments="# //",
            block=("/*", "*/"),
            backticks=True,
            interpolation=r"(?<!\\)\$\w|\{\$",
            shell="system exec shell_exec passthru popen proc_open",
            process="pcntl_exec",
            delete="unlink rmdir",
            code="eval assert create_function",
            network="fsockopen curl_exec stream_socket_client",
            reads="file_get_contents file readfile highlight_file show_source parse_ini_file",
            writes="file_put_contents",
            opens="fopen",
            single_command=True,
            string_calls=True,
        ),
        "lua": _lang(
            comments="--",
            shell="os.execute io.popen",
            delete="os.remove",
            code="load loadstring dofile",
            network="socket.http http.request socket.connect",
            reads="io.lines",
            opens="io.open",
        ),
        "awk": _lang(comments="#", shell="system"),
    }
)
_LOOP_WORDS = frozenset({"while", "until", "for", "loop", "foreach"})
_SHELL_NAMES = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/sh"}
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "str", "cmd" (backticks/qx), "id", "op"
    text: str
    computed: bool = False  # string with interpolation


_QUOTE_OPEN = {"(": ")", "[": "]", "{": "}", "<": ">"}


def _tokenize(code: str, lang: _Lang) -> Iterator[_Tok]:
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch.isspace():
            i += 1
            continue
        comment = next((c for c in lang.line_comments if code.startswith(c, i)), None)
        if comment is not None and not (comment == "#" and code.startswith("#{", i)):
            end = code.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if lang.block_comment and code.startswith(lang.block_comment[0], i):
            end = code.find(lang.block_comment[1], i + 2)
            i = n if end < 0 else end + len(lang.block_comment[1])
            continue
        if ch in "'\"" or (ch == "`" and (lang.command_quote == "`" or lang is _LANGS["node"])):
            text, i = read_delimited(code, i + 1, ch)
            computed = (
                ch != "'"
                and lang.interpolation is not None
                and bool(lang.interpolation.search(text))
            )
            kind = "cmd" if ch == "`" and lang.command_quote == "`" else "str"
            yield _Tok(kind, _unescape(text, ch), computed)
            continue
        m = lang.ident.match(code, i)
        if m:
            word = m.group(0)
            i = m.end()
            quoted = _quote_operator(code, i, word, lang)
            if quoted is not None:
                text, i = quoted
                yield _Tok(
                    "cmd",
                    text,
                    lang.interpolation is not None and bool(lang.interpolation.search(text)),
                )
                continue
            yield _Tok("id", word)
            continue
        if ch == "%" and "%x" in lang.quote_ops and code.startswith("%x", i):
            quoted = _quote_operator(code, i + 2, "%x", lang)
            if quoted is not None:
                text, i = quoted
                yield _Tok(
                    "cmd", text, bool(lang.interpolation and lang.interpolation.search(text))
                )
                continue
        yield _Tok("op", ch)
        i += 1


def _quote_operator(code: str, i: int, word: str, lang: _Lang) -> tuple[str, int] | None:
    """Perl ``qx{...}``/``q(...)``/``qq[...]``: the word, then a delimiter."""
    if word not in ("qx", "q", "qq", "%x") or i >= len(code) or code[i].isspace():
        return None
    if code[i].isalnum():
        return None
    if word == "qx" and "qx" not in lang.quote_ops:
        return None
    if word in ("q", "qq") and lang is not _LANGS["perl"]:
        return None
    close = _QUOTE_OPEN.get(code[i], code[i])
    end = code.find(close, i + 1)
    if end < 0:
        return code[i + 1 :], len(code)
    return code[i + 1 : end], end + 1


def _unescape(text: str, quote: str) -> str:
    if "\\" not in text:
        return text
    if quote == "'":
        return text.replace("\\'", "'").replace("\\\\", "\\")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape")
    except (UnicodeError, ValueError):
        return text


def script_effects(language: str, code: str, depth: int = 0) -> list[Effect]:
    """Effects of a Perl/Ruby/Node/PHP/Lua/awk program, from its tokens."""
    lang = _LANGS.get(language)
    if lang is None:
        return []
    tokens = _resolve_constants(_home_tokens(list(_tokenize(code, lang))))
    effects: list[Effect] = []
    if lang.requires is None or lang.requires in code:
        effects.extend(_command_tokens(tokens))
    idents = {t.text.rsplit(".", 1)[-1] for t in tokens if t.kind == "id"}
    if "fork" in idents and (idents & _LOOP_WORDS or "loop" in code):
        effects.append(Effect(EffectKind.FORK_BOMB, f"{language} forks in a loop"))
    scan = _Scan(lang, language, tokens, code, depth)
    for i, tok in enumerate(tokens):
        if tok.kind == "id":
            effects.extend(_call_effects(scan, i, tok.text))
        elif _bracket_call(tokens, i):  # obj["exec"](...): a method named by a string
            effects.extend(_call_effects(scan, i + 1, tok.text))
        elif lang.string_calls and _string_call(tokens, i):  # PHP: $f = "system"; $f(...)
            effects.extend(_call_effects(scan, i, tok.text))
    if language == "awk":
        effects.extend(_awk_pipes(tokens))
        effects.extend(_awk_outputs(tokens))
        effects.extend(_awk_environment_prints(tokens))
    effects += script_secret_effects(
        language,
        tokens,
        tokenize=lambda text: _resolve_constants(_home_tokens(list(_tokenize(text, lang)))),
        arguments_of=_call_args,
        writes=lang.writes,
    )
    return _with_reverse_shell(effects)


@dataclass(frozen=True, slots=True)
class _Scan:
    """One program being scanned: its language, tokens and nesting depth."""

    lang: _Lang
    language: str
    tokens: list[_Tok]
    code: str
    depth: int


#: Expressions for the home directory, as token texts: ``process.env.HOME``,
#: ``os.homedir()``, ``Dir.home``, ``getenv("HOME")``, ``ENV["HOME"]``.
_HOME_EXPRESSIONS: tuple[tuple[str, ...], ...] = (
    ("process.env.HOME",),
    ("Dir.home",),
    ("os.homedir", "(", ")"),
    ("getenv", "(", "HOME", ")"),
    ("os.getenv", "(", "HOME", ")"),
    ("ENV", "[", "HOME", "]"),
    ("$ENV", "{", "HOME", "}"),
)


def _home_tokens(tokens: list[_Tok]) -> list[_Tok]:
    """The home directory spelled as an expression becomes the string ``~``, so paths
    built from it (``process.env.HOME + "/.ssh/id_rsa"``) are literals again."""
    out: list[_Tok] = []
    i = 0
    while i < len(tokens):
        for expression in _HOME_EXPRESSIONS:
            window = tuple(t.text for t in tokens[i : i + len(expression)])
            if window == expression and tokens[i].kind == "id":
                out.append(_Tok("str", "~"))
                i += len(expression)
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


#: Operators that change a variable in place (the operator, then the token after it).
_COMPOUND = {".": "=", "+": "=", "|": "=", "&": "=", "<": "<", "*": "="}


#: Features that reach variables by a computed name or by reference (``eval``, PHP's
#: ``extract`` and ``$$name``, Lua's ``_G``, Ruby's ``binding``): with any of them in the
#: program no variable is a constant.
_DYNAMIC_VARIABLES = frozenset(
    {"eval", "extract", "compact", "parse_str", "_G", "_ENV", "load", "loadstring"}
    | {"setfenv", "debug.setlocal", "binding", "instance_variable_set", "local_variable_set"}
    | {"Function", "globalThis", "with", "substr", "splice", "instance_eval"}
)
_REFERENCE_OPS = frozenset({"&", "\\", "*"})


def _changed_names(tokens: list[_Tok]) -> set[str] | None:
    """Names a program may change other than by ``name = ...`` (None: any name may be):
    method calls on them (``c.concat(...)``, ``c.replace(...)``), indexing (``c[0] =``),
    references (``&$c``, ``\\$c``), list and destructuring assignments (``($c) = ...``,
    ``[c] = ...``) and loop variables (``for $c (...)``, ``foreach ($a as $c)``)."""
    changed: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.kind != "id":
            if tok.kind == "op" and tok.text == "=" and i and tokens[i - 1].text in ")]}":
                changed.update(_names_in_group(tokens, i - 1))
            continue
        if tok.text in _DYNAMIC_VARIABLES or tok.text.startswith("$$"):
            return None
        before = tokens[i - 1].text if i else ""
        after = tokens[i + 1].text if i + 1 < len(tokens) else ""
        base = re.split(r"\.|->|::", tok.text, maxsplit=1)[0]
        if base != tok.text or after == "[" or before in _REFERENCE_OPS:
            changed.add(base)
        if tok.text in ("for", "foreach"):
            end = next((k for k in range(i + 1, len(tokens)) if tokens[k].text in "{;"), None)
            changed.update(t.text for t in tokens[i + 1 : end] if t.kind == "id")
    return changed


def _names_in_group(tokens: list[_Tok], close: int) -> set[str]:
    """The names inside the bracket group that ends at ``close``."""
    opened = opener_of(tokens, close)
    if opened is None:
        return set()
    return {t.text for t in tokens[opened + 1 : close] if t.kind == "id"}


def _resolve_constants(tokens: list[_Tok]) -> list[_Tok]:
    """``$c = "rm -rf /"; system($c)``: a name assigned one literal string once reads
    as that string (``my``/``local``/``const``/``let``/``var`` declarations included)."""
    assigned: dict[str, list[_Tok]] = {}
    for i in range(len(tokens) - 2):
        name, eq, value = tokens[i], tokens[i + 1], tokens[i + 2]
        if name.kind == "id" and eq.text == "=" and eq.kind == "op":
            follows = tokens[i + 3] if i + 3 < len(tokens) else None
            literal = value.kind == "str" and (follows is None or follows.text in (";", ")"))
            assigned.setdefault(name.text, []).append(value if literal else _Tok("op", "?"))
        elif name.kind == "id" and _COMPOUND.get(eq.text) == value.text and eq.kind == "op":
            # $c .= "; rm -rf /", c += ..., c <<= ...: changed after its assignment
            assigned.setdefault(name.text, []).append(_Tok("op", "?"))
    constants = {k: v[0] for k, v in assigned.items() if len(v) == 1 and v[0].kind == "str"}
    if not constants:
        return tokens
    changed = _changed_names(tokens)
    constants = {} if changed is None else {k: v for k, v in constants.items() if k not in changed}
    if not constants:
        return tokens
    out = []
    for i, tok in enumerate(tokens):
        before = tokens[i - 1].text if i else ""
        after = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if tok.kind == "id" and tok.text in constants and after != "=" and before != ".":
            out.append(constants[tok.text])
        else:
            out.append(tok)
    return out


def _string_call(tokens: list[_Tok], i: int) -> bool:
    tok = tokens[i]
    before = tokens[i - 1] if i else None
    return (
        tok.kind == "str"
        and i + 1 < len(tokens)
        and tokens[i + 1].text == "("
        and (before is None or (before.kind == "op" and before.text in ";{}="))
    )


def _bracket_call(tokens: list[_Tok], i: int) -> bool:
    tok = tokens[i]
    return (
        tok.kind == "str"
        and 0 < i < len(tokens) - 2
        and tokens[i - 1].text == "["
        and tokens[i + 1].text == "]"
        and tokens[i + 2].text == "("
    )


def _command_tokens(tokens: list[_Tok]) -> Iterator[Effect]:
    for tok in tokens:
        if tok.kind == "cmd":
            yield _shell_effect(tok.text, tok.computed, "backtick command")


def _call_effects(scan: _Scan, i: int, name: str) -> Iterator[Effect]:
    lang, tokens = scan.lang, scan.tokens
    short = re.split(r"::|\.|->", name)[-1]
    args = _call_args(tokens, i + 1, bare=lang.bare_calls)
    gated = lang.requires is None or lang.requires in scan.code

    def named(table: frozenset[str] | Mapping[str, bool]) -> bool:
        return name in table or short in table

    if gated and named(lang.shell):
        yield from _run_effects(args, name, shell=True, single=lang.single_command)
    elif gated and named(lang.process):
        yield from _run_effects(args, name, shell=False)
    elif named(lang.delete):
        recursive = lang.delete.get(name, lang.delete.get(short, False))
        recursive = recursive or any(t.text == "recursive" for a in args or [] for t in a)
        yield from _delete_effects(args, name, recursive)
    elif named(lang.code) and args is not None:
        yield from _code_effects(scan, args, name)
    elif named(lang.network) or re.split(r"::|\.|->", name)[0] in lang.network:
        yield Effect(
            EffectKind.NETWORK,
            next((t.text for a in args or [] for t in a if "://" in t.text), name),
        )
    elif named(lang.reads) or named(lang.writes) or named(lang.opens):
        yield from _file_effects(lang, args, name, short)


def _code_effects(scan: _Scan, args: list[list[_Tok]], name: str) -> Iterator[Effect]:
    """eval of a literal is analyzed as code of the same language; of anything else, reported."""
    literal = _literal(args[0]) if args else None
    if literal is None:
        yield Effect(EffectKind.UNVERIFIABLE, f"{name} of a computed value", destructive=True)
    elif scan.depth >= MAX_DEPTH:
        yield Effect(EffectKind.UNVERIFIABLE, f"{name} nested too deeply", destructive=True)
    else:
        yield from script_effects(scan.language, literal, scan.depth + 1)


def _file_effects(
    lang: _Lang, args: list[list[_Tok]] | None, name: str, short: str
) -> Iterator[Effect]:
    """Files read or written by path: ``File.read``, ``readFileSync``, ``fopen(P, "w")``."""
    if not args:
        return
    opens = name in lang.opens or short in lang.opens
    if opens and lang.handle_first:  # Perl: open(FH, ...)
        yield from _perl_open(args[1:], name)
        return
    path = _literal(args[0])
    if path is None:
        return
    if "://" in path:
        yield Effect(EffectKind.NETWORK, path)
        return
    if opens and path.lstrip().startswith("|"):  # Ruby: open("|cmd")
        yield from _open_spec(path.strip(), name)
        return
    writes = name in lang.writes or short in lang.writes
    if opens:
        mode = _literal(args[1]) if len(args) > 1 else "r"
        writes = mode is None or bool(set(mode) & set("wax+"))
    yield Effect(EffectKind.WRITE if writes else EffectKind.READ, path)


def _perl_open(args: list[list[_Tok]], name: str) -> Iterator[Effect]:
    """``open(FH, MODE, PATH)``, ``open(FH, "-|", CMD...)`` or two-argument
    ``open(FH, "| cmd")`` / ``open(FH, "cmd |")`` / ``open(FH, ">path")``."""
    literals = [_literal(a) for a in args]
    if len(args) >= 2:
        mode = (literals[0] or "").strip()
        targets = [x for x in literals[1:] if x is not None]
        if mode in ("-|", "|-"):
            if len(targets) == 1:
                yield Effect(EffectKind.SHELL, targets[0])
            elif targets:
                yield Effect(EffectKind.ARGV, argv=tuple(targets))
            else:
                yield Effect(
                    EffectKind.UNVERIFIABLE, f"{name} runs a computed command", destructive=True
                )
        elif targets:
            kind = EffectKind.WRITE if set(mode) & set(">+") else EffectKind.READ
            yield Effect(kind, targets[0])
    elif literals and literals[0] is not None:
        yield from _open_spec(literals[0].strip(), name)


def _open_spec(text: str, name: str) -> Iterator[Effect]:
    if text.startswith("|") or text.endswith("|"):
        command = text.strip("|").strip()
        if command.split()[:1] and command.split()[0].rsplit("/", 1)[-1] in _SHELL_BASENAMES:
            yield Effect(
                EffectKind.UNVERIFIABLE, f"{name} pipes text into a shell", destructive=True
            )
        yield Effect(EffectKind.SHELL, command)
    elif text.startswith((">", "+<", "+>")):
        yield Effect(EffectKind.WRITE, text.lstrip(">+< ").strip())
    else:
        yield Effect(EffectKind.READ, text.lstrip("< ").strip())


def _call_args(tokens: list[_Tok], i: int, *, bare: bool = False) -> list[list[_Tok]] | None:
    """Arguments of a call at tokens[i]: ``(a, b)`` or paren-less ``a, b;`` (in Perl and
    Ruby also ``system $cmd``). None: not a call."""
    if i >= len(tokens):
        return None
    first = tokens[i]
    bare_name = bare and first.kind == "id" and first.text not in _NOT_ARGUMENTS
    if first.text == "(":
        close, i = ")", i + 1
    elif first.kind in ("str", "cmd") or first.text == "[" or bare_name:
        close = ";"
    else:
        return None
    args: list[list[_Tok]] = [[]]
    depth = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "op" and tok.text in "([{":
            depth += 1
        elif tok.kind == "op" and tok.text in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif tok.kind == "op" and tok.text == ";" and close == ";" and depth == 0:
            break
        if tok.kind == "op" and tok.text == "," and depth == 0:
            args.append([])
        else:
            args[-1].append(tok)
        i += 1
    return [a for a in args if a]


def _literal(arg: list[_Tok]) -> str | None:
    """A string or a concatenation of strings (``'a' . 'b'``, ``'a' + 'b'``, ``'a' .. 'b'``)."""
    parts: list[str] = []
    expect_string = True
    for tok in arg:
        if expect_string:
            if tok.kind != "str" or tok.computed:
                return None
            parts.append(tok.text)
        elif tok.kind != "op" or tok.text not in ".+":
            return None
        expect_string = not expect_string
    return "".join(parts) if parts and not expect_string else None


def _literal_list(arg: list[_Tok]) -> list[str] | None:
    if not arg or arg[0].text != "[" or arg[-1].text != "]":
        return None
    items: list[str] = []
    for tok in arg[1:-1]:
        if tok.kind == "str" and not tok.computed:
            items.append(tok.text)
        elif not (tok.kind == "op" and tok.text == ","):
            return None
    return items


#: Words after a call name that are not its argument (``system if $x``, ``exec or die``).
_NOT_ARGUMENTS = frozenset({"if", "unless", "or", "and", "while", "until", "for", "foreach", "do"})


def _run_effects(
    args: list[list[_Tok]] | None, name: str, *, shell: bool, single: bool = False
) -> Iterator[Effect]:
    if not args:
        return
    if single:
        args = args[:1]  # PHP: system($cmd, $status), popen($cmd, $mode)
    first = _literal(args[0])
    if first is None:
        interpolated = args[0][0].kind == "str" and args[0][0].computed
        text = args[0][0].text if interpolated else ""
        yield Effect(EffectKind.UNVERIFIABLE, f"{name} runs a computed command", destructive=True)
        if text:
            yield _shell_effect(text, True, name)
        return
    rest = [_literal(a) for a in args[1:] if not _is_options(a)]
    if len(args) > 1 and _literal_list(args[1]) is not None:
        yield Effect(EffectKind.ARGV, argv=(first, *(_literal_list(args[1]) or [])))
    elif shell and (len(args) == 1 or all(r is None for r in rest)):
        yield Effect(EffectKind.SHELL, first)
    elif all(r is not None for r in rest):
        yield Effect(EffectKind.ARGV, argv=(first, *(r or "" for r in rest)))
        if shell and " " in first:  # system("rm -rf /", $x): read as a command line too
            yield Effect(EffectKind.SHELL, first)
    else:
        yield Effect(EffectKind.UNVERIFIABLE, f"{name} with computed arguments", destructive=True)
        yield Effect(EffectKind.ARGV, argv=(first,))


def _is_options(arg: list[_Tok]) -> bool:
    return bool(arg) and arg[0].text == "{"


def _delete_effects(args: list[list[_Tok]] | None, name: str, recursive: bool) -> Iterator[Effect]:
    if args is None:
        return
    if not args:
        yield Effect(EffectKind.UNVERIFIABLE, f"{name} on a computed path", destructive=True)
        return
    for arg in args:
        if _is_options(arg):
            continue
        path = _literal(arg)
        if path is None:
            yield Effect(EffectKind.UNVERIFIABLE, f"{name} on a computed path", destructive=True)
            yield Effect(EffectKind.DELETE, "", recursive=recursive)
        else:
            yield Effect(EffectKind.DELETE, path, recursive=recursive)


def _shell_effect(text: str, computed: bool, what: str) -> Effect:
    if computed:
        # Interpolated variables become unknown shell variables: the shell rules then
        # see a dynamic operand instead of a guess.
        return Effect(
            EffectKind.SHELL, re.sub(r"#\{[^}]*\}|\$\{[^}]*\}|[$@]\w+", "$__computed", text)
        )
    return Effect(EffectKind.SHELL, text)


def _awk_pipes(tokens: list[_Tok]) -> Iterator[Effect]:
    """awk runs ``print ... | "cmd"`` and ``"cmd" | getline`` through /bin/sh."""
    strings = [t.text for t in tokens if t.kind == "str"]
    for i, tok in enumerate(tokens):
        if tok.kind != "str":
            continue
        before = tokens[i - 1] if i else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        piped_to = before is not None and before.text == "|"
        piped_from = after is not None and after.text == "|"
        if piped_to or piped_from:
            yield Effect(EffectKind.SHELL, tok.text)
        if piped_to and tok.text.strip() in _SHELL_NAMES:
            yield Effect(
                EffectKind.UNVERIFIABLE, "awk pipes generated text into a shell", destructive=True
            )
            yield from (Effect(EffectKind.SHELL, s) for s in strings if s != tok.text)


def _awk_environment_prints(tokens: list[_Tok]) -> Iterator[Effect]:
    """``print ENVIRON["TOKEN"]``, or a variable assigned from ``ENVIRON``, printed: to
    stdout, to ``"/dev/stderr"``, into ``> "FILE"``; through ``| "cmd"`` as if shown. A
    key named at run time (``for (k in ENVIRON)``) stands for the whole environment."""
    holders: dict[str, Secret] = {}
    statement_start = 0
    for i, tok in enumerate(tokens):  # x = ENVIRON["T"]: x holds T (a first pass suffices)
        if tok.kind == "op" and tok.text in ";{}":
            statement_start = i + 1
        elif tok.kind == "id" and tok.text == "ENVIRON" and i - statement_start >= 2:
            target, assign = tokens[statement_start], tokens[statement_start + 1]
            if target.kind == "id" and assign.text == "=":
                holders[target.text] = _environ_key(tokens, i)
    statement: list[int] = []
    for i, tok in enumerate([*tokens, _Tok("op", ";")]):
        if tok.kind == "op" and tok.text in ";{}" and statement:
            yield from _environment_print(tokens, statement, holders)
            statement = []
        elif statement or (tok.kind == "id" and tok.text in ("print", "printf")):
            statement.append(i)


def _environ_key(tokens: list[_Tok], i: int) -> Secret:
    """``ENVIRON["T"]`` holds T; ``ENVIRON[k]``, or ``ENVIRON`` alone, any variable."""
    if i + 3 < len(tokens) and tokens[i + 1].text == "[" and tokens[i + 3].text == "]":
        key = tokens[i + 2]
        if key.kind == "str" and not key.computed:
            return variable(key.text)
    return Secret(everything=WHOLE_ENVIRONMENT)


def _environment_print(
    tokens: list[_Tok], statement: list[int], holders: Mapping[str, Secret]
) -> Iterator[Effect]:
    secrets: list[Secret | None] = []
    target = SHOWN
    for n, i in enumerate(statement):
        tok = tokens[i]
        if tok.kind == "id" and tok.text == "ENVIRON":
            secrets.append(_environ_key(tokens, i))
        elif tok.kind == "id":
            secrets.append(holders.get(tok.text))
        elif tok.kind == "op" and tok.text in (">", ">>") and n + 1 < len(statement):
            following = tokens[statement[n + 1]]
            if following.kind == "str" and not following.computed:
                target = STDERR if following.text == "/dev/stderr" else following.text
            break
        elif tok.kind == "op" and tok.text == "|":
            break  # into a command: as if shown
    secret = merged(secrets)
    if secret is not None:
        yield secret_effect(secret, target)


def _awk_outputs(tokens: list[_Tok]) -> Iterator[Effect]:
    """``print ... > "FILE"`` and ``>> "FILE"`` write files (only inside print/printf:
    elsewhere ``>`` compares)."""
    printing = False
    for i, tok in enumerate(tokens):
        if tok.kind == "id" and tok.text in ("print", "printf"):
            printing = True
        elif tok.kind == "op" and tok.text in ";{}":
            printing = False
        elif printing and tok.kind == "str" and i and tokens[i - 1].text == ">":
            yield Effect(EffectKind.WRITE, tok.text)
