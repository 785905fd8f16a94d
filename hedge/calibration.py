"""The pricing models in force on a day: fitted to real quotes, chosen point in time.

``alvh calibrate`` fits the 1DTE SPX model and the VIX call model on every quote the lake
holds and stores one ``pricing_calibration`` row per model and quote day (an expanding fit:
the row of day d used only quotes of days <= d), with its error per day and tenor in
``pricing_calibration_errors``. The engine and the backtest read the row in force on D (the
latest fitted on quotes known by D); before the first quote the earliest row is used and
flagged; a policy may pin the parameters instead (``[pricing] calibration = "pinned"``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from hedge.policy import Policy
from hedge.spx_model import SpxModel
from hedge.vix_model import VixModel

if TYPE_CHECKING:
    from storage.lake import Lake

from storage.schemas import BOOL, DATE, F64, I64, STR, UTC_TS, Table

MODELS = ("spx_1dte", "vix_call")

PRICING_CALIBRATION = Table(
    "pricing_calibration",
    {"model": STR, "as_of": DATE, "calibration_id": STR, "fit_start": DATE, "fit_end": DATE,
     "quote_days": I64, "quotes": I64, "parameters": STR, "error_p10": F64,
     "error_median": F64, "error_p90": F64, "computed_at": UTC_TS},
    keys=("model", "as_of"), date_col="as_of", partition_by=("model",),
    descriptions={
        "model": "spx_1dte (the next-session SPX condor) or vix_call (the ladder's calls)",
        "as_of": "the last quote day of the fit: the row is in force from this day on",
        "calibration_id": "model:as_of:hash of the parameters",
        "parameters": "the fitted parameters as JSON (hedge.spx_model / hedge.vix_model)",
        "error_p10": "10th percentile of model / market over the fit's days (spx_1dte: the "
                     "engine's condor credit, each day left out of its own fit; vix_call: "
                     "the ladder's call per tenor, in sample)",
        "error_median": "median of model / market", "error_p90": "90th percentile"},
)

PRICING_CALIBRATION_ERRORS = Table(
    "pricing_calibration_errors",
    {"model": STR, "as_of": DATE, "quote_date": DATE, "tenor_days": I64, "quotes": I64,
     "market": F64, "model_value": F64, "ratio": F64, "held_out": BOOL, "detail": STR,
     "computed_at": UTC_TS},
    keys=("model", "as_of", "quote_date", "tenor_days"), date_col="as_of",
    partition_by=("model",),
    descriptions={
        "market": "the market's value: the condor's mid credit (points) or the call's mid",
        "model_value": "the model's value for the same instrument",
        "ratio": "model_value / market", "tenor_days": "calendar days to expiry",
        "held_out": "true when the day was left out of the fit that priced it",
        "detail": "the instrument (strikes) and the vol level used"},
)

TABLES = (PRICING_CALIBRATION, PRICING_CALIBRATION_ERRORS)  # listed in storage.schemas


@dataclass(frozen=True)
class Pricing:
    """The models a day is priced with, where they come from and their error band.

    ``band`` is (p10, p90) of model / market; a backtest run at the low or high band
    divides the model's prices by p90 or p10 (``at_band``), through ``*_scale``.
    """

    spx: SpxModel
    vix: VixModel
    source: str  # "lake" (a stored calibration) or "policy" (pinned or shipped parameters)
    spx_as_of: dt.date | None = None
    vix_as_of: dt.date | None = None
    later_quotes: tuple[str, ...] = ()  # models calibrated on quotes after the day (flagged)
    spx_band: tuple[float, float] = (1.0, 1.0)
    vix_band: tuple[float, float] = (1.0, 1.0)
    spx_scale: float = 1.0
    vix_scale: float = 1.0

    def at_band(self, band: str) -> Pricing:
        """The same models with prices moved to the ``lo`` or ``hi`` end of the error band."""
        if band == "central":
            return self
        pick = 1 if band == "lo" else 0
        return replace(self, spx_scale=1.0 / self.spx_band[pick],
                       vix_scale=1.0 / self.vix_band[pick])

    def describe(self) -> dict[str, str | float | None]:
        """The reason's inputs: source, fit days and band."""
        return {"source": self.source, "spx_as_of": _iso(self.spx_as_of),
                "vix_as_of": _iso(self.vix_as_of), "spx_error_p10": self.spx_band[0],
                "spx_error_p90": self.spx_band[1], "vix_error_p10": self.vix_band[0],
                "vix_error_p90": self.vix_band[1],
                "later_quotes": ",".join(self.later_quotes) or None}


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def policy_pricing(policy: Policy) -> Pricing:
    """The policy's own parameters (pinned, or the shipped fit to the shared quotes)."""
    p = policy.pricing
    return Pricing(SpxModel.from_dict(p.spx_model), VixModel.from_dict(p.vix_model), "policy",
                   spx_band=p.spx_error_band, vix_band=p.vix_error_band)


