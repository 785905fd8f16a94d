"""``alvh calibrate``: the pricing models fitted to every quote in the lake, with their error."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from core.errors import PipelineError
from flows.cli.app import Format, State, app, emit, fail, out

HELD_OUT = ("quote_date", "tenor_days", "detail", "market", "model_value", "ratio")
CALIBRATIONS = ("model", "as_of", "fit_start", "quote_days", "quotes", "error_p10",
                "error_median", "error_p90")


def _cell(v: object) -> object:
    return f"{v:.3f}" if isinstance(v, float) else v


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...], fmt: Format, title: str) -> None:
    emit(list(columns), [tuple(_cell(r[c]) for c in columns) for r in rows], fmt, title=title)


@app.command()
def calibrate(
    policy: Annotated[str | None, typer.Option(help="Policy TOML [env: ALVH_POLICY]")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
) -> None:
    """Fit the 1DTE SPX and the VIX call models to the lake's quotes; store and report them."""
    from flows.calibrate import calibrate_flow
    from flows.pipeline import publish

    lake = State.lake()
    try:
        report = calibrate_flow(home=State.settings.home, policy=policy or State.settings.policy)
        if lake.local:
            publish(lake)
    except (PipelineError, ValueError) as e:
        raise fail(str(e)) from None
    _table(report.calibration, CALIBRATIONS, format, "pricing_calibration (model / market)")
    _table(report.held_out, HELD_OUT, format,
           "1DTE condor, each chain day left out of the fit: model vs mid credit (points)")
    _table(report.vix_tenors, HELD_OUT, format,
           "VIX calls at the ladder's strike, per tenor (in sample): model vs mid (points)")
    v = report.vxth
    if v is None:
        out.print("VXTH check skipped: index_daily holds no VXTH closes", highlight=False)
    else:
        out.print(f"VXTH {v['first']}..{v['last']}: rebuilt x{v['growth_rebuilt']:.2f}, "
                  f"published x{v['growth_published']:.2f}, tracking error "
                  f"{v['tracking_error']:.2%}/month (dividend yield "
                  f"{v['dividend_yield']:.2%})", highlight=False)
