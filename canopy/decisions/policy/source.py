"""YAML to located nodes: every value remembers where it was written.

PyYAML composes the document into nodes (with marks); we turn them into three
small node types that keep a 1-based line and column, and we reject what
PyYAML would silently accept: duplicate mapping keys and non-string keys.
Scalars get their YAML types from PyYAML's own SafeConstructor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from canopy.decisions.policy.errors import PolicyError, PolicyIssue

__all__ = ["Map", "Mark", "Node", "Scalar", "Seq", "parse_yaml", "to_python", "type_name"]


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Scalar:
    value: Any  # str, int, float, bool, None, (datetime, ...)
    mark: Mark
    quoted: bool = False  # single- or double-quoted: text starts one column later

    def offset_mark(self, offset: int) -> Mark:
        """Where character ``offset`` of a one-line string scalar sits in the file."""
        return Mark(self.mark.line, self.mark.column + offset + (1 if self.quoted else 0))


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Node, ...]
    mark: Mark


@dataclass(frozen=True, slots=True)
class Map:
    entries: tuple[tuple[Scalar, Node], ...]  # keys are string scalars, unique
    mark: Mark

    def get(self, key: str) -> Node | None:
        for k, v in self.entries:
            if k.value == key:
                return v
        return None


Node = Scalar | Seq | Map


def type_name(node: Node) -> str:
    """How a value reads in an error message: 'a string', 'a list', 'null'."""
    if isinstance(node, Seq):
        return "a list"
    if isinstance(node, Map):
        return "a mapping"
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def parse_yaml(text: str, file: str | None) -> Node | None:
    """Parse one YAML document into located nodes; ``None`` for an empty document."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        return _Converter(loader, file).convert(root)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = e.problem or e.context or "invalid YAML"
        raise PolicyError([PolicyIssue(file, line, col, f"invalid YAML: {problem}")]) from e
    except yaml.YAMLError as e:
        raise PolicyError([PolicyIssue(file, 0, 0, f"invalid YAML: {e}")]) from e
    finally:
        loader.dispose()


class _Converter:
    """Walks composed nodes once; aliases reuse the converted node (no blow-up)."""

    def __init__(self, loader: yaml.SafeLoader, file: str | None) -> None:
        self._loader = loader
        self._file = file
        self._done: dict[int, Node] = {}
        self._active: set[int] = set()

    def _fail(self, node: yaml.Node, message: str) -> PolicyError:
        m = _mark(node)
        return PolicyError([PolicyIssue(self._file, m.line, m.column, message)])

    def convert(self, node: yaml.Node) -> Node:
        key = id(node)
        if key in self._done:
            return self._done[key]
        if key in self._active:
            raise self._fail(node, "recursive YAML alias")
        self._active.add(key)
        try:
            out = self._convert(node)
        finally:
            self._active.discard(key)
        self._done[key] = out
        return out

    def _convert(self, node: yaml.Node) -> Node:
        if isinstance(node, yaml.ScalarNode):
            value = self._loader.construct_object(node, deep=True)
            return Scalar(value, _mark(node), quoted=node.style in ("'", '"'))
        if isinstance(node, yaml.SequenceNode):
            return Seq(tuple(self.convert(item) for item in node.value), _mark(node))
        assert isinstance(node, yaml.MappingNode)
        entries: list[tuple[Scalar, Node]] = []
        seen: dict[str, Mark] = {}
        for key_node, value_node in node.value:
            key = self.convert(key_node)
            if not isinstance(key, Scalar) or not isinstance(key.value, str):
                shown = key.value if isinstance(key, Scalar) else type_name(key)
                raise self._fail(key_node, f"mapping keys must be strings, not {shown!r}")
            if key.value in seen:
                first = seen[key.value]
                raise self._fail(
                    key_node, f"duplicate key '{key.value}' (first at line {first.line})"
                )
            seen[key.value] = key.mark
            entries.append((key, self.convert(value_node)))
        return Map(tuple(entries), _mark(node))


def to_python(node: Node) -> Any:
    """Plain Python values (dicts, lists, scalars) for data that needs no positions."""
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Seq):
        return [to_python(item) for item in node.items]
    return {key.value: to_python(value) for key, value in node.entries}
