"""``GET /v1/dashboard``: the operator's page, from ``canopy report``'s summary.

One self-contained HTML page (no scripts, no external assets; every value
escaped) showing decisions, pending approvals, the agents and rules behind
denials, and the quick integrity check. The same data is the JSON answer.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["render_dashboard"]

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.4rem 0}
td,th{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left}
th{background:#f6f8fa}.num{text-align:right}.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}
.ALLOW{color:#1a7f37}.DENY{color:#cf222e}.REQUIRE_APPROVAL{color:#9a6700}
.bar{display:inline-block;height:.8rem;background:#8c959f;vertical-align:middle}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            css = ' class="num"' if i in numeric else ""
            cells.append(f"<td{css}>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}">none</td></tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _decisions(report: Mapping[str, Any]) -> str:
    counts: Mapping[str, int] = report["by_decision"]
    total = sum(counts.values()) or 1
    rows = []
    for decision, n in counts.items():
        width = max(1, round(200 * n / total))
        rows.append(
            f'<tr><td class="{_e(decision)}">{_e(decision)}</td><td class="num">{n}</td>'
            f'<td><span class="bar" style="width:{width}px"></span> '
            f"{100 * n / total:.1f}%</td></tr>"
        )
    if not rows:
        rows.append('<tr><td colspan="3">no decisions yet</td></tr>')
    return (
        "<table><tr><th>decision</th><th>count</th><th>share</th></tr>" + "".join(rows) + "</table>"
    )


def _counts_table(name: str, total: str, items: Sequence[tuple[str, Mapping[str, int]]]) -> str:
    """One row per item: its total and its count of each decision."""
    decisions = ("ALLOW", "DENY", "REQUIRE_APPROVAL")
    rows = (
        (item, counts.get(total, 0), *(counts.get(d, 0) for d in decisions))
        for item, counts in items
    )
    return _table((name, total, *decisions), rows, {1, 2, 3, 4})


def _integrity(report: Mapping[str, Any]) -> str:
    integrity = report.get("integrity")
    if not integrity:
        return "<p>not checked</p>"
    if integrity["ok"]:
        status = '<span class="ok">OK</span>'
    else:
        status = '<span class="bad">PROBLEMS</span>'
    problems = "".join(f"<li>{_e(p)}</li>" for p in integrity["problems"])
    return (
        f"<p>{status}: {_e(integrity['checked'])}. {integrity['size']} events, "
        f"{integrity['checkpoints']} checkpoints, {integrity['unsealed_events']} unsealed "
        f"(<code>canopy verify</code> checks every event).</p>"
        + (f"<ul>{problems}</ul>" if problems else "")
    )


def render_dashboard(report: Mapping[str, Any], *, agents_registered: int) -> str:
    """The page for one ``Summary.to_json()`` (with its integrity filled in)."""
    window = report["window"]
    pending = report["pending_approvals"]
    agents = list(report["by_agent"].items())[:20]
    rules = report["by_rule"][:20]
    actions = list(report["by_action_type"].items())[:20]
    sections = [
        f"<h1>Canopy gateway: {_e(report['origin'])}</h1>",
        f"<p>{report['events']} events"
        + (f" since {_e(window['since'])}" if window["since"] else "")
        + f" (ledger size {report['size']}; {agents_registered} registered agents); "
        f"first {_e(report['first_ts'])}, last {_e(report['last_ts'])}.</p>",
        "<h2>Integrity</h2>",
        _integrity(report),
        "<h2>Decisions</h2>",
        _decisions(report),
        f"<h2>Pending approvals ({pending['count']})</h2>",
        _table(
            ("authorization", "requested", "age (s)", "action", "agent", "reason"),
            (
                (
                    p["authorization_id"],
                    p["ts"],
                    f"{p['age_seconds']:.0f}",
                    p["action_type"],
                    p["avid"],
                    p["reason"],
                )
                for p in pending["items"][:50]
            ),
            {2},
        ),
        "<h2>Rules behind DENY and REQUIRE_APPROVAL</h2>",
        _table(
            ("layer", "rule", "DENY", "REQUIRE_APPROVAL"),
            (
                (r["layer"], r["rule_id"], r.get("DENY", 0), r.get("REQUIRE_APPROVAL", 0))
                for r in rules
            ),
            {2, 3},
        ),
        "<h2>Agents</h2>",
        _counts_table("AVID", "events", agents),
        "<h2>Action types</h2>",
        _counts_table("action type", "authorizations", actions),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Canopy dashboard</title><style>{_STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>"
    )
