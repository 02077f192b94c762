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
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = ["Effect", "EffectKind", "python_effects", "script_effects"]


def _names(text: str) -> frozenset[str]:
    """A set of names written as one space-separated string (keeps tables compact)."""
    return frozenset(text.split())


MAX_DEPTH = 6  # exec("exec('...')") nesting inside one interpreter


class EffectKind(StrEnum):
    SHELL = "shell"  # runs this text with /bin/sh
    ARGV = "argv"  # runs this argv directly
    DELETE = "delete"
    WRITE = "write"
    READ = "read"
    NETWORK = "network"
    REMOTE_CODE = "remote_code"
    FORK_BOMB = "fork_bomb"
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True, slots=True)
class Effect:
    kind: EffectKind
    text: str = ""  # shell text, path, URL or detail
    argv: tuple[str, ...] = ()
    recursive: bool = False
    destructive: bool = False  # UNVERIFIABLE: the unknown value reaches a destructive call


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
_HOME_MARK = "~"


def python_effects(code: str, depth: int = 0) -> list[Effect]:
    """Effects of a Python program, from its syntax tree (never executed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning on odd literals is not our business
            tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [Effect(EffectKind.UNVERIFIABLE, "python code does not parse")]
    visitor = _PyVisitor(depth)
    try:
        visitor.visit(tree)
    except RecursionError:
        return [Effect(EffectKind.UNVERIFIABLE, "python code nested too deeply", destructive=True)]
    return visitor.effects


class _PyVisitor(ast.NodeVisitor):
    """Walks statements in order, tracking imports and constant assignments."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.aliases: dict[str, str] = {}
        self.consts: dict[str, Any] = {}
        self.effects: list[Effect] = []
        self.loops = 0

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
                if value is not None:
                    self.consts[target.id] = value
                    continue
                self.consts.pop(target.id, None)
                module = self._imported_module(node.value)
                if module is not None:  # m = __import__("os"): m is an alias of os
                    self.aliases[target.id] = module

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

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = self.qualname(node.func)
        if name is None:
            return
        if name.startswith("pathlib.Path()."):
            self._path_method(node, name.removeprefix("pathlib.Path()."))
            return
        for check in _PY_CHECKS:
            if check(self, node, name):
                return

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
        bounds = [
            _fold(b, v) if b is not None else None
            for b in (node.slice.lower, node.slice.upper, node.slice.step)
        ]
        return value[slice(*bounds)]
    index = _fold(node.slice, v)
    return value[index] if index is not None else None


def _fold_environ(node: ast.Subscript, v: _PyVisitor) -> Any:
    """``os.environ["HOME"]`` is the home directory; other variables are unknown."""
    if v.qualname(node.value) == "os.environ" and _fold(node.slice, v) == "HOME":
        return _HOME_MARK
    return _fold_subscript(node, v)


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
    }
)


# --- other interpreters: tokenize, then match calls ------------------------------------


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
            network="get getstore LWP::Simple::get HTTP::Tiny IO::Socket::INET IO::Socket",
            quote_ops="qx",
        ),
        "ruby": _lang(
            comments="#",
            backticks=True,
            interpolation=r"#\{",
            shell="system exec spawn popen capture2 capture2e capture3 popen2 popen3 pipeline",
            delete="delete unlink rm rm_f rmdir rm_r:r rm_rf:r remove_dir:r remove_entry:r "
            "rmtree:r remove_entry_secure:r",
            code="eval instance_eval class_eval module_eval",
            network="Net::HTTP open-uri URI.open TCPSocket get_response",
            quote_ops="%x",
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
            network="fsockopen curl_exec file_get_contents stream_socket_client",
        ),
        "lua": _lang(
            comments="--",
            shell="os.execute io.popen",
            delete="os.remove",
            code="load loadstring dofile",
            network="socket.http http.request socket.connect",
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


_IDENT = re.compile(r"[A-Za-z_$][\w$]*(?:(?:::|\.|->)[A-Za-z_$][\w$]*)*")
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
            text, i = _read_quoted(code, i + 1, ch)
            computed = (
                ch != "'"
                and lang.interpolation is not None
                and bool(lang.interpolation.search(text))
            )
            kind = "cmd" if ch == "`" and lang.command_quote == "`" else "str"
            yield _Tok(kind, _unescape(text, ch), computed)
            continue
        m = _IDENT.match(code, i)
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
            quoted = _quote_operator(code, i + 2, "qx", lang)
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
    if word not in ("qx", "q", "qq") or i >= len(code) or code[i].isspace() or code[i].isalnum():
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


def _read_quoted(code: str, i: int, quote: str) -> tuple[str, int]:
    out: list[str] = []
    while i < len(code):
        ch = code[i]
        if ch == "\\" and i + 1 < len(code):
            out.append(code[i : i + 2])
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return "".join(out), i


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


def script_effects(language: str, code: str) -> list[Effect]:
    """Effects of a Perl/Ruby/Node/PHP/Lua/awk program, from its tokens."""
    lang = _LANGS.get(language)
    if lang is None:
        return []
    tokens = list(_tokenize(code, lang))
    effects: list[Effect] = []
    if lang.requires is None or lang.requires in code:
        effects.extend(_command_tokens(tokens))
    idents = {t.text.rsplit(".", 1)[-1] for t in tokens if t.kind == "id"}
    if "fork" in idents and (idents & _LOOP_WORDS or "loop" in code):
        effects.append(Effect(EffectKind.FORK_BOMB, f"{language} forks in a loop"))
    for i, tok in enumerate(tokens):
        if tok.kind != "id":
            continue
        effects.extend(_call_effects(lang, tokens, i, code))
    if language == "awk":
        effects.extend(_awk_pipes(tokens))
    return effects


def _command_tokens(tokens: list[_Tok]) -> Iterator[Effect]:
    for tok in tokens:
        if tok.kind == "cmd":
            yield _shell_effect(tok.text, tok.computed, "backtick command")


def _call_effects(lang: _Lang, tokens: list[_Tok], i: int, code: str) -> Iterator[Effect]:
    name = tokens[i].text
    short = re.split(r"::|\.|->", name)[-1]
    args = _call_args(tokens, i + 1)
    gated = lang.requires is None or lang.requires in code
    if gated and (name in lang.shell or short in lang.shell):
        yield from _run_effects(args, name, shell=True)
    elif gated and (name in lang.process or short in lang.process):
        yield from _run_effects(args, name, shell=False)
    elif name in lang.delete or short in lang.delete:
        recursive = lang.delete.get(name, lang.delete.get(short, False))
        recursive = recursive or any(t.text == "recursive" for a in args or [] for t in a)
        yield from _delete_effects(args, name, recursive)
    elif (name in lang.code or short in lang.code) and args is not None:
        if not args or not all(_literal(a) is not None for a in args[:1]):
            yield Effect(EffectKind.UNVERIFIABLE, f"{name} of a computed value", destructive=True)
    elif name in lang.network or short in lang.network:
        yield Effect(
            EffectKind.NETWORK,
            next((t.text for a in args or [] for t in a if "://" in t.text), name),
        )


def _call_args(tokens: list[_Tok], i: int) -> list[list[_Tok]] | None:
    """Arguments of a call at tokens[i]: ``(a, b)`` or paren-less ``a, b;``. None: not a call."""
    if i >= len(tokens):
        return None
    if tokens[i].text == "(":
        close, i = ")", i + 1
    elif tokens[i].kind in ("str", "cmd") or tokens[i].text == "[":
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


def _run_effects(args: list[list[_Tok]] | None, name: str, *, shell: bool) -> Iterator[Effect]:
    if not args:
        return
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
