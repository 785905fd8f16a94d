"""The ALVH recommendation for the session after day D: iron condor, VIX call ladder, reasons.

Pure: every input is an argument (features row, policy, the ladder held, the previous
session's outcome, optional chain, rate, last curve, the pricing in force); the same inputs
always give the same document. Order of work, following ALVH.md "The rules":

1. signals and regime from the features row (hedge.rules);
2. the condor geometry for D+1 (short strikes at +/- k x expected move on listed strikes, wings)
   priced quotes first: the chain's SPXW mids and bid/ask when it quotes every leg, else the
   calibrated 1DTE model (hedge.spx_model, the calibration in force: hedge.calibration); no
   condor when its fill credit is below the policy's share of the wing;
3. the reference condor: base risk (risk_pct_at_ref_vix x min(1, ref_vix / VIX)) before regime
   cuts, and its loss in the stress scenario (hedge.stress);
4. the ladder (hedge.ladder): held layers kept, rolled or sold; lit ones bought, on the listed
   VIX expiry nearest the target DTE, strike otm_pct above the VX forward, at the VIX chain's
   mid where one quotes it, else Black-76 at the calibrated vol (hedge.vix_model); held calls
   sold by their exit rules (roll, peel-back, take-profit, trim); purchases sized so the
   ladder covers the target share of the reference condor's stress loss (or dollar vega),
   then capped;
5. caps: IC max loss + the day's ladder purchases <= max_total_risk_pct of equity; no
   doubling after a losing session (``prior``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from core.calendar import next_session
from core.expiry import nearest_expiry
from hedge.calibration import Pricing, policy_pricing
from hedge.context import Context
from hedge.document import CapBound, Condor, Ladder, Layer, Leg, Position, Recommendation, Signal
from hedge.ladder import (
    Curve,
    ExpiryRule,
    Reference,
    coverage_target,
    ladder_doc,
    plan_layers,
    priced_layers,
    unknown_ladder,
    usable_curve,
    vix_call_quotes,
    vix_strike,
)
from hedge.outcome import PriorDay
from hedge.policy import Policy, load_policy
from hedge.pricing import black_scholes_one
from hedge.rates import RateQuote
from hedge.rules import (
    REGIME,
    evaluate_signals,
    features_row,
    flag,
    layer_states,
    lit_layers,
    lit_triggers,
    number,
    second_engine_floor,
    signal,
    unknown_features,
    vix_regime,
)
from hedge.spx_model import atm_source, half_spreads, leg_marks, settle_years
from hedge.stress import condor_loss, stress_scenario

TRADING_DAYS = 252.0
SPX_ROOTS = ("SPX", "SPXW")
LEG_NAMES = ("IC_LP", "IC_SP", "IC_SC", "IC_LC")
LEG_SIGNS = (1, -1, -1, 1)
CALLS = (False, False, True, True)

__all__ = ["Ask", "Curve", "Position", "PriorDay", "RateQuote", "recommend",
           "recommend_each", "vix_strike"]


def _round_out(x: float, step: float, up: bool) -> float:
    """``x`` rounded outward (up for calls, down for puts) to the strike grid."""
    n = x / step
    # A hair of tolerance so an exact grid value is not pushed a whole step by float noise.
    return step * (math.ceil(n - 1e-9) if up else math.floor(n + 1e-9))


def _row_date(row: Mapping[str, Any], date: dt.date | None) -> dt.date:
    """The features row's date (``date`` column) or the one passed in."""
    d = date if date is not None else row.get("date")
    if not isinstance(d, dt.date):
        raise ValueError("recommend needs the day D: pass date= or a 'date' column in features")
    return d


def expected_move(ctx: Context) -> float:
    """spx_exp_move_1d, or SPX x IV / 100 / sqrt(252) from VIX1D (else VIX) when unknown."""
    em = number(ctx.row, "spx_exp_move_1d")
    if em is not None:
        return em
    iv = number(ctx.row, "vix1d_close") or ctx.vix
    em = ctx.spx * iv / 100.0 / math.sqrt(TRADING_DAYS)
    ctx.fire("expected_move_derived", "spx_exp_move_1d unknown; derived from the closes",
             spx_close=ctx.spx, iv=iv, spx_exp_move_1d=em)
    return em


