"""The HTTP gateway, served by real uvicorn processes and called over real sockets.

Each server is started exactly as the seed documents it
(``python -m uvicorn canopy.service:app --port N`` with the configuration in
the environment), on its own ledger; results are checked in that ledger.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from canopy import CanopyPermissionError, guard_tool_http
from canopy.gateway.auth import Refusal, authenticate
from canopy.gateway.settings import GatewaySettings, SettingsError, key_fingerprint
from canopy.ledger.events import event_signature_message
from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

KEY = "gateway-test-key-" + "k" * 24
OTHER_KEY = "gateway-other-key-" + "o" * 24
STRIPE = {"url": "https://api.stripe.com/v1/payouts"}
AGENT = {"public_key": "pk-agent-001", "created_at": "2026-01-01T00:00:00Z"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Gateway:
    url: str
    ledger: Path
    process: subprocess.Popen[str]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = KEY,
        header: str = "Authorization",
        raw: bytes | None = None,
        accept: str = "application/json",
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {"Accept": accept}
        if key is not None:
            headers[header] = f"Bearer {key}" if header == "Authorization" else key
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as e:
            status, payload, got = e.code, e.read(), dict(e.headers)
        text = payload.decode()
        if got.get("content-type", "").startswith("application/json"):
            return status, json.loads(text), got
        return status, text, got

    def authorize(self, action_type: str, payload: dict[str, Any], **ctx: Any) -> dict[str, Any]:
        status, result, _ = self.call(
            "POST",
            "/v1/authorize",
            {"agent_ctx": {**AGENT, **ctx}, "action_type": action_type, "action_payload": payload},
        )
        assert status == 200, result
        return result


def start_gateway(tmp_path: Path, env: dict[str, str], host: str = "127.0.0.1") -> Gateway:
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    ledger = tmp_path / "gateway.log"
    full_env = {**os.environ, "CANOPY_AUDIT_LOG_PATH": str(ledger), **env}
    for name in ("CANOPY_API_KEYS", "CANOPY_ALLOW_INSECURE_GATEWAY"):
        if name not in env:
            full_env.pop(name, None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "canopy.service:app",
            "--host",
            host,
            "--port",
            str(port),
        ],
        env=full_env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"gateway exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return Gateway(url, ledger, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("gateway did not start in 30 s")


def stop(gateway: Gateway) -> None:
    gateway.process.terminate()
    try:
        gateway.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        gateway.process.wait()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    started = start_gateway(
        tmp_path_factory.mktemp("gateway"),
        {"CANOPY_API_KEYS": f"{KEY}, {OTHER_KEY}", "CANOPY_GATEWAY_MAX_BODY_BYTES": "65536"},
    )
    yield started
    stop(started)


def ledger_view(gateway: Gateway) -> Ledger:
    return Ledger(gateway.ledger, read_only=True)


# --- deciding ------------------------------------------------------------------


def test_authorize_records_the_decision_in_the_gateway_ledger(gateway: Gateway) -> None:
    result = gateway.authorize("execute_shell", {"command": "rm -r -f /"}, trace_id="t-deny")
    assert result["decision"] == "DENY"
    assert result["trace_id"] == "t-deny"
    with ledger_view(gateway) as ledger:
        (event,) = ledger.find(authorization_id=result["authorization_id"])
        assert event.kind == "authorization"
        assert event.fields["decision"] == "DENY"
        assert event.seq == result["witness"]["seq"]
        assert base64.b64decode(result["witness"]["signature"]) == event.signature


def test_seed_example_through_the_gateway(gateway: Gateway) -> None:
    result = gateway.authorize("call_external_api", STRIPE, trace_id="trace-abc123")
    assert result["decision"] == "REQUIRE_APPROVAL"
    assert result["trace_id"] == "trace-abc123"
    assert result["avid"].startswith("AVID-")
    assert result["policy_snapshot"]["policy_hash"]


def test_guard_tool_http_runs_only_what_the_gateway_allows(gateway: Gateway) -> None:
    ran: list[str] = []

    @guard_tool_http(
        action_type="execute_shell", agent_ctx=dict(AGENT), gateway_url=gateway.url, api_key=KEY
    )
    def shell(command: str) -> str:
        ran.append(command)
        return "done"

    assert shell(command="ls -la") == "done"
    with pytest.raises(CanopyPermissionError):
        shell(command="rm -fr /")
    assert ran == ["ls -la"]


def test_concurrent_clients_get_one_event_each(gateway: Gateway) -> None:
    with ledger_view(gateway) as ledger:
        before = ledger.size()
    ids: list[str] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        for i in range(15):
            result = gateway.authorize("read_file", {"path": f"/tmp/{n}-{i}.txt"})
            with lock:
                ids.append(result["authorization_id"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 60
    with ledger_view(gateway) as ledger:
        assert ledger.size() >= before + 60
        for authorization_id in ids[:5]:
            assert len(ledger.find(authorization_id=authorization_id)) == 1
    assert verify_ledger(gateway.ledger).ok


# --- access --------------------------------------------------------------------


def test_keys_are_required_and_checked(gateway: Gateway) -> None:
    body = {"action_type": "execute_shell", "action_payload": {"command": "ls"}}
    status, error, headers = gateway.call("POST", "/v1/authorize", body, key=None)
    assert (status, error["error"]["code"]) == (401, "missing_api_key")
    assert headers.get("www-authenticate", "").startswith("Bearer")
    status, error, _ = gateway.call("POST", "/v1/authorize", body, key=KEY + "x")
    assert (status, error["error"]["code"]) == (401, "invalid_api_key")
    status, result, _ = gateway.call(
        "POST", "/v1/authorize", body, key=OTHER_KEY, header="X-API-Key"
    )
    assert status == 200 and result["decision"] in {"ALLOW", "REQUIRE_APPROVAL"}
    for path in ("/v1/agents", "/v1/audit", "/v1/dashboard", "/v1/approvals"):
        assert gateway.call("GET", path, key=None)[0] == 401, path
    status, health, _ = gateway.call("GET", "/healthz", key=None)
    assert status == 200 and set(health) == {"status", "version"}


def test_no_keys_means_refusal_unless_local_only_mode(tmp_path: Path) -> None:
    body = {"action_type": "execute_shell", "action_payload": {"command": "ls"}}
    closed = start_gateway(tmp_path / "closed", {})
    try:
        status, error, _ = closed.call("POST", "/v1/authorize", body, key=None)
        assert (status, error["error"]["code"]) == (503, "gateway_not_configured")
        assert "CANOPY_API_KEYS" in error["error"]["message"]
    finally:
        stop(closed)
    local = start_gateway(tmp_path / "local", {"CANOPY_ALLOW_INSECURE_GATEWAY": "true"})
    try:
        status, result, _ = local.call("POST", "/v1/authorize", body, key=None)
        assert status == 200 and result["authorization_id"]
    finally:
        stop(local)


def test_local_only_mode_refuses_other_hosts() -> None:
    settings = GatewaySettings(Path("unused"), allow_insecure=True)
    assert authenticate(settings, {}, "127.0.0.1").name == "local-insecure"
    assert authenticate(settings, {}, "::1").name == "local-insecure"
    for host in ("10.1.2.3", "192.168.0.7", "2001:db8::1", None, "not-an-ip"):
        with pytest.raises(Refusal) as refused:
            authenticate(settings, {}, host)
        assert refused.value.status == 403


def test_settings_refuse_weak_or_unclear_configuration(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="too short"):
        GatewaySettings.from_env({"CANOPY_API_KEYS": "short"})
    with pytest.raises(SettingsError, match="true or false"):
        GatewaySettings.from_env({"CANOPY_ALLOW_INSECURE_GATEWAY": "maybe"})
    with pytest.raises(SettingsError, match="at least 1024"):
        GatewaySettings.from_env({"CANOPY_GATEWAY_MAX_BODY_BYTES": "10"})
    settings = GatewaySettings.from_env({"CANOPY_API_KEYS": f" {KEY} ,, {OTHER_KEY} "})
    assert sorted(settings.api_key_digests.values()) == sorted(
        [key_fingerprint(KEY), key_fingerprint(OTHER_KEY)]
    )


def test_a_short_key_stops_the_server_at_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "canopy.service:app", "--port", str(free_port())],
        env={
            **os.environ,
            "CANOPY_API_KEYS": "abc",
            "CANOPY_AUDIT_LOG_PATH": str(tmp_path / "a.log"),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "CANOPY_API_KEYS" in result.stderr and "too short" in result.stderr


# --- malformed requests ----------------------------------------------------------


def test_malformed_requests_are_refused_and_nothing_is_recorded(gateway: Gateway) -> None:
    with ledger_view(gateway) as ledger:
        before = ledger.size()
    cases = [
        {"action_type": "execute_shell", "payload": {"command": "ls"}},  # unknown key
        {"action_type": 7, "action_payload": {}},
        {"action_payload": {"command": "ls"}},
        {"action_type": "execute_shell", "action_payload": ["rm", "-rf", "/"]},
    ]
    for body in cases:
        status, error, _ = gateway.call("POST", "/v1/authorize", body)
        assert (status, error["error"]["code"]) == (422, "invalid_request"), body
    status, error, _ = gateway.call("POST", "/v1/authorize", raw=b"{not json")
    assert status == 422
    with ledger_view(gateway) as ledger:
        assert ledger.size() == before


def test_bodies_over_the_limit_are_refused(gateway: Gateway) -> None:
    big = {"action_type": "write_file", "action_payload": {"content": "x" * 70_000}}
    status, error, _ = gateway.call("POST", "/v1/authorize", big)
    assert (status, error["error"]["code"]) == (413, "body_too_large")
    # Without Content-Length (chunked), the body is counted as it arrives.
    host, port = gateway.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    data = json.dumps(big).encode()
    chunks = (data[i : i + 8192] for i in range(0, len(data), 8192))
    conn.request(
        "POST",
        "/v1/authorize",
        body=chunks,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "body_too_large"
    conn.close()


# --- agents ----------------------------------------------------------------------


def test_agent_registration_is_recorded_once(gateway: Gateway) -> None:
    identity = {"public_key": "pk-register-me", "created_at": "2026-02-01T00:00:00Z"}
    status, first, _ = gateway.call(
        "POST", "/v1/agents/register", {**identity, "metadata": {"team": "payments"}}
    )
    assert status == 201 and first["created"] is True
    avid = first["agent"]["avid"]
    assert first["agent"]["registered_by"] == key_fingerprint(KEY)
    # Same instant written differently: the same agent, not a second registration.
    again = {
        "agent_ctx": {"public_key": "pk-register-me", "created_at": "2026-02-01T00:00:00+00:00"}
    }
    status, second, _ = gateway.call("POST", "/v1/agents/register", again)
    assert status == 200 and second["created"] is False
    assert second["agent"]["registration_seq"] == first["agent"]["registration_seq"]
    with ledger_view(gateway) as ledger:
        events = ledger.find(avid=avid, kind="agent_registered")
        assert len(events) == 1
        assert events[0].fields["metadata"] == {"team": "payments"}
    # Its decisions show in its activity.
    gateway.authorize("execute_shell", {"command": "rm -fr /"}, **identity)
    gateway.authorize("execute_shell", {"command": "ls"}, **identity)
    status, listing, _ = gateway.call("GET", "/v1/agents")
    assert status == 200
    (mine,) = [a for a in listing["agents"] if a["avid"] == avid]
    assert mine["registered"] is True
    assert mine["activity"]["decisions"]["DENY"] == 1
    assert mine["activity"]["events"] == 3  # registration + two authorizations


def test_agents_listing_can_include_unregistered_agents(gateway: Gateway) -> None:
    result = gateway.authorize("execute_shell", {"command": "ls"}, public_key="pk-never-registered")
    _status, registered_only, _ = gateway.call("GET", "/v1/agents")
    assert result["avid"] not in {a["avid"] for a in registered_only["agents"]}
    _status, everyone, _ = gateway.call("GET", "/v1/agents?include_unregistered=true")
    (seen,) = [a for a in everyone["agents"] if a["avid"] == result["avid"]]
    assert seen["registered"] is False and seen["activity"]["events"] >= 1


def test_registration_needs_an_identity(gateway: Gateway) -> None:
    for body in ({"env": "production"}, {"public_key": ""}, {"agent_ctx": "pk"}, {"name": 5}):
        status, error, _ = gateway.call("POST", "/v1/agents/register", body)
        assert (status, error["error"]["code"]) == (422, "malformed_request"), body


# --- audit ---------------------------------------------------------------------------


def test_audit_filters_and_pages_cover_every_event_once(gateway: Gateway) -> None:
    trace = "t-audit-pages"
    made = [
        gateway.authorize("execute_shell", {"command": f"echo {i}"}, trace_id=trace)[
            "authorization_id"
        ]
        for i in range(7)
    ]
    seen: list[dict[str, Any]] = []
    after = -1
    while True:
        status, page, _ = gateway.call("GET", f"/v1/audit?trace_id={trace}&limit=3&after={after}")
        assert status == 200
        seen += page["events"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert [e["fields"]["authorization_id"] for e in seen] == made
    assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
    # Each event verifies with the ledger's public key alone.
    with ledger_view(gateway) as ledger:
        verifier, origin = ledger.verifier, ledger.origin
    for event in seen:
        message = event_signature_message(origin, event["seq"], bytes.fromhex(event["leaf_hash"]))
        assert verifier.verify(message, base64.b64decode(event["signature"]))
    forged = event_signature_message(
        origin, seen[0]["seq"] + 1, bytes.fromhex(seen[0]["leaf_hash"])
    )
    assert not verifier.verify(forged, base64.b64decode(seen[0]["signature"]))


def test_audit_filters_combine(gateway: Gateway) -> None:
    trace = "t-audit-filters"
    gateway.authorize("execute_shell", {"command": "rm -rf /"}, trace_id=trace)
    gateway.authorize("execute_shell", {"command": "ls"}, trace_id=trace)
    gateway.authorize("call_external_api", STRIPE, trace_id=trace)
    status, page, _ = gateway.call(
        "GET", f"/v1/audit?trace_id={trace}&decision=DENY&decision=REQUIRE_APPROVAL"
    )
    assert status == 200
    assert sorted(e["fields"]["decision"] for e in page["events"]) == ["DENY", "REQUIRE_APPROVAL"]
    status, page, _ = gateway.call("GET", f"/v1/audit?trace_id={trace}&kind=approval")
    assert page["events"] == []
    status, page, _ = gateway.call("GET", f"/v1/audit?trace_id={trace}&since=1h&until=2999-01-01")
    assert page["count"] == 3


def test_audit_rejects_bad_parameters(gateway: Gateway) -> None:
    for query in ("limit=0", "limit=5000", "after=-5", "since=yesterday-ish", "after=x"):
        status, error, _ = gateway.call("GET", f"/v1/audit?{query}")
        assert status == 422, (query, error)
    # Filter values are bound parameters, never SQL.
    status, page, _ = gateway.call("GET", "/v1/audit?kind=x'%20OR%20'1'='1")
    assert status == 200 and page["events"] == []


# --- approvals -----------------------------------------------------------------------


def test_approval_flow_over_http(gateway: Gateway) -> None:
    pending = gateway.authorize("call_external_api", STRIPE, trace_id="t-approve")
    authorization_id = pending["authorization_id"]
    status, listing, _ = gateway.call("GET", "/v1/approvals")
    assert authorization_id in {p["authorization_id"] for p in listing["pending"]}
    decision = {"authorization_id": authorization_id, "approved": True, "approver": "alice"}
    status, record, _ = gateway.call("POST", "/v1/approvals/decide", {**decision, "reason": "ok"})
    assert status == 200 and record["approved"] is True
    with ledger_view(gateway) as ledger:
        (approval,) = [
            e for e in ledger.find(authorization_id=authorization_id) if e.kind == "approval"
        ]
        assert approval.fields["approver"] == "alice"
        assert approval.fields["via"] == key_fingerprint(KEY)
    status, listing, _ = gateway.call("GET", "/v1/approvals")
    assert authorization_id not in {p["authorization_id"] for p in listing["pending"]}
    status, error, _ = gateway.call("POST", "/v1/approvals/decide", decision)
    assert (status, error["error"]["code"]) == (409, "already_decided")


def test_approval_refusals(gateway: Gateway) -> None:
    denied = gateway.authorize("execute_shell", {"command": "rm -rf /"})
    cases = [
        ({"authorization_id": "auth-nope", "approved": True, "approver": "a"}, 404),
        ({"authorization_id": denied["authorization_id"], "approved": True, "approver": "a"}, 409),
        ({"authorization_id": denied["authorization_id"], "approved": "yes", "approver": "a"}, 422),
        ({"authorization_id": denied["authorization_id"], "approved": False, "approver": " "}, 422),
    ]
    for body, expected in cases:
        status, error, _ = gateway.call("POST", "/v1/approvals/decide", body)
        assert status == expected, (body, error)


# --- dashboard -----------------------------------------------------------------------


def test_dashboard_html_and_json_agree_and_escape(gateway: Gateway) -> None:
    gateway.authorize("<b>evil</b>", {"command": "rm -rf /"})
    status, report, _ = gateway.call("GET", "/v1/dashboard?format=json")
    assert status == 200
    with ledger_view(gateway) as ledger:
        size = ledger.size()
    assert report["events"] == size
    assert report["integrity"]["ok"] is True
    assert report["by_decision"]["DENY"] >= 1
    status, page, headers = gateway.call("GET", "/v1/dashboard", accept="text/html")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "<b>evil" not in page and "&lt;b&gt;evil&lt;/b&gt;" in page
    assert f'<td class="num">{report["by_decision"]["DENY"]}</td>' in page
    assert "Pending approvals" in page


def test_seed_shaped_approval_requests_work(gateway: Gateway) -> None:
    """canopy-runtime 0.4.2 clients send decision/decided_by/avid/tenant_id."""
    first = gateway.authorize("call_external_api", STRIPE, trace_id="t-seed-approval")
    second = gateway.authorize("call_external_api", STRIPE, trace_id="t-seed-approval")
    seed_form = {
        "tenant_id": "default",
        "authorization_id": first["authorization_id"],
        "avid": first["avid"],
        "decision": "REJECTED",
        "decided_by": "bob",
        "reason": "not today",
    }
    status, record, _ = gateway.call("POST", "/v1/approvals/decide", seed_form)
    assert status == 200 and record["approved"] is False and record["approver"] == "bob"
    wrong_agent = {**seed_form, "authorization_id": second["authorization_id"], "avid": "AVID-0"}
    status, error, _ = gateway.call("POST", "/v1/approvals/decide", wrong_agent)
    assert (status, error["error"]["code"]) == (409, "avid_mismatch")
    mixed = {**seed_form, "authorization_id": second["authorization_id"], "approved": True}
    assert gateway.call("POST", "/v1/approvals/decide", mixed)[0] == 422
    with ledger_view(gateway) as ledger:
        decided = [e for e in ledger.find(authorization_id=second["authorization_id"])]
        assert [e.kind for e in decided] == ["authorization"]  # refusals recorded nothing


def test_agents_listing_honours_limit(gateway: Gateway) -> None:
    for n in range(3):
        gateway.call("POST", "/v1/agents/register", {"agent_id": f"limit-agent-{n}"})
    status, page, _ = gateway.call("GET", "/v1/agents?limit=2&tenant_id=default")
    assert status == 200 and len(page["agents"]) == 2 and page["count"] >= 3
