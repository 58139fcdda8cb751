"""Download my data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tastegraph.api.context import SystemDep, UserDep
from tastegraph.bootstrap import System

router = APIRouter(prefix="/v1", tags=["privacy"])


def export_data(system: System, user_id: int) -> dict[str, Any]:
    with system.read() as conn:
        data = system.privacy.export(conn, user_id)
    return {"exported_at": system.clock.now().isoformat(), "user_id": user_id, **data}


@router.get("/me/export", summary="Everything stored about me, as JSON")
def export_me(system: SystemDep, user_id: UserDep) -> JSONResponse:
    return JSONResponse(
        export_data(system, user_id),
        headers={"Content-Disposition": f'attachment; filename="tastegraph-export-{user_id}.json"'},
    )