def condor_k(ctx: Context, regime: str) -> float:
    """The regime's multiple of the expected move for the short strikes."""
    c = ctx.policy.condor
    k = {"calm": c.k_calm, "normal": c.k_normal, "elevated": c.k_elevated,
         "extreme": c.k_extreme}[regime]
    ctx.fire("condor_k", f"k = {k:g} in the {regime} regime", vix_close=ctx.vix, k=k)
    return k


def wing_width(ctx: Context) -> float:
    """Wing width, tightened by the policy's strike steps when vvix_macd_hook is lit."""
    c = ctx.policy.condor
    hook = flag(ctx.row, "vvix_macd_hook")
    if hook is None:
        ctx.fire("wing_hook_unknown", "vvix_macd_hook unknown: wing not tightened",
                 vvix_macd_hook=None, wing_width=c.wing_width)
    if hook is not True:
        return c.wing_width
    width = max(c.min_wing_width, c.wing_width - c.hook_tighten_steps * c.strike_step)
    ctx.fire("wing_tightened", f"vvix_macd_hook lit: wing {c.wing_width:g} -> {width:g}",
             vvix_macd_hook=True, wing_width=width)
    return width


def _chain_quotes(chain: pl.DataFrame | None, ctx: Context) -> pl.DataFrame | None:
    """The chain's usable SPX quotes for D expiring on D+1 (None if there are none).

    One quote per strike and right: SPXW (PM-settled at the close, as the condor is held)
    before SPX (AM-settled, on a monthly expiry day).
    """
    if chain is None:
        return None
    quotes = chain.filter(
        pl.col("root").is_in(SPX_ROOTS) & (pl.col("expiration") == ctx.trade_date)
        & (pl.col("quote_date") == ctx.date) & pl.col("bid").is_not_null()
        & pl.col("ask").is_not_null() & (pl.col("ask") >= pl.col("bid")) & (pl.col("bid") >= 0)
    ).with_columns(((pl.col("bid") + pl.col("ask")) / 2).alias("mid"))
    if quotes.is_empty():
        ctx.fire("chain_unusable", "no usable chain quotes for D expiring D+1; the calibrated "
                 "model used", quote_date=ctx.date.isoformat(),
                 expiration=ctx.trade_date.isoformat())
        return None
    return (quotes.sort(pl.col("root") != "SPXW", "strike")
            .unique(["strike", "right"], keep="first", maintain_order=True))


def _listed(quotes: pl.DataFrame, right: str, target: float, outward_up: bool) -> float | None:
    """The listed strike of ``right`` at or beyond ``target`` (nearest one), if any."""
    strikes = quotes.filter(pl.col("right") == right)["strike"].unique().sort()
    if strikes.is_empty():
        return None
    beyond = strikes.filter(strikes >= target - 1e-9) if outward_up else strikes.filter(
        strikes <= target + 1e-9)
    if beyond.is_empty():
        return float(strikes.max() if outward_up else strikes.min())  # type: ignore[arg-type]
    return float(beyond.min() if outward_up else beyond.max())  # type: ignore[arg-type]


def condor_strikes(ctx: Context, k: float, em: float, width: float,
                   quotes: pl.DataFrame | None) -> tuple[float, float, float, float]:
    """Long put, short put, short call, long call on listed strikes (grid or chain)."""
    step = ctx.policy.condor.strike_step
    sp = _round_out(ctx.spx - k * em, step, up=False)
    sc = _round_out(ctx.spx + k * em, step, up=True)
    sc = max(sc, sp + step)  # a zero expected move must still give ordered strikes
    if quotes is None:
        return sp - width, sp, sc, sc + width
    sp = _listed(quotes, "P", sp, outward_up=False) or sp
    sc = max(_listed(quotes, "C", sc, outward_up=True) or sc, sp + step)
    lp = _listed(quotes, "P", sp - width, outward_up=False) or sp - width
    lc = _listed(quotes, "C", sc + width, outward_up=True) or sc + width
    # A chain without strikes beyond the wing still needs a long leg beyond each short.
    return min(lp, sp - step), sp, sc, max(lc, sc + step)


