"""Settings precedence: defaults < YAML file < environment (STREAMER_, __) < flags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from streamer.config import CONFIG_ENV_VAR, ConfigError, Settings, load_settings

ENV_VARS = (
    "STREAMER_KAFKA__BOOTSTRAP_SERVERS",
    "STREAMER_KAFKA__GROUP_ID",
    "STREAMER_KAFKA__SASL_PASSWORD",
    "STREAMER_TOPICS__RAW",
    "STREAMER_TOPICS__CLEAN",
    "STREAMER_TOPICS__DUPLICATES",
    "STREAMER_TOPICS__DEADLETTER",
    "STREAMER_METRICS__PORT",
    "STREAMER_DEDUP__LSH_BANDS",
    "STREAMER_ROLE",
    CONFIG_ENV_VAR,
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No STREAMER_* from the outer environment and no repo config/streamer.yaml."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_yaml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


YAML = """\
kafka:
  bootstrap_servers: yaml-host:9092
  group_id: yaml-group
topics:
  raw: yaml.raw
  clean: yaml.clean
metrics:
  port: 7001
dedup:
  window: P1D
"""


def test_defaults_without_any_file_or_env() -> None:
    s = load_settings()
    assert s.kafka.bootstrap_servers == "localhost:9092"
    assert s.kafka.group_id == "streamer"
    assert s.topics.raw == "news.raw"
    assert s.metrics.port == 9108
    assert s.dedup.window == timedelta(days=7)


def test_yaml_given_by_flag_overrides_defaults(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "elsewhere" / "my.yaml", YAML)
    s = load_settings(cfg)
    assert s.kafka.bootstrap_servers == "yaml-host:9092"
    assert s.kafka.group_id == "yaml-group"
    assert s.topics.raw == "yaml.raw"
    assert s.topics.clean == "yaml.clean"
    assert s.topics.duplicates == "news.duplicates"  # not in the file: default
    assert s.metrics.port == 7001
    assert s.dedup.window == timedelta(days=1)


def test_default_config_file_in_cwd_is_used(tmp_path: Path) -> None:
    write_yaml(tmp_path / "config" / "streamer.yaml", YAML)
    assert load_settings().kafka.group_id == "yaml-group"


def test_config_env_var_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_yaml(tmp_path / "config" / "streamer.yaml", "kafka:\n  group_id: default-file\n")
    other = write_yaml(tmp_path / "other.yaml", "kafka:\n  group_id: env-file\n")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(other))
    assert load_settings().kafka.group_id == "env-file"


def test_config_flag_wins_over_config_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = write_yaml(tmp_path / "env.yaml", "kafka:\n  group_id: env-file\n")
    flag_file = write_yaml(tmp_path / "flag.yaml", "kafka:\n  group_id: flag-file\n")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(env_file))
    assert load_settings(flag_file).kafka.group_id == "flag-file"


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", YAML)
    monkeypatch.setenv("STREAMER_KAFKA__BOOTSTRAP_SERVERS", "env-host:1")
    monkeypatch.setenv("STREAMER_KAFKA__GROUP_ID", "env-group")
    monkeypatch.setenv("STREAMER_TOPICS__RAW", "env.raw")
    monkeypatch.setenv("STREAMER_TOPICS__CLEAN", "env.clean")
    monkeypatch.setenv("STREAMER_TOPICS__DUPLICATES", "env.dups")
    monkeypatch.setenv("STREAMER_TOPICS__DEADLETTER", "env.dead")
    monkeypatch.setenv("STREAMER_METRICS__PORT", "7777")
    s = load_settings(cfg)
    assert s.kafka.bootstrap_servers == "env-host:1"
    assert s.kafka.group_id == "env-group"
    assert (s.topics.raw, s.topics.clean, s.topics.duplicates, s.topics.deadletter) == (
        "env.raw",
        "env.clean",
        "env.dups",
        "env.dead",
    )
    assert s.metrics.port == 7777
    # YAML values the environment does not name survive (sections are merged, not replaced)
    assert s.dedup.window == timedelta(days=1)


def test_env_and_yaml_merge_within_one_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", YAML)
    monkeypatch.setenv("STREAMER_KAFKA__BOOTSTRAP_SERVERS", "env-host:1")
    s = load_settings(cfg)
    assert s.kafka.bootstrap_servers == "env-host:1"
    assert s.kafka.group_id == "yaml-group"


def test_flags_override_environment_and_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", YAML)
    monkeypatch.setenv("STREAMER_KAFKA__GROUP_ID", "env-group")
    monkeypatch.setenv("STREAMER_METRICS__PORT", "7777")
    s = load_settings(cfg, {"kafka": {"group_id": "flag-group"}, "metrics": {"port": 1234}})
    assert s.kafka.group_id == "flag-group"
    assert s.metrics.port == 1234


def test_flags_merge_with_env_nested_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMER_KAFKA__BOOTSTRAP_SERVERS", "env-host:1")
    monkeypatch.setenv("STREAMER_KAFKA__SASL_PASSWORD", "s3cret-pw")
    s = load_settings(None, {"kafka": {"group_id": "flag-group"}})
    assert s.kafka.group_id == "flag-group"
    assert s.kafka.bootstrap_servers == "env-host:1"
    assert s.kafka.sasl_password is not None
    assert s.kafka.sasl_password.get_secret_value() == "s3cret-pw"


def test_flags_merge_with_yaml_nested_values(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", YAML)
    s = load_settings(cfg, {"kafka": {"group_id": "flag-group"}})
    assert s.kafka.group_id == "flag-group"
    assert s.kafka.bootstrap_servers == "yaml-host:9092"
    assert s.topics.raw == "yaml.raw"


def test_top_level_flag_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMER_ROLE", "prepare")
    assert load_settings().role == "prepare"
    assert load_settings(None, {"role": "dedup"}).role == "dedup"


def test_missing_config_flag_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*missing\.yaml"):
        load_settings(tmp_path / "missing.yaml")


def test_missing_config_from_env_var_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV_VAR, "nope.yaml")
    with pytest.raises(ConfigError, match=r"nope\.yaml.*STREAMER_CONFIG"):
        load_settings()


def test_config_path_that_is_a_directory_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "adir")


def test_invalid_metrics_port_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMER_METRICS__PORT", "abc")
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load_settings()


def test_invalid_metrics_port_from_env_with_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMER_METRICS__PORT", "abc")
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load_settings(None, {"kafka": {"group_id": "g"}})


def test_invalid_metrics_port_from_yaml(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", "metrics:\n  port: abc\n")
    with pytest.raises(ConfigError, match=r"metrics\.port"):
        load_settings(cfg)


@pytest.mark.parametrize("bands", [30, 0, -4])
def test_lsh_bands_must_divide_num_perm_from_yaml(tmp_path: Path, bands: int) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", f"dedup:\n  lsh_bands: {bands}\n")
    with pytest.raises(ConfigError, match=f"lsh_bands={bands} must divide num_perm=128"):
        load_settings(cfg)


def test_lsh_bands_must_divide_num_perm_from_env_and_flags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="must divide"):
        load_settings(None, {"dedup": {"lsh_bands": 30}})
    monkeypatch.setenv("STREAMER_DEDUP__LSH_BANDS", "30")
    with pytest.raises(ConfigError, match="must divide"):
        load_settings()


def test_lsh_bands_checked_against_configured_num_perm(tmp_path: Path) -> None:
    ok = write_yaml(tmp_path / "ok.yaml", "dedup:\n  num_perm: 64\n  lsh_bands: 16\n")
    s = load_settings(ok)
    assert (s.dedup.num_perm, s.dedup.lsh_bands) == (64, 16)
    bad = write_yaml(tmp_path / "bad.yaml", "dedup:\n  num_perm: 64\n  lsh_bands: 128\n")
    with pytest.raises(ConfigError, match="num_perm=64"):
        load_settings(bad)


def test_unknown_enum_value_is_a_config_error(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", "kafka:\n  security_protocol: TLS\n")
    with pytest.raises(ConfigError, match="security_protocol"):
        load_settings(cfg)


def test_malformed_yaml_is_a_config_error(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", "kafka: [unclosed\n")
    with pytest.raises(ConfigError):
        load_settings(cfg)


def test_secret_password_never_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret = "hunter2-very-secret"
    monkeypatch.setenv("STREAMER_KAFKA__SASL_PASSWORD", secret)
    cfg = write_yaml(tmp_path / "c.yaml", f"kafka:\n  ssl_password: {secret}-ssl\n")
    for s in (load_settings(cfg), load_settings(cfg, {"kafka": {"group_id": "g"}})):
        assert s.kafka.sasl_password is not None
        assert s.kafka.sasl_password.get_secret_value() == secret
        assert s.kafka.ssl_password is not None
        assert s.kafka.ssl_password.get_secret_value() == secret + "-ssl"
        for shown in (repr(s), str(s), repr(s.kafka), s.model_dump_json(), str(s.model_dump())):
            assert secret not in shown
        # ... but the client gets the real value
        kwargs = load_settings(
            cfg, {"kafka": {"sasl_mechanism": "PLAIN", "sasl_username": "u"}}
        ).kafka.client_kwargs()
        assert kwargs["sasl_plain_password"] == secret
        assert kwargs["ssl_password"] == secret + "-ssl"


def test_loading_does_not_leak_yaml_into_later_settings(tmp_path: Path) -> None:
    cfg = write_yaml(tmp_path / "c.yaml", YAML)
    assert load_settings(cfg).kafka.group_id == "yaml-group"
    assert Settings().kafka.group_id == "streamer"
    assert load_settings().kafka.group_id == "streamer"
