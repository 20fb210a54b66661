"""The ``streamer`` command: wiring only, no logic of its own."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streamer import __version__
from streamer.config import ConfigError, Settings, load_settings
from streamer.logs import setup_logging

if TYPE_CHECKING:
    from streamer.metrics import Metrics
    from streamer.stopping import Stop

log = logging.getLogger("streamer")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Flags that were given, as nested settings; flags left out do not override anything."""
    out: dict[str, Any] = {}

    def put(section: str | None, key: str, value: Any) -> None:
        if value is None:
            return
        if section is None:
            out[key] = value
        else:
            out.setdefault(section, {})[key] = value

    put("kafka", "bootstrap_servers", getattr(args, "bootstrap_servers", None))
    put("kafka", "group_id", getattr(args, "group_id", None))
    put("metrics", "port", getattr(args, "metrics_port", None))
    put(None, "role", getattr(args, "role", None))
    put("log", "format", getattr(args, "log_format", None))
    put("log", "level", getattr(args, "log_level", None))
    return out


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), _overrides(args))


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        log.info("signal received, finishing the current batch", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _serve_metrics(metrics: Any, settings: Settings) -> Any:
    """The health and metrics server; None when disabled; raises OSError when it cannot bind."""
    from streamer.metrics import MetricsServer

    m = settings.metrics
    if not m.enabled:
        return None
    server = MetricsServer(
        metrics,
        m.host,
        m.port,
        backlog=m.backlog,
        idle_timeout_s=m.idle_timeout_ms / 1000,
        max_connections=m.max_connections,
    ).start()
    log.info("metrics served", extra={"url": f"http://{m.host}:{server.port}/metrics"})
    return server


def cmd_run(args: argparse.Namespace) -> int:
    """The service. Exit codes: 0 stopped (signal, ``--exit-when-idle``), 1 a fault to restart
    on (Kafka unreachable, a write refused), 2 settings the service cannot run with (the
    metrics port, TLS or SASL refused by the broker, topics missing); each logged as one line."""
    from streamer.metrics import Metrics
    from streamer.stopping import Stop

    settings = _settings(args)
    setup_logging(settings.log.level, settings.log.format)
    stop = Stop(settings.shutdown_timeout_s)
    stop.install()
    metrics = Metrics(stuck_batch_seconds=settings.metrics.stuck_batch_seconds)
    try:
        server = _serve_metrics(metrics, settings)
    except OSError as exc:
        log.error(
            "metrics port unavailable",
            extra={
                "host": settings.metrics.host,
                "port": settings.metrics.port,
                "error": str(exc),
                "setting": "metrics.port",
            },
        )
        return 2
    log.info(
        "starting",
        extra={
            "version": __version__,
            "role": settings.role,
            "bootstrap": settings.kafka.bootstrap_servers,
            "group": settings.kafka.group_id,
            "topics": settings.topics.model_dump(),
        },
    )
    try:
        return _run_role(settings, metrics, stop, args.exit_when_idle)
    finally:
        if server is not None:
            server.stop()


def _run_role(settings: Settings, metrics: Metrics, stop: Stop, exit_when_idle: bool) -> int:
    """Runs the role's service and maps each way it can end to an exit code (see ``cmd_run``):
    the orchestrator restarts on 1 and should not on 2, so the mapping lives in one place."""
    from streamer.faults import Faults
    from streamer.kafka.clients import TopicsMissing
    from streamer.kafka.decide import DecideService
    from streamer.kafka.prepare import PrepareService
    from streamer.kafka.probe import BrokerRefused, BrokerUnreachable

    try:
        faults = Faults(settings.testing)
        if settings.role == "prepare":
            return PrepareService(settings, metrics, stop, exit_when_idle, faults).run()
        return DecideService(settings, metrics, stop, exit_when_idle, faults).run()
    except BrokerRefused as exc:
        log.error(exc.event, extra=exc.fields)
        return 2
    except BrokerUnreachable as exc:
        log.error(exc.event, extra=exc.fields)
        return 1
    except TopicsMissing as exc:
        log.error(
            "topics missing",
            extra={
                "topics": exc.topics,
                "role": settings.role,
                "setting": "kafka.create_topics=false: create them, or set it true",
            },
        )
        return 2
    except Exception as exc:
        # A write refused, a broker that keeps resetting: nothing was committed past what
        # is journaled, so exiting lets the orchestrator restart us cleanly.
        log.error(
            "fatal error, exiting", exc_info=True, extra={"error": f"{type(exc).__name__}: {exc}"}
        )
        return 1


def cmd_dedup(args: argparse.Namespace) -> int:
    from streamer.files_io import run_file

    settings = _settings(args)
    setup_logging(settings.log.level, settings.log.format)
    counts = run_file(args.input, Path(args.out), settings)
    total = sum(counts.values())
    clean, dups, dead = (counts.get(k, 0) for k in ("clean", "duplicate", "deadletter"))
    print(f"{total} records: {clean} clean, {dups} duplicates, {dead} dead letters -> {args.out}/")
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from streamer.broker import EmbeddedBroker

    setup_logging("INFO", "text")
    stop = threading.Event()
    _install_signal_handlers(stop)
    with EmbeddedBroker(port=args.port) as broker:
        print(f"embedded broker listening on {broker.bootstrap} (Ctrl-C to stop)", flush=True)
        while not stop.wait(0.5):
            if broker.proc is not None and broker.proc.poll() is not None:
                print(f"broker exited with code {broker.proc.returncode}", file=sys.stderr)
                return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streamer.demo import run_demo

    return run_demo(metrics_port=args.metrics_port, keep_serving=args.serve)


def cmd_eval(args: argparse.Namespace) -> int:
    from streamer.evaluation.cli import main as eval_main

    return eval_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="streamer", description=__doc__)
    p.add_argument("--version", action="version", version=f"streamer {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="YAML settings file (default: config/streamer.yaml)")
        sp.add_argument("--log-format", choices=["auto", "json", "text"])
        sp.add_argument("--log-level")

    run = sub.add_parser("run", help="run the service on Kafka")
    common(run)
    run.add_argument("--role", choices=["all", "prepare", "dedup"])
    run.add_argument("--bootstrap-servers")
    run.add_argument("--group-id")
    run.add_argument("--metrics-port", type=int)
    run.add_argument(
        "--exit-when-idle",
        type=float,
        metavar="SECONDS",
        help="once partitions are assigned, exit 0 after nothing arrived for this long",
    )
    run.set_defaults(func=cmd_run)

    dd = sub.add_parser("dedup", help="dedup a JSON Lines file (- for stdin, .gz accepted)")
    common(dd)
    dd.add_argument("input")
    dd.add_argument("--out", required=True, help="output directory")
    dd.set_defaults(func=cmd_dedup)

    br = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (demo/tests)")
    br.add_argument("--port", type=int, default=9092)
    br.set_defaults(func=cmd_broker)

    demo = sub.add_parser("demo", help="embedded broker + sample feed + service, then a summary")
    demo.add_argument("--metrics-port", type=int, default=0, help="0 picks a free port")
    demo.add_argument("--serve", action="store_true", help="keep serving metrics after the summary")
    demo.set_defaults(func=cmd_demo)

    ev = sub.add_parser("eval", help="dedup quality on a labeled Reuters stream")
    ev.add_argument("rest", nargs=argparse.REMAINDER)
    ev.set_defaults(func=cmd_eval)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"]:
        # Every flag after ``eval`` is the evaluation's own; argparse's REMAINDER would
        # refuse one that comes first (``streamer eval --corpus PATH``).
        args = argparse.Namespace(func=cmd_eval, rest=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"streamer: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"streamer: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
