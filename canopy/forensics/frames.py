"""The ledger as pandas DataFrames: events, traces and approvals.

Reading is the cost center, so each frame is built the same way: one SQL
query selects the rows (filters become its ``WHERE`` clause, see
``canopy.forensics.query``), a single Python loop decodes each stored body
once (``json.loads(decode_body(body))``, minus json's per-call wrapper) and
pulls the flattened values into one tuple per row, the tuples are transposed
into columns, and each column is typed once (object arrays, then string,
categorical, float or datetime arrays). There is no per-row DataFrame work.
Bodies that a frame does not need are not even fetched: ``traces()`` decodes
only ``tool_result`` bodies.

These frames are for investigating a ledger, not for proving anything about
it: run ``canopy.ledger.verify.verify_ledger`` for that.
"""

from __future__ import annotations

import gc
import json
import shlex
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from json.scanner import make_scanner
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from canopy.decisions.model import Decision, Severity
from canopy.errors import CanonicalEncodingError
from canopy.forensics.query import Filters, LedgerLike, Values, quote, read_transaction
from canopy.ledger.bodies import decode_body
from canopy.ledger.events import INDEXED_FIELDS, EventKind
from canopy.ledger.lookups import lookup_condition, lookup_layout
from canopy.ledger.store import fields_from_storage

__all__ = [
    "APPROVAL_COLUMNS",
    "EVENT_COLUMNS",
    "SEVERITY_DTYPE",
    "TRACE_COLUMNS",
    "approvals",
    "events",
    "select_sql",
    "traces",
]

#: Ordered from no concern to critical: ``frame.severity >= "high"`` works.
SEVERITY_DTYPE = pd.CategoricalDtype([s.label for s in sorted(Severity, key=int)], ordered=True)

#: Values flattened out of an event's body, in column order.
FLAT_FIELDS: tuple[str, ...] = (
    "reason",
    "reason_code",
    "rule_id",
    "layer",
    "severity",
    "command",
    "path",
    "url",
    "amount",
    "tool",
    "status",
    "duration_ms",
    "error_type",
    "approver",
    "approved",
    "incident_id",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "seq",
    "ts",
    "kind",
    *INDEXED_FIELDS,
    *FLAT_FIELDS,
    "leaf_hash",
)

TRACE_COLUMNS: tuple[str, ...] = (
    "trace_id",
    "first_ts",
    "last_ts",
    "events",
    "authorizations",
    "denies",
    "approvals_required",
    "executions",
    "errors",
    "agents",
    "duration",
)

APPROVAL_COLUMNS: tuple[str, ...] = (
    "authorization_id",
    "trace_id",
    "avid",
    "action_type",
    "requested_at",
    "request_reason",
    "decided",
    "approved",
    "approver",
    "reason",
    "decided_at",
    "latency",
    "expires_at",
    "executed",
)

_STRING = pd.StringDtype()
_NO_VALUES: tuple[None, ...] = (None,) * len(FLAT_FIELDS)
_EMPTY: dict[str, Any] = {}
_scan_json = make_scanner(json.JSONDecoder())  # what json.loads runs, minus its wrapper
_SQLITE_MAX_PARAMS = 300  # ids per query; each is bound three times (base, runs, tail)
_TRACE_INPUTS = frozenset({"ts", "kind", "trace_id", "avid", "decision", "status"})
_APPROVAL_INPUTS = frozenset(
    {"ts", "trace_id", "avid", "authorization_id", "action_type", "reason"}
)


# --- reading ----------------------------------------------------------------


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Building a million small dicts and tuples triggers the cyclic collector
    over and over for nothing (nothing here makes cycles); pause it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _flatten(fields: dict[str, Any]) -> tuple[Any, ...]:
    """An event's useful values, in ``FLAT_FIELDS`` order (the per-row hot path).

    An authorization keeps its verdict under ``detail`` and the action under
    ``payload``; other kinds (approval, incident, tool_result) keep theirs at
    the top level.
    """
    get = fields.get
    detail = get("detail")
    source = detail.get if detail.__class__ is dict else get
    payload = get("payload")
    if payload.__class__ is dict:
        pget = payload.get
        command = pget("command")
        if command is None:
            command = pget("cmd")
        path = pget("path")
        if path is None:
            path = pget("file_path")
        url, amount = pget("url"), pget("amount")
    else:
        command = path = url = amount = None
    return (
        source("reason"),
        source("reason_code"),
        source("rule_id"),
        source("layer"),
        source("severity"),
        command,
        path,
        url,
        amount,
        get("tool"),
        get("status"),
        get("duration_ms"),
        get("error_type"),
        get("approver"),
        get("approved"),
        get("incident_id"),
    )


