"""Builds the running system from Settings: database, clock, services, and the privacy registry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from tastegraph.ads import accounts as ad_accounts
from tastegraph.ads import ad_log, audiences, customer_lists
from tastegraph.ads.serving import AdServing
from tastegraph.ads.spend import DatabaseSpend, RedisSpend, SpendStore
from tastegraph.catalog import content, feed_controls, links
from tastegraph.catalog.media import LocalMediaStore, MediaStore
from tastegraph.collect import SearchHistory, advertiser_events, engagement, offsite_ids, visits
from tastegraph.config import Settings
from tastegraph.consent import ConsentDefaults, ConsentService, Policy
from tastegraph.db import make_engine
from tastegraph.db.engine import LONG_RUNNING, READ_ONLY, Limits
from tastegraph.identity import IdentityService, SignInGuard, psi, psi_keys
from tastegraph.kernel import Clock, SettableClock, SystemClock
from tastegraph.kernel.counters import CounterStore, DatabaseCounters, Limiter, RedisCounters
from tastegraph.measure import attribution, pixels
from tastegraph.privacy import PersonalDataStore, PrivacyRegistry
from tastegraph.recommend import ModelHolder

MEDIA_GRACE_SECONDS = 86_400.0


# How often the queued searches are written (collect.search_history).
SEARCH_HISTORY_SECONDS = 1.0


@dataclass
class System:
    settings: Settings
    engine: Engine
    clock: Clock
    consent: ConsentService
    identity: IdentityService
    models: ModelHolder
    counters: CounterStore
    signin_guard: SignInGuard
    # Promoted Pins: budgets and frequency caps shared by every process (ads.spend).
    ad_spend: SpendStore
    privacy: PrivacyRegistry = field(default_factory=PrivacyRegistry)
    # Pin It: the platform's copies of images saved from other sites (catalog.media).
    media: MediaStore = field(default_factory=lambda: LocalMediaStore(Path("media")))
    # Promoted Pins serving in this process: token signer, pacing states, delivery counts, pCTR model.
    ad_serving: AdServing = field(default_factory=lambda: AdServing.make("unset", Path("models")))
    # Searches kept as engagement, written in batches by a background thread (collect.search_history).
    search_history: SearchHistory = field(init=False)

    def __post_init__(self) -> None:
        self.search_history = SearchHistory(self.engine, SEARCH_HISTORY_SECONDS)

    @contextmanager
    def write(self, *, long_running: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back (nothing written) on any error.
        `long_running`: batch work, exempt from the statement timeout."""
        with self.engine.connect() as conn:
            if long_running:
                conn = conn.execution_options(**{LONG_RUNNING: True})
            with conn.begin():
                yield conn

    @contextmanager
    def read(self, *, long_running: bool = False) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True, LONG_RUNNING: long_running})
            with conn.begin():
                yield conn

    def batch_engine(self) -> Engine:
        """The engine for batch work that manages its own transactions (exempt from the statement
        timeout), e.g. attribution runs."""
        return self.engine.execution_options(**{LONG_RUNNING: True})

    def check_database(self) -> None:
        """A trivial query (readiness): raises what the database raises when it cannot answer."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def sweep(self) -> dict[str, int]:
        """Run retention once, on the system clock."""
        with self.write(long_running=True) as conn:
            deleted = self.privacy.sweep(conn, self.clock.now())
            # Not personal data, but secrets: private-set-intersection sessions past their hour.
            deleted["psi_sessions"] = customer_lists.sweep_psi_sessions(conn, self.clock.now())
            # Measurement pixel calls done (sent or given up) a few days ago (measure.pixels).
            deleted["pixel_outbox_done"] = pixels.sweep(conn, self.clock.now())
            used = links.stored_media_in_use(conn)
        # Pin It: image copies no Pin shows (a popup that was never saved, an erased person's Pin), a
        # day after they were written (files: wall-clock age).
        deleted["media_unused"] = self.media.sweep_unused(used, MEDIA_GRACE_SECONDS)
        deleted["rate_counters"] = self.counters.sweep(self.clock.now())
        # Budget held by served ads whose tokens expired unseen (the server also does this every minute).
        deleted["ad_reservations_released"] = self.ad_spend.release_expired(self.clock.now())
        # Conversion attribution, incremental (measure.attribution): rows written or removed.
        done = attribution.run(self.batch_engine(), self.clock.now())
        deleted["attributions_changed"] = done.inserted + done.updated + done.deleted
        return deleted

    def prepare_psi(self, progress: psi_keys.Progress | None = None) -> dict[str, int]:
        """Rotate the private-set-intersection key when due; blind everyone under it (identity.psi_keys)."""
        blinder = psi.Blinder(self.settings.psi_workers)
        engine = self.engine.execution_options(**{LONG_RUNNING: True})
        return psi_keys.prepare(engine, blinder, self.clock.now(), progress=progress)

    def dispose(self) -> None:
        try:
            self.search_history.close()  # what is queued is written before the engine goes
        finally:
            self.engine.dispose()


def engine_for(settings: Settings) -> Engine:
    """The configured database, with the configured time limits."""
    limits = Limits(
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        pool_timeout_seconds=settings.db_pool_timeout_seconds,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    return make_engine(settings.database_url, limits)


def build(settings: Settings, *, clock: Clock | None = None, engine: Engine | None = None) -> System:
    settings.check()
    if clock is None:
        clock = SettableClock() if settings.test_clock else SystemClock()
    retention = timedelta(days=settings.offsite_retention_days)
    ad_retention = timedelta(days=settings.advertiser_event_retention_days)
    engine = engine or engine_for(settings)
    counters: CounterStore = (
        RedisCounters(settings.redis_url, prefix=settings.redis_key_prefix + "rate:")
        if settings.redis_url
        else DatabaseCounters(engine, read_options={READ_ONLY: True})
    )
    ad_spend: SpendStore = (
        RedisSpend(settings.redis_url, prefix=settings.redis_key_prefix + "ads:")
        if settings.redis_url
        else DatabaseSpend(engine, read_options={READ_ONLY: True})
    )
    guard = SignInGuard(
        Limiter(counters, clock),
        settings.secret_key,
        per_account=settings.signin_failures_per_account,
        per_address=settings.signin_failures_per_address,
    )
    system = System(
        settings=settings,
        engine=engine,
        clock=clock,
        consent=ConsentService(
            Policy(
                offsite_retention=retention,
                advertiser_retention=ad_retention,
                defaults=ConsentDefaults(settings.consent_defaults),
            )
        ),
        identity=IdentityService(session_ttl=timedelta(days=settings.session_days)),
        models=ModelHolder(settings.model_dir, memo_size=settings.feed_memo_size),
        counters=counters,
        signin_guard=guard,
        ad_spend=ad_spend,
        media=LocalMediaStore(settings.media_dir),
        ad_serving=AdServing.make(settings.secret_key, settings.model_dir),
    )
    _wire(system, retention, ad_retention)
    return system


def _wire(system: System, retention: timedelta, ad_retention: timedelta) -> None:
    consent, identity = system.consent, system.identity
    # Withdrawing consent deletes what may no longer be used, in the same transaction.
    consent.on_withdrawal(visits.on_withdrawal)
    # Click ids stop tying visits to a person who withdrew (issue 14: off-site without third-party cookies).
    consent.on_withdrawal(offsite_ids.on_withdrawal)
    consent.on_withdrawal(audiences.on_withdrawal)
    # Signing in on a browser moves its signed-out data to the account.
    identity.on_link(visits.attach_browser)
    identity.on_link(advertiser_events.attach_browser)
    identity.on_link(
        lambda conn, browser_id, user_id, _now: consent.attach_browser(conn, browser_id, user_id)
    )

    # Every personal-data store, in erasure order: dependents before what they reference.
    reg = system.privacy
    # Trained models hold people's interactions (and off-site domains, within retention).
    models = system.models
    reg.register(
        PersonalDataStore(
            "models",
            lambda _conn, uid: models.export_user(uid),
            lambda _conn, uid: models.erase_user(uid),
            lambda _conn, now: models.sweep(now),
        )
    )
    reg.register(PersonalDataStore("audiences", audiences.export, audiences.erase))
    # Conversions attributed to Promoted Pins (issue 16): derived from the ad logs and the advertiser's
    # events, so erased before them and kept no longer than the ad logs.
    reg.register(
        PersonalDataStore("ad_attributions", attribution.export, attribution.erase, attribution.sweep)
    )
    # Promoted Pins the person saw, clicked or hid (issue 15), kept 90 days.
    reg.register(PersonalDataStore("ad_activity", ad_log.export, ad_log.erase, ad_log.sweep))
    # How many Promoted Pins of each ad group were served to the person (frequency caps).
    spend = system.ad_spend
    reg.register(PersonalDataStore("ad_frequency", spend.export_person, spend.erase_person, spend.sweep))
    reg.register(
        PersonalDataStore(
            "customer_lists_that_matched", customer_lists.lists_that_matched, customer_lists.erase_matches
        )
    )
    reg.register(
        PersonalDataStore(
            "advertiser_events",
            advertiser_events.export,
            advertiser_events.erase,
            lambda conn, now: advertiser_events.sweep(conn, now, ad_retention),
        )
    )
    reg.register(PersonalDataStore("advertisers_managed", ad_accounts.export, ad_accounts.erase))
    # Searches queued in this process and not yet written (written within SEARCH_HISTORY_SECONDS).
    history = system.search_history
    reg.register(PersonalDataStore("search_history_queued", history.pending, history.forget))
    reg.register(PersonalDataStore("engagement_events", engagement.export, engagement.erase))
    # Click ids and partition links (issue 14); before the visits, which they describe.
    reg.register(
        PersonalDataStore(
            "offsite_identifiers",
            offsite_ids.export,
            offsite_ids.erase,
            lambda conn, now: offsite_ids.sweep(conn, now, retention),
        )
    )
    reg.register(
        PersonalDataStore(
            "offsite_visits",
            visits.export,
            visits.erase,
            lambda conn, now: visits.sweep(conn, now, retention),
        )
    )
    reg.register(
        PersonalDataStore(
            "consent",
            consent.export,
            consent.erase,
        )
    )
    reg.register(PersonalDataStore("identity", identity.export, identity.erase, identity.sweep_sessions))
    # Feed controls: topics the person removed from their feed (hides, with reasons, are in "catalog").
    reg.register(PersonalDataStore("feed_removed_topics", feed_controls.export, feed_controls.erase))
    reg.register(PersonalDataStore("catalog", content.export, content.erase))
