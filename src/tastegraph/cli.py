"""The command line: tastegraph db upgrade | demo | serve | sweep | train | bench."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from tastegraph.config import Settings
from tastegraph.kernel import TastegraphError

app = typer.Typer(help="Tastegraph: consent-first personalization.", no_args_is_help=True)
db_app = typer.Typer(help="Database commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
bench_app = typer.Typer(help="Offline benchmarks.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
ad_account_app = typer.Typer(help="Advertisers' ad accounts and their API tokens.", no_args_is_help=True)
app.add_typer(ad_account_app, name="ad-account")
console = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


@contextmanager
def _stage_bars(width: int) -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars on stderr for long work, one per stage: yields `report(stage, done, total)`
    (stage names padded to `width`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    label = TextColumn(f"{{task.description:<{width}}}")
    with Progress(label, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        yield report


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (creates the database if needed)."""
    from tastegraph.bootstrap import engine_for
    from tastegraph.db import current_revision, upgrade

    engine = engine_for(_settings())
    upgrade(engine)
    console.print(f"database at revision [bold]{current_revision(engine)}[/bold]")
    engine.dispose()


@app.command()
def sweep() -> None:
    """Run the daily maintenance once: retention (off-site visits past their window, expired sessions and
    everything else past its period), conversion attribution (as `tastegraph measure`), then the
    private-set-intersection key's rotation and preparation, then the third-party measurement pixels
    that are due (at most a minute of sending)."""
    from tastegraph.bootstrap import build
    from tastegraph.usecases import measurement_pixels
    from tastegraph.usecases import reports as report_cases

    system = build(_settings())
    deleted = system.sweep()
    prepared = system.prepare_psi()
    # Third-party measurement pixels due now (the server sends them continuously; this drains what a
    # deployment without a running server, or a receiver that was down, left behind).
    sent = measurement_pixels.drain(system)
    # After attribution: the advertiser reports' rollups of the days touched since the last refresh.
    rolled = report_cases.refresh(system)
    print(
        json.dumps(
            {"deleted": deleted, "psi": prepared, "measurement_pixels": sent, "reports": rolled.__dict__}
        )
    )
    system.dispose()


@app.command()
def reports(
    full: Annotated[bool, typer.Option("--full", help="recompute every day, not only those touched")] = False,
) -> None:
    """Bring the advertiser reports' rollups up to date (the days touched since the last refresh, and
    every conversion cell of an account whose attribution windows changed); `sweep` does it too."""
    from tastegraph.bootstrap import build
    from tastegraph.usecases import reports as report_cases

    system = build(_settings())
    try:
        done = report_cases.refresh(system, full=full)
    finally:
        system.dispose()
    print(json.dumps(done.__dict__))


@app.command()
def measure(
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Recompute every conversion from this UTC day on (YYYY-MM-DD)"
        ),
    ] = None,
) -> None:
    """Bring conversion attribution up to date: the conversions stored since the last run, and those
    that ad-log rows recorded since could change (the daily sweep runs this too). Progress on stderr,
    one JSON object on stdout."""
    from tastegraph.usecases import measurement
    from tastegraph.usecases import reports as report_cases

    def work(system: Any) -> Any:
        with _stage_bars(11) as report:
            run = measurement.attribute(system, None if since is None else since.date(), report)
        # Then the advertiser reports' rollups of what attribution (and the ad logs) touched.
        rolled = report_cases.refresh(system)
        return {**run.as_dict(), "reports": rolled.__dict__}

    print(json.dumps(_use_case(work)))


T = TypeVar("T")


def _use_case(work: Callable[[Any], T]) -> T:
    """Run `work(system)`, a use case, on the configured system; a refused input (TastegraphError,
    raised before the use case's transaction commits) prints its message and exits with status 2."""
    from tastegraph.bootstrap import build

    system = build(_settings())
    try:
        return work(system)
    except TastegraphError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    finally:
        system.dispose()


@ad_account_app.command("create")
def ad_account_create(
    name: Annotated[str, typer.Option(help="The advertiser's name")],
    website: Annotated[
        str | None, typer.Option(help="Its site, e.g. shop.example: Pins linking there are its Pins")
    ] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217: budgets and bids are in its micro-units")] = "USD",
    timezone: Annotated[str, typer.Option(help="IANA time zone: the account's day for budgets")] = "UTC",
) -> None:
    """Create an advertiser with one ad account and an API token; prints {"id", "token", "tag_id"}."""
    from tastegraph.usecases import ad_accounts

    new = _use_case(
        lambda system: ad_accounts.create_advertiser(system, None, name, website, currency, timezone)
    )
    print(json.dumps({"id": new.account.id, "token": new.token.token, "tag_id": new.account.tag_id}))


