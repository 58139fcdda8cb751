"""The one Settings object. Read only by bootstrap (and the CLI, which hands it to bootstrap)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tastegraph.kernel import ConfigurationError

DEV_SECRET_KEY = "dev-only-secret-key-change-me"


def _default_ikea_dir() -> Path | None:
    candidate = Path.cwd().parent / "shared" / "data" / "ikea"
    return candidate if candidate.is_dir() else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASTEGRAPH_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    # The embedded default: a SQLite file under the working directory.
    database_url: str = "sqlite:///tastegraph.db"
    # A database that is down or hung must cost a request seconds, not minutes (503 with Retry-After).
    # PostgreSQL: giving up on a new connection (the whole handshake); half of it bounds the ping a
    # pooled connection gets before use.
    db_connect_timeout_seconds: int = Field(default=3, ge=2, le=5)
    # PostgreSQL: the server cancels a statement running longer (0: never). Batch work (training, PSI
    # preparation, customer-list uploads, retention, migrations) runs without it.
    db_statement_timeout_ms: int = Field(default=10_000, ge=0)
    # Waiting for a free pooled connection when all are in use.
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    # SQLite: waiting for another writer's lock before giving up.
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0, le=60_000)
    secret_key: str = DEV_SECRET_KEY
    # The platform's own origin, for Origin checks on cookie-authenticated JSON routes.
    public_origin: str = "http://127.0.0.1:8000"
    # Off-site visits are neither used nor kept past this many days.
    offsite_retention_days: int = Field(default=30, ge=1, le=365)
    # What holds before a person chooses: "opt_out" (settings on until turned off) or "opt_in" (off until
    # the person turns them on, and no signed-out personalization until the choice page says yes), as
    # consent law requires in the EU and UK.
    consent_defaults: Literal["opt_out", "opt_in"] = "opt_out"
    sweep_interval_seconds: int = Field(default=3600, ge=10)
    # Lets tests move the server's clock (POST /v1/test/clock) and run retention (POST /v1/test/sweep).
    test_clock: bool = False
    rate_limit_per_minute: int = Field(default=600, ge=1)
    rate_limit_enabled: bool = True
    # Request limits hold for the whole deployment: each process pushes its counts to the shared counters
    # and reads the totals back this often (0: before every request, exact but a round trip each).
    rate_limit_sync_seconds: float = Field(default=1.0, ge=0, le=60)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    session_days: int = Field(default=30, ge=1)
    # Cookies are Secure when the request came over https (as uvicorn sees it); `true` marks them Secure
    # whatever the request says. Production needs this or `forwarded_allow_ips`.
    cookies_always_secure: bool = False
    # The TLS-terminating proxy's addresses (comma-separated, as uvicorn's --forwarded-allow-ips). When
    # set, `tastegraph serve` believes their X-Forwarded-Proto and X-Forwarded-For headers, so a request
    # that reached the proxy over https is https here and rate limits count the real client address.
    forwarded_allow_ips: str | None = None
    # Bearer token for the operator routes under /v1/admin/; without it those routes do not exist.
    admin_token: SecretStr | None = None
    ikea_dir: Path | None = Field(default_factory=_default_ikea_dir)
    # Trained model versions (`tastegraph train`), relative to the working directory.
    model_dir: Path = Path("models")
    # Advertisers' events are kept this long (visitor audiences look back at most 540 days).
    advertiser_event_retention_days: int = Field(default=540, ge=1, le=540)
    # Requests per minute per ad account on /v1/ad_accounts/... (429 with Retry-After beyond it).
    # Unlike the per-IP limit this one also holds under the test clock, so tests can exercise it.
    ads_rate_limit_per_minute: int = Field(default=1200, ge=1)
    ads_rate_limit_enabled: bool = True
    # Requests with an unknown or revoked token per client address and minute, then 429.
    ads_auth_failures_per_minute: int = Field(default=120, ge=1)
    # Body limits for the conversions API (1,000 events) and customer-list uploads (1,000,000 rows).
    ads_events_max_body_bytes: int = Field(default=8_000_000, ge=1024)
    # POST /v1/ad_accounts/{id}/pins carries its image as base64: a 10 MB image is 13.4 MB of text.
    ad_pin_max_body_bytes: int = Field(default=14_500_000, ge=1024)
    # Ceilings on what one ad group may bid (per 1,000 impressions or per click) and on any budget or
    # spend cap, in micro-units of the account's currency: a typo of three zeros is refused, not spent.
    ad_max_bid_micro: int = Field(default=1_000_000_000, ge=1)  # 1,000 units
    ad_max_budget_micro: int = Field(default=10_000_000_000_000, ge=1)  # 10 million units
    # Promoted Pins in the home feed, related Pins and search: the 1-based positions of a page that
    # may hold an ad ("3,10,17,..." continues with the last step), and the reserve price per 1,000
    # impressions in micro-units (no ad is shown for less). `ads_enabled=false` serves none.
    ads_enabled: bool = True
    ad_slots: str = "3,10,17,..."
    ad_reserve_cpm_micro: int = Field(default=100_000, ge=1)  # 0.10 per 1,000 impressions
    customer_list_max_body_bytes: int = Field(default=200_000_000, ge=1024)
    # --- measurement (issue 16) ---
    # Who calls an ad's third-party measurement URLs: "server" (the platform, from a durable outbox,
    # with nothing of the person), "browser" (the page, without referrer or credentials, when the
    # person's consent allows) or "off". docs/privacy.md says what each reveals.
    measurement_pixels: Literal["server", "browser", "off"] = "server"
    # host:port pairs (comma-separated) whose plain-http tracking URLs are accepted (a local receiver in
    # tests or staging). Refused in production.
    measurement_insecure_hosts: str | None = None
    # A report cell counting people's actions from fewer distinct people than this is withheld.
    report_min_people: int = Field(default=10, ge=2, le=1_000_000)
    # Home-feed and related-Pins requests computed at once per server process, on worker threads; more
    # wait their turn. 0 computes them on the event loop itself, one at a time: no thread hop and no
    # contention for the interpreter lock, and a busy process leaves new connections to an idle one.
    # None (the default): 0 on SQLite, whose reads never wait on a network; 2 on PostgreSQL, where a
    # second request can run while the first waits for the database.
    hot_read_concurrency: int | None = Field(default=None, ge=0, le=64)
    # Model-scored feed candidates kept per server process for repeat requests with the same history
    # (recommend.model.Model.memo; exact: the key is everything the result depends on). 0 turns it off.
    feed_memo_size: int = Field(default=4096, ge=0, le=1_000_000)
    # Counters that every server process shares (sign-in limits): the database unless this is set, e.g.
    # redis://127.0.0.1:6379/0. Keys start with the prefix, so deployments can share one Redis.
    redis_url: str | None = None
    redis_key_prefix: str = "tastegraph:"
    # Wrong passwords per 15 minutes: per account (from browsers it never signed in on) and per known
    # device, and per client address whatever accounts it tries; then 429 with Retry-After.
    signin_failures_per_account: int = Field(default=10, ge=1, le=10_000)
    signin_failures_per_address: int = Field(default=100, ge=1, le=1_000_000)
    # Processes for private-set-intersection rounds (None: one per CPU).
    psi_workers: int | None = Field(default=None, ge=1, le=64)

    # --- Pin It (saving from other sites) ---
    # The platform's copies of images saved from other sites (catalog.media.LocalMediaStore), relative
    # to the working directory; served from /media/...
    media_dir: Path = Path("media")
    # host:port pairs (comma-separated) that image fetches may reach although they resolve to private
    # or loopback addresses. Unset: none, except the demo's third-party sites (localhost:8001, or the
    # demo's --sites-port) when TASTEGRAPH_ENV=development.
    media_fetch_allow_hosts: str | None = None
    media_fetch_max_bytes: int = Field(default=10_000_000, ge=10_000, le=50_000_000)
    # Images one person may have the platform fetch per hour (each Save popup fetches at most one).
    media_fetches_per_hour: int = Field(default=60, ge=1, le=10_000)

    @property
    def media_fetch_allowed_hosts(self) -> frozenset[str]:
        """`media_fetch_allow_hosts` with its development default resolved."""
        if self.media_fetch_allow_hosts is None:
            return frozenset({"localhost:8001"}) if self.env == "development" else frozenset()
        return frozenset(h.strip().lower() for h in self.media_fetch_allow_hosts.split(",") if h.strip())

    @property
    def measurement_insecure_host_set(self) -> frozenset[str]:
        return frozenset(
            h.strip().lower() for h in (self.measurement_insecure_hosts or "").split(",") if h.strip()
        )

    @property
    def hot_reads_at_once(self) -> int:
        """`hot_read_concurrency`, with its default resolved for the database."""
        if self.hot_read_concurrency is not None:
            return self.hot_read_concurrency
        return 0 if self.database_url.startswith("sqlite") else 2

    @property
    def rate_limits_on(self) -> bool:
        return self.rate_limit_enabled and not self.test_clock

    def check(self) -> Settings:
        if self.env == "production" and self.secret_key == DEV_SECRET_KEY:
            raise ConfigurationError("TASTEGRAPH_SECRET_KEY must be set to a secret value in production")
        if self.env == "production" and self.test_clock:
            raise ConfigurationError("TASTEGRAPH_TEST_CLOCK must not be enabled in production")
        if len(self.secret_key) < 16:
            raise ConfigurationError("TASTEGRAPH_SECRET_KEY must have at least 16 characters")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 24:
            raise ConfigurationError("TASTEGRAPH_ADMIN_TOKEN must have at least 24 characters")
        if self.env == "production" and self.measurement_insecure_host_set:
            raise ConfigurationError("TASTEGRAPH_MEASUREMENT_INSECURE_HOSTS must not be set in production")
        if self.env == "production":
            self._check_production_tls()
        return self

    def _check_production_tls(self) -> None:
        """Session cookies must never travel over plain http in production. The app cannot tell by
        itself that a request came over TLS (a proxy in front ends it), so it is told how: every request
        is https (cookies_always_secure), or which proxy to believe about it (forwarded_allow_ips)."""
        if urlsplit(self.public_origin).scheme != "https":
            raise ConfigurationError("TASTEGRAPH_PUBLIC_ORIGIN must be an https:// origin in production")
        if not self.cookies_always_secure and not (self.forwarded_allow_ips or "").strip():
            raise ConfigurationError(
                "production needs Secure cookies: set TASTEGRAPH_COOKIES_ALWAYS_SECURE=true when every "
                "request reaches the app over https, or TASTEGRAPH_FORWARDED_ALLOW_IPS to the addresses "
                "of the TLS-terminating proxy"
            )