@dataclass(frozen=True)
class CondorPrices:
    """The four legs per one condor, marked at mids, and the credit a fill receives."""

    legs: list[Leg]
    fill_credit: float  # short legs at their bid, long legs at their ask (points)
    band: tuple[float, float] | None  # the model's error band (model / market); None: quotes


def _legs(ctx: Context, strikes: np.ndarray, mids: np.ndarray, ivs: np.ndarray,
          years: float, source: str) -> list[Leg]:
    """Condor legs (long put, short put, short call, long call) at the given marks."""
    q, legs = ctx.policy.pricing.dividend_yield, []
    for i in range(4):
        g = black_scholes_one(ctx.spx, float(strikes[i]), years, ctx.rate, q, float(ivs[i]),
                              CALLS[i])
        legs.append(Leg(leg=LEG_NAMES[i], kind="iron_condor", layer=None,
                        right="C" if CALLS[i] else "P", expiry=ctx.trade_date,
                        strike=float(strikes[i]), contracts=LEG_SIGNS[i],
                        price=float(mids[i]), iv=float(ivs[i]), delta=g.delta, vega=g.vega,
                        beta=None, dollar_per_vix_point=None, source=source))
    return legs


def _fill(mids: np.ndarray, half: np.ndarray) -> float:
    """The credit of selling the shorts at their bid and buying the longs at their ask."""
    return float(sum(-LEG_SIGNS[i] * mids[i] - half[i] for i in range(4)))


def quoted_condor(ctx: Context, strikes: np.ndarray, quotes: pl.DataFrame,
                  years: float) -> CondorPrices | None:
    """The condor from D's chain: mids for marks, bid/ask for the fill (None: a leg unquoted)."""
    legs = pl.DataFrame({"strike": strikes, "right": np.where(np.array(CALLS), "C", "P")})
    got = legs.join(quotes, on=["strike", "right"], how="left", maintain_order="left")
    if got["mid"].null_count():
        ctx.fire("chain_incomplete", "a condor strike is not quoted: the calibrated model "
                 "used", strikes=",".join(f"{s:g}" for s in strikes))
        return None
    mids = got["mid"].to_numpy()
    half = ((got["ask"] - got["bid"]) / 2).to_numpy()
    quoted_ivs = got["iv"]
    if quoted_ivs.null_count():  # a quote without an IV: the model's for that leg
        quoted_ivs = quoted_ivs.fill_null(pl.Series(_model_marks(ctx, strikes, years)[1]))
    return CondorPrices(_legs(ctx, strikes, mids, quoted_ivs.to_numpy(), years, "quote"),
                        _fill(mids, half), None)


def _model_marks(ctx: Context, strikes: np.ndarray, years: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, float]]:
    """The 1DTE model's mids (scaled to the run's band), IVs and half-spreads per leg."""
    got = _vol_level(ctx)
    mids, ivs, _ = leg_marks(ctx.pricing.spx, ctx.spx, strikes, np.array(CALLS), years,
                             got[0], got[1], ctx.rate, ctx.policy.pricing.dividend_yield,
                             levels=ctx.row)
    # A band run moves the mids; the fitted spread is that of the prices quoted.
    mids = mids * ctx.pricing.spx_scale
    return mids, ivs, half_spreads(ctx.pricing.spx, mids), got


def _vol_level(ctx: Context) -> tuple[str, float]:
    """The 1DTE model's vol level: the shortest index published on D (VIX at worst)."""
    return atm_source(ctx.row) or ("vix_close", ctx.vix)


def credit(legs: Sequence[Leg]) -> float:
    """A condor's credit in points per condor: its short legs' prices less its long legs'."""
    return sum(-leg.contracts * leg.price for leg in legs)


