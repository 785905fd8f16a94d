"""The ALVH recommendation for the session after day D: iron condor, VIX call ladder, reasons.

Pure: every input is an argument (features row, optional chain, rate, equity, policy); the same
inputs always give the same document. Order of work, following ALVH.md "The rules":

1. signals and regime from the features row (hedge.rules);
2. the condor geometry for D+1 (short strikes at +/- k x expected move on listed strikes, wings)
   priced from the chain's mids when one is given, else Black-Scholes at VIX1D (else VIX) with
   the policy's put-skew adjustment;
3. the reference condor: base risk (risk_pct_at_ref_vix x min(1, ref_vix / VIX)) before regime
   cuts, whose dollar vega the ladder covers;
4. the ladder: lit layers, each on the listed VIX expiry nearest its target DTE, strike
   otm_pct above the VX forward at that expiry (the constant-maturity curve interpolated in
   calendar days), Black-76 at a VVIX-derived vol; contracts from the weights and the target;
5. caps: hedge debit per reference condor, then IC max loss + hedge cost <= max_total_risk_pct
   of equity (the ladder is shrunk first only if it alone breaks the cap), no doubling.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from hedge.document import CapBound, Condor, Ladder, Layer, Leg, Recommendation, RuleFired, Value
from hedge.policy import Policy, load_policy
from hedge.pricing import black76, black_scholes
from hedge.rules import (
    evaluate_signals,
    features_row,
    flag,
    lit_layers,
    lit_triggers,
    number,
    signal,
    unknown_features,
    vix_regime,
)
from sources.expiry import nearest_expiry
from storage.sessions import session_dates

TRADING_DAYS = 252.0
CALENDAR_DAYS = 365.0
SPX_ROOTS = ("SPX", "SPXW")

ExpiryRule = Callable[[dt.date, int], dt.date]


@dataclass(frozen=True)
class PriorDay:
    """What the trader did on D (optional): for no-doubling and peel-back."""

    lost: bool
    risk_pct: float
    layers: tuple[str, ...] = ()


@dataclass
class _Context:
    """Inputs shared by the steps of one recommendation, plus the reasons gathered so far."""

    row: dict[str, Any]
    policy: Policy
    date: dt.date
    trade_date: dt.date
    equity: float
    rate: float
    spx: float
    vix: float
    rules: list[RuleFired]
    caps: list[CapBound]

    def fire(self, rule: str, detail: str, **inputs: Value) -> None:
        self.rules.append(RuleFired(rule=rule, detail=detail, inputs=inputs))


def next_session(day: dt.date) -> dt.date:
    """The first NYSE session after ``day``."""
    # A bisect of the cached calendar: a polars query here cost ~2 ms a call, the largest
    # single cost of a backtest session.
    sessions = session_dates()
    return sessions[bisect.bisect_right(sessions, day)]


def _round_out(x: float, step: float, up: bool) -> float:
    """``x`` rounded outward (up for calls, down for puts) to the strike grid."""
    n = x / step
    # A hair of tolerance so an exact grid value is not pushed a whole step by float noise.
    return step * (math.ceil(n - 1e-9) if up else math.floor(n + 1e-9))


def vix_strike(x: float, half_point_below: float) -> float:
    """Nearest listed VIX option strike: 0.5-point grid below the threshold, 1-point above."""
    half = round(x * 2.0) / 2.0
    return half if half < half_point_below else float(round(x))


def _row_date(row: Mapping[str, Any], date: dt.date | None) -> dt.date:
    """The features row's date (``date`` column) or the one passed in."""
    d = date if date is not None else row.get("date")
    if not isinstance(d, dt.date):
        raise ValueError("recommend needs the day D: pass date= or a 'date' column in features")
    return d


