"""Recommend: the session after day D from the lake, starting from what the last one left.

The read path of ``alvh recommend`` and the nightly run's recommend step: the features row,
the chain, a fresh rate, the ladder held after the previous session (its stored
recommendation), that session's condor settled on D's close, and the last VX curve. Storing
goes through the validation gate, imported only then: a read-only run stays light.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from flows.feature_row import features_row
from hedge.calibration import Calibrations
from hedge.document import Leg, PriorDay, Recommendation
from hedge.ladder import Curve, curve_of
from hedge.outcome import settled
from hedge.policy import Policy
from hedge.rates import risk_free_rate
from hedge.recommend import recommend
from hedge.tables import legs_frame, recommendation_frame
from storage.lake import Lake


def stored_recommendation(lake: Lake, day: dt.date, policy: Policy) -> Recommendation | None:
    """The stored recommendation of ``day``, the last computed; under ``policy`` if stored."""
    rows = (lake.scan("recommendations", since=day, until=day).filter(pl.col("date") == day)
            .select("policy_version", "computed_at", "document").collect())
    if not rows.height:
        return None
    rows = rows.sort(pl.col("policy_version") == policy.version, "computed_at", nulls_last=False)
    return Recommendation.model_validate_json(rows["document"][-1])


def previous_session(lake: Lake, day: dt.date) -> dt.date | None:
    """The features_daily date just before ``day``, if any."""
    prev: dt.date | None = (lake.scan("features_daily").filter(pl.col("date") < day)
                            .select(pl.col("date").max()).collect().item())
    return prev


def stored_condor_legs(lake: Lake, rec: Recommendation) -> list[Leg]:
    """``rec``'s condor legs as stored in recommendation_legs (strikes, prices, contracts)."""
    rows = (lake.scan("recommendation_legs", since=rec.date, until=rec.date)
            .filter((pl.col("date") == rec.date) & (pl.col("kind") == "iron_condor")
                    & (pl.col("policy_version") == rec.policy_version)
                    & pl.col("feature_set_version").eq_missing(rec.feature_set_version))
            .drop("date", "policy_version", "feature_set_version", "computed_at").collect())
    return [Leg.model_validate(r) for r in rows.iter_rows(named=True)]


def settled_prior(lake: Lake, previous: Recommendation | None, row: pl.DataFrame,
                  policy: Policy) -> PriorDay | None:
    """The previous session's condor settled on D's SPX close (None when either is unknown)."""
    close = row["spx_close"][0]
    if previous is None or close is None or previous.trade_date != row["date"][0]:
        return None
    legs = stored_condor_legs(lake, previous)
    if not legs and previous.condor is not None and previous.condor.contracts:
        return None  # a condor was opened but its legs are not stored: outcome unknown
    return settled(previous, legs, close, policy.condor.multiplier)


def last_curve(lake: Lake, day: dt.date, policy: Policy) -> Curve | None:
    """The latest VX constant-maturity curve before ``day`` and its age in sessions."""
    tenors = [la.target_dte for la in policy.ladder.layers]
    cols = [f"vx_cm{d}" for d in tenors]
    since = day - dt.timedelta(days=31)  # far beyond any max_curve_age worth having
    recent = (lake.scan("features_daily", since=since)
              .filter(pl.col("date").is_between(since, day)).select("date", *cols)
              .sort("date").collect())
    known = recent.filter(pl.any_horizontal(pl.col(cols).is_not_null()))
    if not known.height:
        return None
    last = known.row(-1, named=True)
    age = recent.filter(pl.col("date") > last["date"]).height
    return curve_of(last, last["date"], age, tenors)


def recommend_day(lake: Lake, day: dt.date, *, policy: Policy, equity: float,
                  now: dt.datetime, store: bool = True) -> Recommendation:
    """The recommendation for the session after ``day``; stored through the gate if ``store``.

    It starts from the ladder held after the previous session (that session's stored
    recommendation) and that session's condor settled on ``day``'s SPX close.
    """
    row = features_row(lake, day)
    chain = lake.scan("option_chain").filter(pl.col("quote_date") == day).collect()
    rate = risk_free_rate(lake.scan("macro_observations"), day, policy.pricing.max_rate_age)
    prev_day = previous_session(lake, day)
    previous = stored_recommendation(lake, prev_day, policy) if prev_day else None
    pricing = Calibrations.in_lake(lake).pricing(day, policy)
    rec = recommend(row, chain=chain if chain.height else None, rate=rate, equity=equity,
                    policy=policy, date=day, held=previous.ladder.positions if previous else (),
                    prior=settled_prior(lake, previous, row, policy),
                    curve=last_curve(lake, day, policy), pricing=pricing)
    if store:
        store_recommendation(lake, rec, policy, now)
    return rec


def store_recommendation(lake: Lake, rec: Recommendation, policy: Policy,
                         now: dt.datetime) -> None:
    """Write ``rec`` and its legs through the validation gate."""
    from flows.pipeline import recommendation_rules
    from validations import gate_partition

    gate_partition(lake, "recommendations", None, recommendation_frame(rec, now), at=now,
                   rules=recommendation_rules(policy))
    gate_partition(lake, "recommendation_legs", None, legs_frame(rec, now), at=now)
