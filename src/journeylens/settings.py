"""The one settings object. Every setting is documented here and in ``docs/configuration.md``
(a test fails when one is not)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from journeylens.errors import ConfigError

_UNSAFE_SECRETS = {"", "changeme", "secret", "change-me", "journeylens"}


class WebhookSecret(BaseModel):
    """One signing secret of an endpoint; ``until`` ends it (the grace period of a rotation)."""

    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=1)
    until: datetime | None = None


class Settings(BaseSettings):
    """JourneyLens settings, read from ``JOURNEYLENS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="JOURNEYLENS_", extra="ignore")

    warehouse: str = Field(
        default="journeylens.duckdb",
        description="Warehouse location: a DuckDB file path, or an Ibis URL such as 'duckdb://x.duckdb' or 'pyspark://'.",
    )
    app_database_url: str = Field(
        default="sqlite:///journeylens.db",
        description="SQLAlchemy URL of the app database (users, keys, surveys, rules, tickets).",
    )
    journey: Path | None = Field(default=None, description="Path of the journey definition YAML file.")
    timezone: str = Field(default="UTC", description="Time zone in which naive timestamps are read.")
    episode_gap_minutes: int = Field(default=30, ge=1, description="Inactivity gap that starts a new episode.")
    stale_after_days: float = Field(
        default=2.0, gt=0, description="Data whose newest row is older than this many days is flagged as stale.")
    min_sample_size: int = Field(default=5, ge=1, description="Groups with fewer responses show counts but no score.")
    ingest_batch_rows: int = Field(default=250_000, ge=1_000, description="Rows read per streamed ingest chunk.")
    duckdb_memory_limit: str = Field(
        default="auto", description="DuckDB memory_limit for the embedded warehouse ('auto': half of the machine's RAM).")
    duckdb_temp_directory: Path | None = Field(
        default=None, description="Where DuckDB spills when over its memory limit (default: beside the warehouse file).")
    ingest_memory_limit: str = Field(
        default="1.5GB", description="DuckDB memory limit while a file is ingested and journey_events is updated "
                                     "after it (lower than the warehouse's: both spill to disk instead, so RSS "
                                     "stays small).")
    duckdb_threads: int | None = Field(default=None, description="DuckDB thread count (default: all cores).")
    spark_master: str = Field(default="local[2]", description="Spark master URL used for 'pyspark://' warehouses.")
    secret_key: str = Field(
        default="",
        description="Key that signs session cookies; generated per run when empty (sessions then end on restart).",
    )
    host: str = Field(default="127.0.0.1", description="Address 'journeylens serve' binds to.")
    port: int = Field(default=8000, description="Port 'journeylens serve' listens on.")
    collector_spool: Path = Field(
        default=Path(".journeylens/spool"),
        description="Directory where the HTTP collector makes accepted events durable before answering.",
    )
    collector_commit: Literal["group", "each", "off"] = Field(
        default="group",
        description="How the collector makes a request durable before answering: 'group' (concurrent "
                    "requests share one fsync), 'each' (one fsync per request) or 'off' (no fsync: NOT durable).",
    )
    collector_max_body_bytes: int = Field(
        default=5_000_000, ge=1_000, description="Largest collector request body, after gzip decompression (413 above).")
    collector_max_batch_events: int = Field(
        default=5_000, ge=1, description="Most events one collector request may carry (422 above).")
    collector_load_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often the collector moves spooled events into the warehouse.")
    cache_dir: Path = Field(default=Path(".journeylens/cache"), description="Cache of computed results by data version.")
    text_sentiment_weights: Path | None = Field(
        default=None, description="Three-class sentiment weights to use instead of the shipped ones (from "
                                  "'journeylens text fine-tune').")
    text_topic_embedder: str = Field(
        default="auto", pattern="^(auto|static|minilm)$",
        description="Embeddings for topic clustering: 'auto' (the sentence model up to 2,000 comments, the "
                    "static vectors above), 'static' (distilled, fast: 20k comments in seconds) or 'minilm' "
                    "(the sentence model: better separated topics, ~100x slower on CPU).")
    text_aspects: Path | None = Field(
        default=None, description="YAML of comment aspects and their seed phrases (default: the shipped list; "
                                  "see docs/text.md).")
    secure_cookies: bool = Field(default=False, description="Mark session cookies Secure (set true behind HTTPS).")
    maturity_model: Path | None = Field(
        default=None, description="A company's own maturity model YAML (default: the shipped model).")
    # --- operations core: outgoing messages and the worker (docs/operations.md) ---
    public_url: str = Field(
        default="", description="Base URL people reach this server at (survey links, QR codes); "
                                "default http://HOST:PORT.")
    smtp_host: str = Field(default="", description="SMTP server for email; email is off while empty.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port (587 STARTTLS, 465 SSL).")
    smtp_user: str = Field(default="", description="SMTP user name (no login when empty).")
    smtp_password: str = Field(default="", description="SMTP password.")
    smtp_tls: Literal["none", "starttls", "ssl"] = Field(
        default="none", description="SMTP transport security: 'none', 'starttls' or 'ssl' (implicit TLS).")
    smtp_from: str = Field(default="journeylens@localhost", description="Sender address of outgoing email.")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, description="SMTP connect/command timeout.")
    webhook_secret: str = Field(
        default="", description="Standard Webhooks signing secret ('whsec_' + base64) for webhook and SMS channels.")
    webhook_secrets: dict[str, list[WebhookSecret | str]] = Field(
        default_factory=dict,
        description="Signing secrets per endpoint, JSON: {URL or URL prefix: [secret, {secret, until}, ...]}; the "
                    "longest matching prefix wins, else JOURNEYLENS_WEBHOOK_SECRET. Every secret still valid signs "
                    "(rotation: old and new during the grace period).")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one outgoing webhook POST.")
    sms_webhook_url: str = Field(default="", description="Your SMS provider's webhook; SMS is off while empty.")
    outbox_max_attempts: int = Field(default=8, ge=1, description="Delivery attempts before a message is dead.")
    outbox_backoff_seconds: float = Field(
        default=30.0, gt=0, description="First retry delay; doubles per attempt (exponential backoff).")
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0, description="Longest delay between retries.")
    worker_interval_seconds: float = Field(default=2.0, gt=0, description="How often the worker looks for due work.")
    worker_in_serve: bool = Field(default=True, description="Run the worker inside 'journeylens serve'.")
    survey_global_fatigue_days: int = Field(
        default=7, ge=0, description="No more than one survey invitation per customer per this many days (all surveys).")

    @field_validator("secret_key")
    @classmethod
    def _refuse_unsafe_secret(cls, value: str) -> str:
        if value and (value.lower() in _UNSAFE_SECRETS or len(value) < 16):
            raise ConfigError(
                "JOURNEYLENS_SECRET_KEY is unsafe: use at least 16 random characters "
                "(for example `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or leave it empty."
            )
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