def expected_move(ctx: _Context) -> float:
    """spx_exp_move_1d, or SPX x IV / 100 / sqrt(252) from VIX1D (else VIX) when unknown."""
    em = number(ctx.row, "spx_exp_move_1d")
    if em is not None:
        return em
    iv = number(ctx.row, "vix1d_close") or ctx.vix
    em = ctx.spx * iv / 100.0 / math.sqrt(TRADING_DAYS)
    ctx.fire("expected_move_derived", "spx_exp_move_1d unknown; derived from the closes",
             spx_close=ctx.spx, iv=iv, spx_exp_move_1d=em)
    return em


def condor_k(ctx: _Context, regime: str) -> float:
    """The regime's multiple of the expected move for the short strikes."""
    c = ctx.policy.condor
    k = {"calm": c.k_calm, "normal": c.k_normal, "elevated": c.k_elevated,
         "extreme": c.k_extreme}[regime]
    ctx.fire("condor_k", f"k = {k:g} in the {regime} regime", vix_close=ctx.vix, k=k)
    return k


def wing_width(ctx: _Context) -> float:
    """Wing width, tightened by the policy's strike steps when vvix_macd_hook is lit."""
    c = ctx.policy.condor
    if flag(ctx.row, "vvix_macd_hook") is not True:
        return c.wing_width
    width = max(c.min_wing_width, c.wing_width - c.hook_tighten_steps * c.strike_step)
    ctx.fire("wing_tightened", f"vvix_macd_hook lit: wing {c.wing_width:g} -> {width:g}",
             vvix_macd_hook=True, wing_width=width)
    return width


def _chain_quotes(chain: pl.DataFrame | None, ctx: _Context) -> pl.DataFrame | None:
    """The chain's usable SPX quotes for D expiring on D+1 (None if there are none)."""
    if chain is None:
        return None
    quotes = chain.filter(
        pl.col("root").is_in(SPX_ROOTS) & (pl.col("expiration") == ctx.trade_date)
        & (pl.col("quote_date") == ctx.date) & pl.col("bid").is_not_null()
        & pl.col("ask").is_not_null() & (pl.col("ask") >= pl.col("bid")) & (pl.col("bid") >= 0)
    ).with_columns(((pl.col("bid") + pl.col("ask")) / 2).alias("mid"))
    if quotes.is_empty():
        ctx.fire("chain_unusable", "no usable chain quotes for D expiring D+1; Black-Scholes used",
                 quote_date=ctx.date.isoformat(), expiration=ctx.trade_date.isoformat())
        return None
    return quotes


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


