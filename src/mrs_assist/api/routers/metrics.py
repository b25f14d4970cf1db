"""The CMS-0057-F yearly prior-authorization metrics report, from the stored records."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from mrs_assist.api.deps import RecordsDep, ServicesDep
from mrs_assist.auth import ALL_ROLES, User, require_role
from mrs_assist.reports.cms0057f import report_for_store

router = APIRouter(prefix="/v1", tags=["metrics"])
Reader = Annotated[User, Depends(require_role(*ALL_ROLES))]


@router.get(
    "/metrics/cms-0057f",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}},
                     "description": "The report for the year."}},
)
def cms_0057f(
    _: Reader,
    services: ServicesDep,
    records: RecordsDep,
    year: Annotated[int, Query(ge=2000, le=2100, description="Calendar year of receipt.")],
    format: Annotated[Literal["json", "csv", "html"], Query(description="json, csv or html.")] = "json",
) -> Response:
    """Items under PA, % approved / denied / approved after appeal / approved after extension,
    average and median decision time — standard and expedited separately."""
    report = report_for_store(records, year, policies=services.policies)
    if format == "csv":
        return PlainTextResponse(report.to_csv(), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="cms-0057f-{year}.csv"'})
    if format == "html":
        return HTMLResponse(report.to_html())
    return JSONResponse(report.as_dict())
