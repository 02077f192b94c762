"""Where a client connects: the server named by its options, operands and environment.

Why: ``curl http://127.0.0.1:6379`` and ``nc 127.0.0.1 6379`` are refused (Constitution
Art.0: requests to loopback, private, link-local and metadata addresses), so
``redis-cli -h 127.0.0.1 flushall``, ``psql postgresql://u@169.254.169.254/db``,
``DOCKER_HOST=tcp://10.0.0.1:2375 docker ps`` or ``kubectl --server https://10.0.0.1``
must be too. Each client below says how it names its server; the server becomes a URL
fact of the analysis (``//HOST:PORT``, scheme-less like ``telnet``'s, so only the host is
judged, exactly as the host of a curl request is). A client given no server uses its local
default (a UNIX socket, or the kubeconfig) and is left as it was; so is a socket path
(``psql -h /var/run/postgresql``, ``unix:///var/run/docker.sock``) and MySQL's
``localhost``, which is its socket.

Only variables the client itself reads count: ``PGHOST``, ``MYSQL_HOST``, ``DOCKER_HOST``,
``VAULT_ADDR``, a proxy for curl... An application's own setting (``REDIS_URL``,
``DATABASE_URL`` for ``python app.py``) is not a connection this command makes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from canopy.decisions.analyzers.shell_containers import ENGINE_OPTIONS, KUBE_OPTIONS
from canopy.decisions.analyzers.shell_options import Parsed, parse_options
from canopy.decisions.analyzers.shell_programs import OptionSpec, opts
from canopy.decisions.analyzers.shell_words import Word

if TYPE_CHECKING:
    from canopy.decisions.analyzers.shell_rules import Call

__all__ = ["CLIENTS", "record_server", "rule_client_endpoints"]


@dataclass(frozen=True, slots=True)
class Client:
    """How one client names the server it connects to.

    ``hosts``/``ports``/``urls``: option keys (as parsed with ``spec``) whose value is a
    host (or a comma list, ``host:port`` allowed), its port, or a URL/URI (or a list);
    ``names``: options read like ``uri`` operands (``psql -d DBNAME-OR-URI``).
    ``operands``: how operands name the server: ``uri`` (only those with a scheme, or a
    PostgreSQL ``host=...`` string), ``address`` (also ``HOST[:PORT]/DB``), ``host`` (the
    first operand is ``[USER@]HOST[:PORT]``, the second a port), ``unc`` (``//HOST/SHARE``).
    ``env_*``: the same, from variables set in the command. ``go_flags``: options are Go's
    ``-name=value`` (a single dash before a long name).
    """

    spec: OptionSpec | None = None
    hosts: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    operands: str = ""
    env_hosts: tuple[str, ...] = ()
    env_ports: tuple[str, ...] = ()
    env_urls: tuple[str, ...] = ()
    socket_host: str = ""  # a host name that means the local socket (MySQL's "localhost")
    go_flags: bool = False


_PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
_POSTGRES = Client(
    spec=opts(
        "cdfhpUvFLoPRTnNtjZE",
        "command dbname file host port username set variable output schema table jobs",
    ),
    hosts=("h", "host"),
    ports=("p", "port"),
    names=("d", "dbname"),
    operands="uri",
    env_hosts=("PGHOST", "PGHOSTADDR"),
    env_ports=("PGPORT",),
)
_MYSQL = Client(
    spec=opts(
        "eDhPSur",
        "execute database host port socket user pager tee init-command result-file protocol",
        optional="p",
    ),
    hosts=("h", "host"),
    ports=("P", "port"),
    env_hosts=("MYSQL_HOST",),
    env_ports=("MYSQL_TCP_PORT",),
    socket_host="localhost",
)
_REDIS = Client(
    spec=opts("hpsaunridDt", "user pass sni cacert cacertdir cert key"),
    hosts=("h",),
    ports=("p",),
    urls=("u",),
)
_MONGO_TOOL = Client(
    spec=opts("hpudcoqf", "host port uri username password db collection out query file"),
    hosts=("h", "host"),
    ports=("port",),
    urls=("uri",),
)
_CONTAINERS = Client(
    spec=ENGINE_OPTIONS,
    urls=("H", "host", "url"),
    env_urls=("DOCKER_HOST", "CONTAINER_HOST"),
)
_KUBE = Client(spec=KUBE_OPTIONS, urls=("s", "server"))
_LDAP = Client(
    spec=opts("abDdeEfHhlmoOpPsSTwyYzRUX"),
    hosts=("h",),
    ports=("p",),
    urls=("H",),
    env_hosts=("LDAPHOST",),
    env_ports=("LDAPPORT",),
    env_urls=("LDAPURI",),
)
_HTTP_PROXIED = Client(env_urls=_PROXY_VARS)


def _each(names: str, client: Client) -> dict[str, Client]:
    """Several programs (space-separated) that name their server the same way."""
    return dict.fromkeys(names.split(), client)


#: Clients by program family.
CLIENTS: Mapping[str, Client] = MappingProxyType(
    {
        **_each(
            "psql pg_dump pg_dumpall pg_restore pg_isready pg_basebackup createdb dropdb "
            "createuser dropuser vacuumdb reindexdb clusterdb pgbench",
            _POSTGRES,
        ),
        **_each(
            "mysql mariadb mysqldump mariadb-dump mysqladmin mysqlshow mysqlcheck mysqlimport "
            "mysqlslap mysqlbinlog mysqlpump",
            _MYSQL,
        ),
        **_each("redis-cli valkey-cli keydb-cli", _REDIS),
        **_each(
            "mongosh mongo",
            Client(
                spec=opts("upf", "host port username password eval file authenticationDatabase"),
                hosts=("host",),
                ports=("port",),
                operands="address",
            ),
        ),
        **_each(
            "mongodump mongorestore mongoexport mongoimport mongostat mongotop mongofiles",
            _MONGO_TOOL,
        ),
        **_each("docker podman nerdctl docker-compose", _CONTAINERS),
        **_each("kubectl oc", _KUBE),
        "helm": Client(
            spec=opts("nfo", "kube-apiserver kube-context namespace values set version repo"),
            urls=("kube-apiserver",),
            env_urls=("HELM_KUBEAPISERVER",),
        ),
        **_each(
            "ldapsearch ldapmodify ldapadd ldapdelete ldapwhoami ldappasswd ldapcompare "
            "ldapmodrdn ldapexop",
            _LDAP,
        ),
        "smbclient": Client(
            spec=opts("ILpUWAnsdDmtcMTbRlO", "port user workgroup authentication-file"),
            hosts=("I", "L", "M"),
            ports=("p", "port"),
            operands="unc",
        ),
        "rpcclient": Client(spec=opts("IpUWAsdcnlR"), hosts=("I",), ports=("p",), operands="host"),
        "smbget": Client(operands="uri"),
        "lftp": Client(spec=opts("upefc"), ports=("p",), operands="host"),
        "sftp": Client(spec=opts("BbcDFiJloPRS"), ports=("P",), operands="host"),
        "ssh-copy-id": Client(spec=opts("ipoFt"), ports=("p",), operands="host"),
        "cqlsh": Client(
            spec=opts("ukpfe", "username password keyspace file execute cqlshrc"),
            operands="host",
        ),
        "clickhouse-client": Client(
            spec=opts("hdqumf", "host port user password query database"),
            hosts=("h", "host"),
            ports=("port",),
        ),
        "vault": Client(
            spec=opts("", "address"), urls=("address",), env_urls=("VAULT_ADDR",), go_flags=True
        ),
        "consul": Client(
            spec=opts("", "http-addr"),
            urls=("http-addr",),
            env_urls=("CONSUL_HTTP_ADDR",),
            go_flags=True,
        ),
        "nomad": Client(
            spec=opts("", "address"), urls=("address",), env_urls=("NOMAD_ADDR",), go_flags=True
        ),
        "etcdctl": Client(
            spec=opts("", "endpoints"), urls=("endpoints",), env_urls=("ETCDCTL_ENDPOINTS",)
        ),
        "grpcurl": Client(
            spec=opts(
                "dH",
                "proto import-path protoset authority servername cacert cert key rpc-header "
                "reflect-header connect-timeout max-time format user-agent",
            ),
            operands="hostport",
            go_flags=True,
        ),
        "wscat": Client(spec=opts("cHpos", "connect header"), urls=("c", "connect")),
        "websocat": Client(operands="uri"),
        "aws": Client(
            spec=opts("", "endpoint-url profile region output query"),
            urls=("endpoint-url",),
            env_urls=("AWS_ENDPOINT_URL",),
        ),
        **_each(
            "pip pip3",
            Client(
                spec=opts("ifc", "index-url extra-index-url find-links constraint"),
                urls=("i", "index-url", "extra-index-url"),
                env_urls=("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", *_PROXY_VARS),
            ),
        ),
        "npm": Client(
            spec=opts("w", "registry prefix workspace"),
            urls=("registry",),
            env_urls=("npm_config_registry", "NPM_CONFIG_REGISTRY"),
        ),
        **_each("curl wget aria2c http https xh xhs lynx git", _HTTP_PROXIED),
    }
)
#: URL schemes that name a local socket, not a host.
_SOCKET_SCHEMES = frozenset({"unix", "npipe", "ldapi", "fd"})


def rule_client_endpoints(call: Call) -> None:
    """Record the server the client connects to as URL facts (``//HOST:PORT``)."""
    client = CLIENTS.get(call.name)
    if client is None:
        return
    parsed = _parse(call, client)
    port = _first(_option_values(parsed, client.ports) + _env_values(call, client.env_ports))
    servers: list[tuple[str, str]] = []
    for text in _option_values(parsed, client.hosts) + _env_values(call, client.env_hosts):
        servers += _host_list(text, port)
    for text in _option_values(parsed, client.urls) + _env_values(call, client.env_urls):
        servers += _uri_servers(text, port)
    servers += _operand_servers(client.operands, parsed.operands, port)
    named = [w for key in client.names for w in parsed.value_words.get(key, ())]
    servers += _operand_servers("uri", named, port)
    tcp = not client.socket_host or _protocol_tcp(parsed)
    for host, server_port in servers:
        if host and not host.startswith("/") and (tcp or host != client.socket_host):
            call.out.path("urls", _url(host, server_port))


def record_server(call: Call, text: str) -> None:
    """A server named in a tool's configuration (``git -c http.proxy=URL``)."""
    for host, port in _uri_servers(text, ""):
        if host and not host.startswith("/"):
            call.out.path("urls", _url(host, port))


def _parse(call: Call, client: Client) -> Parsed:
    if client.spec is None:
        return Parsed()
    if not client.go_flags:
        return parse_options(call.args, client.spec)
    return parse_options([_go_flag(w) for w in call.args], client.spec)


def _go_flag(word: Word) -> Word:
    """Go's ``-plaintext``/``-proto=F`` are long options; ``-d`` stays short."""
    text = word.text
    if text.startswith("-") and not text.startswith("--") and len(text.partition("=")[0]) > 2:
        return Word("-" + text, word.exact, word.resolved, word.glob, word.labels)
    return word


def _option_values(parsed: Parsed, keys: Sequence[str]) -> list[str]:
    return [w.text for key in keys for w in parsed.value_words.get(key, ()) if w.resolved]


def _env_values(call: Call, names: Sequence[str]) -> list[str]:
    env = call.scope.env
    return [env[name].text for name in names if name in env and env[name].resolved]


def _first(values: list[str]) -> str:
    return next((v for v in values if v.isdigit()), "")


def _protocol_tcp(parsed: Parsed) -> bool:
    return (parsed.value("protocol") or "").lower() == "tcp"


def _host_list(text: str, port: str) -> list[tuple[str, str]]:
    """``h1,h2:5433``, ``rs0/h1:27017,h2`` (a MongoDB replica set), ``[::1]:6379``."""
    servers = []
    for item in text.replace(" ", ",").split(","):
        item = item.strip()
        if not item or item.startswith("/"):
            continue  # a socket directory or path
        servers.append(_host_port(item.rpartition("/")[2], port))
    return servers


def _host_port(text: str, port: str) -> tuple[str, str]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT``, ``USER@HOST``; a bare IPv6 stays whole."""
    text = text.rpartition("@")[2]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, rest.lstrip(":") or port
    if text.count(":") == 1:
        host, _, maybe_port = text.partition(":")
        return host, maybe_port if maybe_port.isdigit() else port
    return text, port


def _uri_servers(text: str, port: str) -> list[tuple[str, str]]:
    """Servers of a URI (``mongodb://u:p@h1,h2/db``, ``tcp://h:2375``, ``postgresql:///db
    ?host=h``), a list of them (LDAP's ``-H 'ldap://a ldap://b'``), a PostgreSQL
    ``host=... port=...`` string, or a scheme-less ``HOST:PORT`` (``docker -H``)."""
    servers: list[tuple[str, str]] = []
    for item in _URI_LIST.split(text.strip()) if "://" in text else [text]:
        servers += _one_uri(item, port)
    return servers


#: Between the URIs of a list: spaces or commas followed by the next scheme (commas inside
#: one URI separate its hosts: ``mongodb://h1,h2/db``).
_URI_LIST = re.compile(r"[\s,]+(?=[A-Za-z][\w+.-]*://)|\s+")


def _one_uri(text: str, port: str) -> list[tuple[str, str]]:
    scheme, sep, rest = text.partition("://")
    if not sep:
        return _conninfo(text) if "=" in text else _host_list(text, port)
    if scheme.lower() in _SOCKET_SCHEMES:
        return []
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    servers = [_host_port(item, port) for item in netloc.rpartition("@")[2].split(",") if item]
    query = parse_qs(tail.partition("?")[2])
    query_port = next(iter(query.get("port", ())), port)
    for key in ("host", "hostaddr"):
        for value in query.get(key, ()):
            servers += _host_list(value, query_port)
    return servers


def _conninfo(text: str) -> list[tuple[str, str]]:
    """libpq's ``host=10.0.0.5 port=5433 dbname=app``."""
    fields = dict(item.partition("=")[::2] for item in text.split() if "=" in item)
    port = fields.get("port", "")
    return [
        server
        for key in ("host", "hostaddr")
        if key in fields
        for server in _host_list(fields[key], port)
    ]


def _operand_servers(mode: str, operands: Iterable[Word], port: str) -> list[tuple[str, str]]:
    words = [w.text for w in operands if w.resolved]
    if not mode or not words:
        return []
    if mode == "host":
        first = words[0]
        if "://" in first:
            return _uri_servers(first, port)
        second = words[1] if len(words) > 1 and words[1].isdigit() else port
        return [_host_port(first, second)]
    if mode == "hostport":
        return _host_list(words[0], port) if words[0] not in ("list", "describe") else []
    if mode == "unc":
        return [_unc_host(w, port) for w in words if w.startswith(("//", "\\\\"))]
    servers: list[tuple[str, str]] = []
    for text in words:
        if "://" in text or (mode == "uri" and "=" in text):
            servers += _uri_servers(text, port)
        elif mode == "address" and _has_host(text):
            servers += _host_list(text.partition("/")[0], port)
    return servers


def _has_host(text: str) -> bool:
    """A mongo shell's ``HOST[:PORT]/DB`` or ``HOST:PORT`` (a bare word is a database)."""
    return ("/" in text or ":" in text) and not text.startswith(("/", ".", "-"))


def _unc_host(text: str, port: str) -> tuple[str, str]:
    """``//HOST/SHARE`` or ``\\\\HOST\\SHARE``."""
    return _host_port(text.replace("\\", "/").lstrip("/").partition("/")[0], port)


def _url(host: str, port: str) -> str:
    if ":" in host:
        host = f"[{host}]"
    return f"//{host}:{port}" if port else f"//{host}"