def condor_strikes(ctx: _Context, k: float, em: float, width: float,
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


def skewed_iv(ctx: _Context, strikes: np.ndarray, is_call: np.ndarray, iv: float) -> np.ndarray:
    """Model IV per strike: ATM IV plus the policy's put/call skew on log-moneyness."""
    p = ctx.policy.pricing
    lm = np.log(ctx.spx / strikes)
    adj = np.where(is_call, p.call_skew_slope * np.maximum(0.0, -lm),
                   p.put_skew_slope * np.maximum(0.0, lm))
    return np.maximum(p.min_iv, iv + adj)


def _leg_marks(ctx: _Context, strikes: np.ndarray, is_call: np.ndarray,
               quotes: pl.DataFrame | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Per-leg price and IV: chain mids and IVs when all four legs are quoted, else the model."""
    base_iv = (number(ctx.row, "vix1d_close") or ctx.vix) / 100.0
    model_iv = skewed_iv(ctx, strikes, is_call, base_iv)
    if quotes is not None:
        legs = pl.DataFrame({"strike": strikes, "right": np.where(is_call, "C", "P")})
        got = legs.join(quotes.unique(["strike", "right"], keep="first").sort("strike"),
                        on=["strike", "right"], how="left", maintain_order="left")
        if got["mid"].null_count() == 0:
            iv = got["iv"].fill_null(pl.Series(model_iv)).to_numpy()
            return got["mid"].to_numpy(), iv, "chain"
        ctx.fire("chain_incomplete", "a condor strike is not quoted; Black-Scholes used",
                 strikes=",".join(f"{s:g}" for s in strikes))
    t = ctx.policy.condor.dte_trading_days / TRADING_DAYS
    g = black_scholes(ctx.spx, strikes, t, ctx.rate, ctx.policy.pricing.dividend_yield,
                      model_iv, is_call)
    return g.price, model_iv, "black_scholes"


def build_condor_legs(ctx: _Context, strikes: tuple[float, float, float, float],
                      quotes: pl.DataFrame | None) -> list[Leg]:
    """The four condor legs per one condor (long put, short put, short call, long call)."""
    k = np.array(strikes)
    is_call = np.array([False, False, True, True])
    price, iv, source = _leg_marks(ctx, k, is_call, quotes)
    t = ctx.policy.condor.dte_trading_days / TRADING_DAYS
    g = black_scholes(ctx.spx, k, t, ctx.rate, ctx.policy.pricing.dividend_yield, iv, is_call)
    names, signs = ("IC_LP", "IC_SP", "IC_SC", "IC_LC"), (1, -1, -1, 1)
    return [Leg(leg=names[i], kind="iron_condor", layer=None, right="C" if is_call[i] else "P",
                expiry=ctx.trade_date, strike=float(k[i]), contracts=signs[i],
                price=float(price[i]), iv=float(iv[i]), delta=float(g.delta[i]),
                vega=float(g.vega[i]), beta=None, dollar_per_vix_point=None, source=source)
            for i in range(4)]


def base_risk_pct(ctx: _Context) -> float:
    """Base risk: risk_pct_at_ref_vix x min(1, ref_vix / VIX)."""
    c = ctx.policy.condor
    scale = min(1.0, c.ref_vix / ctx.vix)
    pct = c.risk_pct_at_ref_vix * scale
    ctx.fire("risk_scaled_by_vix", f"base risk {pct:.4%} of equity (x{scale:.4f})",
             vix_close=ctx.vix, ref_vix=c.ref_vix, risk_pct=pct)
    return pct


def regime_cut_risk_pct(ctx: _Context, base: float, regime: str) -> float:
    """Risk after the Second Engine cut (VIX below its threshold) and the extreme-regime stop."""
    c = ctx.policy.condor
    if regime == "extreme" and not c.allow_extreme:
        ctx.fire("no_new_condor_extreme", "extreme regime: no new iron condor",
                 vix_close=ctx.vix, extreme_from=ctx.policy.regime.extreme_from)
        return 0.0
    score = number(ctx.row, "second_engine_score")
    if score is None or score < 1 or ctx.vix >= c.second_engine_vix_below:
        return base
    cut = c.second_engine_cut_two if score >= 2 else c.second_engine_cut_one
    ctx.fire("second_engine_cut", f"size cut {cut:.0%} (Second Engine while VIX < "
             f"{c.second_engine_vix_below:g})", second_engine_score=score, vix_close=ctx.vix)
    return base * (1.0 - cut)


def no_doubling(ctx: _Context, pct: float, prior: PriorDay | None) -> float:
    """Never a larger condor than D's after a losing day."""
    if prior is None or not prior.lost or not ctx.policy.caps.no_doubling or pct <= prior.risk_pct:
        return pct
    ctx.caps.append(CapBound(cap="no_doubling", limit=prior.risk_pct, requested=pct,
                             applied=prior.risk_pct, detail="losing day: size not increased"))
    return prior.risk_pct


def cm_forward(ctx: _Context, dte: int) -> float:
    """VX forward at ``dte`` days: the constant-maturity curve interpolated in calendar days."""
    points = [(0.0, ctx.vix)] + [
        (float(layer.target_dte), v) for layer in ctx.policy.ladder.layers
        if (v := number(ctx.row, f"vx_cm{layer.target_dte}")) is not None]
    xs, ys = zip(*points, strict=True)
    flagged = [f"vx_cm{la.target_dte}" for la in ctx.policy.ladder.layers
               if flag(ctx.row, f"vx_cm{la.target_dte}_extrapolated") is True]
    if flagged:
        ctx.fire("forward_from_extrapolated_curve", f"{', '.join(flagged)} extrapolated in the "
                 "features (curve too short)", dte=dte, forward=float(np.interp(dte, xs, ys)))
    if dte > xs[-1]:
        ctx.fire("forward_extrapolated", f"forward at {dte}d held flat beyond {xs[-1]:g}d",
                 dte=dte, forward=ys[-1])
    return float(np.interp(dte, xs, ys))


def vix_option_vol(ctx: _Context, dte: int) -> float:
    """VIX option vol: VVIX / 100 x scale at 30 days, scaled by (30 / DTE) ** exponent."""
    p = ctx.policy.pricing
    vvix = number(ctx.row, "vvix_close")
    if vvix is None or vvix <= 0:
        ctx.fire("vix_vol_default", "vvix_close unknown; policy VIX option vol used",
                 dte=dte, vix_vol_default=p.vix_vol_default)
    base = p.vix_vol_from_vvix * vvix / 100.0 if vvix and vvix > 0 else p.vix_vol_default
    return base * (30.0 / max(dte, 1)) ** p.vix_vol_term_exponent


def layer_beta(ctx: _Context, index: int) -> float:
    """Beta of the layer's VX maturity to spot VIX (feature, else the policy default)."""
    layer = ctx.policy.ladder.layers[index]
    beta = number(ctx.row, layer.beta_feature)
    if beta is None or beta <= 0:
        # A non-positive regression beta would make the hedge size itself to nothing.
        ctx.fire("beta_default", f"{layer.beta_feature} unknown or <= 0; policy default used",
                 **{layer.beta_feature: beta, "default_beta": layer.default_beta})
        return layer.default_beta
    return beta


def price_layer(ctx: _Context, index: int, expiries: ExpiryRule) -> Layer:
    """One ladder layer priced per contract (contracts filled in later)."""
    lp, lad = ctx.policy.ladder.layers[index], ctx.policy.ladder
    expiry = expiries(ctx.date, lp.target_dte)
    dte = max((expiry - ctx.date).days, 1)
    fwd = cm_forward(ctx, dte)
    strike = vix_strike(fwd * (1.0 + lad.otm_pct), lad.half_point_strikes_below)
    vol = vix_option_vol(ctx, dte)
    g = black76(fwd, strike, dte / CALENDAR_DAYS, ctx.rate, vol, True)
    beta = layer_beta(ctx, index)
    return Layer(name=lp.name, target_dte=lp.target_dte, expiry=expiry, dte=dte, forward=fwd,
                 strike=strike, vol=vol, price=float(g.price), delta=float(g.delta),
                 vega=float(g.vega), beta=beta, weight=lp.weight, contracts=0,
                 dollar_per_vix_point=lad.multiplier * float(g.delta) * beta, cost=0.0)


def _with_contracts(layers: list[Layer], counts: Sequence[int], mult: float) -> list[Layer]:
    """Layers with ``counts`` contracts; per-contract $/VIX point and cost become totals."""
    out = []
    for layer, n in zip(layers, counts, strict=True):
        unit = mult * layer.delta * layer.beta
        out.append(layer.model_copy(update={
            "contracts": int(n), "dollar_per_vix_point": n * unit,
            "cost": n * layer.price * mult}))
    return out


def size_ladder(layers: list[Layer], target: float, mult: float) -> list[int]:
    """Contracts per layer: weights scaled so the $/VIX point meets the target, rounded."""
    per_unit = sum(la.weight * mult * la.delta * la.beta for la in layers)
    if per_unit <= 0 or target <= 0:
        return [0] * len(layers)
    m = target / per_unit
    return [int(math.floor(m * la.weight + 0.5)) for la in layers]


def coverage_target_pct(ctx: _Context, n_lit: int, steep: bool | None) -> float:
    """40% quiet / 60% with enough lit signals, plus the steep-curve add-on."""
    lad = ctx.policy.ladder
    pct = lad.coverage_lit if n_lit >= lad.coverage_lit_min_signals else lad.coverage_quiet
    if steep is True:
        ctx.fire("steep_curve_coverage", f"ts_slope_12 steep: target + {lad.steep_add:g}x vega",
                 ts_slope_12=number(ctx.row, "ts_slope_12"))
        pct += lad.steep_add
    return pct


def _shrink(layers: list[Layer], limit: float, mult: float) -> list[Layer]:
    """Layers scaled down (floored) so their debit is at most ``limit``."""
    debit = sum(la.cost for la in layers)
    f = max(0.0, limit) / debit if debit > 0 else 0.0
    return _with_contracts(layers, [math.floor(la.contracts * f) for la in layers], mult)


def debit_caps(ctx: _Context, layers: list[Layer], ref_contracts: float) -> list[Layer]:
    """Apply the hedge-debit cap (per reference condor) and the ladder's share of the hard cap."""
    mult, caps = ctx.policy.ladder.multiplier, ctx.policy.caps
    limits = [("hedge_debit_pct_spx",
               caps.hedge_debit_pct_spx * ctx.spx * ctx.policy.condor.multiplier * ref_contracts,
               "ladder debit <= hedge_debit_pct_spx x SPX x multiplier per reference condor"),
              ("max_total_risk_pct", caps.max_total_risk_pct * ctx.equity,
               "hedge cost alone exceeds the hard cap")]
    for name, limit, why in limits:
        debit = sum(la.cost for la in layers)
        if debit > limit:
            layers = _shrink(layers, limit, mult)
            ctx.caps.append(CapBound(cap=name, limit=limit, requested=debit,
                                     applied=sum(la.cost for la in layers), detail=why))
    return layers


def hard_cap_risk(ctx: _Context, pct: float, debit: float) -> float:
    """Condor risk budget in dollars after IC max loss + hedge cost <= the hard cap."""
    wanted = pct * ctx.equity
    room = max(0.0, ctx.policy.caps.max_total_risk_pct * ctx.equity - debit)
    if wanted > room:
        ctx.caps.append(CapBound(cap="max_total_risk_pct", limit=room, requested=wanted,
                                 applied=room, detail="IC max loss + hedge cost <= "
                                 f"{ctx.policy.caps.max_total_risk_pct:.2%} of equity"))
        return room
    return wanted


def build_ladder(ctx: _Context, names: list[str], target_pct: float, ref_vega: float,
                 ref_contracts: float, expiries: ExpiryRule) -> list[Layer]:
    """Lit layers priced, sized to the target and capped."""
    index = {la.name: i for i, la in enumerate(ctx.policy.ladder.layers)}
    priced = [price_layer(ctx, index[n], expiries) for n in names]
    mult = ctx.policy.ladder.multiplier
    sized = _with_contracts(priced, size_ladder(priced, target_pct * ref_vega, mult), mult)
    return debit_caps(ctx, sized, ref_contracts)


def ladder_summary(ctx: _Context, layers: list[Layer], target_pct: float, ref_vega: float,
                   peel: bool | None) -> Ladder:
    """Coverage reached vs target and whether it sits in the policy band."""
    target = target_pct * ref_vega
    reached = sum(la.dollar_per_vix_point for la in layers)
    tol = ctx.policy.ladder.coverage_tolerance
    within = None if not layers or target <= 0 else (
        target * (1 - tol) - 1e-9 <= reached <= target * (1 + tol) + 1e-9)
    if within is False:
        ctx.fire("coverage_outside_band", "coverage off target (contract rounding or a cap)",
                 target_dollars=target, reached_dollars=reached, tolerance=tol)
    return Ladder(layers=layers, target_pct=target_pct, target_dollars=target,
                  reached_dollars=reached, reached_pct=reached / ref_vega if ref_vega else None,
                  within_band=within, debit=sum(la.cost for la in layers), peel_back_allowed=peel)


def held_layers(ctx: _Context, lit: list[str], prior: PriorDay | None,
                peel: bool | None) -> list[str]:
    """Lit layers plus D's layers kept because the RSIs have not normalised (no peel-back)."""
    if prior is None or peel is True:
        return lit
    kept = [n for n in prior.layers if n not in lit]
    if kept:
        ctx.fire("peel_back_held", f"layers {kept} kept: RSIs not back in the normal band",
                 spx_rsi_14=number(ctx.row, "spx_rsi_14"),
                 vix_rsi_14=number(ctx.row, "vix_rsi_14"))
    order = [la.name for la in ctx.policy.ladder.layers]
    return [n for n in order if n in lit or n in kept]


def ladder_legs(layers: list[Layer]) -> list[Leg]:
    """Ladder layers as legs."""
    return [Leg(leg=la.name, kind="vix_call", layer=la.name, right="C", expiry=la.expiry,
                strike=la.strike, contracts=la.contracts, price=la.price, iv=la.vol,
                delta=la.delta, vega=la.vega, beta=la.beta,
                dollar_per_vix_point=la.dollar_per_vix_point, source="black76")
            for la in layers]


def _condor_doc(ctx: _Context, legs: list[Leg], geometry: dict[str, float],
                sizing: dict[str, float], open_: bool) -> Condor:
    """The condor section of the document from its legs and sizing."""
    c = ctx.policy.condor
    lp, sp, sc, lc = (leg.strike for leg in legs)
    credit = sum(-leg.contracts * leg.price for leg in legs)
    width = max(sp - lp, lc - sc)
    max_loss = max((width - credit) * c.multiplier, 0.01 * c.multiplier)
    vega = sum(leg.contracts * leg.vega for leg in legs) * c.multiplier / 100.0
    contracts = int(math.floor(sizing["risk_dollars"] / max_loss + 1e-9)) if open_ else 0
    return Condor(open=open_ and contracts > 0, expiry=ctx.trade_date, k=geometry["k"],
                  expected_move=geometry["em"], wing_width=geometry["width"], short_put=sp,
                  short_call=sc, long_put=lp, long_call=lc, credit_points=credit,
                  max_loss_per_contract=max_loss, break_even_low=sp - credit,
                  break_even_high=sc + credit, vega_per_contract=vega,
                  pricing_source=legs[0].source, requested_risk_pct=sizing["requested_pct"],
                  risk_pct=contracts * max_loss / ctx.equity, contracts=contracts,
                  max_loss=contracts * max_loss, reference_contracts=sizing["ref_contracts"],
                  reference_vega=abs(vega) * sizing["ref_contracts"])


def _blank(ctx: _Context, regime: str, base: dict[str, Any]) -> Recommendation:
    """A recommendation with no condor and no ladder (SPX or VIX unknown)."""
    ctx.fire("insufficient_inputs", "spx_close or vix_close unknown: nothing recommended",
             spx_close=number(ctx.row, "spx_close"), vix_close=number(ctx.row, "vix_close"))
    ladder = Ladder(layers=[], target_pct=0.0, target_dollars=0.0, reached_dollars=0.0,
                    reached_pct=None, within_band=None, debit=0.0, peel_back_allowed=None)
    return Recommendation(regime=regime, condor=None, ladder=ladder, legs=[], **base)


def recommend(
    features: Mapping[str, Any] | pl.DataFrame,
    *,
    chain: pl.DataFrame | None = None,
    rate: float | None = None,
    equity: float = 1_000_000.0,
    policy: Policy | None = None,
    date: dt.date | None = None,
    feature_set_version: str | None = None,
    prior: PriorDay | None = None,
    expiries: ExpiryRule = nearest_expiry,
) -> Recommendation:
    """The ALVH recommendation for the session after day D.

    Args:
        features: The ``features_daily`` row of D (mapping or one-row frame).
        chain: D's SPX option chain (``option_chain`` schema); None prices by Black-Scholes.
        rate: Risk-free rate (DTB3 or SOFR, decimal); None uses the policy default (said so).
        equity: Account equity in dollars.
        policy: The policy; None loads the shipped defaults.
        date: Day D when the row has no ``date`` column.
        feature_set_version: Stored with the recommendation (else the row's own, if any).
        prior: D's condor risk, P&L sign and layers (no doubling, peel-back); optional.
        expiries: VX/VIX expiry rule ``(on, target_dte) -> expiry``.

    Returns:
        The recommendation document.
    """
    if equity <= 0:
        raise ValueError(f"equity must be positive, got {equity}")
    pol = policy if policy is not None else load_policy()
    row = features_row(features)
    day = _row_date(row, date)
    signals = evaluate_signals(row, pol)
    spx, vix = number(row, "spx_close"), number(row, "vix_close")
    regime = vix_regime(vix, pol)
    ctx = _Context(row=row, policy=pol, date=day, trade_date=next_session(day), equity=equity,
                   rate=pol.pricing.default_rate if rate is None else rate, spx=spx or 0.0,
                   vix=vix or 0.0, rules=[], caps=[])
    if rate is None:
        ctx.fire("default_rate", "no rate passed: policy default used", rate=ctx.rate)
    base: dict[str, Any] = dict(
        date=day, trade_date=ctx.trade_date, policy_version=pol.version,
        feature_set_version=feature_set_version or row.get("feature_set_version"),
        equity=equity, rate=ctx.rate, spx=spx, vix=vix, lit_signals=lit_triggers(signals),
        signals=signals, caps_bound=ctx.caps, rules=ctx.rules,
        unknown_features=unknown_features(row))
    if spx is None or vix is None or spx <= 0 or vix <= 0:
        return _blank(ctx, regime, base)
    return _full(ctx, regime, signals, base, chain, prior, expiries)


def _full(ctx: _Context, regime: str, signals: list[Any], base: dict[str, Any],
          chain: pl.DataFrame | None, prior: PriorDay | None,
          expiries: ExpiryRule) -> Recommendation:
    """The recommendation when SPX and VIX are known."""
    k, em, width = condor_k(ctx, regime), expected_move(ctx), wing_width(ctx)
    quotes = _chain_quotes(chain, ctx)
    legs = build_condor_legs(ctx, condor_strikes(ctx, k, em, width, quotes), quotes)
    probe = _condor_doc(ctx, legs, {"k": k, "em": em, "width": width},
                        {"risk_dollars": 0.0, "requested_pct": 0.0, "ref_contracts": 0.0}, False)
    base_pct = base_risk_pct(ctx)
    ref_contracts = base_pct * ctx.equity / probe.max_loss_per_contract
    ref_vega = abs(probe.vega_per_contract) * ref_contracts
    lit, layer_rules = lit_layers(signals, ctx.policy)
    ctx.rules.extend(layer_rules)
    peel = signal(signals, "rsi_normalised").lit
    names = held_layers(ctx, lit, prior, peel)
    target_pct = coverage_target_pct(ctx, len(base["lit_signals"]),
                                     signal(signals, "ts_slope_steep").lit)
    layers = build_ladder(ctx, names, target_pct, ref_vega, ref_contracts, expiries)
    ladder = ladder_summary(ctx, layers, target_pct, ref_vega, peel)
    pct = no_doubling(ctx, regime_cut_risk_pct(ctx, base_pct, regime), prior)
    sizing = {"risk_dollars": hard_cap_risk(ctx, pct, ladder.debit), "requested_pct": pct,
              "ref_contracts": ref_contracts}
    condor = _condor_doc(ctx, legs, {"k": k, "em": em, "width": width}, sizing, pct > 0)
    sized_legs = [leg.model_copy(update={"contracts": leg.contracts * condor.contracts})
                  for leg in legs]
    return Recommendation(regime=regime, condor=condor, ladder=ladder,
                          legs=sized_legs + ladder_legs(layers), **base)
