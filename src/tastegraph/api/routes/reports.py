"""Advertiser reports (issue 16): what an ad account's Promoted Pins did, per campaign, ad group or ad
and per day or in total, as JSON or CSV. Authenticated by the account's token like every
/v1/ad_accounts route; figures from fewer than TASTEGRAPH_REPORT_MIN_PEOPLE people are withheld (or,
in the account's dp mode, noised). docs/api.md shows the shapes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tastegraph.api.context import SystemDep
from tastegraph.api.openapi_errors import fails_with
from tastegraph.api.routes.ads import AccountId, AdAccountDep
from tastegraph.usecases import reports as cases

router = APIRouter(prefix="/v1", tags=["advertisers"])

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
    level: Annotated[str | None, Query(max_length=16, description="campaign | ad_group | ad")] = None,
    start_date: Annotated[
        str | None, Query(max_length=10, description="YYYY-MM-DD, account's time zone")
    ] = None,
    end_date: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD; at most 90 days")] = None,
    granularity: Annotated[str | None, Query(max_length=8, description="day | total")] = None,
    columns: Annotated[str | None, Query(max_length=400, description=_COLUMNS_HELP)] = None,
    format: Annotated[str | None, Query(max_length=8, description="json | csv (or Accept: text/csv)")] = None,
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
    if format not in (None, "json", "csv"):
        from tastegraph.kernel import InvalidInput

        raise InvalidInput("format is json or csv", field="format")
    if wants_csv:
        name = f"report-{out['ad_account_id']}-{out['level']}-{out['start_date']}-{out['end_date']}.csv"
        return Response(
            cases.report_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return out
