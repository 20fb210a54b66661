"""Settings: defaults < YAML file < environment (``STREAMER_``, ``__``) < command-line flags.

This is the only module that reads the environment, so that every other module
can be handed a settings object and tested without touching ``os.environ``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("config/streamer.yaml")
CONFIG_ENV_VAR = "STREAMER_CONFIG"

Role = Literal["all", "prepare", "dedup"]


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "localhost:9092"
    group_id: str = "streamer"
    client_id: str = "streamer"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: SecretStr | None = None
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 2_000
    max_poll_interval_ms: int = 300_000
    max_poll_records: int = 500
    poll_timeout_ms: int = 500
    fetch_max_bytes: int = 52_428_800
    max_partition_fetch_bytes: int = 4_194_304
    producer_linger_ms: int = 5
    producer_batch_size: int = 262_144
    producer_max_request_size: int = 1_048_576
    compression_type: Literal["gzip", "snappy", "lz4", "zstd"] | None = None
    request_timeout_ms: int = 30_000
    # The pre-flight check before any client is built (TCP, TLS, ApiVersions, SASL
    # mechanism): how long one bootstrap server may take to answer it.
    probe_timeout_ms: int = 10_000
    # How often the loop compares the journal's and inputs' ends with what it saw before
    # (an end that went down, or a topic gone, means the broker lost them).
    reset_check_interval_ms: int = 5_000
    auto_offset_reset: Literal["earliest", "latest"] = "earliest"
    create_topics: bool = True
    topic_partitions: int = 3
    replication_factor: int = 1

    def client_kwargs(self) -> dict[str, Any]:
        """Connection settings shared by consumer, producer and admin client."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.sasl_mechanism:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value()
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            value = getattr(self, name)
            if value:
                kwargs[name] = value
        if self.ssl_password is not None:
            kwargs["ssl_password"] = self.ssl_password.get_secret_value()
        return kwargs


class TopicSettings(BaseModel):
    raw: str = "news.raw"
    clean: str = "news.clean"
    duplicates: str = "news.duplicates"
    deadletter: str = "news.deadletter"
    prepared: str = "news.prepared"
    journal: str = "news.dedup-journal"


class MetricsSettings(BaseModel):
    enabled: bool = True
    host: str = "0.0.0.0"  # every interface; 127.0.0.1 keeps the endpoint on loopback
    port: int = 9108
    backlog: int = 128  # connections the kernel queues before the server accepts them
    idle_timeout_ms: int = 5_000  # a connection that has not sent its request by then is closed
    max_connections: int = 512  # open at once; beyond it new ones are closed at once
    # /readyz: 503 while a batch has been in progress for longer than this, and while the
    # broker has not answered a check (every broker_check_interval_ms, each waiting
    # broker_check_timeout_ms).
    stuck_batch_seconds: float = 60.0
    broker_check_interval_ms: int = 5_000
    broker_check_timeout_ms: int = 3_000


class LogSettings(BaseModel):
    level: str = "INFO"
    format: Literal["auto", "json", "text"] = "auto"


class DedupSettings(BaseModel):
    """Knobs of the decision. Changing shingle/permutation settings invalidates a journal."""

    window: timedelta = timedelta(days=7)
    num_perm: int = 128
    seed: int = 1
    shingle_size: int = 3
    lsh_bands: int = 64
    jaccard_threshold: float = 0.3
    # A part held in a whole (a take quoted in an article, a brief cut from a lead):
    # matched on containment alone, as ``match.kind`` "contained" (see README).
    containment_threshold: float = 0.6
    # The least part a containment match may rest on: a one-line procedural sentence
    # ("He was remanded in custody until next week.") is inside every other case's report
    # and says nothing about which story it is.
    min_shingles_for_containment: int = 20
    short_item_tokens: int = 40
    # Pairs whose shorter side has fewer tokens keep the strict fact guards (any fact
    # differing on both sides refuses); longer ones refuse a substitution in aligned
    # context only (``dedup.guards``, ``dedup.align``). Two short items' length: the
    # Reuters look-alikes (Sun / Phillips crude postings, ~75 tokens) need the strict rule
    # at 60 and keep it at 80.
    aligned_min_tokens: int = 80
    # A name or title word carried by more indexed articles than this (the larger of the
    # two) is common vocabulary, not an identity, for the name and title guards.
    common_word_min_docs: int = 3
    common_word_fraction: float = 0.002

    @field_validator("lsh_bands")
    @classmethod
    def _bands_divide_perms(cls, v: int, info: Any) -> int:
        num_perm = info.data.get("num_perm", 128)
        if v <= 0 or num_perm % v:
            raise ValueError(f"lsh_bands={v} must divide num_perm={num_perm}")
        return v