@ad_account_app.command("token")
def ad_account_token(
    account: Annotated[int, typer.Option("--account", help="The ad account's id")],
    label: Annotated[str, typer.Option(help="What the token is for")] = "",
) -> None:
    """Create another API token for an ad account; prints {"id", "token"}."""
    from tastegraph.usecases import ad_accounts
    from tastegraph.usecases.callers import AdCaller

    token = _use_case(lambda system: ad_accounts.create_token(system, AdCaller(account), label))
    print(json.dumps({"id": token.id, "token": token.token}))


@ad_account_app.command("revoke")
def ad_account_revoke(
    account: Annotated[int, typer.Option("--account", help="The ad account's id")],
    token_id: Annotated[int, typer.Option("--token-id", help="The token's id (not its value)")],
) -> None:
    """Revoke an API token: it stops working at once."""
    from tastegraph.usecases import ad_accounts
    from tastegraph.usecases.callers import AdCaller

    _use_case(lambda system: ad_accounts.revoke_token(system, AdCaller(account), token_id))
    print(json.dumps({"revoked": token_id}))


def _read_records(path: Path, kind: str, hashed: bool) -> list[str]:
    """A customer file as SHA-256 hex digests; invalid lines are reported and skipped."""
    from tastegraph.usecases.advertiser_client import hashed_records

    def skipped(exc: TastegraphError) -> None:
        console.print(f"[yellow]skipped {exc.field}: {exc.message}[/yellow]")

    return hashed_records(path, kind, hashed, skipped)


@app.command("customer-list")
def customer_list_upload(
    file: Annotated[Path, typer.Argument(help="CSV or text file: one email or phone per line")],
    account: Annotated[int, typer.Option("--account", help="The ad account's id")],
    token: Annotated[str, typer.Option(envvar="TASTEGRAPH_AD_TOKEN", help="The ad account's API token")],
    kind: Annotated[str, typer.Option(help="email or phone")] = "email",
    hashed: Annotated[bool, typer.Option(help="Records are already SHA-256 hex")] = False,
    name: Annotated[str, typer.Option(help="The audience's name")] = "",
    url: Annotated[str, typer.Option(help="The platform's address")] = "http://127.0.0.1:8000",
    private: Annotated[
        bool, typer.Option("--psi", help="Private set intersection: no identifier leaves in matchable form")
    ] = False,
) -> None:
    """Upload a customer list as an advertiser: streamed CSV, or private set intersection (--psi).

    Plain values are normalized and hashed on this machine before anything is sent. With --psi the
    platform never sees the hashes either, only points blinded with a secret that stays here.
    """
    import httpx
    from rich.progress import Progress

    from tastegraph.usecases import advertiser_client as local

    base = f"{url.rstrip('/')}/v1/ad_accounts/{account}/customer_lists"
    headers = {"Authorization": f"Bearer {token}"}
    digests = _read_records(file, kind, hashed)
    if not digests:
        console.print("[red]no valid records in the file[/red]")
        raise typer.Exit(2)
    with httpx.Client(timeout=600, headers=headers) as client, Progress(console=console) as progress:
        if private:
            step = progress.add_task("round 1: the platform's blinded identifiers", total=None)
            r = client.post(f"{base}/psi", json={"kind": kind, "name": name})
            _check(r)
            first = r.json()
            progress.update(step, total=1, completed=1)
            what = f"blinding {len(digests):,} records and {first['count']:,} points"
            step = progress.add_task(what, total=None)
            records, people = local.psi_round(digests, local.psi_decode(first["points"], "points"))
            progress.update(step, total=1, completed=1)
            step = progress.add_task("round 2: matching", total=None)
            r = client.post(
                f"{base}/psi/{first['session_id']}",
                json={"records": local.psi_encode(records), "people": local.psi_encode(people)},
            )
            progress.update(step, total=1, completed=1)
        else:
            body = "\n".join(digests).encode()
            task = progress.add_task(f"uploading {len(digests):,} hashed records", total=len(body))

            def chunks() -> Any:
                size = 1 << 16
                for start in range(0, len(body), size):
                    piece = body[start : start + size]
                    progress.advance(task, len(piece))
                    yield piece

            r = client.post(
                base,
                params={"kind": kind, "hashed": "true", "name": name},
                content=chunks(),
                headers={"Content-Type": "text/csv"},
            )
    _check(r)
    print(json.dumps(r.json()))