def _decode(seq: int, body: str | bytes) -> dict[str, Any]:
    """An event's stored body as a dict: exactly ``json.loads(decode_body(body))``.

    ``json.loads`` wraps its C scanner in Python (a BOM check and two
    whitespace regexes per call). A canonical body has no whitespace, so the
    scanner is called directly; anything it does not consume whole goes
    through ``json.loads`` itself, which accepts or rejects it as the store does.
    """
    try:
        text = body if body.__class__ is str else decode_body(body)
        try:
            fields, end = _scan_json(text, 0)
            if end != len(text):
                raise ValueError("not canonical")
        except (StopIteration, ValueError):
            fields = json.loads(text)
    except (ValueError, TypeError) as e:
        raise CanonicalEncodingError(f"event {seq} body cannot be decoded: {e}") from e
    if fields.__class__ is not dict:
        raise CanonicalEncodingError(f"event {seq} body is not a JSON object")
    return fields


def select_sql(
    conn: sqlite3.Connection,
    filters: Filters,
    *,
    columns: Collection[str] = EVENT_COLUMNS,
    bodies: Collection[str] | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """The one query a frame reads its events with, and its parameters.

    Rows are ``seq, ts, kind, <indexed fields>, body[, leaf_hash hex]`` in
    ledger order. Indexed fields not in ``columns`` come back NULL (so no
    Python objects are made for them); ``bodies`` limits which kinds' bodies
    are fetched (None: all).
    """
    where = filters.where(conn)
    params: tuple[Any, ...] = where.params
    if bodies is None:
        body_sql = "body"
    elif bodies:
        marks = ", ".join("?" * len(bodies))
        body_sql = f"CASE WHEN kind IN ({marks}) THEN body END"
        params = (*bodies, *params)
    else:
        body_sql = "NULL"
    indexed = ", ".join(quote(name) if name in columns else "NULL" for name in INDEXED_FIELDS)
    leaf_sql = ", lower(hex(leaf_hash))" if "leaf_hash" in columns else ""
    sql = (
        f"SELECT seq, ts, kind, {indexed}, {body_sql}{leaf_sql} FROM events "
        f"{where.clause()} ORDER BY seq {filters.limit_clause()}"
    ).rstrip()
    return sql, params


def _select(
    conn: sqlite3.Connection,
    filters: Filters,
    *,
    columns: Collection[str] = EVENT_COLUMNS,
    bodies: Collection[str] | None = None,
) -> list[tuple[Any, ...]]:
    sql, params = select_sql(conn, filters, columns=columns, bodies=bodies)
    return conn.execute(sql, params).fetchall()


def _columns(
    rows: Sequence[tuple[Any, ...]], *, keep_fields: bool
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]] | None]:
    """Flattened values of every row (and, if asked, every event's full fields)."""
    body_at = 3 + len(INDEXED_FIELDS)
    flat = _flatten
    decode = _decode
    nothing = _NO_VALUES
    if not keep_fields:
        # An empty body ("{}", as many executions have) flattens to nothing.
        empty = (None, "{}")
        return [
            nothing if (body := row[body_at]) in empty else flat(decode(row[0], body))
            for row in rows
        ], None
    flats, full = [], []
    for row in rows:
        columns = dict(zip(INDEXED_FIELDS, row[3:body_at], strict=True))
        try:
            fields = fields_from_storage(columns, row[body_at])
        except ValueError as e:
            raise CanonicalEncodingError(f"event {row[0]} body cannot be decoded: {e}") from e
        full.append(fields)
        flats.append(flat(fields))
    return flats, full


# --- typed columns ------------------------------------------------------------