class LimitSettings(BaseModel):
    max_message_bytes: int = 524_288
    # Text and title of one output, JSON-encoded; keep it well under the producer's
    # max request size (1 MiB by default) to leave room for the other fields. Every
    # output is also checked whole against ``kafka.producer_max_request_size``.
    max_output_bytes: int = 786_432
    deadletter_raw_bytes: int = 65_536
    # An article id travels in the output's key, ``id`` and ``cluster_id``, the journal's
    # key and entry, and every duplicate's ``duplicate_of``: bounded on its own, so that
    # an input under ``max_message_bytes`` cannot multiply into an oversized output.
    max_id_bytes: int = Field(default=1024, ge=16)
    # How far past this machine's clock a record's publication time or Kafka timestamp
    # may be and still be believed: producers' clocks drift by seconds, not hours. A
    # time beyond it moves no window (it falls back, with ``date_fallback: future``),
    # so this is also the most a single record can shorten everyone's window by.
    future_slack: timedelta = timedelta(minutes=15)
    # CPU seconds preparing one record may take before it becomes a ``too_slow`` dead
    # letter (0: no limit). Real articles take milliseconds; the worst input under the
    # message limit takes well under a second (``make bench``).
    prepare_deadline_s: float = Field(default=5.0, ge=0)


class FaultSettings(BaseModel):
    """Fault injection for the crash tests; never set in production."""

    crash_at: Literal["after_outputs", "after_journal", "after_commit"] | None = None
    crash_after_batches: int = 0
    fail_on_id: str | None = None
    # The batch that decides this article id takes slow_seconds longer (once per process),
    # or until slow_until_file exists.
    slow_on_id: str | None = None
    slow_seconds: float = 0.0
    slow_until_file: str | None = None
    # Preparing this article id takes ``stall_seconds`` longer (a stuck record, for /readyz).
    stall_on_id: str | None = None
    stall_seconds: float = 0.0
    # Preparing this article id never ends on its own, for the deadline tests: a regex
    # backtracking ~2^64 steps, or with ``slow_prepare_in_c`` one long call into C that
    # never checks for signals (what only the pool's watchdog can stop).
    slow_prepare_on_id: str | None = None
    slow_prepare_in_c: bool = False
    # Preparing this article id ends the process at once (a crash in a C extension).
    exit_prepare_on_id: str | None = None
    # A standby applies at most this many journal records a second (0: no limit), so that
    # a take-over finds it still catching up.
    standby_throttle_per_s: float = Field(default=0.0, ge=0)


class EvaluationSettings(BaseModel):
    """Where ``streamer eval`` finds its corpora: data the project may use but never ships."""

    # Relative to the working directory: ``make eval`` runs from the repository root,
    # beside which ``../shared/data`` is laid out; an installed package has no source tree.
    data_dir: Path = Path("../shared/data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STREAMER_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    role: Role = "all"
    # Worker processes that prepare articles for the ``all`` role (0: in the main process).
    prepare_workers: int = Field(default=0, ge=0, le=64)
    # After SIGTERM, the process exits within this even if a stage is stuck (a flush to a
    # frozen broker); keep it below the orchestrator's grace period.
    shutdown_timeout_s: float = Field(default=25.0, gt=0)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    dedup: DedupSettings = Field(default_factory=DedupSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    testing: FaultSettings = Field(default_factory=FaultSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)


class ConfigError(Exception):
    """A settings problem the user must fix; the CLI prints it without a traceback."""


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(
    config_file: str | Path | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build settings from every layer.

    ``config_file`` (from ``--config``) must exist when given; otherwise
    ``$STREAMER_CONFIG`` or ``config/streamer.yaml`` is used when present. Flags
    arrive as nested ``overrides`` (``{"kafka": {"group_id": "x"}}``) and win.
    Nested flag dicts are merged with the environment's nested values rather than
    replacing them, so ``--group-id`` does not wipe ``STREAMER_KAFKA__...``.
    """
    path: Path | None
    if config_file is not None:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
    elif os.environ.get(CONFIG_ENV_VAR):
        path = Path(os.environ[CONFIG_ENV_VAR])
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from ${CONFIG_ENV_VAR})")
    else:
        path = DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text()) if path.stat().st_size else {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(
                f"config file {path} must hold a mapping of settings, not a {type(loaded).__name__}"
            )
    try:
        base = _layered(path)
        if not overrides:
            return base
        merged = _deep_merge(base.model_dump(), overrides)
        return Settings.model_validate(merged)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc


def _layered(path: Path | None) -> Settings:
    """Defaults < the YAML file at ``path`` < environment, by pydantic-settings' own layering.

    The file is a source of a subclass made for this one load (no module state
    says which file is active); the result is a plain ``Settings`` again, so it
    pickles into worker processes like any other.
    """
    if path is None:
        return Settings()
    yaml_file = path

    class _FromFile(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            file = YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file)
            return (init_settings, env_settings, file)

    return Settings.model_validate(_FromFile().model_dump())