def model_condor(ctx: Context, strikes: np.ndarray, years: float) -> CondorPrices:
    """The condor from the calibrated 1DTE model at the shortest vol index available."""
    pricing = ctx.pricing
    mids, ivs, half, got = _model_marks(ctx, strikes, years)
    ctx.fire("condor_model_priced", f"no quote for the condor: the 1DTE model at "
             f"{got[0]} {got[1]:g} over {years * 365:g} calendar day(s)", vol_source=got[0],
             vol_level=got[1], spx_as_of=pricing.describe()["spx_as_of"],
             pricing_source=pricing.source, error_p10=pricing.spx_band[0],
             error_p90=pricing.spx_band[1], price_scale=pricing.spx_scale)
    return CondorPrices(_legs(ctx, strikes, mids, ivs, years, "model"), _fill(mids, half),
                        pricing.spx_band)


def condor_prices(ctx: Context, strikes: tuple[float, float, float, float],
                  quotes: pl.DataFrame | None) -> CondorPrices:
    """Quotes first: D's chain when all four legs are quoted, else the calibrated model."""
    k = np.array(strikes, dtype=np.float64)
    years = settle_years(ctx.date, ctx.trade_date)
    got = quoted_condor(ctx, k, quotes, years) if quotes is not None else None
    return got if got is not None else model_condor(ctx, k, years)


def base_risk_pct(ctx: Context) -> float:
    """Base risk: risk_pct_at_ref_vix x min(1, ref_vix / VIX)."""
    c = ctx.policy.condor
    scale = min(1.0, c.ref_vix / ctx.vix)
    pct = c.risk_pct_at_ref_vix * scale
    ctx.fire("risk_scaled_by_vix", f"base risk {pct:.4%} of equity (x{scale:.4f})",
             vix_close=ctx.vix, ref_vix=c.ref_vix, risk_pct=pct)
    return pct


def regime_cut_risk_pct(ctx: Context, base: float, regime: str) -> float:
    """Risk after the Second Engine cut (VIX below its threshold) and the extreme-regime stop."""
    c = ctx.policy.condor
    if regime == "extreme" and not c.allow_extreme:
        ctx.fire("no_new_condor_extreme", "extreme regime: no new iron condor",
                 vix_close=ctx.vix, extreme_from=REGIME.extreme_from)
        return 0.0
    # While a signal is unknown the cut follows the ones known to be lit.
    score = second_engine_floor(ctx.row)
    if score is None or score < 1 or ctx.vix >= c.second_engine_vix_below:
        return base
    cut = c.second_engine_cut_two if score >= 2 else c.second_engine_cut_one
    ctx.fire("second_engine_cut", f"size cut {cut:.0%} (Second Engine while VIX < "
             f"{c.second_engine_vix_below:g})", second_engine_score=score, vix_close=ctx.vix)
    return base * (1.0 - cut)


def no_doubling(ctx: Context, pct: float, prior: PriorDay | None) -> float:
    """Never a larger condor than D's after a losing day."""
    if prior is None or not prior.lost or not ctx.policy.caps.no_doubling or pct <= prior.risk_pct:
        return pct
    ctx.caps.append(CapBound(cap="no_doubling", limit=prior.risk_pct, requested=pct,
                             applied=prior.risk_pct, detail="losing day: size not increased"))
    return prior.risk_pct


def _width(prices: CondorPrices) -> float:
    """The condor's wider wing in points, from its listed strikes."""
    lp, sp, sc, lc = (leg.strike for leg in prices.legs)
    return max(sp - lp, lc - sc)


def credit_enough(ctx: Context, prices: CondorPrices) -> bool:
    """No condor for crumbs: none when its fill credit is below the policy's share of the wing.

    The fill (shorts at their bid, longs at their ask) is what the trade receives; below the
    share it risks more than 1 / share times that.
    """
    share, width = ctx.policy.condor.min_credit_share, _width(prices)
    if prices.fill_credit >= share * width - 1e-12:
        return True
    ctx.fire("credit_below_minimum", f"fill credit {prices.fill_credit:.2f} is below "
             f"{share:.0%} of the {width:g}-point wing: no new iron condor",
             fill_credit_points=prices.fill_credit, min_credit_points=share * width,
             min_credit_share=share, pricing_source=prices.legs[0].source)
    return False


