"""The Grafana dashboard's queries against a real Prometheus scraping a real service.

A Prometheus server of our own (not any system service) scrapes one
``streamer run`` every second while the sample feed goes through it; then every
``expr`` of config/grafana/dashboards/streamer.json is evaluated through the
HTTP API. Each must be valid PromQL that Prometheus accepts, and the ones that
say something checkable must say the right thing (articles counted once per
input, index not empty, the instance up and ready, ...).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from streamer import __version__
from streamer.broker import free_port
from streamer.demo import sample_feed
from tests.conftest import make_settings
from tests.kafka.kafkautil import REPO, key_of, produce, read_outputs, wait_for, write_config

DASHBOARD = REPO / "config" / "grafana" / "dashboards" / "streamer.json"
# Grafana's built-in variables, as Grafana would expand them for a 1 s scrape interval.
GRAFANA_VARS = {
    "$__rate_interval": "1m",
    "${__rate_interval}": "1m",
    "$__interval_ms": "15000",
    "$__interval": "15s",
    "${__interval}": "15s",
    "$__range_s": "3600",
    "$__range_ms": "3600000",
    "$__range": "1h",
    "${__range}": "1h",
}


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found:
        return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("prometheus binary missing in CI (scripts/install-promtool.sh installs it)")
    pytest.skip("prometheus binary not found (apt-get install prometheus); CI unset")


def dashboard_exprs() -> list[tuple[str, str, str]]:
    """(panel title, legend, expr) for every target of every panel, rows included."""
    out: list[tuple[str, str, str]] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((panel["title"], target.get("legendFormat", ""), target["expr"]))
            walk(panel.get("panels", []))

    walk(json.loads(DASHBOARD.read_text())["panels"])
    return out


def substitute(expr: str) -> str:
    for var in sorted(GRAFANA_VARS, key=len, reverse=True):
        expr = expr.replace(var, GRAFANA_VARS[var])
    left = re.findall(r"\$\{?\w+", expr)
    assert not left, f"unknown dashboard variable {left} in {expr}"
    return expr


class Prometheus:
    def __init__(self, binary: str, tmp: Path, target: str) -> None:
        self.port = free_port()
        self.data = tmp / "prom-data"
        self.config = tmp / "prometheus.yml"
        self.log = tmp / "prometheus.log"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [
                        {
                            "job_name": "streamer",
                            "scrape_interval": "1s",
                            "scrape_timeout": "900ms",
                            "static_configs": [{"targets": [target]}],
                        }
                    ],
                }
            )
        )
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=5) as resp:
            return json.loads(resp.read())

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def query(self, expr: str) -> dict[str, Any]:
        """The whole API answer, errors included (a 400 carries status "error")."""
        path = "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            return self.get(path)  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())  # type: ignore[no-any-return]

    def vector(self, expr: str) -> list[tuple[dict[str, str], float]]:
        answer = self.query(expr)
        assert answer["status"] == "success", (expr, answer)
        assert answer["data"]["resultType"] == "vector", (expr, answer)
        return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]

    def scalar(self, expr: str) -> float | None:
        """The one value of a one-series answer; None while there is none."""
        try:
            result = self.vector(expr)
        except (AssertionError, urllib.error.URLError, OSError):
            return None
        return result[0][1] if len(result) == 1 else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def prometheus_bin() -> str:
    return prometheus_binary()


@pytest.fixture
def streamer_and_prometheus(
    prometheus_bin: str, bootstrap: str, tmp_path: Path
) -> Iterator[tuple[Any, Prometheus, int]]:
    metrics_port = free_port()
    settings = make_settings(
        bootstrap, metrics={"enabled": True, "port": metrics_port, "host": "127.0.0.1"}
    )
    config = write_config(settings, tmp_path / "s.yaml")
    log = (tmp_path / "service.log").open("wb")
    service = subprocess.Popen(
        [sys.executable, "-m", "streamer", "run", "--config", str(config)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prom = Prometheus(prometheus_bin, tmp_path, f"127.0.0.1:{metrics_port}")
    try:
        yield settings, prom, metrics_port
    finally:
        prom.stop()
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        log.close()


@pytest.mark.kafka
def test_every_dashboard_query_works_on_live_metrics(
    streamer_and_prometheus: tuple[Any, Prometheus, int], tmp_path: Path
) -> None:
    settings, prom, metrics_port = streamer_and_prometheus
    plog = tmp_path / "prometheus.log"
    assert wait_for(prom.is_ready, 30), plog.read_text()[-3000:]

    # It is our server: our listen address, our storage, our one target.
    flags = prom.get("/api/v1/status/flags")["data"]
    assert flags["web.listen-address"] == f"127.0.0.1:{prom.port}"
    assert flags["storage.tsdb.path"] == str(prom.data)

    def scrape_urls() -> list[str]:
        return [t["scrapeUrl"] for t in prom.get("/api/v1/targets")["data"]["activeTargets"]]

    wanted = [f"http://127.0.0.1:{metrics_port}/metrics"]
    assert wait_for(lambda: scrape_urls() == wanted, 30), scrape_urls()

    # Scraped a few times before any input, so that rates have a baseline.
    instance = f"127.0.0.1:{metrics_port}"
    assert wait_for(lambda: prom.scalar('up{job="streamer"}') == 1, 30), (
        tmp_path / "service.log"
    ).read_text()[-3000:]
    assert wait_for(lambda: prom.scalar("streamer_ready") == 1, 60), (
        tmp_path / "service.log"
    ).read_text()[-3000:]
    assert wait_for(
        lambda: (
            (prom.scalar('count_over_time(streamer_articles_total{outcome="clean"}[1m])') or 0) >= 2
        ),
        30,
    )

    feed = sample_feed()
    produce(settings, feed, [key_of(v) for v in feed])
    assert wait_for(lambda: prom.scalar("sum(streamer_articles_total)") == len(feed), 60), (
        tmp_path / "service.log"
    ).read_text()[-3000:]
    assert wait_for(
        lambda: prom.scalar("sum(max by (topic, partition) (streamer_consumer_lag))") == 0, 30
    )

    outputs = read_outputs(settings)
    counts = {name: len(outs) for name, outs in outputs.items()}
    assert sum(counts.values()) == len(feed)
    reason_list = [o.value["error"]["type"] for o in outputs["deadletter"]]
    reasons = set(reason_list)

    # Every query of the dashboard is accepted and evaluates.
    exprs = dashboard_exprs()
    assert len(exprs) >= 20
    results: dict[str, list[tuple[dict[str, str], float]]] = {}
    for title, legend, raw in exprs:
        expr = substitute(raw)
        answer = prom.query(expr)
        assert answer["status"] == "success", (title, legend, expr, answer)
        results[raw] = prom.vector(expr)

    def one(expr: str) -> float:
        series = results[expr]
        assert len(series) == 1, (expr, series)
        return series[0][1]

    def by(expr: str, label: str) -> dict[str, float]:
        return {m[label]: v for m, v in results[expr]}

    # Overview.
    assert one('sum(up{job="streamer"})') == 1
    assert one("sum(streamer_ready)") == 1
    assert one("sum(rate(streamer_articles_total[1m]))") > 0
    ratio = (
        'sum(rate(streamer_articles_total{outcome="duplicate"}[5m])) / '
        'sum(rate(streamer_articles_total{outcome=~"clean|duplicate"}[5m]))'
    )
    expected_ratio = counts["duplicate"] / (counts["clean"] + counts["duplicate"])
    assert one(ratio) == pytest.approx(expected_ratio, abs=0.01)
    index_size = one("max(streamer_index_size)")
    assert index_size > 0
    assert one("sum(max by (topic, partition) (streamer_consumer_lag))") == 0

    # Throughput.
    per_outcome = by("sum by (outcome) (rate(streamer_articles_total[1m]))", "outcome")
    assert set(per_outcome) == {"clean", "duplicate", "deadletter"}
    assert all(v > 0 for v in per_outcome.values()), per_outcome
    # The labelled series exist from the start (at 0), so rate() sees every increment.
    consumed = by("sum by (topic) (rate(streamer_messages_consumed_total[1m]))", "topic")
    assert set(consumed) == {settings.topics.raw} and consumed[settings.topics.raw] > 0
    assert one("sum(rate(streamer_prepared_total[1m]))") == 0  # role all prepares nothing
    dead = by("sum by (reason) (rate(streamer_deadletters_total[1m]))", "reason")
    assert {r for r, v in dead.items() if v > 0} == reasons, (dead, reasons)
    dead_totals = {m["reason"]: v for m, v in prom.vector("streamer_deadletters_total") if v}
    assert dead_totals == {r: float(n) for r, n in Counter(reason_list).items()}
    assert prom.scalar("sum(streamer_messages_consumed_total)") == len(feed)

    # Latency: every quantile is a real number of seconds.
    for name in ("batch", "processing", "end_to_end"):
        for q in ("0.5", "0.95", "0.99"):
            expr = (
                f"histogram_quantile({q}, sum by (le) (rate(streamer_{name}_seconds_bucket[1m])))"
            )
            value = one(expr)
            assert not math.isnan(value) and value >= 0, (expr, value)

    # Index, recovery, instances, commits, build.
    assert by("max by (instance) (streamer_index_size)", "instance") == {instance: index_size}
    assert by("max by (instance) (streamer_recovery_in_progress)", "instance") == {instance: 0}
    assert set(by("sum by (instance) (rate(streamer_recovery_records_total[1m]))", "instance")) == {
        instance
    }
    assert by("max by (instance) (streamer_recovery_seconds)", "instance")[instance] > 0
    assert by('max by (instance) (up{job="streamer"})', "instance") == {instance: 1}
    assert by("max by (instance) (streamer_ready)", "instance") == {instance: 1}
    assert by("sum by (instance) (rate(streamer_commits_total[1m]))", "instance")[instance] > 0
    assert "assigned" in by("sum by (event) (increase(streamer_rebalances_total[5m]))", "event")
    build = results["max by (instance, version) (streamer_build_info)"]
    assert [(m["instance"], m["version"], v) for m, v in build] == [(instance, __version__, 1)]

    # Not on the dashboard, but the point of it all: one article counted per input.
    assert prom.scalar("sum(streamer_articles_total)") == len(feed)
    for name, n in counts.items():
        assert prom.scalar(f'streamer_articles_total{{outcome="{name}"}}') == n


def test_labelled_counters_exist_before_the_first_event() -> None:
    from prometheus_client import generate_latest

    from streamer.metrics import Metrics

    text = generate_latest(Metrics().registry).decode()
    for reason in ("invalid_json", "not_an_object", "validation_error", "no_text"):
        assert f'streamer_deadletters_total{{reason="{reason}"}} 0.0' in text, reason