def _check(response: Any) -> None:
    if response.status_code >= 400:
        console.print(f"[red]{response.status_code}: {response.text[:500]}[/red]")
        raise typer.Exit(1)


@app.command("train")
def train_command(
    rank: Annotated[int, typer.Option(help="Rank of the graph filter's low-pass part.", min=1)] = 64,
    seed: Annotated[int, typer.Option(help="Seed of the filter's randomized SVD and of the walks.")] = 0,
    keep: Annotated[int, typer.Option(help="Model versions to keep (older ones are deleted).", min=1)] = 5,
) -> None:
    """Train a model from the stored engagement and write it as a new version to TASTEGRAPH_MODEL_DIR;
    then the Promoted Pins pCTR model (ad_ctr.npz there: trained on the ad log, or the organic prior).

    Prints progress on stderr and one JSON object on stdout. A running server picks the new version up
    on SIGHUP or restart (or POST /v1/admin/reload-model with TASTEGRAPH_ADMIN_TOKEN set).
    """
    from tastegraph.bootstrap import build
    from tastegraph.kernel import InvalidInput
    from tastegraph.usecases import models

    settings = _settings()
    system = build(settings)
    try:
        with _stage_bars(16) as report:
            trained = models.train_new_version(
                system, models.TrainingParams(rank=rank, seed=seed), keep, report
            )
    except InvalidInput as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        system.dispose()
    console.print(f"model [bold]{trained.version}[/bold] written to {trained.path}")
    ad_ctr = trained.ad_ctr
    if ad_ctr.path is None:
        console.print(f"pCTR model: none written ({ad_ctr.reason})")
    else:
        console.print(f"pCTR model [bold]{ad_ctr.kind}[/bold] written to {ad_ctr.path}: {ad_ctr.reason}")
    keys = ("version", "created_at", "counts", "offsite_expires_at", "training_seconds")
    print(
        json.dumps(
            {
                **{k: trained.meta[k] for k in keys},
                "path": str(trained.path),
                "pruned": trained.pruned,
                "ad_ctr": ad_ctr.summary(),
            }
        )
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the configured database over HTTP."""
    import uvicorn

    settings = _settings()
    try:
        settings.check()  # refuse here, once, rather than in every worker as it starts
    except TastegraphError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    # Proxy headers only from the configured proxy: anyone else could claim https or another address.
    proxy = (settings.forwarded_allow_ips or "").strip() or None
    uvicorn.run(
        "tastegraph.server:make_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        proxy_headers=proxy is not None,
        forwarded_allow_ips=proxy,
    )


def _load_demo(settings: Settings, seed: int, pins: int, users: int, ikea: bool) -> None:
    """Migrate, then load the demo world (once) and the IKEA catalogue when the shared data is there."""
    from tastegraph.bootstrap import build
    from tastegraph.db import upgrade
    from tastegraph.demo import (
        WorldSize,
        catalogue_size,
        ensure_demo_ads,
        ensure_demo_advertiser,
        load_ikea,
        load_world,
    )

    system = build(settings)
    upgrade(system.engine)
    with system.read() as conn:
        existing = catalogue_size(conn)
    if existing:
        console.print(f"the catalogue already has {existing:,} Pins; not loading the demo world again")
    else:
        with _stage_bars(16) as report, system.write(long_running=True) as conn:
            counts = load_world(conn, seed, system.clock.now(), WorldSize(pins=pins, users=users), report)
        console.print("loaded: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    if ikea and settings.ikea_dir is not None:
        with system.write(long_running=True) as conn:
            added = load_ikea(conn, settings.ikea_dir, system.clock.now())
        console.print(f"IKEA products from {settings.ikea_dir}: {added:,} new Pins")
    with system.write() as conn:
        account, token = ensure_demo_advertiser(conn, system.clock.now())
    if token is not None:
        console.print(
            f"demo advertiser {account.name}: ad account {account.id}, tag id {account.tag_id}, "
            f"API token {token.token} (shown once)"
        )
    if made := ensure_demo_ads(system):
        console.print(f"demo Promoted Pins: {made} ads from 3 advertisers (home feed, Pin pages, search)")
    system.dispose()


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the generated world (same seed, same world).")] = 42,
    load_only: Annotated[bool, typer.Option("--load-only", help="Load the demo world and exit.")] = False,
    pins: Annotated[int, typer.Option(help="Pins to generate.", min=10)] = 5000,
    users: Annotated[int, typer.Option(help="People to generate.", min=2)] = 600,
    ikea: Annotated[bool, typer.Option(help="Also load ../shared/data/ikea when present.")] = True,
    host: Annotated[str, typer.Option(help="Interface for the platform.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the platform.")] = 8000,
    sites_port: Annotated[int, typer.Option(help="Port for the third-party demo sites.")] = 8001,
) -> None:
    """Load a deterministic demo world, then serve the platform and third-party sites that embed it."""
    settings = _settings()
    _load_demo(settings, seed, pins, users, ikea)
    if load_only:
        return
    _serve_demo(settings, host, port, sites_port)


def _serve_demo(settings: Settings, host: str, port: int, sites_port: int) -> None:
    import asyncio

    import uvicorn

    from tastegraph.bootstrap import build
    from tastegraph.server import compose
    from tastegraph.web.demo_sites import create_demo_sites_app

    platform = f"http://{host}:{port}"
    if "public_origin" not in settings.model_fields_set:  # TASTEGRAPH_PUBLIC_ORIGIN wins when set
        settings.public_origin = platform
    # The third-party sites run on another site (localhost vs 127.0.0.1), so the save button's cookie
    # really is a third-party cookie there, as on the web.
    sites = f"http://localhost:{sites_port}"
    # Pin It: the platform may fetch pictures from the demo's own sites (on loopback) in development.
    if settings.media_fetch_allow_hosts is None and settings.env == "development":
        settings.media_fetch_allow_hosts = f"localhost:{sites_port}"
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                compose(build(settings), freeze_heap=True), host=host, port=port, log_level="warning"
            )
        ),
        uvicorn.Server(
            uvicorn.Config(
                create_demo_sites_app(platform), host="localhost", port=sites_port, log_level="warning"
            )
        ),
    ]
    console.print(
        "\n[bold]Tastegraph demo[/bold] (Ctrl+C stops it)\n"
        f"  home feed          {platform}/\n"
        f"  sign up / sign in  {platform}/signup   {platform}/signin"
        "   (demo people: demo1@demo.tastegraph.test ... password demo-password)\n"
        f"  privacy center     {platform}/settings\n"
        f"  signed-out choice  {platform}/privacy\n"
        f"  API docs           {platform}/docs\n"
        f"  third-party sites  {sites}/   (pages that embed the save button)\n"
        f"  advertiser's shop  {sites}/trailpeak-gear/   (carries the tag: product views, purchases)\n"
    )

    async def run() -> None:
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(run())


@bench_app.command("recall")
def bench_recall(
    train: Annotated[Path, typer.Option(help="Training interactions, LightGCN format (user item item ...).")],
    test: Annotated[Path, typer.Option(help="Test interactions, same format.")],
    model: Annotated[str | None, typer.Option(help="Model name; default: the project's best.")] = None,
    k: Annotated[int, typer.Option(help="Cut-off K for Recall@K and NDCG@K.", min=1)] = 20,
) -> None:
    """Full-ranking Recall@K / NDCG@K (train items excluded), fit and scoring time, peak memory.

    Prints progress on stderr and one JSON object as the last line on stdout.
    """
    from tastegraph.kernel import InvalidInput
    from tastegraph.usecases.offline_evaluation import DEFAULT_MODEL, evaluate, load_lightgcn, make_model

    try:
        data = load_lightgcn(train, test)
        recommender = make_model(model or DEFAULT_MODEL)
    except InvalidInput as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    console.print(
        f"{data.n_users:,} users, {data.n_items:,} items, {data.train.nnz:,} train / {data.test.nnz:,} test "
        f"interactions; model {recommender.name}"
    )
    with _stage_bars(6) as report:
        result = evaluate(recommender, data, k, progress=report)
    print(json.dumps(result.as_dict()))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