def hard_cap_risk(ctx: Context, pct: float, debit: float) -> float:
    """Condor risk budget in dollars after IC max loss + the day's ladder purchases <= the cap."""
    wanted = pct * ctx.equity
    room = max(0.0, ctx.policy.caps.max_total_risk_pct * ctx.equity - debit)
    if wanted > room:
        ctx.caps.append(CapBound(cap="max_total_risk_pct", limit=room, requested=wanted,
                                 applied=room, detail="IC max loss + hedge purchases <= "
                                 f"{ctx.policy.caps.max_total_risk_pct:.2%} of equity"))
        return room
    return wanted


def ladder_legs(layers: list[Layer]) -> list[Leg]:
    """Ladder layers as legs: each position after the session, then each sale (negative)."""
    held = [Leg(leg=la.name, kind="vix_call", layer=la.name, right="C", expiry=la.expiry,
                strike=la.strike, contracts=la.contracts, price=la.price, iv=la.vol,
                delta=la.delta, vega=la.vega, beta=la.beta,
                dollar_per_vix_point=la.dollar_per_vix_point, source=la.pricing_source)
            for la in layers if la.action != "sell"]
    sold = [Leg(leg=f"{la.name}_SOLD", kind="vix_call", layer=la.name, right="C",
                expiry=la.expiry, strike=la.strike, contracts=-la.sell_contracts,
                price=la.price, iv=la.vol, delta=la.delta, vega=la.vega, beta=la.beta,
                dollar_per_vix_point=None, source=la.pricing_source)
            for la in layers if la.sell_contracts > 0]
    return held + sold


def _condor_doc(ctx: Context, prices: CondorPrices, geometry: dict[str, float],
                sizing: dict[str, float], open_: bool) -> Condor:
    """The condor section of the document from its legs and sizing."""
    c, legs = ctx.policy.condor, prices.legs
    lp, sp, sc, lc = (leg.strike for leg in legs)
    mid = credit(legs)
    width = _width(prices)
    # The risk is what the fill leaves: the wing less the credit the open receives.
    max_loss = max((width - prices.fill_credit) * c.multiplier, 0.01 * c.multiplier)
    vega = sum(leg.contracts * leg.vega for leg in legs) * c.multiplier / 100.0
    contracts = int(math.floor(sizing["risk_dollars"] / max_loss + 1e-9)) if open_ else 0
    return Condor(open=open_ and contracts > 0, expiry=ctx.trade_date, k=geometry["k"],
                  expected_move=geometry["em"], wing_width=geometry["width"], short_put=sp,
                  short_call=sc, long_put=lp, long_call=lc, credit_points=mid,
                  max_loss_per_contract=max_loss, break_even_low=sp - prices.fill_credit,
                  break_even_high=sc + prices.fill_credit, vega_per_contract=vega,
                  pricing_source=legs[0].source, fill_credit_points=prices.fill_credit,
                  pricing_band=prices.band, min_credit_points=c.min_credit_share * width,
                  requested_risk_pct=sizing["requested_pct"],
                  risk_pct=contracts * max_loss / ctx.equity, contracts=contracts,
                  max_loss=contracts * max_loss, reference_contracts=sizing["ref_contracts"],
                  reference_vega=abs(vega) * sizing["ref_contracts"])


def _blank(ctx: Context, regime: str, base: dict[str, Any], held: Sequence[Position],
           peel: bool | None) -> Recommendation:
    """A recommendation with no condor and an unknown ladder (SPX or VIX unknown)."""
    ctx.fire("insufficient_inputs", "spx_close or vix_close unknown: nothing recommended, "
             "the held ladder carried", spx_close=number(ctx.row, "spx_close"),
             vix_close=number(ctx.row, "vix_close"))
    return Recommendation(regime=regime, condor=None, legs=[],
                          ladder=unknown_ladder(ctx, held, 0.0, None, peel), **base)


def _rate(ctx: Context, rate: float | RateQuote | None) -> str | None:
    """Say where the rate came from when it is not a fresh DTB3 (or was passed as a number)."""
    if rate is None:
        ctx.fire("default_rate", "no fresh rate passed: policy default used", rate=ctx.rate)
        return None
    if isinstance(rate, RateQuote):
        if rate.passed_over:
            ctx.fire("rate_fallback", f"{', '.join(rate.passed_over)} missing or older than "
                     f"max_rate_age: {rate.series_id} of {rate.observed} used",
                     series_id=rate.series_id, rate=rate.value,
                     observed=rate.observed.isoformat())
        return rate.series_id
    return None