def _objects(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array holding ``values`` as they are (lists stay elements)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _only_text(values: np.ndarray) -> np.ndarray:
    """Strings and missing values; anything else JSON gave us rendered as text."""
    if infer_dtype(values, skipna=True) in ("string", "empty"):
        return values
    return _objects([v if v is None or v.__class__ is str else _as_text(v) for v in values])


def _as_text(value: Any) -> str:
    """A non-string value in a text column: argv lists as a shell line, the rest as JSON."""
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return shlex.join(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _strings(values: Sequence[Any]) -> pd.arrays.StringArray:
    return pd.array(_only_text(_objects(values)), dtype=_STRING)


def _categories(values: Sequence[Any], known: Sequence[str] = ()) -> pd.Categorical:
    """A categorical with the known vocabulary first, then any other value seen."""
    column = _only_text(_objects(values))
    codes, seen = pd.factorize(column)
    extra = sorted(v for v in seen if v not in known)
    return _recoded(codes, seen, pd.CategoricalDtype([*known, *extra]))


def _severities(values: Sequence[Any]) -> pd.Categorical:
    """Severity labels, ordered; a label outside the vocabulary becomes missing."""
    codes, seen = pd.factorize(_only_text(_objects(values)))
    return _recoded(codes, seen, SEVERITY_DTYPE)


def _recoded(codes: np.ndarray, seen: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """Factorized codes re-pointed at ``dtype``'s categories (-1, missing, stays -1)."""
    position = {c: i for i, c in enumerate(dtype.categories)}
    mapping = np.array([position.get(v, -1) for v in seen] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(mapping[codes], dtype=dtype)


def _numbers(values: Sequence[Any]) -> np.ndarray:
    """Numbers (and numeric strings such as payment amounts) as float64; NaN otherwise."""
    column = _objects(values)
    if infer_dtype(column, skipna=True) in ("integer", "floating", "mixed-integer-float", "empty"):
        return column.astype(np.float64)
    cleaned = _objects([None if v.__class__ is bool else v for v in column])
    return pd.to_numeric(pd.Series(cleaned), errors="coerce").to_numpy(dtype=np.float64)


def _booleans(values: Sequence[Any]) -> pd.arrays.BooleanArray:
    column = _objects(values)
    if infer_dtype(column, skipna=True) not in ("boolean", "empty"):
        column = _objects([v if v is True or v is False else None for v in column])
    return pd.array(column, dtype="boolean")


def _timestamps(values: Sequence[Any]) -> pd.DatetimeIndex:
    """RFC 3339 text (None for missing) as nanosecond UTC instants."""
    parsed = pd.to_datetime(_objects(values), format="ISO8601", utc=True)
    return pd.DatetimeIndex(parsed).as_unit("ns")


def _loose_timestamps(values: Sequence[Any]) -> pd.DatetimeIndex:
    """Timestamps written by people or other tools: unparseable ones become NaT."""
    column = _objects([v if isinstance(v, str) else None for v in values])
    parsed = pd.to_datetime(column, format="ISO8601", utc=True, errors="coerce")
    return pd.DatetimeIndex(parsed).as_unit("ns")


# --- events -------------------------------------------------------------------


def _build_events(
    rows: Sequence[tuple[Any, ...]],
    *,
    columns: Collection[str] = EVENT_COLUMNS,
    keep_fields: bool = False,
) -> pd.DataFrame:
    """The events frame (only ``columns`` of it) from ``_select`` rows."""
    with _collector_paused():
        flats, full = _columns(rows, keep_fields=keep_fields)
        width = 3 + len(INDEXED_FIELDS) + 1 + ("leaf_hash" in columns)
        raw = list(zip(*rows, strict=True)) if rows else [()] * width
        flat = dict(
            zip(
                FLAT_FIELDS,
                zip(*flats, strict=True) if flats else [()] * len(FLAT_FIELDS),
                strict=True,
            )
        )
        del flats
        frame = pd.DataFrame(_typed(raw, flat, columns), copy=False)
        if keep_fields:
            frame["fields"] = pd.Series(full, dtype=object)
    return frame


def _typed(
    raw: Sequence[Sequence[Any]], flat: dict[str, Sequence[Any]], columns: Collection[str]
) -> dict[str, Any]:
    """The requested event columns, typed, in ``EVENT_COLUMNS`` order."""
    at = {name: 3 + i for i, name in enumerate(INDEXED_FIELDS)}
    values = {**{name: raw[i] for name, i in at.items()}, **flat}
    builders: dict[str, Callable[[], Any]] = {
        "seq": lambda: np.fromiter(raw[0], dtype=np.int64, count=len(raw[0])),
        "ts": lambda: _timestamps(raw[1]),
        "kind": lambda: _categories(raw[2], [k.value for k in EventKind]),
        "action_type": lambda: _categories(values["action_type"]),
        "decision": lambda: _categories(values["decision"], [d.value for d in Decision]),
        "severity": lambda: _severities(values["severity"]),
        "status": lambda: _categories(values["status"], ["ok", "error"]),
        "amount": lambda: _numbers(values["amount"]),
        "duration_ms": lambda: _numbers(values["duration_ms"]),
        "approved": lambda: _booleans(values["approved"]),
        "leaf_hash": lambda: _strings(raw[4 + len(INDEXED_FIELDS)]),
    }
    return {
        name: builders[name]() if name in builders else _strings(values[name])
        for name in EVENT_COLUMNS
        if name in columns
    }


def events(
    ledger: LedgerLike,
    *,
    trace_id: Values = None,
    avid: Values = None,
    authorization_id: Values = None,
    kind: Values = None,
    action_type: Values = None,
    decision: Values = None,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    limit: int | None = None,
    fields: bool = False,
) -> pd.DataFrame:
    """One row per ledger event, in ledger order, with typed and flattened columns.

    ``ledger`` is a path or an open ``Ledger``. Equality filters take one
    value or several (``decision=["DENY", "REQUIRE_APPROVAL"]``) and run in
    SQL, through the ledger's indexes where it has them; ``since`` (inclusive)
    and ``until`` (exclusive) take datetimes or ISO 8601 strings, naive ones
    meaning UTC; ``limit`` keeps the first events. ``fields=True`` adds a
    ``fields`` column with each event's complete field dict.

    Columns: ``seq`` (int64), ``ts`` (datetime64[ns, UTC]), ``kind``,
    ``action_type``, ``decision``, ``status`` (categorical), ``severity``
    (ordered categorical, none < low < medium < high < critical), the ids
    and text fields (string), ``amount`` and ``duration_ms`` (float64),
    ``approved`` (nullable boolean) and ``leaf_hash`` (hex string).
    ``command``/``path``/``url``/``amount`` come from the action payload's
    top level (``cmd`` and ``file_path`` count too); an argv list becomes a
    shell line and a non-numeric amount is NaN: ``fields`` keeps the originals.
    """
    filters = Filters(
        trace_id=trace_id,
        avid=avid,
        authorization_id=authorization_id,
        kind=kind,
        action_type=action_type,
        decision=decision,
        since=since,
        until=until,
        limit=limit,
    )
    with read_transaction(ledger) as conn, _collector_paused():
        rows = _select(conn, filters)
    return _build_events(rows, keep_fields=fields)


# --- traces -------------------------------------------------------------------


def traces(ledger: LedgerLike, **filters: Any) -> pd.DataFrame:
    """One row per trace, in order of first appearance; filters as for ``events``.

    The counts cover the events the filters select: ``traces(path, avid=X)``
    summarizes what agent X did in each trace it took part in. ``errors``
    counts tool results with status ``error``; ``agents`` the distinct AVIDs.
    """
    query = Filters(**filters)
    with read_transaction(ledger) as conn, _collector_paused():
        rows = _select(conn, query, columns=_TRACE_INPUTS, bodies=(EventKind.TOOL_RESULT.value,))
    frame = _build_events(rows, columns=_TRACE_INPUTS)
    frame = frame[frame["trace_id"].notna()]
    kind = frame["kind"]
    authorization = (kind == EventKind.AUTHORIZATION.value).to_numpy()
    decision = frame["decision"]
    work = pd.DataFrame(
        {
            "trace_id": frame["trace_id"],
            "ts": frame["ts"],
            "avid": frame["avid"],
            "authorization": authorization,
            "deny": authorization & (decision == Decision.DENY.value).to_numpy(),
            "approval": authorization & (decision == Decision.REQUIRE_APPROVAL.value).to_numpy(),
            "execution": (kind == EventKind.EXECUTION.value).to_numpy(),
            "error": (frame["status"] == "error").to_numpy(),
        }
    )
    grouped = work.groupby("trace_id", sort=False, observed=True)
    out = grouped.agg(
        first_ts=("ts", "min"),
        last_ts=("ts", "max"),
        events=("ts", "size"),
        authorizations=("authorization", "sum"),
        denies=("deny", "sum"),
        approvals_required=("approval", "sum"),
        executions=("execution", "sum"),
        errors=("error", "sum"),
        agents=("avid", "nunique"),
    ).reset_index()
    out["trace_id"] = out["trace_id"].astype(_STRING)
    for name in TRACE_COLUMNS[3:-1]:  # the counts
        out[name] = out[name].astype(np.int64)
    out["duration"] = out["last_ts"] - out["first_ts"]
    return out[list(TRACE_COLUMNS)]


# --- approvals ----------------------------------------------------------------


def _related(
    conn: sqlite3.Connection, authorization_ids: Sequence[str]
) -> tuple[dict[str, tuple[str, dict[str, Any]]], set[str]]:
    """First approval (ts, fields) and whether an execution exists, per authorization id.

    Looked up through the ledger's lookups, a chunk of ids at a time.
    """
    decided: dict[str, tuple[str, dict[str, Any]]] = {}
    executed: set[str] = set()
    layout = lookup_layout(conn)
    for start in range(0, len(authorization_ids), _SQLITE_MAX_PARAMS):
        chunk = authorization_ids[start : start + _SQLITE_MAX_PARAMS]
        matches, params = lookup_condition("authorization_id", chunk, layout=layout)
        rows = conn.execute(
            "SELECT seq, ts, kind, authorization_id, "
            "CASE WHEN kind = 'approval' THEN body END FROM events "
            f"WHERE {matches} AND kind IN ('approval', 'execution') ORDER BY seq",
            params,
        )
        for seq, ts, kind, authorization_id, body in rows:
            if kind == EventKind.EXECUTION.value:
                executed.add(authorization_id)
            elif authorization_id not in decided:  # the first decision is the one in force
                decided[authorization_id] = (ts, _decode(seq, body))
    return decided, executed


def approvals(ledger: LedgerLike, **filters: Any) -> pd.DataFrame:
    """One row per REQUIRE_APPROVAL authorization, with the human decision on it, if any.

    Filters (as for ``events``, without ``kind`` and ``decision``) select the
    authorizations; ``since``/``until`` bound when approval was requested.
    ``decided`` says an approval event exists; ``approved`` is missing until
    then; ``latency`` is ``decided_at - requested_at``; ``executed`` says an
    execution event carries the authorization id.
    """
    for name in ("kind", "decision"):
        if name in filters:
            raise ValueError(f"approvals() selects REQUIRE_APPROVAL authorizations; drop {name}=")
    query = Filters(
        **filters, kind=EventKind.AUTHORIZATION.value, decision=Decision.REQUIRE_APPROVAL.value
    )
    with read_transaction(ledger) as conn, _collector_paused():
        rows = _select(conn, query, columns=_APPROVAL_INPUTS)
        at = 3 + INDEXED_FIELDS.index("authorization_id")
        ids = [row[at] for row in rows if row[at] is not None]
        decided, executed = _related(conn, ids)
    requests = _build_events(rows, columns=_APPROVAL_INPUTS)
    ids_in_order = list(requests["authorization_id"].fillna(""))
    answers = [decided.get(i) for i in ids_in_order]
    answer_fields = [a[1] if a else _EMPTY for a in answers]
    requested_at = requests["ts"]
    decided_at = _timestamps([a[0] if a else None for a in answers])
    out = pd.DataFrame(
        {
            "authorization_id": requests["authorization_id"],
            "trace_id": requests["trace_id"],
            "avid": requests["avid"],
            "action_type": requests["action_type"],
            "requested_at": requested_at,
            "request_reason": requests["reason"],
            "decided": np.array([a is not None for a in answers], dtype=bool),
            "approved": _booleans([f.get("approved") for f in answer_fields]),
            "approver": _strings([f.get("approver") for f in answer_fields]),
            "reason": _strings([f.get("reason") for f in answer_fields]),
            "decided_at": decided_at,
            "expires_at": _loose_timestamps([f.get("expires_at") for f in answer_fields]),
            "executed": np.array([i in executed for i in ids_in_order], dtype=bool),
        }
    )
    out["latency"] = out["decided_at"] - out["requested_at"]
    return out[list(APPROVAL_COLUMNS)]
