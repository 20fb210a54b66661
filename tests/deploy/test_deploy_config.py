"""Static checks of the deployment files: docker-compose wiring, Prometheus scrape
config and alert rules, Grafana provisioning and dashboard, Dockerfile.

The promtool checks need `promtool` on PATH (Debian package `prometheus`, see
scripts/install-promtool.sh). Without it they are skipped, unless CI is set, in
which case they fail: CI is expected to install it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
PROMETHEUS_FILE = REPO / "config" / "prometheus.yml"
ALERTS_FILE = REPO / "config" / "prometheus" / "alerts.yml"
GRAFANA_DIR = REPO / "config" / "grafana"
DATASOURCE_FILE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = GRAFANA_DIR / "provisioning" / "dashboards" / "dashboards.yml"
DASHBOARD_FILE = GRAFANA_DIR / "dashboards" / "streamer.json"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
INSTALL_PROMTOOL = REPO / "scripts" / "install-promtool.sh"

DEFAULT_METRICS_PORT = 9108
STREAMER_JOB = "streamer"

# The service's metric contract (all prefixed streamer_), by type.
COUNTERS = {
    "streamer_messages_consumed_total",
    "streamer_articles_total",
    "streamer_deadletters_total",
    "streamer_prepared_total",
    "streamer_recovery_records_total",
    "streamer_commits_total",
    "streamer_rebalances_total",
}
GAUGES = {
    "streamer_index_size",
    "streamer_consumer_lag",
    "streamer_recovery_in_progress",
    "streamer_recovery_seconds",
    "streamer_ready",
    "streamer_build_info",
    "streamer_standby_lag_records",
}
HISTOGRAMS = {
    "streamer_processing_seconds",
    "streamer_batch_seconds",
    "streamer_end_to_end_seconds",
}
ALLOWED_METRICS = (
    COUNTERS
    | GAUGES
    | {f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")}
    | {"up"}
)

# Identifiers that may appear in PromQL without being metric names.
PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan",
    # aggregation operators (can be followed by `by (...)` rather than `(`)
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
    "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip

# Grafana template variables are not PromQL; substitute before promtool sees them.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "${__rate_interval}": "1m",
    "${__interval}": "1m",
    "${__range}": "1h",
}


# --------------------------------------------------------------------------- helpers


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        out: dict[str, str] = {}
        for item in env:
            key, _, value = str(item).partition("=")
            out[key] = value
        return out
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command_args(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def role_of(service: dict[str, Any]) -> str | None:
    args = command_args(service)
    cmd_role = None
    for i, arg in enumerate(args):
        if arg == "--role" and i + 1 < len(args):
            cmd_role = args[i + 1]
        elif arg.startswith("--role="):
            cmd_role = arg.split("=", 1)[1]
    return cmd_role or env_of(service).get("STREAMER_ROLE")


def is_streamer(service: dict[str, Any]) -> bool:
    """A service running the repo's image (built from ./Dockerfile)."""
    build = service.get("build")
    if build is not None:
        context = build if isinstance(build, str) else build.get("context", ".")
        return (REPO / context).resolve() == REPO
    return str(service.get("image", "")).split(":")[0].endswith("streamer")


def parse_duration_seconds(value: str) -> float:
    total = 0.0
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value))
    assert parts, f"cannot parse duration {value!r}"
    for number, unit in parts:
        total += float(number) * units[unit]
    return total


def parse_listeners(value: str) -> dict[str, tuple[str, int]]:
    """'NAME://host:port,...' -> {NAME: (host, port)}"""
    out = {}
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, rest = item.partition("://")
        host, _, port = rest.rpartition(":")
        out[name] = (host, int(port))
    return out