def recommend(
    features: Mapping[str, Any] | pl.DataFrame,
    *,
    chain: pl.DataFrame | None = None,
    rate: float | RateQuote | None = None,
    equity: float = 1_000_000.0,
    policy: Policy | None = None,
    date: dt.date | None = None,
    feature_set_version: str | None = None,
    prior: PriorDay | None = None,
    held: Sequence[Position] = (),
    curve: Curve | None = None,
    expiries: ExpiryRule = nearest_expiry,
    pricing: Pricing | None = None,
) -> Recommendation:
    """The ALVH recommendation for the session after day D: a pure function of its arguments.

    A backtest chains it day by day: ``held`` is the previous recommendation's
    ``ladder.positions`` and ``prior`` its condor settled on D's close
    (``hedge.outcome.prior_day``).

    Args:
        features: The ``features_daily`` row of D (mapping or one-row frame).
        chain: D's option chain (``option_chain`` schema, SPX and VIX roots); None prices
            by the calibrated models.
        rate: Risk-free rate (a ``RateQuote`` from ``hedge.rates``, or a decimal); None uses
            the policy default (said so).
        equity: Account equity in dollars.
        policy: The policy; None loads the shipped defaults.
        date: Day D when the row has no ``date`` column.
        feature_set_version: Stored with the recommendation (else the row's own, if any).
        prior: The previous session's condor outcome (no doubling); None when unknown.
        held: The VIX call ladder held after the previous session.
        curve: The last VX curve before D and its age in sessions, used only when D's row
            has none and it is at most ``ladder.max_curve_age`` sessions old.
        expiries: VX/VIX expiry rule ``(on, target_dte) -> expiry``.
        pricing: The pricing models in force on D (``hedge.calibration``: the lake's
            calibration); None uses the policy's parameters.

    Returns:
        The recommendation document.
    """
    pol = policy if policy is not None else load_policy()
    day = _session(features, pol, chain=chain, rate=rate, equity=equity, date=date,
                   feature_set_version=feature_set_version, pricing=pricing)
    return _recommendation(day, pol, prior, held, _LadderInputs(held, curve, expiries))


@dataclass(frozen=True)
class Ask:
    """One policy's question about the same day: its policy, prior outcome and held ladder."""

    policy: Policy
    prior: PriorDay | None = None
    held: Sequence[Position] = ()


def recommend_each(
    features: Mapping[str, Any] | pl.DataFrame,
    asks: Sequence[Ask],
    *,
    chain: pl.DataFrame | None = None,
    rate: float | RateQuote | None = None,
    equity: float = 1_000_000.0,
    date: dt.date | None = None,
    feature_set_version: str | None = None,
    curve: Curve | None = None,
    expiries: ExpiryRule = nearest_expiry,
    pricing: Pricing | None = None,
) -> list[Recommendation]:
    """``recommend`` for each ask on the same day: the same documents, the day's work shared.

    Signals, regime, the condor's geometry and prices and the reference condor do not depend
    on the ladder section of the policy, nor on the prior or held ladder: they are worked out
    once for consecutive asks whose policies differ only in ``[ladder]`` (e.g. the stress and
    the vega sizing of the backtest), and each ask's ladder and condor size from there.
    """
    out: list[Recommendation] = []
    day: _Session | None = None
    for ask in asks:
        if day is None or not _shares_session(day.ctx.policy, ask.policy):
            day = _session(features, ask.policy, chain=chain, rate=rate, equity=equity,
                           date=date, feature_set_version=feature_set_version,
                           pricing=pricing)
        out.append(_recommendation(day, ask.policy, ask.prior, ask.held,
                                   _LadderInputs(ask.held, curve, expiries)))
    return out


def _shares_session(a: Policy, b: Policy) -> bool:
    """Whether the day's shared work of ``a`` holds for ``b``.

    Every section equal but the ladder's own rules (of which the signals read
    ``ladder.layer3_vix``) and ``backtest`` (which the engine never reads).
    """
    return a is b or (a.signals == b.signals and a.condor == b.condor and a.caps == b.caps
                      and a.stress == b.stress and a.pricing == b.pricing
                      and a.ladder.layer3_vix == b.ladder.layer3_vix)


