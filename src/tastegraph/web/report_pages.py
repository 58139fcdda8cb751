"""The advertiser's report page (/advertisers/{id}/reports): a date range and a level, the attribution
windows and privacy mode in force, charts of spend, impressions, clicks and conversions per day
(server-rendered SVG: nothing from a CDN, no script), a table per campaign, ad group or ad over the
range, and the same report as CSV (/advertisers/{id}/reports.csv).

Only the ad account's signed-in owner sees it (another person's account is a 404). Figures withheld
because they come from too few people say so; so do figures whose campaign leaves such cells out."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from tastegraph.bootstrap import System
from tastegraph.edge.deps import CallerDep, SystemDep
from tastegraph.kernel import InvalidInput
from tastegraph.usecases import ad_accounts as account_cases
from tastegraph.usecases import reports as report_cases
from tastegraph.usecases.callers import Caller
from tastegraph.web.rendering import FormStr, Pages, redirect, sentence, signed_in, signed_in_form

SIGNED_IN = signed_in("/advertisers")
SIGNED_IN_FORM = signed_in_form("/advertisers")
CHART_W, CHART_H, PAD = 560, 140, 34
SERIES = (
    ("spend_in_micro", "Spend", 1e-6),
    ("impressions", "Impressions", 1.0),
    ("clicks", "Clicks", 1.0),
    ("conversions", "Conversions", 1.0),
)


def _chart(
    days: list[str],
    per_day: dict[str, dict[str, float]],
    noise: dict[str, dict[str, float]],
    key: str,
    label: str,
    unit: float,
) -> dict[str, Any]:
    """One panel: a bar per day (what was published that day, all rows together), error bars in the dp
    mode (± one standard deviation of the noise)."""
    values = [per_day.get(d, {}).get(key, 0.0) * unit for d in days]
    errors = [noise.get(d, {}).get(key, 0.0) * unit for d in days]
    top = max([v + e for v, e in zip(values, errors, strict=True)] + [1e-9])
    n = max(len(days), 1)
    step = (CHART_W - PAD - 8) / n
    width = max(1.0, step * 0.7)
    plot_h = CHART_H - 30
    bars = []
    for i, (day, v, e) in enumerate(zip(days, values, errors, strict=True)):
        h = plot_h * v / top
        x = PAD + i * step + (step - width) / 2
        bar: dict[str, Any] = {
            "x": round(x, 1),
            "y": round(10 + plot_h - h, 1),
            "w": round(width, 1),
            "h": round(h, 1),
            "title": f"{day}: {v:,.2f}" if unit != 1.0 else f"{day}: {v:,.0f}",
        }
        if e > 0:
            cx = x + width / 2
            bar["err"] = {
                "x": round(cx, 1),
                "y1": round(10 + plot_h - plot_h * min(top, v + e) / top, 1),
                "y2": round(10 + plot_h - plot_h * max(0.0, v - e) / top, 1),
            }
        bars.append(bar)
    ticks = [days[0], days[-1]] if days else []
    return {
        "key": key,
        "label": label,
        "bars": bars,
        "top": f"{top:,.2f}" if unit != 1.0 else f"{top:,.0f}",
        "first": ticks[0] if ticks else "",
        "last": ticks[-1] if ticks else "",
        "w": CHART_W,
        "h": CHART_H,
        "pad": PAD,
        "base": 10 + plot_h,
        "total": sum(values),
    }


def _days(start: str, end: str) -> list[str]:
    from datetime import date, timedelta

    a, b = date.fromisoformat(start), date.fromisoformat(end)
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def _per_day(daily: dict[str, Any]) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    var: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in daily["rows"]:
        for key, _, _ in SERIES:
            value = row.get(key)
            if value is not None:
                sums[row["date"]][key] += float(value)
            sd = (row.get("noise") or {}).get(key)
            if sd:
                var[row["date"]][key] += float(sd) ** 2
    noise = {d: {k: v**0.5 for k, v in m.items()} for d, m in var.items()}
    return {d: dict(m) for d, m in sums.items()}, noise


def routes(pages: Pages) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def params(request: Request) -> dict[str, str | None]:
        q = request.query_params
        return {
            "level": q.get("level") or None,
            "start_date": q.get("start_date") or None,
            "end_date": q.get("end_date") or None,
        }

    def render(
        request: Request,
        system: System,
        caller: Caller,
        ad_account_id: int,
        error: InvalidInput | None = None,
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        asked = params(request)
        try:
            total = report_cases.report(system, account, granularity="total", **asked)
            daily = report_cases.report(
                system,
                account,
                granularity="day",
                columns="spend_in_micro,impressions,clicks,conversions",
                **asked,
            )
        except InvalidInput as exc:
            error = error or exc
            total = report_cases.report(system, account, granularity="total")
            daily = report_cases.report(
                system, account, granularity="day", columns="spend_in_micro,impressions,clicks,conversions"
            )
        per_day, noise = _per_day(daily)
        days = _days(total["start_date"], total["end_date"])
        charts = [_chart(days, per_day, noise, key, label, unit) for key, label, unit in SERIES]
        overview = account_cases.ad_account(system, account)
        context = {
            "account": overview,
            "r": total,
            "charts": charts,
            "csv_query": "&".join(
                f"{k}={v}"
                for k, v in (
                    ("level", total["level"]),
                    ("start_date", total["start_date"]),
                    ("end_date", total["end_date"]),
                )
            ),
            "choices": {
                "click_days": [1, 7, 14, 30, 60],
                "engagement_days": [1, 7, 14, 30, 60],
                "view_days": [0, 1, 7, 14, 30, 60],
            },
            "error_field": error.field if error else "",
            "error_message": sentence(error.message) if error else "",
        }
        return pages.render(request, "reports.html", caller, context, status=error.status if error else 200)

    @router.get(
        "/advertisers/{ad_account_id:int}/reports", response_class=HTMLResponse, dependencies=[SIGNED_IN]
    )
    def report_page(ad_account_id: int, request: Request, system: SystemDep, caller: CallerDep) -> Response:
        return render(request, system, caller, ad_account_id)

    @router.post("/advertisers/{ad_account_id:int}/reports/windows", dependencies=[SIGNED_IN_FORM])
    def save_windows(
        ad_account_id: int,
        request: Request,
        system: SystemDep,
        caller: CallerDep,
        click_days: FormStr = "",
        engagement_days: FormStr = "",
        view_days: FormStr = "",
    ) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        windows: dict[str, Any] = {}
        for name, text in (
            ("click_days", click_days),
            ("engagement_days", engagement_days),
            ("view_days", view_days),
        ):
            if text:
                windows[name] = int(text) if text.isdigit() and len(text) < 4 else text
        try:
            account_cases.update_ad_account(system, account, attribution=windows, privacy=None)
        except InvalidInput as exc:
            return render(request, system, caller, ad_account_id, error=exc)
        return redirect(f"/advertisers/{ad_account_id}/reports?notice=windows_saved")

    @router.get("/advertisers/{ad_account_id:int}/reports.csv", dependencies=[SIGNED_IN])
    def report_csv(ad_account_id: int, request: Request, system: SystemDep, caller: CallerDep) -> Response:
        account = account_cases.ad_caller_for_owner(system, caller, ad_account_id)
        out = report_cases.report(system, account, granularity="day", **params(request))
        name = f"report-{ad_account_id}-{out['level']}-{out['start_date']}-{out['end_date']}.csv"
        return Response(
            report_cases.report_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router
