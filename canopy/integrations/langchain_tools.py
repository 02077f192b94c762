"""LangChain tools under a Canopy guard.

A tool built from a function (``@tool``, ``StructuredTool``, ``Tool``) keeps its
class, name, description and argument schema; its ``func`` and ``coroutine`` are
replaced by guarded wrappers, so ``invoke``, ``ainvoke`` and ``run`` all pass
through the guard with the validated arguments the function receives (defaults
applied). Any other ``BaseTool`` gets a subclass whose ``_run`` (and ``_arun``,
when the tool defines its own) is guarded.

Nothing here imports LangChain until a LangChain tool is guarded: an object can
only be a ``BaseTool`` once ``langchain_core`` has been imported by its owner.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["function_of", "guard_langchain_tool", "injected_params", "is_langchain_tool"]

#: Parameters LangChain fills in itself: how the tool is run, not what it does.
_INJECTED = frozenset({"callbacks", "run_manager"})

#: ``wrap(fn, tool_name, omit)`` returns the guarded version of ``fn``.
Wrap = Callable[[Callable[..., Any], str, frozenset[str]], Callable[..., Any]]


def is_langchain_tool(obj: Any) -> bool:
    base = sys.modules.get("langchain_core.tools.base")
    return base is not None and isinstance(obj, base.BaseTool)


def injected_params(fn: Callable[..., Any]) -> frozenset[str]:
    """Callback and ``RunnableConfig`` parameters: left out of the payload."""
    from langchain_core.runnables import RunnableConfig

    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: LangChain injects nothing typed then
        hints = {}
    return _INJECTED | {name for name, hint in hints.items() if hint is RunnableConfig}


def _has_function_fields(tool: Any) -> bool:
    fields = type(tool).model_fields
    return "func" in fields and "coroutine" in fields


def guard_langchain_tool(tool: Any, wrap: Wrap) -> Any:
    """A copy of ``tool`` whose every invocation goes through ``wrap``'s guard."""
    if _has_function_fields(tool):
        update = {
            name: wrap(fn, tool.name, injected_params(fn))
            for name in ("func", "coroutine")
            if (fn := getattr(tool, name)) is not None
        }
        if not update:
            raise TypeError(f"LangChain tool {tool.name!r} has neither func nor coroutine")
        return tool.model_copy(update=update)
    return _guarded_subclass(tool, wrap)


def _guarded_subclass(tool: Any, wrap: Wrap) -> Any:
    from langchain_core.tools import BaseTool

    cls = type(tool)
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__slots__": (),
        "_run": wrap(cls._run, tool.name, injected_params(cls._run)),
    }
    if cls._arun is not BaseTool._arun:  # the default _arun runs the (guarded) _run
        namespace["_arun"] = wrap(cls._arun, tool.name, injected_params(cls._arun))
    guarded_cls = type(cls.__name__, (cls,), namespace)
    guarded = tool.model_copy()
    object.__setattr__(guarded, "__class__", guarded_cls)
    return guarded


def function_of(tool: Any) -> Callable[..., Any]:
    """The function behind a function-built tool (for ``execute_approved``)."""
    fn = getattr(tool, "func", None) or getattr(tool, "coroutine", None)
    if not _has_function_fields(tool) or fn is None:
        raise TypeError(
            f"execute_approved needs a function-built LangChain tool (@tool, StructuredTool, "
            f"Tool); {type(tool).__name__} has no func"
        )
    return fn