@dataclass(frozen=True)
class _Core:
    """The condor of the day before any ladder: geometry, legs per condor, the reference."""

    geometry: dict[str, float]
    prices: CondorPrices
    base_pct: float
    ref: Reference


@dataclass(frozen=True)
class _Session:
    """Day D's work that no ladder decision changes, and the reasons fired doing it."""

    ctx: Context
    regime: str
    signals: list[Signal]
    base: dict[str, Any]
    core: _Core | None  # None: SPX or VIX unknown, nothing priced


def _session(features: Mapping[str, Any] | pl.DataFrame, pol: Policy, *,
             chain: pl.DataFrame | None, rate: float | RateQuote | None, equity: float,
             date: dt.date | None, feature_set_version: str | None,
             pricing: Pricing | None = None) -> _Session:
    """Signals, regime, rate, and (SPX and VIX known) the condor and the reference condor."""
    if equity <= 0:
        raise ValueError(f"equity must be positive, got {equity}")
    row = features_row(features)
    day = _row_date(row, date)
    signals = evaluate_signals(row, pol)
    spx, vix = number(row, "spx_close"), number(row, "vix_close")
    regime = vix_regime(vix)
    value = rate.value if isinstance(rate, RateQuote) else rate
    ctx = Context(row=row, policy=pol, date=day, trade_date=next_session(day), equity=equity,
                  rate=pol.pricing.default_rate if value is None else value, spx=spx or 0.0,
                  vix=vix or 0.0, rules=[], caps=[],
                  pricing=pricing if pricing is not None else policy_pricing(pol),
                  vix_quotes=vix_call_quotes(chain, day))
    if ctx.pricing.later_quotes:
        ctx.fire("calibration_from_later_quotes", "no quote known by D: the earliest "
                 f"calibration ({', '.join(ctx.pricing.later_quotes)}) prices the day",
                 **ctx.pricing.describe())
    source = _rate(ctx, rate)
    base: dict[str, Any] = dict(
        date=day, trade_date=ctx.trade_date,
        feature_set_version=feature_set_version or row.get("feature_set_version"),
        equity=equity, rate=ctx.rate, rate_source=source, spx=spx, vix=vix,
        lit_signals=lit_triggers(signals), signals=signals,
        unknown_features=unknown_features(row, signals))
    known = spx is not None and vix is not None and spx > 0 and vix > 0
    return _Session(ctx, regime, signals, base, _core(ctx, regime, chain) if known else None)


def _recommendation(day: _Session, pol: Policy, prior: PriorDay | None,
                    held: Sequence[Position], inputs: _LadderInputs) -> Recommendation:
    """One policy's document from the day's shared work (reasons continue from it)."""
    ctx = replace(day.ctx, policy=pol, rules=list(day.ctx.rules), caps=list(day.ctx.caps))
    base = dict(day.base, policy_version=pol.version, prior=prior, caps_bound=ctx.caps,
                rules=ctx.rules)
    if day.core is None:
        return _blank(ctx, day.regime, base, held, signal(day.signals, "rsi_normalised").lit)
    return _full(ctx, day.regime, day.signals, base, day.core, prior, inputs)


@dataclass(frozen=True)
class _LadderInputs:
    """What the ladder starts from: the held positions, the last curve, the expiry rule."""

    held: Sequence[Position]
    curve: Curve | None
    expiries: ExpiryRule


def reference(ctx: Context, probe: Condor, strikes: tuple[float, float, float, float],
              em: float, base_pct: float) -> Reference:
    """The reference condor (base size, before regime cuts) and its loss in the crash."""
    contracts = base_pct * ctx.equity / probe.max_loss_per_contract
    scenario = stress_scenario(ctx.spx, ctx.vix, em, ctx.policy.stress,
                               (ctx.trade_date - ctx.date).days)
    loss = condor_loss(strikes, probe.fill_credit_points, scenario.spx_after,
                       ctx.policy.condor.multiplier) * contracts
    return Reference(contracts=contracts, stress_loss=loss,
                     vega=abs(probe.vega_per_contract) * contracts, scenario=scenario)


