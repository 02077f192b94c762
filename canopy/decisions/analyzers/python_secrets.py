"""Secrets a Python program prints or writes to files, from its syntax tree.

Why and what counts as a print: ``interpreter_secrets``. Followed here: assignments
(also into containers, attributes and ``l.append(...)``), loops, comprehensions,
functions that return a secret, and file handles (``open``, ``pathlib``, ``print(file=)``,
``json.dump``). Names are resolved through the effects visitor of ``shell_interpreters``
(imports, aliases, ``vars(os)["environ"]``, ``getattr``, constants).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from canopy.decisions.analyzers.interpreter_effects import Effect
from canopy.decisions.analyzers.interpreter_secrets import (
    SHOWN,
    WHOLE_ENVIRONMENT,
    Secret,
    secret_effect,
    variable,
)

__all__ = ["python_secret_effects"]

_FIXPOINT_ROUNDS = 8


class Resolver(Protocol):
    """Name resolution of the effects visitor: imports, aliases, constants, path objects."""

    paths: dict[str, Any]

    def qualname(self, node: ast.AST) -> str | None: ...

    def fold(self, node: ast.AST | None) -> Any: ...


_ENV_OBJECTS = frozenset({"os.environ", "os.environb", "posix.environ"})
_ENV_GETTERS = frozenset(
    {"os.getenv", "os.getenvb", "posix.getenv"}
    | {f"{env}.{method}" for env in _ENV_OBJECTS for method in ("get", "pop", "setdefault")}
    | {f"{env}.__getitem__" for env in _ENV_OBJECTS}
)
#: Calls whose result says something about a value without carrying it.
_OPAQUE_RESULTS = frozenset(
    {"len", "bool", "hash", "id", "type", "isinstance", "callable", "any", "all"}
    | {"hmac.compare_digest", "secrets.compare_digest", "os.path.exists", "os.path.isfile"}
)
_OPAQUE_PREFIXES = ("hashlib.", "zlib.crc32", "binascii.crc32")
#: Programs and clients a value is handed to: it is used there (their results are
#: responses and exit codes, not the value); sending it out is the network rules' matter.
_CONSUMERS = (
    "urllib.request.",
    "urllib3.",
    "requests.",
    "httpx.",
    "http.client.",
    "aiohttp.",
    "socket.",
    "smtplib.",
    "ftplib.",
    "subprocess.",
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "boto3.",
)
_OPAQUE_METHODS = frozenset(
    {"startswith", "endswith", "isalnum", "isalpha", "isdigit", "isascii", "islower"}
    | {"isupper", "isspace", "isidentifier", "count", "find", "rfind", "index", "rindex"}
    | {"keys", "__len__", "__contains__", "hexdigest", "digest"}
)
#: With the environment itself as their argument, these see only the variables' names.
_NAME_VIEWS = frozenset({"list", "sorted", "set", "tuple", "frozenset", "iter", "enumerate"})
_SHOWN_CALLS = frozenset(
    {"print", "exit", "quit", "sys.exit", "warnings.warn", "pprint.pprint", "pprint.pp"}
    | {
        f"sys.{s}.{m}"
        for s in ("stdout", "stderr", "__stdout__", "__stderr__")
        for m in ("write", "writelines")
    }
    | {f"sys.{s}.buffer.write" for s in ("stdout", "stderr")}
    | {f"logging.{level}" for level in ("debug", "info", "warning", "warn", "error")}
    | {"logging.critical", "logging.exception", "logging.log", "os.write"}
)
_SHOWN_STREAMS = frozenset({"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"})
_OPENERS = frozenset({"open", "io.open", "codecs.open", "builtins.open"})
_DUMPERS = frozenset({"json.dump", "pickle.dump", "marshal.dump", "yaml.dump", "yaml.safe_dump"})
_ENV_SPELLINGS = (ast.Name, ast.Attribute, ast.Subscript, ast.Call)
_CONTAINER_ADDS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "__setitem__", "appendleft"}
)


def python_secret_effects(tree: ast.AST, names: Resolver) -> list[Effect]:
    """Secrets this program prints or writes to files (see the module docstring)."""
    flow = _PythonFlow(names)
    flow.follow(tree)
    effects = list(flow.sinks(tree))
    return list(dict.fromkeys(effects))


class _PythonFlow:
    """Which names hold secrets (or file handles), then where the secrets go."""

    def __init__(self, names: Resolver) -> None:
        self.names = names
        self.tainted: dict[str, Secret] = {}
        self.handles: dict[str, str] = {}  # name -> SHOWN or a file path ("" computed)

    # which names hold what
    def follow(self, tree: ast.AST) -> None:
        nodes = list(ast.walk(tree))
        for _ in range(_FIXPOINT_ROUNDS):
            before = (len(self.tainted), len(self.handles))
            for node in nodes:
                self._bind(node)
            if (len(self.tainted), len(self.handles)) == before:
                return

    def _bind(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._assign(target, node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and node.value:
            self._assign(node.target, node.value)
        elif isinstance(node, ast.For | ast.AsyncFor):
            secret = self._iterated(node.iter)
            if secret is not None:
                self._taint(node.target, secret)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, item.context_expr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _CONTAINER_ADDS:  # l.append(secret): l holds it
                arguments = [*node.args, *(k.value for k in node.keywords)]
                secret = self._first(self.secret(a) for a in arguments)
                if secret is not None:
                    self._taint(node.func.value, secret)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return | ast.Yield) and inner.value is not None:
                    secret = self.secret(inner.value)
                    if secret is not None:
                        self.tainted.setdefault(node.name, secret)
                        break

    def _assign(self, target: ast.AST, value: ast.expr) -> None:
        handle = self._handle(value)
        if handle is not None and isinstance(target, ast.Name):
            self.handles.setdefault(target.id, handle)
        secret = self.secret(value)
        if secret is not None:
            self._taint(target, secret)

    def _taint(self, target: ast.AST, secret: Secret) -> None:
        """Bind a secret to a target; a container or object it goes into holds it too."""
        if isinstance(target, ast.Name):
            self.tainted.setdefault(target.id, secret)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._taint(element, secret)
        elif isinstance(target, ast.Starred | ast.Attribute | ast.Subscript):
            self._taint(target.value, secret)

    def _iterated(self, iterable: ast.expr) -> Secret | None:
        """What each item of ``for x in iterable`` holds: names only for the environment itself."""
        if self._is_environment(iterable):
            return None
        return self.secret(iterable)

    def _is_environment(self, node: ast.AST) -> bool:
        """``os.environ`` by any name: an alias, ``vars(os)["environ"]``, ``getattr(os, ...)``."""
        return isinstance(node, _ENV_SPELLINGS) and self.names.qualname(node) in _ENV_OBJECTS

    # what a value holds
    def secret(self, node: ast.AST | None) -> Secret | None:
        """The secret the value of this expression may hold (None: none)."""
        if node is None or isinstance(node, ast.Compare | ast.Constant):
            return None
        if self._is_environment(node):
            return Secret(WHOLE_ENVIRONMENT)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return None
        if isinstance(node, ast.Name | ast.Attribute):
            if isinstance(node, ast.Name):
                return self.tainted.get(node.id)
            return self.secret(node.value)
        if isinstance(node, ast.Subscript) and self._is_environment(node.value):
            return variable(self.names.fold(node.slice))
        if isinstance(node, ast.Call):
            return self._call_secret(node)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            return self._comprehension_secret(node)
        return self._first(self.secret(child) for child in ast.iter_child_nodes(node))

    def _call_secret(self, node: ast.Call) -> Secret | None:
        name = self.names.qualname(node.func) or ""
        if name in _ENV_GETTERS:
            return variable(self.names.fold(node.args[0])) if node.args else None
        if name in _OPAQUE_RESULTS or name.startswith(_OPAQUE_PREFIXES + _CONSUMERS):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _OPAQUE_METHODS:
            return None
        if name in _NAME_VIEWS and len(node.args) == 1 and self._is_environment(node.args[0]):
            return None
        arguments = [*node.args, *(k.value for k in node.keywords)]
        return self._first(self.secret(part) for part in (func, *arguments))

    def _comprehension_secret(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Secret | None:
        saved = dict(self.tainted)
        try:
            for generator in node.generators:
                secret = self._iterated(generator.iter)
                if secret is not None:
                    self._taint(generator.target, secret)
            if isinstance(node, ast.DictComp):
                return self.secret(node.key) or self.secret(node.value)
            return self.secret(node.elt)
        finally:
            self.tainted = saved

    @staticmethod
    def _first(found: Iterable[Secret | None]) -> Secret | None:
        return next((s for s in found if s is not None), None)

    # where values go
    def _handle(self, node: ast.AST) -> str | None:
        """Where writes through this value go, if it is a file handle or a standard stream."""
        if isinstance(node, ast.Name):
            return self.handles.get(node.id)
        name = self.names.qualname(node) if isinstance(node, ast.Attribute) else None
        if name in _SHOWN_STREAMS:
            return SHOWN
        if isinstance(node, ast.Attribute) and node.attr == "buffer":
            return self._handle(node.value)
        if not isinstance(node, ast.Call):
            return None
        called = self.names.qualname(node.func) or ""
        if called in _OPENERS or called == "pathlib.Path().open":
            return self._opened(node, called)
        if called == "os.fdopen" and node.args:
            return SHOWN if self.names.fold(node.args[0]) in (1, 2) else ""
        return None

    def _opened(self, node: ast.Call, called: str) -> str | None:
        """``open(path, mode)``: the path, when the mode writes."""
        by_path = called == "pathlib.Path().open"
        arguments = node.args if by_path else node.args[1:]
        mode_node = next((k.value for k in node.keywords if k.arg == "mode"), None)
        mode = self.names.fold(mode_node if mode_node is not None else _at(arguments, 0))
        if mode is None and (mode_node is not None or arguments):
            mode = "w"  # a mode computed at run time may write
        if not isinstance(mode, str) or not set(mode) & set("wax+"):
            return None
        target = node.func.value if by_path and isinstance(node.func, ast.Attribute) else None
        path = self._path_of(target) if target is not None else self.names.fold(_at(node.args, 0))
        return path if isinstance(path, str) else ""

    def _path_of(self, node: ast.AST) -> Any:
        """The path a ``pathlib.Path`` expression names (None: computed)."""
        if isinstance(node, ast.Name):
            return self.names.paths.get(node.id)
        if isinstance(node, ast.Call):
            parts = [self.names.fold(a) for a in node.args]
            if parts and all(isinstance(p, str) for p in parts):
                return "/".join(parts)
        return None

    def sinks(self, tree: ast.AST) -> Iterator[Effect]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                yield from self._call_sinks(node)
            elif isinstance(node, ast.Raise):
                secret = self.secret(node.exc)
                if secret is not None:
                    yield secret_effect(secret, SHOWN)  # the traceback shows its message
            elif isinstance(node, ast.Assert) and node.msg is not None:
                secret = self.secret(node.msg)
                if secret is not None:
                    yield secret_effect(secret, SHOWN)

    def _call_sinks(self, node: ast.Call) -> Iterator[Effect]:
        name = (self.names.qualname(node.func) or "").removeprefix("builtins.")
        func = node.func
        if name in _SHOWN_CALLS:
            data = node.args[1:] if name == "os.write" else node.args
            secret = self._first(self.secret(a) for a in data)
            if secret is not None:
                yield secret_effect(secret, self._print_target(node, name))
        elif name in _DUMPERS and len(node.args) >= 2:
            secret = self.secret(node.args[0])
            target = self._handle(node.args[1])
            if secret is not None and target is not None:
                yield secret_effect(secret, target)
        elif isinstance(func, ast.Attribute) and func.attr in ("write", "writelines"):
            target = self._handle(func.value)
            secret = self._first(self.secret(a) for a in node.args)
            if secret is not None and target is not None:
                yield secret_effect(secret, target)
        elif isinstance(func, ast.Attribute) and func.attr in ("write_text", "write_bytes"):
            secret = self._first(self.secret(a) for a in node.args)
            receiver = func.value
            is_path = name.startswith("pathlib.Path().") or (
                isinstance(receiver, ast.Name) and receiver.id in self.names.paths
            )
            if secret is not None and is_path:
                path = self._path_of(receiver)
                yield secret_effect(secret, path if isinstance(path, str) else "")

    def _print_target(self, node: ast.Call, name: str) -> str:
        if name == "os.write":
            return SHOWN if self.names.fold(_at(node.args, 0)) in (1, 2) else ""
        stream = next((k.value for k in node.keywords if k.arg == "file"), None)
        if name != "print" or stream is None:
            return SHOWN
        target = self._handle(stream)
        return "" if target is None else target


def _at(items: Sequence[ast.expr], index: int) -> ast.expr | None:
    return items[index] if len(items) > index else None
