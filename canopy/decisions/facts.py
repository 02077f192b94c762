"""Analyzer results shared by the layers of one decision, computed once.

The Constitution, the Civil Code and the Firewall all look at the same paths
and URLs; each result is memoized on the ``ActionView`` so a decision resolves
a path or parses a URL only once.
"""

from __future__ import annotations

from functools import lru_cache

from canopy.decisions.action import ActionView
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.paths import PathVerdict, check_path
from canopy.errors import MalformedInputError

__all__ = ["path_verdict", "url_info"]


def _ctx_text(action: ActionView, key: str) -> str | None:
    value = action.agent_ctx.get(key)
    return value if isinstance(value, str) else None


def path_verdict(action: ActionView, raw: str) -> PathVerdict | MalformedInputError:
    """``check_path`` of a path named by the action, or the error it raised."""
    key = ("path", raw)
    if key not in action.memo:
        try:
            action.memo[key] = check_path(
                raw,
                cwd=_ctx_text(action, "cwd"),
                home=_ctx_text(action, "home"),
                governance=action.governance,
            )
        except MalformedInputError as e:
            action.memo[key] = e
    return action.memo[key]


def url_info(action: ActionView, url: str) -> net.UrlInfo | MalformedInputError:
    """``parse_url`` of a URL the action requests, or the error it raised."""
    return _parse_url(url)


@lru_cache(maxsize=4096)
def _parse_url(url: str) -> net.UrlInfo | MalformedInputError:
    """URL parsing is pure (no DNS): cached across decisions."""
    try:
        return net.parse_url(url)
    except MalformedInputError as e:
        return e
