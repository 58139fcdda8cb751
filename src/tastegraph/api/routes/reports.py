"""Advertiser reports (issue 16): what an ad account's Promoted Pins did, per campaign, ad group or ad
and per day or in total, as JSON or CSV. Authenticated by the account's token like every
/v1/ad_accounts route; figures from fewer than TASTEGRAPH_REPORT_MIN_PEOPLE people are withheld (or,
in the account's dp mode, noised). docs/api.md shows the shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tastegraph.api.context import SystemDep
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.routes.ads import AccountId, AdAccountDep
from tastegraph.usecases import reports as cases

router = APIRouter(prefix="/v1", tags=["advertisers"])

_DAY = r"^\d{4}-\d{2}-\d{2}$"
_ONE = "(" + "|".join(cases.COLUMNS) + ")"
_COLUMNS_PATTERN = f"^{_ONE}(,{_ONE})*$"
_COLUMNS_HELP = "comma-separated, from: " + ", ".join(cases.COLUMNS) + " (default: all)"


@router.get(
    "/ad_accounts/{ad_account_id}/reports",
    summary="A report of the account's Promoted Pins (no figure describes fewer than the threshold's people)",
)
@fails_with(422)
def get_report(
    ad_account_id: AccountId,
    request: Request,
    system: SystemDep,
    account: AdAccountDep,
    level: Annotated[
        Literal["campaign", "ad_group", "ad"] | None, Query(description="default campaign")
    ] = None,
    start_date: Annotated[
        str | None,
        Query(pattern=_DAY, description="YYYY-MM-DD in the account's time zone (default: 6 days before end)"),
    ] = None,
    end_date: Annotated[
        str | None, Query(pattern=_DAY, description="YYYY-MM-DD (default: today); at most 90 days from start")
    ] = None,
    granularity: Annotated[Literal["day", "total"] | None, Query(description="default day")] = None,
    columns: Annotated[
        str | None, Query(max_length=400, pattern=_COLUMNS_PATTERN, description=_COLUMNS_HELP)
    ] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="or Accept: text/csv")] = None,
) -> Any:
    out = cases.report(
        system,
        account,
        level=level,
        start_date=start_date,
        end_date=end_date,
        granularity=granularity,
        columns=columns,
    )
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        name = f"report-{out['ad_account_id']}-{out['level']}-{out['start_date']}-{out['end_date']}.csv"
        return Response(
            cases.report_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return out