def build_ladder(ctx: Context, signals: list[Signal], ref: Reference,
                 inputs: _LadderInputs) -> Ladder:
    """The ladder after the session: held layers judged, lit ones bought, sized and capped."""
    lit, layer_rules = lit_layers(signals, ctx.policy)
    ctx.rules.extend(layer_rules)
    peel = signal(signals, "rsi_normalised").lit
    target = coverage_target(ctx, len(lit_triggers(signals)),
                             signal(signals, "ts_slope_steep").lit)
    curve = usable_curve(ctx, inputs.curve)
    if curve is None:
        return unknown_ladder(ctx, inputs.held, target, ref, peel)
    plans = plan_layers(ctx, inputs.held, layer_states(signals, ctx.policy, lit), peel)
    layers = priced_layers(ctx, curve, plans, inputs.expiries, ref, target)
    return ladder_doc(ctx, layers, ref, target, peel, inputs.held)


def _core(ctx: Context, regime: str, chain: pl.DataFrame | None) -> _Core:
    """The condor's geometry and legs and the reference condor (SPX and VIX known)."""
    k, em, width = condor_k(ctx, regime), expected_move(ctx), wing_width(ctx)
    quotes = _chain_quotes(chain, ctx)
    strikes = condor_strikes(ctx, k, em, width, quotes)
    prices = condor_prices(ctx, strikes, quotes)
    geometry = {"k": k, "em": em, "width": width}
    probe = _condor_doc(ctx, prices, geometry, {"risk_dollars": 0.0, "requested_pct": 0.0,
                                                "ref_contracts": 0.0}, False)
    base_pct = base_risk_pct(ctx)
    return _Core(geometry, prices, base_pct, reference(ctx, probe, strikes, em, base_pct))


def _full(ctx: Context, regime: str, signals: list[Signal], base: dict[str, Any],
          core: _Core, prior: PriorDay | None, inputs: _LadderInputs) -> Recommendation:
    """The recommendation when SPX and VIX are known."""
    geometry, base_pct, ref = core.geometry, core.base_pct, core.ref
    ladder = build_ladder(ctx, signals, ref, inputs)
    pct = no_doubling(ctx, regime_cut_risk_pct(ctx, base_pct, regime), prior)
    sizing = {"risk_dollars": hard_cap_risk(ctx, pct, ladder.debit), "requested_pct": pct,
              "ref_contracts": ref.contracts}
    opened = pct > 0 and credit_enough(ctx, core.prices)
    condor = _condor_doc(ctx, core.prices, geometry, sizing, opened)
    sized_legs = [leg.model_copy(update={"contracts": leg.contracts * condor.contracts})
                  for leg in core.prices.legs]
    return Recommendation(regime=regime, condor=condor, ladder=ladder,
                          legs=sized_legs + ladder_legs(ladder.layers), **base)


@dataclass(frozen=True)
class CondorCheck:
    """The engine's condor on a chain day: strikes, the chain's and the model's credit.

    The calibration's error measure: the model's credit for the strikes the engine picks.
    """

    strikes: tuple[float, ...]
    market: float
    model: float
    vol_source: str
    vol_level: float
    years: float


def condor_check(features: Mapping[str, Any] | pl.DataFrame, chain: pl.DataFrame, *,
                 policy: Policy, pricing: Pricing, rate: float | RateQuote | None
                 ) -> CondorCheck | None:
    """The engine's condor for D priced from D's chain and by ``pricing``'s model.

    Returns:
        None when the day has no closes or the chain does not quote every leg.
    """
    day = _session(features, policy, chain=chain, rate=rate, equity=1_000_000.0, date=None,
                   feature_set_version=None, pricing=pricing)
    if day.core is None or day.core.prices.band is not None:
        return None
    quoted = day.core.prices.legs
    strikes = np.array([leg.strike for leg in quoted])
    years = settle_years(day.ctx.date, day.ctx.trade_date)
    model = model_condor(day.ctx, strikes, years).legs
    source = _vol_level(day.ctx)
    return CondorCheck(tuple(float(k) for k in strikes), credit(quoted), credit(model),
                       source[0], source[1], years)