def mounts_of(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """[(type, source, target)] with type 'bind' or 'volume'."""
    out = []
    for vol in service.get("volumes") or []:
        if isinstance(vol, dict):
            out.append((vol.get("type", "volume"), str(vol.get("source", "")), vol["target"]))
            continue
        parts = str(vol).split(":")
        source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        out.append((kind, source, target))
    return out


def host_path(source: str) -> Path:
    return (REPO / source).resolve()


def bind_source_for(service: dict[str, Any], container_path: str) -> Path | None:
    """Host path that provides container_path in this service (file or within a dir)."""
    best: tuple[int, Path] | None = None
    for kind, source, target in mounts_of(service):
        if kind != "bind":
            continue
        target = target.rstrip("/")
        if container_path == target or container_path.startswith(target + "/"):
            rel = container_path[len(target) :].lstrip("/")
            candidate = host_path(source) / rel if rel else host_path(source)
            if best is None or len(target) > best[0]:
                best = (len(target), candidate)
    return best[1] if best else None


_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING_RE = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.IGNORECASE
)
_IDENT_RE = re.compile(r"(?<![\w.:$])([A-Za-z_:][\w:]*)")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (regex-based, good enough
    for the expressions in this repo: strings, label matchers, ranges, grouping
    clauses and function/aggregation names are stripped first)."""
    s = _STRING_RE.sub('""', expr)
    # label matchers, including ones holding strings/template variables
    s = re.sub(r"\{[^}]*\}", " ", s)
    # range / subquery selectors
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = _GROUPING_RE.sub(" ", s)
    names = set()
    for match in _IDENT_RE.finditer(s):
        name = match.group(1)
        rest = s[match.end() :].lstrip()
        if rest.startswith("("):  # function call or aggregation
            continue
        if name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    # `{__name__="..."}` selectors
    for m in re.finditer(r'__name__\s*=\s*"([^"]+)"', expr):
        names.add(m.group(1))
    return names


def dashboard_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(dashboard_panels(panel.get("panels") or []))
    return out


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    exprs = []
    for panel in dashboard_panels(dashboard.get("panels") or []):
        for target in panel.get("targets") or []:
            if target.get("expr"):
                exprs.append(target["expr"])
    for var in (dashboard.get("templating") or {}).get("list") or []:
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if var.get("type") == "query" and isinstance(query, str) and query:
            exprs.append(query)
    return exprs


def substitute_grafana_variables(expr: str) -> str:
    for var, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(var, value)
    return expr


def alert_rules(alerts: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in alerts["groups"] for rule in group["rules"] if "alert" in rule]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def streamers(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {name: svc for name, svc in services.items() if is_streamer(svc)}
    assert found, "no streamer services (built from ./Dockerfile) in docker-compose.yml"
    return found


@pytest.fixture(scope="module")
def kafka(services: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    brokers = [
        (name, svc) for name, svc in services.items() if "KAFKA_PROCESS_ROLES" in env_of(svc)
    ]
    assert len(brokers) == 1, f"expected one Kafka broker service, got {[n for n, _ in brokers]}"
    return brokers[0]


@pytest.fixture(scope="module")
def prometheus_config() -> dict[str, Any]:
    return load_yaml(PROMETHEUS_FILE)


@pytest.fixture(scope="module")
def alerts() -> dict[str, Any]:
    return load_yaml(ALERTS_FILE)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def datasource_uid() -> str:
    provisioned = load_yaml(DATASOURCE_FILE)["datasources"]
    prom = [ds for ds in provisioned if ds["type"] == "prometheus"]
    assert len(prom) == 1
    assert prom[0].get("uid"), "provisioned Prometheus data source needs a fixed uid"
    return str(prom[0]["uid"])


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


@pytest.fixture
def promtool() -> str:
    """Path to promtool; skip without it, but fail (in the test itself) under CI."""
    path = shutil.which("promtool")
    if path is None:
        msg = (
            "promtool not on PATH; install it with scripts/install-promtool.sh "
            "(apt-get install prometheus)"
        )
        if _ci():
            return ""  # the test fails in run_promtool, reported as FAILED
        pytest.skip(msg)
    return path


def run_promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if not promtool:
        pytest.fail(
            "promtool not on PATH and CI is set: CI must install it "
            "(scripts/install-promtool.sh, i.e. apt-get install prometheus)",
            pytrace=False,
        )
    proc = subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, (
        f"promtool {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


# --------------------------------------------------------------------------- PromQL helper


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("sum by (outcome) (rate(streamer_articles_total[1m]))", {"streamer_articles_total"}),
        (
            "histogram_quantile(0.95, sum by (le) (rate(streamer_processing_seconds_bucket"
            '{job="streamer"}[$__rate_interval])))',
            {"streamer_processing_seconds_bucket"},
        ),
        ('up{job="streamer"} == 0', {"up"}),
        (
            "(sum(rate(a_total[5m])) or vector(0)) == 0 and on() b > 1e-9",
            {"a_total", "b"},
        ),
        ("deriv(sum(x)[10m:1m]) > 0 unless ignoring(instance) y offset 5m", {"x", "y"}),
        ('{__name__="streamer_ready"}', {"streamer_ready"}),
    ],
)
def test_promql_metric_name_extraction(expr: str, expected: set[str]) -> None:
    assert promql_metric_names(expr) == expected


# --------------------------------------------------------------------------- compose: kafka


def test_kafka_is_apache_image_in_kraft_mode(kafka: tuple[str, dict[str, Any]]) -> None:
    _name, svc = kafka
    image = str(svc["image"])
    assert image.startswith("apache/kafka:"), image
    major = int(image.split(":", 1)[1].split(".")[0])
    assert major >= 3
    env = env_of(svc)
    roles = {r.strip() for r in env["KAFKA_PROCESS_ROLES"].split(",")}
    assert {"broker", "controller"} <= roles
    assert env.get("KAFKA_NODE_ID")
    controller_names = env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")
    listeners = parse_listeners(env["KAFKA_LISTENERS"])
    for cname in controller_names:
        assert cname in listeners, f"controller listener {cname} not in KAFKA_LISTENERS"
    # quorum voters point at this node's controller listener
    voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    node_id, _, hostport = voters.split(",")[0].partition("@")
    assert node_id == env["KAFKA_NODE_ID"]
    assert int(hostport.rpartition(":")[2]) == listeners[controller_names[0]][1]
    # single node: internal topics must not ask for 3 replicas
    assert env.get("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR") == "1"
    assert env.get("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR") == "1"
    assert "healthcheck" in svc


def test_kafka_listeners_for_compose_and_host(kafka: tuple[str, dict[str, Any]]) -> None:
    name, svc = kafka
    env = env_of(svc)
    listeners = parse_listeners(env["KAFKA_LISTENERS"])
    advertised = parse_listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocol_map = dict(
        item.split(":", 1) for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    for lname, (_host, port) in advertised.items():
        assert lname in listeners, f"advertised listener {lname} is not bound"
        assert lname in protocol_map, f"listener {lname} has no security protocol"
        assert listeners[lname][1] == port, f"{lname}: advertised port differs from bound port"
    compose_names = {name, svc.get("hostname"), svc.get("container_name")} - {None}
    assert any(h in compose_names for h, _ in advertised.values()), (
        "no advertised listener reachable by compose service name"
    )
    host_ports = [str(p) for p in svc.get("ports") or []]
    external = [(h, p) for h, p in advertised.values() if h in {"localhost", "127.0.0.1"}]
    assert external, "no listener advertised for clients on the host (localhost)"
    for _h, port in external:
        assert any(
            hp.split(":")[-2:] == [str(port), str(port)] or hp.endswith(f":{port}")
            for hp in host_ports
        ), f"host listener port {port} not published"


def test_streamers_bootstrap_to_advertised_in_compose_listener(
    kafka: tuple[str, dict[str, Any]], streamers: dict[str, dict[str, Any]]
) -> None:
    kname, ksvc = kafka
    advertised = parse_listeners(env_of(ksvc)["KAFKA_ADVERTISED_LISTENERS"])
    compose_names = {kname, ksvc.get("hostname"), ksvc.get("container_name")} - {None}
    in_compose = {(h, p) for h, p in advertised.values() if h in compose_names}
    assert in_compose
    for name, svc in streamers.items():
        servers = env_of(svc).get("STREAMER_KAFKA__BOOTSTRAP_SERVERS")
        assert servers, f"{name}: STREAMER_KAFKA__BOOTSTRAP_SERVERS not set"
        for server in servers.split(","):
            host, _, port = server.strip().rpartition(":")
            assert (host, int(port)) in in_compose, (
                f"{name}: bootstrap {server} is not an advertised in-compose listener "
                f"{sorted(in_compose)}"
            )


def _setup_topics(svc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    script = (
        " ".join(command_args(svc))
        if isinstance(svc.get("command"), str)
        else "\n".join(str(c) for c in (svc.get("entrypoint") or []) + (svc.get("command") or []))
    )
    script = re.sub(r"\\\s*\n", " ", script)
    topics: dict[str, dict[str, Any]] = {}
    for line in script.splitlines():
        m = re.search(r"--topic\s+(\S+)", line)
        if not m:
            continue
        parts = re.search(r"--partitions\s+(\d+)", line)
        configs = dict(c.split("=", 1) for c in re.findall(r"--config\s+(\S+)", line))
        topics[m.group(1)] = {
            "partitions": int(parts.group(1)) if parts else None,
            "configs": configs,
        }
    return topics


def test_kafka_setup_creates_topics(
    services: dict[str, dict[str, Any]],
    kafka: tuple[str, dict[str, Any]],
    streamers: dict[str, dict[str, Any]],
) -> None:
    kname, ksvc = kafka
    setup = services["kafka-setup"]
    assert setup["image"] == ksvc["image"], "kafka-setup should use the broker's image"
    assert setup["depends_on"][kname]["condition"] == "service_healthy"
    assert setup.get("restart", "no") == "no"
    text = json.dumps(setup.get("command")) + json.dumps(setup.get("entrypoint"))
    assert "kafka-topics.sh" in text
    assert "--if-not-exists" in text
    advertised = parse_listeners(env_of(ksvc)["KAFKA_ADVERTISED_LISTENERS"])
    assert any(f"{h}:{p}" in text for h, p in advertised.values() if h == kname)

    topics = _setup_topics(setup)
    assert topics["news.raw"]["partitions"] >= 2
    assert topics["news.prepared"]["partitions"] == 1, "dedup needs one ordered partition"
    journal = topics["news.dedup-journal"]
    assert journal["partitions"] == 1
    assert journal["configs"].get("cleanup.policy") == "compact"
    for topic in ("news.clean", "news.duplicates", "news.deadletter"):
        assert topic in topics
    # every topic the streamers are configured with gets created
    for name, svc in streamers.items():
        for key, value in env_of(svc).items():
            if key.startswith("STREAMER_TOPICS__"):
                assert value in topics, f"{name}: {key}={value} is not created by kafka-setup"


# --------------------------------------------------------------------------- compose: streamer


def test_streamer_roles_and_replicas(streamers: dict[str, dict[str, Any]]) -> None:
    roles: dict[str, list[str]] = {}
    for name, svc in streamers.items():
        env_role = env_of(svc).get("STREAMER_ROLE")
        role = role_of(svc)
        assert role in {"all", "prepare", "dedup"}, f"{name}: role {role!r}"
        if env_role:
            assert env_role == role, f"{name}: --role and STREAMER_ROLE disagree"
        assert "deploy" not in svc or "replicas" not in svc["deploy"], (
            f"{name}: use explicit services, prometheus.yml scrapes them by name"
        )
        roles.setdefault(role, []).append(name)
    assert len(roles.get("prepare", [])) >= 2, roles
    assert len(roles.get("dedup", [])) >= 2, roles


def test_group_ids(streamers: dict[str, dict[str, Any]]) -> None:
    groups: dict[str, set[str]] = {}
    for svc in streamers.values():
        group = env_of(svc).get("STREAMER_KAFKA__GROUP_ID")
        assert group, "every replica needs an explicit STREAMER_KAFKA__GROUP_ID"
        groups.setdefault(role_of(svc) or "", set()).add(group)
    assert len(groups["dedup"]) == 1, f"dedup replicas must share one group: {groups['dedup']}"
    assert len(groups["prepare"]) == 1, f"prepare replicas must share one group: {groups}"
    assert groups["dedup"] != groups["prepare"], "prepare and dedup need distinct groups"


def test_streamer_service_runtime_settings(
    streamers: dict[str, dict[str, Any]], services: dict[str, dict[str, Any]]
) -> None:
    for name, svc in streamers.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions"
        assert deps["kafka-setup"]["condition"] == "service_completed_successfully", name
        assert svc.get("restart") == "unless-stopped", name
        assert parse_duration_seconds(svc.get("stop_grace_period", "10s")) >= 20, name
        health = json.dumps(svc.get("healthcheck", {}).get("test"))
        assert "/healthz" in health, f"{name}: healthcheck must hit /healthz"
        port = env_of(svc).get("STREAMER_METRICS__PORT", str(DEFAULT_METRICS_PORT))
        assert port in health or "STREAMER_METRICS__PORT" in health, name
        config_src = bind_source_for(svc, "/app/config")
        assert config_src == REPO / "config", f"{name}: ./config must be mounted at /app/config"
        assert env_of(svc).get("STREAMER_TOPICS__PREPARED") == "news.prepared"
        assert env_of(svc).get("STREAMER_TOPICS__JOURNAL") == "news.dedup-journal"
        assert env_of(svc).get("STREAMER_TOPICS__RAW") == "news.raw"


def test_bind_mounts_exist_and_named_volumes_declared(compose: dict[str, Any]) -> None:
    declared = set((compose.get("volumes") or {}).keys())
    used = set()
    for name, svc in compose["services"].items():
        for kind, source, target in mounts_of(svc):
            if kind == "bind":
                assert host_path(source).exists(), f"{name}: bind source {source} missing"
                assert str(host_path(source)).startswith(str(REPO)), (
                    f"{name}: {source} outside repo"
                )
            elif source:
                assert source in declared, f"{name}: named volume {source} not declared"
                used.add(source)
            assert target.startswith("/"), f"{name}: {target}"
    assert used == declared, f"declared but unused volumes: {declared - used}"


def test_named_volumes_for_state(services: dict[str, dict[str, Any]], kafka: tuple) -> None:
    kname, _ = kafka
    for svc_name in (kname, "prometheus", "grafana"):
        kinds = {kind for kind, _s, _t in mounts_of(services[svc_name])}
        assert "volume" in kinds, f"{svc_name} needs a named data volume"


# --------------------------------------------------------------------------- prometheus


def test_prometheus_scrapes_every_streamer(
    prometheus_config: dict[str, Any], streamers: dict[str, dict[str, Any]]
) -> None:
    jobs = {job["job_name"]: job for job in prometheus_config["scrape_configs"]}
    job = jobs[STREAMER_JOB]
    interval = job.get("scrape_interval") or prometheus_config["global"]["scrape_interval"]
    assert parse_duration_seconds(interval) <= 10
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {t for sc in job["static_configs"] for t in sc["targets"]}
    expected = {
        f"{name}:{env_of(svc).get('STREAMER_METRICS__PORT', DEFAULT_METRICS_PORT)}"
        for name, svc in streamers.items()
    }
    assert targets == expected, f"scraped {sorted(targets)} vs services {sorted(expected)}"
    for sc in job["static_configs"]:
        assert "job" not in (sc.get("labels") or {})
        assert "instance" not in (sc.get("labels") or {})


def test_prometheus_service_mounts(
    services: dict[str, dict[str, Any]], prometheus_config: dict[str, Any]
) -> None:
    prom = services["prometheus"]
    assert str(prom["image"]).startswith("prom/prometheus")
    args = command_args(prom)
    config_arg = next(a for a in args if a.startswith("--config.file="))
    assert bind_source_for(prom, config_arg.split("=", 1)[1]) == PROMETHEUS_FILE
    rule_files = prometheus_config["rule_files"]
    assert rule_files
    for rule_file in rule_files:
        assert bind_source_for(prom, rule_file) == ALERTS_FILE, (
            f"rule file {rule_file} is not the mounted config/prometheus/alerts.yml"
        )


def test_alert_rules_have_severity_and_annotations(alerts: dict[str, Any]) -> None:
    rules = alert_rules(alerts)
    assert rules
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    for rule in rules:
        assert rule.get("labels", {}).get("severity") in {"critical", "warning", "info"}, rule
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), rule["alert"]
        assert annotations.get("description"), rule["alert"]


def test_alert_exprs_use_known_metrics(alerts: dict[str, Any]) -> None:
    for group in alerts["groups"]:
        for rule in group["rules"]:
            unknown = promql_metric_names(rule["expr"]) - ALLOWED_METRICS
            assert not unknown, f"{rule.get('alert') or rule.get('record')}: unknown {unknown}"


def test_required_alerts_present(alerts: dict[str, Any]) -> None:
    rules = alert_rules(alerts)

    def find(pred: Any) -> dict[str, Any]:
        matches = [r for r in rules if pred(r["expr"])]
        assert matches
        return matches[0]

    lag = find(lambda e: "streamer_consumer_lag" in e and re.search(r"\b(deriv|delta)\(", e))
    assert parse_duration_seconds(lag.get("for", "0s")) > 0
    dlq = find(lambda e: 'outcome="deadletter"' in e and "streamer_messages_consumed_total" in e)
    assert "0.05" in dlq["expr"]
    assert parse_duration_seconds(dlq["for"]) >= 600
    no_out = find(
        lambda e: (
            "streamer_messages_consumed_total" in e
            and "streamer_articles_total" in e
            and "== 0" in e
        )
    )
    assert parse_duration_seconds(no_out["for"]) >= 300
    recovery = find(lambda e: "streamer_recovery_in_progress" in e)
    assert parse_duration_seconds(recovery["for"]) >= 600
    standby = find(lambda e: "streamer_standby_lag_records" in e)
    assert parse_duration_seconds(standby["for"]) >= 300
    down = find(lambda e: re.search(r'up\{job="streamer"\}\s*==\s*0', e))
    assert parse_duration_seconds(down["for"]) == 60


# --------------------------------------------------------------------------- grafana


def test_grafana_service(services: dict[str, dict[str, Any]]) -> None:
    graf = services["grafana"]
    assert str(graf["image"]).startswith("grafana/grafana")
    env = env_of(graf)
    assert env.get("GF_AUTH_ANONYMOUS_ENABLED") == "true"
    assert env.get("GF_AUTH_ANONYMOUS_ORG_ROLE") == "Viewer"
    assert re.fullmatch(r"\$\{[A-Z_]+:-[^}]+\}", env.get("GF_SECURITY_ADMIN_PASSWORD", "")), (
        "admin password must come from the environment with a default"
    )
    provisioning = bind_source_for(graf, "/etc/grafana/provisioning")
    assert provisioning == GRAFANA_DIR / "provisioning"
    assert bind_source_for(graf, "/etc/grafana/provisioning/datasources/prometheus.yml") == (
        DATASOURCE_FILE
    )
    assert DATASOURCE_FILE.is_file() and DASHBOARD_PROVIDER_FILE.is_file()
    home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        assert bind_source_for(graf, home) == DASHBOARD_FILE


def test_grafana_datasource_points_at_prometheus(
    services: dict[str, dict[str, Any]], datasource_uid: str
) -> None:
    ds = next(d for d in load_yaml(DATASOURCE_FILE)["datasources"] if d["type"] == "prometheus")
    url = urlparse(ds["url"])
    assert url.hostname in services, f"datasource host {url.hostname} is not a compose service"
    assert url.port == 9090
    assert ds.get("access", "proxy") == "proxy"


def test_grafana_dashboard_provider_finds_dashboard(services: dict[str, dict[str, Any]]) -> None:
    providers = load_yaml(DASHBOARD_PROVIDER_FILE)["providers"]
    assert providers
    graf = services["grafana"]
    for provider in providers:
        assert provider["type"] == "file"
        host_dir = bind_source_for(graf, provider["options"]["path"])
        assert host_dir is not None, f"provider path {provider['options']['path']} not mounted"
        assert (host_dir / DASHBOARD_FILE.name) == DASHBOARD_FILE
        assert DASHBOARD_FILE.is_file()


def test_dashboard_basics(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "streamer"
    assert dashboard["title"] == "streamer"
    assert 36 <= int(dashboard["schemaVersion"]) <= 41
    panels = dashboard_panels(dashboard["panels"])
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]


def test_dashboard_datasource_uid_matches_provisioned(
    dashboard: dict[str, Any], datasource_uid: str
) -> None:
    seen = 0
    for panel in dashboard_panels(dashboard["panels"]):
        refs = [panel.get("datasource")] + [t.get("datasource") for t in panel.get("targets") or []]
        for ref in refs:
            if ref is None:
                continue
            assert isinstance(ref, dict), f"{panel['title']}: datasource must be a uid reference"
            if ref.get("type") == "prometheus":
                assert ref["uid"] == datasource_uid, panel["title"]
                seen += 1
    assert seen


def test_dashboard_exprs_use_known_metrics(dashboard: dict[str, Any]) -> None:
    exprs = dashboard_exprs(dashboard)
    assert exprs
    for expr in exprs:
        unknown = promql_metric_names(expr) - ALLOWED_METRICS
        assert not unknown, f"{expr}: unknown metrics {unknown}"


def test_dashboard_covers_required_views(dashboard: dict[str, Any]) -> None:
    exprs = [re.sub(r"\s+", " ", e) for e in dashboard_exprs(dashboard)]
    joined = "\n".join(exprs)
    assert "sum by (outcome) (rate(streamer_articles_total[1m]))" in exprs
    assert 'outcome="duplicate"' in joined
    assert "streamer_deadletters_total" in joined and "by (reason)" in joined
    assert re.search(
        r"by \((topic, partition|partition, topic)\) \(streamer_consumer_lag\)", joined
    )
    for hist in ("streamer_processing_seconds_bucket", "streamer_end_to_end_seconds_bucket"):
        for q in ("0.5", "0.95", "0.99"):
            assert any(e.startswith(f"histogram_quantile({q},") and hist in e for e in exprs), (
                f"missing p{q} of {hist}"
            )
    for metric in (
        "streamer_index_size",
        "streamer_recovery_in_progress",
        "streamer_recovery_records_total",
        "streamer_recovery_seconds",
        "streamer_ready",
        "streamer_standby_lag_records",
    ):
        assert metric in joined, metric
    assert 'up{job="streamer"}' in joined


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile() -> None:
    # join continuation lines so each instruction is on one line
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert froms and all(f.startswith("python:3.11-slim") for f in froms), froms
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"pip install --no-cache-dir \.(\s|$)", text)
    assert "[broker]" not in text
    assert re.search(r"^EXPOSE\s+9108\b", text, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK\b.*urllib.*/healthz", text, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT\s+\["streamer"\]', text, re.MULTILINE)
    assert re.search(r'^CMD\s+\["run"\]', text, re.MULTILINE)
    assert re.search(r"^COPY\s+.*config/?\s+/app/config/?", text, re.MULTILINE)

    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    for entry in (".venv", ".git", ".pytest_cache", "**/__pycache__"):
        assert entry in ignored, entry


def test_install_promtool_script_is_valid_bash() -> None:
    assert os.access(INSTALL_PROMTOOL, os.X_OK)
    subprocess.run(["bash", "-n", str(INSTALL_PROMTOOL)], check=True, timeout=30)


# --------------------------------------------------------------------------- promtool


def test_promtool_check_config(promtool: str, tmp_path: Path) -> None:
    config = load_yaml(PROMETHEUS_FILE)
    # rule_files name the in-container path; point the copy at the repo's file
    config["rule_files"] = [str(ALERTS_FILE)]
    tmp_config = tmp_path / "prometheus.yml"
    tmp_config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    proc = run_promtool(promtool, "check", "config", str(tmp_config))
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_promtool_check_rules(promtool: str) -> None:
    proc = run_promtool(promtool, "check", "rules", str(ALERTS_FILE))
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_promtool_dashboard_exprs_parse(
    promtool: str, dashboard: dict[str, Any], tmp_path: Path
) -> None:
    exprs = dashboard_exprs(dashboard)
    rules = [
        {"record": f"dashboard:check_{i}", "expr": substitute_grafana_variables(expr)}
        for i, expr in enumerate(exprs)
    ]
    for rule in rules:
        assert "$" not in rule["expr"], f"unsubstituted Grafana variable in {rule['expr']}"
    rules_file = tmp_path / "dashboard-rules.yml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sort_keys=False),
        encoding="utf-8",
    )
    proc = run_promtool(promtool, "check", "rules", str(rules_file))
    assert f"{len(rules)} rules found" in proc.stdout + proc.stderr


# Behavioural unit tests of the alert rules, run by `promtool test rules`.
ALERT_UNIT_TESTS = {
    "evaluation_interval": "1m",
    "tests": [
        {
            "name": "instance down",
            "interval": "15s",
            "input_series": [
                {"series": 'up{job="streamer",instance="dedup-1:9108",component="dedup"}',
                 "values": "1 1 1 1 0x12"},
            ],
            "alert_rule_test": [
                {"eval_time": "1m", "alertname": "StreamerInstanceDown", "exp_alerts": []},
                {"eval_time": "3m", "alertname": "StreamerInstanceDown", "exp_alerts": [
                    {"exp_labels": {"severity": "critical", "job": "streamer",
                                    "instance": "dedup-1:9108", "component": "dedup"}}]},
            ],
        },
        {
            "name": "dead letter ratio and no-output",
            "interval": "1m",
            "input_series": [
                # 100 raw/min consumed; 10/min dead-lettered (10%), 90/min clean
                {"series": 'streamer_messages_consumed_total{topic="news.raw",instance="p1"}',
                 "values": "0+100x30"},
                {"series": 'streamer_articles_total{outcome="deadletter",instance="p1"}',
                 "values": "0+10x30"},
                {"series": 'streamer_articles_total{outcome="clean",instance="d1"}',
                 "values": "0+90x30"},
            ],
            "alert_rule_test": [
                {"eval_time": "25m", "alertname": "StreamerDeadLetterRateHigh", "exp_alerts": [
                    {"exp_labels": {"severity": "warning"}}]},
                {"eval_time": "25m", "alertname": "StreamerNoOutput", "exp_alerts": []},
            ],
        },
        {
            "name": "no output while input arrives (output series absent)",
            "interval": "1m",
            "input_series": [
                {"series": 'streamer_messages_consumed_total{topic="news.raw",instance="p1"}',
                 "values": "0+100x20"},
            ],
            "alert_rule_test": [
                {"eval_time": "15m", "alertname": "StreamerNoOutput", "exp_alerts": [
                    {"exp_labels": {"severity": "critical"}}]},
            ],
        },
        {
            "name": "recovery too slow",
            "interval": "1m",
            "input_series": [
                {"series": 'streamer_recovery_in_progress{instance="d1"}', "values": "1x20"},
                {"series": 'streamer_recovery_in_progress{instance="d2"}', "values": "1 1 0x18"},
            ],
            "alert_rule_test": [
                {"eval_time": "5m", "alertname": "StreamerRecoveryTooSlow", "exp_alerts": []},
                {"eval_time": "15m", "alertname": "StreamerRecoveryTooSlow", "exp_alerts": [
                    {"exp_labels": {"severity": "warning", "instance": "d1"}}]},
            ],
        },
        {
            "name": "consumer lag growing vs stable",
            "interval": "1m",
            "input_series": [
                {"series": 'streamer_consumer_lag{topic="news.raw",partition="0",instance="p1"}',
                 "values": "2000+100x40"},
                {"series": 'streamer_consumer_lag'
                           '{topic="news.prepared",partition="0",instance="d1"}',
                 "values": "5000x40"},
            ],
            "alert_rule_test": [
                {"eval_time": "30m", "alertname": "StreamerConsumerLagGrowing", "exp_alerts": [
                    {"exp_labels": {"severity": "warning", "topic": "news.raw"}}]},
            ],
        },
    ],
}  # fmt: skip


def test_promtool_alert_unit_tests(promtool: str, tmp_path: Path) -> None:
    # The behaviour is in expr/for/labels; drop the (templated) annotations so the
    # expectations need not repeat them (promtool compares annotations exactly).
    rules = load_yaml(ALERTS_FILE)
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rules_file = tmp_path / "alerts.yml"
    rules_file.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    tests = dict(ALERT_UNIT_TESTS, rule_files=[str(rules_file)])
    test_file = tmp_path / "alerts_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    proc = run_promtool(promtool, "test", "rules", str(test_file))
    assert "SUCCESS" in proc.stdout + proc.stderr
