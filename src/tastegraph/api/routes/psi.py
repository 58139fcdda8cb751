"""Customer lists by private set intersection: two rounds (usecases.customer_lists; the advertiser's side
is `tastegraph psi-client` or `tastegraph.identity.psi.advertiser_round`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

import anyio
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StrictStr

from tastegraph.api.context import SystemDep
from tastegraph.api.routes.ads import AdAccountDep, CustomerListResult, customer_list_result, json_only
from tastegraph.api.schemas import IdPath, Name
from tastegraph.usecases import customer_lists as list_cases

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


@router.post(
    "/ad_accounts/{ad_account_id}/customer_lists/psi",
    status_code=201,
    response_model=PsiRound1,
    summary="Private set intersection, round 1: the platform's blinded identifiers",
    dependencies=[Depends(json_only)],
)
async def psi_start(
    ad_account_id: IdPath, body: PsiStart, system: SystemDep, account: AdAccountDep
) -> PsiRound1:
    started = await anyio.to_thread.run_sync(
        lambda: list_cases.start_psi(system, account, body.kind, body.name)
    )
    return PsiRound1(**asdict(started))


@router.post(
    "/ad_accounts/{ad_account_id}/customer_lists/psi/{session_id}",
    status_code=201,
    response_model=CustomerListResult,
    summary="Private set intersection, round 2: match and make the audience",
    dependencies=[Depends(json_only)],
)
async def psi_finish(
    ad_account_id: IdPath, session_id: str, body: PsiFinish, system: SystemDep, account: AdAccountDep
) -> CustomerListResult:
    saved = await anyio.to_thread.run_sync(
        lambda: list_cases.finish_psi(system, account, session_id, body.records, body.people)
    )
    return customer_list_result(saved)
