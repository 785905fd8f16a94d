"""The read-only HTTP API of ``alvh serve``: features, signals and recommendations as JSON.

Every endpoint reads the published catalog through the SDK (``alvh.Store``), which follows
the nightly catalog swap, so a publish never blocks or breaks a request. Dates are ISO
strings; unknown values are JSON null, never 0 or false.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import polars as pl
from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from alvh.store import CatalogMissing, NotFound, Store, UnknownName
from core.clock import today_new_york, utc_now

Day = Annotated[dt.date, Query(description="A day, YYYY-MM-DD")]


def json_rows(frame: pl.DataFrame) -> Response:
    """A frame as a JSON array of objects (polars writes ISO dates and nulls itself)."""
    return Response(frame.write_json(), media_type="application/json")


def json_row(frame: pl.DataFrame, missing: str) -> Response:
    """The frame's one row as a JSON object; 404 with ``missing`` when it has none."""
    if frame.height == 0:
        raise HTTPException(404, missing)
    return Response(frame.write_json()[1:-1], media_type="application/json")


def health(store: Store, now: dt.datetime) -> dict[str, Any]:
    """The catalog's age and every table's rows, dates and age."""
    status = store.status()
    today = today_new_york(now)
    tables = []
    for row in status.iter_rows(named=True):
        stamp, last = row["last_ingested_at"], row["last_date"]
        tables.append({"table": row["table_name"], "rows": row["rows"],
                       "first_date": row["first_date"], "last_date": last,
                       "last_ingested_at": stamp,
                       "age_seconds": round((now - stamp).total_seconds()) if stamp else None,
                       "days_behind": (today - last).days if last else None})
    published = dt.datetime.fromtimestamp(_mtime(store.catalog), dt.UTC)
    return {"status": "ok", "catalog": store.catalog, "published_at": published,
            "catalog_age_seconds": round((now - published).total_seconds()), "tables": tables}


def _mtime(path: str) -> float:
    import os

    return os.stat(path).st_mtime


def create_app(home: str) -> FastAPI:
    """The API over the lake at ``home``."""
    store = Store(home)
    app = FastAPI(title="alvh", version="1",
                  description="Read-only API over the ALVH feature store: point-in-time "
                              "features, signals and recommendations.")

    @app.exception_handler(CatalogMissing)
    def _missing(request: Request, exc: CatalogMissing) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.exception_handler(UnknownName)
    def _unknown(request: Request, exc: UnknownName) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(ValueError)
    def _bad(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/healthz", summary="Catalog age and the age of every table")
    def healthz() -> dict[str, Any]:
        return health(store, utc_now())

    @app.get("/v1/features/latest", summary="The latest feature row")
    def features_latest() -> Response:
        return json_row(store.features(), "no features published yet")

    @app.get("/v1/features", summary="The feature row in force on as_of (point in time)")
    def features_as_of(as_of: Day) -> Response:
        return json_row(store.features(as_of=as_of), f"no features on or before {as_of}")

    @app.get("/v1/features/{name}", summary="One feature's history: [{date, value}] "
             "(default: all of it)")
    def feature_history(name: Annotated[str, Path(description="A feature name")],
                        start: Annotated[dt.date | None, Query()] = None,
                        end: Annotated[dt.date | None, Query()] = None) -> Response:
        if name == "date":
            raise UnknownName("'date' is not a feature")
        frame = store.features(start=start or dt.date.min, end=end or dt.date.max,
                               names=[name])
        return json_rows(frame.rename({name: "value"}))

    @app.get("/v1/signals", summary="Every flag of the day in force on date (default latest)")
    def signals(date: Annotated[dt.date | None, Query()] = None) -> Response:
        return json_rows(store.signals(date))

    @app.get("/v1/recommendation/latest", summary="The latest stored recommendation")
    def recommendation_latest() -> dict[str, Any]:
        return _recommendation(store, None)

    @app.get("/v1/recommendation/{date}", summary="The recommendation computed from day date")
    def recommendation_of(date: dt.date) -> dict[str, Any]:
        return _recommendation(store, date)

    @app.get("/v1/backtest/summary", summary="The backtest summary (404 until one ran)")
    def backtest_summary() -> Response:
        try:
            return json_rows(store.backtest_summary())
        except NotFound as e:
            raise HTTPException(404, str(e)) from None

    return app


def _recommendation(store: Store, day: dt.date | None) -> dict[str, Any]:
    try:
        return store.recommendation(day)
    except NotFound as e:
        raise HTTPException(404, str(e)) from None
