"""Customer lists by private set intersection: two rounds (identity.psi; the advertiser's side is
`tastegraph psi-client` or `tastegraph.identity.psi.advertiser_round`)."""

from __future__ import annotations

from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StrictStr

from tastegraph.ads import customer_lists
from tastegraph.api.context import SystemDep
from tastegraph.api.routes.ads import AdAccountDep, CustomerListResult, _json_only
from tastegraph.api.schemas import IdPath, Name
from tastegraph.bootstrap import System
from tastegraph.identity import psi

router = APIRouter(prefix="/v1", tags=["advertisers"])


class PsiStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["email", "phone"]
    name: Name = ""


class PsiRound1(BaseModel):
    session_id: str
    kind: str
    count: int
    points: str  # base64 of 32-byte points, concatenated
    expires_at: str


class PsiFinish(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The advertiser's records as H(x)^a, shuffled; and the platform's points of round 1 raised to a,
    # in the order received. Both base64 of 32-byte points, concatenated.
    records: StrictStr
    people: StrictStr


def _blinder(system: System) -> psi.Blinder:
    return psi.Blinder(system.settings.psi_workers)


@router.post(
    "/ad_accounts/{ad_account_id}/customer_lists/psi",
    status_code=201,
    response_model=PsiRound1,
    summary="Private set intersection, round 1: the platform's blinded identifiers",
    dependencies=[Depends(_json_only)],
)
async def psi_start(
    ad_account_id: IdPath, body: PsiStart, system: SystemDep, account: AdAccountDep
) -> PsiRound1:
    kind = customer_lists.kind_of(body.kind)

    def work() -> dict[str, Any]:
        # The blinding (or reading the prepared points) happens outside the write transaction. Everyone's
        # points are read and stored: batch work, exempt from the statement timeout.
        with system.read(long_running=True) as conn:
            round1 = system.identity.blinded_people(conn, kind, system.clock.now(), _blinder(system))
        with system.write(long_running=True) as conn:
            return customer_lists.psi_start(conn, round1, account, kind, body.name, system.clock.now())

    return PsiRound1(**await anyio.to_thread.run_sync(work))


@router.post(
    "/ad_accounts/{ad_account_id}/customer_lists/psi/{session_id}",
    status_code=201,
    response_model=CustomerListResult,
    summary="Private set intersection, round 2: match and make the audience",
    dependencies=[Depends(_json_only)],
)
async def psi_finish(
    ad_account_id: IdPath, session_id: str, body: PsiFinish, system: SystemDep, account: AdAccountDep
) -> CustomerListResult:
    records = psi.decode(body.records, "records")
    people = psi.decode(body.people, "people")

    def work() -> dict[str, Any]:
        with system.read() as conn:
            session = customer_lists.psi_session(conn, account, session_id, system.clock.now())
        result = customer_lists.psi_match(session, records, people, _blinder(system))
        with system.write(long_running=True) as conn:
            return customer_lists.psi_finish(
                conn, system.consent, account, session, result, system.clock.now()
            )

    return CustomerListResult(**await anyio.to_thread.run_sync(work))