# A calibration in force: its day, parameters, band and whether it was fitted after the day.
_InForce = tuple[dt.date, dict[str, float], tuple[float, float], bool]


@dataclass(frozen=True)
class Calibrations:
    """Every stored calibration of a lake, to pick the one in force on a day."""

    rows: Mapping[str, tuple[tuple[dt.date, dict[str, float], tuple[float, float]], ...]]
    # The pricing of each (policy, rows in force), built once: a backtest asks every session.
    _seen: dict[tuple[Any, ...], Pricing] = field(default_factory=dict, compare=False,
                                                       repr=False)

    @classmethod
    def in_lake(cls, lake: Lake) -> Calibrations:
        """Every calibration ``lake`` stores (none when ``alvh calibrate`` never ran)."""
        return cls.of(lake.scan("pricing_calibration").collect())

    @classmethod
    def of(cls, frame: pl.DataFrame | None) -> Calibrations:
        """From ``pricing_calibration`` rows (None or empty: no calibration stored)."""
        rows: dict[str, list[tuple[dt.date, dict[str, float], tuple[float, float]]]] = {}
        if frame is not None:
            for r in frame.sort("as_of").iter_rows(named=True):
                rows.setdefault(r["model"], []).append(
                    (r["as_of"], json.loads(r["parameters"]), (r["error_p10"], r["error_p90"])))
        return cls({k: tuple(v) for k, v in rows.items()})

    def _in_force(self, model: str, day: dt.date) -> _InForce | None:
        got = self.rows.get(model)
        if not got:
            return None
        known = [r for r in got if r[0] <= day]
        return (*known[-1], False) if known else (*got[0], True)

    def pricing(self, day: dt.date, policy: Policy) -> Pricing:
        """The pricing in force after the close of ``day``.

        The latest calibration on quotes known by then, else the earliest one, else the
        policy's parameters. ``later_quotes`` names each model priced from quotes after the
        day: an earliest calibration, or the policy's parameters or band (fitted through
        ``[pricing] *_fitted_through``) on a day before their fit's last quote.
        """
        spx, vix = self._in_force("spx_1dte", day), self._in_force("vix_call", day)
        p = policy.pricing
        early = (day < p.spx_fitted_through, day < p.vix_fitted_through)
        key = (policy.version, spx and (spx[0], spx[3]), vix and (vix[0], vix[3]), early)
        if key not in self._seen:
            self._seen[key] = self._pricing(policy, spx, vix, early)
        return self._seen[key]

    @staticmethod
    def _pricing(policy: Policy, spx: _InForce | None, vix: _InForce | None,
                 early: tuple[bool, bool]) -> Pricing:
        base = policy_pricing(policy)
        if policy.pricing.calibration == "pinned":
            spx = vix = None
        later = tuple(m for m, got, soon in (("spx_1dte", spx, early[0]),
                                            ("vix_call", vix, early[1]))
                      if (got is not None and got[3]) or (soon and _borrows(got)))
        if spx is None and vix is None:
            return replace(base, later_quotes=later)
        return Pricing(
            spx=_model(SpxModel, "spx_1dte", spx) if spx else base.spx,
            vix=_model(VixModel, "vix_call", vix) if vix else base.vix,
            source="lake" if spx or vix else "policy",
            spx_as_of=spx[0] if spx else None, vix_as_of=vix[0] if vix else None,
            later_quotes=later, spx_band=_band(spx, base.spx_band),
            vix_band=_band(vix, base.vix_band))


def _model(kind: Any, name: str, got: _InForce) -> Any:
    """The stored parameters as a model, or an error naming the row and the remedy."""
    try:
        return kind.from_dict(got[1])
    except ValueError as e:
        raise ValueError(f"pricing_calibration {name} {got[0]}: {e} (a row of an older "
                         "model form: run alvh calibrate to refit it)") from e


def _borrows(got: _InForce | None) -> bool:
    """Whether a model is priced with the policy's parameters or band (no band of its own)."""
    return got is None or got[2][0] is None or got[2][1] is None


def _band(got: _InForce | None, policy_band: tuple[float, float]) -> tuple[float, float]:
    """A calibration's error band; the policy's where none was measured.

    A fit on one quote day has left nothing out of it, so it has no band of its own.
    """
    if got is None or got[2][0] is None or got[2][1] is None:
        return policy_band
    return got[2]
