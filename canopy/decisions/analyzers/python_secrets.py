"""Secrets a Python program prints or writes to files, from its syntax tree.

Why and what counts as a print: ``interpreter_secrets``. Followed here, flow-insensitively
(a name holds what any of its bindings may hold): assignments (also into containers,
attributes, classes and ``l.append(...)``; dict literals key by key), loops (over the
values of ``items()`` only; over constant name lists by name), comprehensions, function
parameters and return values, ``eval`` of constant code, aliases of ``print``, loggers,
and file handles (``open``, ``pathlib``, ``print(file=)``, ``json.dump``, ``csv``).
Values handed to clients and programs (``requests``, ``subprocess``, any class
constructor: ``Github(token)``) are used there, not carried on. Names are resolved
through the effects visitor of ``shell_interpreters`` (imports, aliases,
``vars(os)["environ"]``, ``sys.modules["os"]``, ``getattr``, constants).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from canopy.decisions.analyzers.interpreter_effects import Effect
from canopy.decisions.analyzers.interpreter_secrets import (
    RUN_TIME_NAMES,
    SHOWN,
    STDERR,
    WHOLE_ENVIRONMENT,
    Secret,
    merged,
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
_EXPANDERS = frozenset({"os.path.expandvars", "string.Template"})
_EXPANSION = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
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
#: Constructors that do hold what they are given (not clients).
_HOLDERS = frozenset(
    {"SimpleNamespace", "OrderedDict", "defaultdict", "Counter", "ChainMap", "UserDict"}
    | {"UserString", "UserList", "Template", "Path", "PurePath", "PosixPath", "StringIO"}
    | {"BytesIO", "Exception", "ValueError", "RuntimeError", "SystemExit", "KeyError"}
    | {"TypeError", "AssertionError", "OSError", "Error", "Warning", "UserWarning"}
)
_OPAQUE_METHODS = frozenset(
    {"startswith", "endswith", "isalnum", "isalpha", "isdigit", "isascii", "islower"}
    | {"isupper", "isspace", "isidentifier", "count", "find", "rfind", "index", "rindex"}
    | {"keys", "__len__", "__contains__", "hexdigest", "digest"}
)
#: With the environment itself as their argument, these see only the variables' names.
_NAME_VIEWS = frozenset(
    {"list", "sorted", "set", "tuple", "frozenset", "iter", "enumerate", "dict.fromkeys"}
)
_STDOUT_CALLS = frozenset(
    {"print", "input", "pprint.pprint", "pprint.pp", "sys.displayhook", "os.write"}
    | {f"sys.{s}.{m}" for s in ("stdout", "__stdout__") for m in ("write", "writelines")}
    | {"sys.stdout.buffer.write"}
)
_LOG_LEVELS = frozenset(
    {"debug", "info", "warning", "warn", "error", "critical", "exception", "log", "fatal"}
)
_STDERR_CALLS = frozenset(
    {"exit", "quit", "sys.exit", "warnings.warn", "sys.stderr.buffer.write"}
    | {f"sys.{s}.{m}" for s in ("stderr", "__stderr__") for m in ("write", "writelines")}
    | {f"logging.{level}" for level in _LOG_LEVELS}
)
_STREAMS = {
    "sys.stdout": SHOWN,
    "sys.__stdout__": SHOWN,
    "sys.stderr": STDERR,
    "sys.__stderr__": STDERR,
}
_OPENERS = frozenset({"open", "io.open", "codecs.open", "builtins.open"})
_DUMPERS = frozenset({"json.dump", "pickle.dump", "marshal.dump", "yaml.dump", "yaml.safe_dump"})
_WRITERS = frozenset({"csv.writer", "csv.DictWriter"})
_ENV_SPELLINGS = (ast.Name, ast.Attribute, ast.Subscript, ast.Call)
_CONTAINER_ADDS = frozenset(
    {"append", "extend", "insert", "add", "update", "setdefault", "__setitem__", "appendleft"}
)


def python_secret_effects(tree: ast.AST, names: Resolver) -> list[Effect]:
    """Environment variables this program prints or writes to files."""
    flow = _PythonFlow(names)
    flow.follow(tree)
    return list(dict.fromkeys(flow.sinks(tree)))


class _PythonFlow:
    """Which names hold environment values (or file handles), then where they go."""

    def __init__(self, names: Resolver) -> None:
        self.names = names
        self.tainted: dict[str, Secret] = {}
        self.handles: dict[str, str] = {}  # name -> SHOWN, STDERR or a path ("" computed)
        self.entries: dict[str, dict[str, Secret | None]] = {}  # d = {"k": v}: key by key
        self.loop_names: dict[str, frozenset[str]] = {}  # for k in ("HOME", "USER")
        self.sinks_by_alias: dict[str, str] = {}  # p = print; log = logging.getLogger()
        self.clients: set[str] = set()  # s = requests.Session(): what goes in stays there
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda] = {}
        self.classes: set[str] = set()  # defined here: data holders, not clients
        self.eval_depth = 0

    def _state(self) -> tuple[int, ...]:
        return (len(self.tainted), len(self.handles), len(self.sinks_by_alias))

    # which names hold what
    def follow(self, tree: ast.AST) -> None:
        nodes = list(ast.walk(tree))
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.classes.add(node.name)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                made = self.names.qualname(node.value.func) or ""
                if made.rsplit(".", 1)[-1] in ("namedtuple", "NamedTuple", "make_dataclass"):
                    self.classes.update(t.id for t in node.targets if isinstance(t, ast.Name))
        for _ in range(_FIXPOINT_ROUNDS):
            before = self._state()
            for node in nodes:
                self._bind(node)
            if self._state() == before:
                return

    def _bind(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                self._assign(target, node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr) and node.value:
            self._assign(node.target, node.value)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            self._bind_loop(node.target, node.iter)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, item.context_expr)
        elif isinstance(node, ast.Call):
            self._bind_call(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            self._bind_definition(node)

    def _bind_loop(self, target: ast.AST, iterable: ast.expr) -> None:
        names = self.names.fold(iterable)
        constant = isinstance(names, list | tuple) and all(isinstance(n, str) for n in names)
        if isinstance(target, ast.Name) and constant:  # for k in ("HOME", "USER")
            self.loop_names[target.id] = frozenset(names)
            return
        secret = self._iterated(iterable)
        if secret is None:
            return
        if _is_items(iterable) and isinstance(target, ast.Tuple) and len(target.elts) == 2:
            target = target.elts[1]  # for name, value in os.environ.items(): the values
        self._taint(target, secret)

    def _bind_call(self, node: ast.Call) -> None:
        func = node.func
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if isinstance(func, ast.Attribute) and func.attr in _CONTAINER_ADDS:
            secret = merged(self.secret(a) for a in arguments)  # l.append(secret)
            if secret is not None:
                self._taint(func.value, secret)
        called = self.functions.get(func.id) if isinstance(func, ast.Name) else None
        if called is not None:  # f(secret): f's parameters hold it
            secret = merged(self.secret(a) for a in arguments)
            if secret is not None:
                for parameter in ast.walk(called.args):
                    if isinstance(parameter, ast.arg):
                        self.tainted.setdefault(parameter.arg, secret)

    def _bind_definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        """A function returning, or a class holding, a secret: calls and attributes of
        it hold the secret."""
        for inner in ast.walk(node):
            returned = isinstance(inner, ast.Return | ast.Yield)
            held = isinstance(node, ast.ClassDef) and isinstance(inner, ast.Assign)
            value = getattr(inner, "value", None) if returned or held else None
            secret = self.secret(value) if value is not None else None
            if secret is not None:
                self.tainted.setdefault(node.name, secret)
                return

    def _assign(self, target: ast.AST, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            handle = self._handle(value)
            if handle is not None:
                self.handles.setdefault(target.id, handle)
            sink = self._sink_of(value)
            if sink is not None:
                self.sinks_by_alias.setdefault(target.id, sink)
            if self._is_client(value):
                self.clients.add(target.id)
            if isinstance(value, ast.Dict) and target.id not in self.entries:
                keys = [self.names.fold(k) if k is not None else None for k in value.keys]
                if all(isinstance(k, str) for k in keys):
                    self.entries[target.id] = {
                        k: self.secret(v) for k, v in zip(keys, value.values, strict=True)
                    }
                    return
        secret = self.secret(value)
        if secret is not None:
            self._taint(target, secret)

    def _taint(self, target: ast.AST, secret: Secret) -> None:
        """Bind a secret to a target; a container or object it goes into holds it too
        (not a client: ``session.headers["Authorization"] = token`` is use)."""
        if isinstance(target, ast.Name):
            self.tainted.setdefault(target.id, secret)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._taint(element, secret)
        elif isinstance(target, ast.Starred | ast.Attribute | ast.Subscript):
            base = target.value
            while isinstance(base, ast.Attribute | ast.Subscript):
                base = base.value
            if not (isinstance(base, ast.Name) and base.id in self.clients):
                self._taint(target.value, secret)

    def _iterated(self, iterable: ast.expr) -> Secret | None:
        """What each item of ``for x in iterable`` holds: names only for the environment itself."""
        if self._is_environment(iterable):
            return None
        return self.secret(iterable)

    def _is_environment(self, node: ast.AST) -> bool:
        """``os.environ`` by any name: an alias, ``vars(os)["environ"]``, ``getattr(os, ...)``."""
        return isinstance(node, _ENV_SPELLINGS) and self.names.qualname(node) in _ENV_OBJECTS

    def _is_client(self, node: ast.AST) -> bool:
        if not isinstance(node, ast.Call):
            return False
        name = self.names.qualname(node.func) or ""
        last = name.rsplit(".", 1)[-1]
        if name in self.classes:
            return False
        return name.startswith(_CONSUMERS) or (last[:1].isupper() and last not in _HOLDERS)

    # what a value holds
    def secret(self, node: ast.AST | None) -> Secret | None:
        """The environment variables the value of this expression may hold (None: none)."""
        if node is None or isinstance(node, ast.Compare | ast.Constant):
            return None
        if isinstance(node, ast.Lambda):  # f = lambda: ...: calling f gives its body's value
            return self.secret(node.body)
        if self._is_environment(node):
            return Secret(everything=WHOLE_ENVIRONMENT)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return None
        if isinstance(node, ast.IfExp):  # its test picks a value, it is not one
            return merged((self.secret(node.body), self.secret(node.orelse)))
        if isinstance(node, ast.Name):
            return self._name_secret(node.id)
        if isinstance(node, ast.Attribute):
            return self.secret(node.value)
        if isinstance(node, ast.Subscript):
            return self._subscript_secret(node)
        if isinstance(node, ast.Starred) and self._is_environment(node.value):
            return None  # print(*os.environ): the names
        if isinstance(node, ast.Call):
            return self._call_secret(node)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            return self._comprehension_secret(node)
        return merged(self.secret(child) for child in ast.iter_child_nodes(node))

    def _name_secret(self, name: str) -> Secret | None:
        found = [self.tainted.get(name)]
        if name in self.entries:
            found += self.entries[name].values()
        return merged(found)

    def _subscript_secret(self, node: ast.Subscript) -> Secret | None:
        if self._is_environment(node.value):
            return self._variable(node.slice)
        holder = node.value
        if isinstance(holder, ast.Name) and holder.id in self.entries:
            key = self.names.fold(node.slice)
            if isinstance(key, str) and holder.id not in self.tainted:
                return self.entries[holder.id].get(key)
        return merged((self.secret(holder), None))

    def _variable(self, node: ast.AST | None) -> Secret:
        """The variable named by this expression (a constant, or a constant list looped over)."""
        if isinstance(node, ast.Name) and node.id in self.loop_names:
            return Secret(self.loop_names[node.id])
        return variable(self.names.fold(node))

    def _call_secret(self, node: ast.Call) -> Secret | None:
        name = self.names.qualname(node.func) or ""
        func = node.func
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if name in _ENV_GETTERS:
            key = next((k.value for k in node.keywords if k.arg == "key"), _at(node.args, 0))
            default = [self.secret(a) for a in node.args[1:]]
            return merged([self._variable(key), *default]) if key is not None else None
        if name in _EXPANDERS:
            return self._expanded(node)
        if name == "eval" and node.args:
            return self._evaluated(node.args[0])
        if name in _OPAQUE_RESULTS or name.startswith(_OPAQUE_PREFIXES):
            return None
        if self._is_client(node):
            return None
        if isinstance(func, ast.Attribute) and func.attr in _OPAQUE_METHODS:
            return None
        if name in _NAME_VIEWS and len(node.args) == 1 and self._is_environment(node.args[0]):
            return None
        joined = isinstance(func, ast.Attribute) and func.attr == "join" and len(node.args) == 1
        if joined and self._is_environment(node.args[0]):
            return None  # "\n".join(os.environ): the names
        if isinstance(func, ast.Attribute) and not self._carries(func):
            return merged(self.secret(a) for a in arguments)  # client.method(...): a response
        return merged(self.secret(part) for part in (func, *arguments))

    def _carries(self, func: ast.Attribute) -> bool:
        """Does ``x.method(...)`` hold what ``x`` holds? Yes, unless ``x`` is a client
        (``session.get(url)``, ``g.get_user()`` return something else)."""
        base: ast.AST = func.value
        while isinstance(base, ast.Attribute | ast.Subscript | ast.Call):
            base = base.func if isinstance(base, ast.Call) else base.value
        return not (isinstance(base, ast.Name) and base.id in self.clients)

    def _expanded(self, node: ast.Call) -> Secret | None:
        """``os.path.expandvars("$TOKEN")``: the variables the text names."""
        text = self.names.fold(_at(node.args, 0))
        if not isinstance(text, str):
            return Secret(everything=RUN_TIME_NAMES)
        found = {a or b for a, b in _EXPANSION.findall(text)}
        return Secret(frozenset(found)) if found else None

    def _evaluated(self, code: ast.AST) -> Secret | None:
        """``eval("os.environ")``: the value of constant code."""
        text = self.names.fold(code)
        if not isinstance(text, str) or self.eval_depth > 3:
            return Secret(everything=RUN_TIME_NAMES) if not isinstance(text, str) else None
        try:
            tree = ast.parse(text, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        self.eval_depth += 1
        try:
            return self.secret(tree.body)
        finally:
            self.eval_depth -= 1

    def _comprehension_secret(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> Secret | None:
        if isinstance(node, ast.DictComp):
            return merged((self.secret(node.key), self.secret(node.value)))
        return self.secret(node.elt)

    # where values go
    def _sink_of(self, node: ast.AST) -> str | None:
        """The stream a callable prints to: ``print``, ``logging.getLogger()``'s methods."""
        name = self.names.qualname(node) if isinstance(node, _ENV_SPELLINGS) else None
        name = (name or "").removeprefix("builtins.").removeprefix("__builtins__.")
        if name in _STDOUT_CALLS:
            return SHOWN
        if name in _STDERR_CALLS or name == "logging.getLogger":
            return STDERR
        if isinstance(node, ast.Call) and self._sink_of(node.func) == STDERR:
            return STDERR  # logging.getLogger(__name__)
        if isinstance(node, ast.Name):
            return self.sinks_by_alias.get(node.id)
        return None

    def _handle(self, node: ast.AST) -> str | None:
        """Where writes through this value go, if it is a file handle or a standard stream."""
        if isinstance(node, ast.Name):
            return self.handles.get(node.id)
        name = self.names.qualname(node) if isinstance(node, ast.Attribute) else None
        if name in _STREAMS:
            return _STREAMS[name]
        if isinstance(node, ast.Attribute) and node.attr == "buffer":
            return self._handle(node.value)
        if not isinstance(node, ast.Call):
            return None
        called = self.names.qualname(node.func) or ""
        if called in _OPENERS or called == "pathlib.Path().open":
            return self._opened(node, called)
        if called in _WRITERS and node.args:
            return self._handle(node.args[0])
        if called == "os.fdopen" and node.args:
            return {1: SHOWN, 2: STDERR}.get(self.names.fold(node.args[0]), "")
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
            elif isinstance(node, ast.Raise | ast.Assert):
                value = node.exc if isinstance(node, ast.Raise) else node.msg
                secret = self.secret(value)
                if secret is not None:
                    yield secret_effect(secret, STDERR)  # the traceback shows its message

    def _call_sinks(self, node: ast.Call) -> Iterator[Effect]:
        func = node.func
        stream = self._sink_of(func)
        if stream is None and isinstance(func, ast.Attribute) and func.attr in _LOG_LEVELS:
            stream = STDERR if self._sink_of(func.value) == STDERR else None
        if stream is not None:
            name = self.names.qualname(func) or ""
            data = node.args[1:] if name == "os.write" else node.args
            secret = merged(self.secret(a) for a in data)
            if secret is not None:
                yield secret_effect(secret, self._print_target(node, name, stream))
            return
        name = self.names.qualname(func) or ""
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if name in ("map", "filter") and len(node.args) >= 2:  # map(print, values)
            target = self._sink_of(node.args[0])
            secret = merged(self.secret(a) for a in node.args[1:])
            if target is not None and secret is not None:
                yield secret_effect(secret, target)
        elif name in _DUMPERS and len(node.args) >= 2:
            secret = self.secret(node.args[0])
            target = self._handle(node.args[1])
            if secret is not None and target is not None:
                yield secret_effect(secret, target)
        elif isinstance(func, ast.Attribute) and func.attr in (
            "write",
            "writelines",
            "writerow",
            "writerows",
        ):
            target = self._handle(func.value)
            secret = merged(self.secret(a) for a in arguments)
            if secret is not None and target is not None:
                yield secret_effect(secret, target)
        elif isinstance(func, ast.Attribute) and func.attr in ("write_text", "write_bytes"):
            secret = merged(self.secret(a) for a in node.args)
            if secret is not None:
                path = self._path_of(func.value)
                yield secret_effect(secret, path if isinstance(path, str) else "")

    def _print_target(self, node: ast.Call, name: str, stream: str) -> str:
        if name == "os.write":
            return {1: SHOWN, 2: STDERR}.get(self.names.fold(_at(node.args, 0)), "")
        handle = next((k.value for k in node.keywords if k.arg == "file"), None)
        if handle is None:
            return stream
        target = self._handle(handle)
        return "" if target is None else target


def _is_items(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "items"
    )


def _at(items: Sequence[ast.expr], index: int) -> ast.expr | None:
    return items[index] if len(items) > index else None
