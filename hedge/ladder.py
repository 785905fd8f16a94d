"""The VIX call ladder as a held position: what to hold, buy and sell after day D.

A layer is bought when lit, held while lit (or while its state is unknown), and sold when it
comes within ``roll_dte`` days of expiry (rolled into a new one when still lit) or after
``unlit_days`` unlit sessions once the RSIs have normalised (peel-back). New purchases are sized
so that the whole ladder covers the target share of the reference condor: of its loss in the
stress scenario (``sizing = "stress"``, at least one contract per bought layer while the caps
allow) or of its dollar vega (``"vega"``). Only purchases count against the caps.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import polars as pl

from hedge.context import Context
from hedge.document import CapBound, Ladder, Layer, Position, StressScenario
from hedge.pricing import black76_one
from hedge.rules import flag, number
from hedge.stress import stressed_call
from hedge.vix_model import VIX_ROOTS, call_vol, vix_strike

CALENDAR_DAYS = 365.0

ExpiryRule = Callable[[dt.date, int], dt.date]


@dataclass(frozen=True)
class Curve:
    """A VX constant-maturity curve (calendar days -> forward) and its age in sessions."""

    as_of: dt.date
    points: Mapping[int, float]
    age_sessions: int = 0


@dataclass(frozen=True)
class Reference:
    """What the ladder covers: the reference condor's size, stress loss and dollar vega."""

    contracts: float
    stress_loss: float
    vega: float
    scenario: StressScenario


@dataclass(frozen=True)
class _Plan:
    """One layer's trade for the session: buy, keep (held) or sell a position."""

    index: int
    action: str
    position: Position | None
    unlit_sessions: int = 0
    exit: str | None = None  # the rule a sale follows: roll, expiry, peel_back, take_profit, trim
    sell: int | None = None  # contracts sold when fewer than held (a trim)


@dataclass(frozen=True)
class _Priced:
    """A planned layer priced per contract today and in the stress scenario."""

    plan: _Plan
    expiry: dt.date
    dte: int
    forward: float
    strike: float
    vol: float
    price: float
    delta: float
    vega: float
    beta: float
    stress_forward: float
    stress_price: float
    source: str = "model"


def vix_call_quotes(chain: pl.DataFrame | None, day: dt.date) -> dict[tuple[dt.date, float],
                                                                      tuple[float, float]]:
    """D's two-sided VIX call quotes by (expiry, strike): root VIX before VIXW (weeklys)."""
    if chain is None:
        return {}
    calls = chain.filter(pl.col("root").is_in(VIX_ROOTS) & (pl.col("quote_date") == day)
                         & (pl.col("right") == "C") & (pl.col("bid") > 0)
                         & (pl.col("ask") >= pl.col("bid"))).sort(pl.col("root") != "VIX")
    return {(e, k): (b, a) for e, k, b, a in calls.unique(["expiration", "strike"],
                                                          keep="first", maintain_order=True)
            .select("expiration", "strike", "bid", "ask").iter_rows()}


def curve_of(row: Mapping[str, object], as_of: dt.date, age_sessions: int = 0,
             tenors: Sequence[int] = (30, 110, 220)) -> Curve | None:
    """The ``vx_cm<tenor>`` points of a features row as a Curve, or None when it has none."""
    points = {d: v for d in tenors if (v := number(row, f"vx_cm{d}")) is not None}
    return Curve(as_of, points, age_sessions) if points else None


def curve_from_row(row: Mapping[str, object], ctx: Context) -> Curve | None:
    """D's own curve (the policy's layer tenors), or None when the row has none."""
    return curve_of(row, ctx.date, 0, [la.target_dte for la in ctx.policy.ladder.layers])


def usable_curve(ctx: Context, last: Curve | None) -> Curve | None:
    """D's curve; else the last one if at most max_curve_age sessions old (flagged); else None."""
    today = curve_from_row(ctx.row, ctx)
    if today is not None:
        return today
    limit = ctx.policy.ladder.max_curve_age
    if last is not None and last.points and last.age_sessions <= limit:
        ctx.fire("curve_stale_used", f"no VX settlement for D: the curve of {last.as_of} "
                 f"({last.age_sessions} session(s) old) prices the ladder",
                 curve_date=last.as_of.isoformat(), age_sessions=last.age_sessions,
                 max_curve_age=limit)
        return last
    age = None if last is None else last.age_sessions
    ctx.fire("ladder_unknown", "no VX settlement for D and no curve at most "
             f"{limit} session(s) old: the ladder is not sized (forwards are not guessed "
             "from spot VIX)", last_curve_age=age, max_curve_age=limit)
    return None


def interp(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    """``np.interp`` at one point on increasing ``xs``, in Python floats (bit for bit).

    numpy's own steps: flat beyond the ends, the node's value on a node, else
    slope x (x - x_j) + y_j with slope = (y_j+1 - y_j) / (x_j+1 - x_j).
    """
    if x >= xs[-1]:
        return float(ys[-1])
    if x <= xs[0]:
        return float(ys[0])
    j = bisect.bisect_right(xs, x) - 1
    if xs[j] == x:
        return float(ys[j])
    slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
    got = slope * (x - xs[j]) + ys[j]
    if math.isnan(got):  # numpy tries from the other node, then a flat segment's value
        got = slope * (x - xs[j + 1]) + ys[j + 1]
        if math.isnan(got) and ys[j] == ys[j + 1]:
            got = ys[j]
    return float(got)


def forward(ctx: Context, curve: Curve, dte: int) -> float:
    """VX forward at ``dte`` days: spot VIX at 0, then the curve, linear in calendar days."""
    points = sorted([(0, ctx.vix), *curve.points.items()])
    xs, ys = zip(*points, strict=True)
    flagged = [f"vx_cm{d}" for d in curve.points if flag(ctx.row, f"vx_cm{d}_extrapolated")]
    if flagged:
        ctx.fire("forward_from_extrapolated_curve", f"{', '.join(flagged)} extrapolated in the "
                 "features (curve too short)", dte=dte, forward=interp(dte, xs, ys))
    if dte > xs[-1]:
        ctx.fire("forward_extrapolated", f"forward at {dte}d held flat beyond {xs[-1]:g}d",
                 dte=dte, forward=ys[-1])
    return interp(dte, xs, ys)


def vix_option_vol(ctx: Context, dte: int, strike: float, fwd: float) -> float:
    """The calibrated VIX call vol at VVIX (the policy's vol when VVIX is unknown, said so)."""
    vvix = number(ctx.row, "vvix_close")
    if vvix is None or vvix <= 0:
        default = ctx.policy.pricing.vix_vol_default
        ctx.fire("vix_vol_default", "vvix_close unknown; policy VIX option vol used",
                 dte=dte, vix_vol_default=default)
        return default
    return call_vol(ctx.pricing.vix, vvix, dte, strike, fwd)


def layer_beta(ctx: Context, index: int) -> float:
    """Beta of the layer's VX maturity to spot VIX (feature, else the policy default)."""
    layer = ctx.policy.ladder.layers[index]
    beta = number(ctx.row, layer.beta_feature)
    if beta is None or beta <= 0:
        # A non-positive regression beta would make the hedge size itself to nothing.
        ctx.fire("beta_default", f"{layer.beta_feature} unknown or <= 0; policy default used",
                 **{layer.beta_feature: beta, "default_beta": layer.default_beta})
        return layer.default_beta
    return beta


def _held_plan(ctx: Context, index: int, pos: Position, state: bool | None,
               peel: bool | None) -> list[_Plan]:
    """A held layer's trade: roll or sell near expiry, keep, or sell after unlit sessions."""
    lad = ctx.policy.ladder
    if (pos.expiry - ctx.date).days <= lad.roll_dte:
        ctx.fire("layer_rolled" if state is True else "layer_expiring_sold",
                 f"{pos.name} {pos.expiry} within {lad.roll_dte} days of expiry: sold"
                 + (" and rolled" if state is True else ""), expiry=pos.expiry.isoformat())
        sold = _Plan(index, "sell", pos, exit="roll" if state is True else "expiry")
        return [sold] + ([_Plan(index, "buy", None)] if state else [])
    if state is True:
        return [_Plan(index, "held", pos, 0)]
    if state is None:
        ctx.fire("layer_state_unknown", f"{pos.name} held: an input of its triggers is unknown",
                 unlit_sessions=pos.unlit_sessions)
        return [_Plan(index, "held", pos, pos.unlit_sessions)]
    unlit = pos.unlit_sessions + 1
    if unlit >= lad.unlit_days and peel is True:
        ctx.fire("layer_unlit_sold", f"{pos.name} unlit {unlit} sessions and RSIs normalised: "
                 "sold", unlit_sessions=unlit, unlit_days=lad.unlit_days)
        return [_Plan(index, "sell", pos, unlit, exit="peel_back")]
    if unlit >= lad.unlit_days:
        ctx.fire("peel_back_held", f"{pos.name} unlit {unlit} sessions but RSIs not back in "
                 "the normal band: held", spx_rsi_14=number(ctx.row, "spx_rsi_14"),
                 vix_rsi_14=number(ctx.row, "vix_rsi_14"))
    return [_Plan(index, "held", pos, unlit)]


def plan_layers(ctx: Context, held: Sequence[Position], states: Mapping[str, bool | None],
                peel: bool | None) -> list[_Plan]:
    """Every layer's trade, in ladder order: held ones first judged, lit ones bought."""
    plans: list[_Plan] = []
    for i, layer in enumerate(ctx.policy.ladder.layers):
        mine = [p for p in held if p.name == layer.name and p.contracts > 0]
        state = states.get(layer.name)
        for pos in mine:
            plans += _held_plan(ctx, i, pos, state, peel)
        if not mine and state is True:
            plans.append(_Plan(i, "buy", None))
        if not mine and state is None:
            ctx.fire("layer_state_unknown", f"{layer.name} not bought: an input of its "
                     "triggers is unknown", unlit_sessions=None)
    return plans


def price_plan(ctx: Context, curve: Curve, plan: _Plan, expiries: ExpiryRule,
               scenario: StressScenario) -> _Priced:
    """A planned layer priced by Black-76 today and one session into the stress scenario."""
    lp, lad = ctx.policy.ladder.layers[plan.index], ctx.policy.ladder
    pos = plan.position
    expiry = pos.expiry if pos else expiries(ctx.date, lp.target_dte)
    dte = max((expiry - ctx.date).days, 1)
    fwd = forward(ctx, curve, dte)
    strike = pos.strike if pos else vix_strike(fwd * (1.0 + lad.otm_pct),
                                               lad.half_point_strikes_below)
    vol, beta = vix_option_vol(ctx, dte, strike, fwd), layer_beta(ctx, plan.index)
    g = black76_one(fwd, strike, dte / CALENDAR_DAYS, ctx.rate, vol, True)
    s_fwd, s_price = stressed_call(fwd, strike, dte, ctx.rate, vol, beta, scenario)
    scale = ctx.pricing.vix_scale  # 1 but in a backtest run at an end of the error band
    quote = ctx.vix_quotes.get((expiry, strike))
    if quote is not None:  # quotes first: the mid; the shock moves it as it moves the model
        mid = (quote[0] + quote[1]) / 2
        shocked = s_price * mid / g.price if g.price > 0 else s_price
        return _Priced(plan, expiry, dte, fwd, strike, vol, mid, g.delta, g.vega, beta, s_fwd,
                       shocked, "quote")
    return _Priced(plan, expiry, dte, fwd, strike, vol, g.price * scale, g.delta, g.vega, beta,
                   s_fwd, s_price * scale)


def unit_amount(ctx: Context, p: _Priced) -> float:
    """One contract's contribution in the sizing's unit: stress gain or $ per VIX point."""
    mult = ctx.policy.ladder.multiplier
    if ctx.policy.ladder.sizing == "stress":
        return mult * (p.stress_price - p.price)
    return mult * p.delta * p.beta


def _kept(p: _Priced) -> int:
    """Contracts kept through the session (held positions, less any trimmed)."""
    pos = p.plan.position
    if p.plan.action != "held" or pos is None:
        return 0
    return pos.contracts - (p.plan.sell or 0)


def size_buys(ctx: Context, priced: list[_Priced], target: float,
              ceiling: float) -> dict[int, int]:
    """Contracts to buy per planned layer: weights scaled to reach ``target`` with the held ones."""
    buys = [i for i, p in enumerate(priced) if p.plan.action == "buy"]
    held = sum(_kept(p) * unit_amount(ctx, p) for p in priced)
    per_unit = sum(ctx.policy.ladder.layers[priced[i].plan.index].weight
                   * unit_amount(ctx, priced[i]) for i in buys)
    m = (target - held) / per_unit if per_unit > 0 and target > held else 0.0
    counts = {i: int(math.floor(m * ctx.policy.ladder.layers[priced[i].plan.index].weight
                                + 0.5)) for i in buys}
    if ctx.policy.ladder.sizing != "stress":
        return counts
    return _at_least_one(ctx, priced, counts, math.inf, ceiling)


def _at_least_one(ctx: Context, priced: list[_Priced], counts: dict[int, int], room: float,
                  ceiling: float) -> dict[int, int]:
    """Stress sizing: each bought layer gets one contract while the caps allow.

    The purchase must fit ``room`` and the ladder's stress gain stay within ``ceiling``
    (max_coverage x the stress loss).
    """
    out, mult = dict(counts), ctx.policy.ladder.multiplier
    for i in sorted(out):
        if out[i] > 0:
            continue
        name = ctx.policy.ladder.layers[priced[i].plan.index].name
        debit = sum(n * priced[j].price * mult for j, n in out.items())
        gain = sum((_kept(p) + out.get(j, 0)) * unit_amount(ctx, p)
                   for j, p in enumerate(priced))
        if gain + unit_amount(ctx, priced[i]) > ceiling + 1e-9:
            ctx.fire("min_one_blocked", f"{name} lit but one contract would cover more than "
                     "max_coverage of the stress loss: none bought", gain=gain, ceiling=ceiling)
        elif debit + priced[i].price * mult <= room + 1e-9:
            out[i] = 1
            ctx.fire("min_one_contract", f"{name} lit: one contract although the target "
                     "rounds to none", price=priced[i].price)
    return out


def purchase_limits(ctx: Context, ref_contracts: float) -> list[tuple[str, float, str]]:
    """The caps a day's purchases must respect: (cap, dollar limit, why)."""
    caps = ctx.policy.caps
    return [("hedge_debit_pct_spx",
             caps.hedge_debit_pct_spx * ctx.spx * ctx.policy.condor.multiplier * ref_contracts,
             "ladder purchases <= hedge_debit_pct_spx x SPX x multiplier per reference condor"),
            ("max_total_risk_pct", caps.max_total_risk_pct * ctx.equity,
             "ladder purchases alone exceed the hard cap")]


def capped_buys(ctx: Context, priced: list[_Priced], counts: dict[int, int],
                ref_contracts: float, ceiling: float) -> dict[int, int]:
    """Purchases shrunk (floored) to fit every cap, then topped up to one contract if they fit."""
    mult = ctx.policy.ladder.multiplier
    limits = purchase_limits(ctx, ref_contracts)
    for name, limit, why in limits:
        debit = sum(n * priced[i].price * mult for i, n in counts.items())
        if debit > limit + 1e-9:
            f = max(0.0, limit) / debit
            counts = {i: int(math.floor(n * f)) for i, n in counts.items()}
            ctx.caps.append(CapBound(cap=name, limit=limit, requested=debit, applied=sum(
                n * priced[i].price * mult for i, n in counts.items()), detail=why))
    if ctx.policy.ladder.sizing == "stress":
        counts = _at_least_one(ctx, priced, counts, min(limit for _, limit, _ in limits),
                               ceiling)
    return counts


def _layer(ctx: Context, p: _Priced, bought: int) -> Layer:
    """The document's layer: position after the trade, its cost and stress gain."""
    lp, mult, pos = ctx.policy.ladder.layers[p.plan.index], ctx.policy.ladder.multiplier, \
        p.plan.position
    held = pos.contracts if pos else 0
    sold = (held if p.plan.sell is None else p.plan.sell) if p.plan.exit else 0
    after = held - sold + bought
    return Layer(name=lp.name, target_dte=lp.target_dte, expiry=p.expiry, dte=p.dte,
                 forward=p.forward, strike=p.strike, vol=p.vol, price=p.price, delta=p.delta,
                 vega=p.vega, beta=p.beta, weight=lp.weight, contracts=after,
                 dollar_per_vix_point=after * mult * p.delta * p.beta,
                 cost=bought * p.price * mult, action=p.plan.action, held_contracts=held,
                 buy_contracts=bought, sell_contracts=sold,
                 bought_on=pos.bought_on if pos else ctx.date,
                 unlit_sessions=p.plan.unlit_sessions, stress_forward=p.stress_forward,
                 stress_price=p.stress_price,
                 stress_gain=after * mult * (p.stress_price - p.price), pricing_source=p.source,
                 exit=p.plan.exit)


def positions_after(day: dt.date, layers: list[Layer],
                    held: Sequence[Position]) -> list[Position]:
    """The ladder held after the session: the next session's ``held`` input."""
    paid = {(p.name, p.expiry, p.strike): p.entry_price for p in held}
    return [Position(name=la.name, expiry=la.expiry, strike=la.strike, contracts=la.contracts,
                     bought_on=la.bought_on or day, unlit_sessions=la.unlit_sessions,
                     entry_price=paid.get((la.name, la.expiry, la.strike), la.price)
                     if la.action == "held" else la.price)
            for la in layers if la.contracts > 0]


def priced_layers(ctx: Context, curve: Curve, plans: list[_Plan], expiries: ExpiryRule,
                  ref: Reference, target_pct: float) -> list[Layer]:
    """Planned layers priced, purchases sized and capped, as document layers."""
    priced = [take_profit(ctx, price_plan(ctx, curve, plan, expiries, ref.scenario))
              for plan in plans]
    base = ref.stress_loss if ctx.policy.ladder.sizing == "stress" else ref.vega
    ceiling = ctx.policy.ladder.max_coverage * base
    counts = capped_buys(ctx, priced, size_buys(ctx, priced, target_pct * base, ceiling),
                         ref.contracts, ceiling)
    priced = trimmed(ctx, priced, counts, target_pct * base)
    return [_layer(ctx, p, counts.get(i, 0)) for i, p in enumerate(priced)]


def take_profit(ctx: Context, p: _Priced) -> _Priced:
    """A held call whose mark reached ``take_profit_multiple`` x its entry is sold (banked)."""
    multiple, pos = ctx.policy.ladder.take_profit_multiple, p.plan.position
    if (multiple is None or p.plan.action != "held" or pos is None or pos.entry_price <= 0
            or p.price < multiple * pos.entry_price):
        return p
    ctx.fire("layer_take_profit", f"{pos.name} {pos.expiry} {pos.strike:g} marked "
             f"{p.price / pos.entry_price:.1f}x its entry: sold", price=p.price,
             entry_price=pos.entry_price, take_profit_multiple=multiple,
             contracts=pos.contracts)
    return replace(p, plan=replace(p.plan, action="sell", exit="take_profit"))


def trimmed(ctx: Context, priced: list[_Priced], counts: dict[int, int],
            target: float) -> list[_Priced]:
    """The held ladder trimmed back to its target when over target x (1 + ``trim_band``).

    Held contracts are sold, the most covering layer first, while what stays covers at least
    the target.
    """
    band = ctx.policy.ladder.trim_band
    reached = sum((_kept(p) + counts.get(i, 0)) * unit_amount(ctx, p)
                  for i, p in enumerate(priced))
    if band is None or target <= 0 or reached <= target * (1 + band) + 1e-9:
        return priced
    out, before = list(priced), reached
    for i in sorted(range(len(out)), key=lambda j: -unit_amount(ctx, out[j])):
        unit, held = unit_amount(ctx, out[i]), _kept(out[i])
        n = min(held, int((reached - target) // unit)) if unit > 0 else 0
        if n > 0:
            reached -= n * unit
            out[i] = replace(out[i], plan=replace(out[i].plan, action="sell" if n == held
                                                  else "held", exit="trim", sell=n))
    ctx.fire("ladder_trimmed", f"coverage {before / target:.2f}x the target, over the trim "
             f"band {band:g}: trimmed to {reached / target:.2f}x", reached_dollars=before,
             target_dollars=target, trim_band=band, after_dollars=reached)
    return out


def coverage_target(ctx: Context, n_lit: int, steep: bool | None) -> float:
    """Target share: quiet or lit, x steep_multiplier on a steep curve, at most max_coverage."""
    lad = ctx.policy.ladder
    pct = lad.coverage_lit if n_lit >= lad.coverage_lit_min_signals else lad.coverage_quiet
    if steep is True:
        ctx.fire("steep_curve_coverage", f"ts_slope_12 steep: target x {lad.steep_multiplier:g}",
                 ts_slope_12=number(ctx.row, "ts_slope_12"))
        pct *= lad.steep_multiplier
    return min(pct, lad.max_coverage)


def _off_target_causes(ctx: Context, layers: list[Layer]) -> list[str]:
    """Why coverage missed its band: the caps that bound, one-contract floors, held layers."""
    causes = [c.cap for c in ctx.caps if c.cap != "no_doubling"]
    if any(r.rule == "min_one_contract" for r in ctx.rules):
        causes.append("min_one_contract")
    if any(la.action == "held" for la in layers):
        causes.append("held_layers")
    return causes or ["contract_rounding"]


def ladder_doc(ctx: Context, layers: list[Layer], ref: Reference, target_pct: float,
               peel: bool | None, held: Sequence[Position]) -> Ladder:
    """The ladder section: coverage reached vs target in the sizing's unit, stress figures."""
    stress = ctx.policy.ladder.sizing == "stress"
    base = ref.stress_loss if stress else ref.vega
    gain = sum(la.stress_gain or 0.0 for la in layers)
    reached = gain if stress else sum(la.dollar_per_vix_point for la in layers)
    target, tol = target_pct * base, ctx.policy.ladder.coverage_tolerance
    sized = [la for la in layers if la.contracts > 0]
    within = None if not sized or target <= 0 else (
        target * (1 - tol) - 1e-9 <= reached <= target * (1 + tol) + 1e-9)
    if within is False:
        ctx.fire("coverage_off_target", "coverage off target: "
                 + ", ".join(_off_target_causes(ctx, layers)),
                 target_dollars=target, reached_dollars=reached, tolerance=tol)
    mult = ctx.policy.ladder.multiplier
    return Ladder(
        layers=layers, target_pct=target_pct, target_dollars=target, reached_dollars=reached,
        reached_pct=reached / base if base > 0 else None, within_band=within,
        debit=sum(la.cost for la in layers), peel_back_allowed=peel,
        sizing=ctx.policy.ladder.sizing, status="sized", target_coverage=target_pct,
        stress_loss=ref.stress_loss, stress_gain=gain,
        stress_coverage=gain / ref.stress_loss if ref.stress_loss > 0 else None,
        stress=ref.scenario, proceeds=sum(la.sell_contracts * la.price * mult for la in layers),
        positions=positions_after(ctx.date, layers, held))


def unknown_ladder(ctx: Context, held: Sequence[Position], target_pct: float,
                   ref: Reference | None, peel: bool | None) -> Ladder:
    """No usable curve (or no closes): nothing priced or bought, the held ladder carried."""
    for p in held:
        if p.expiry <= ctx.date:  # cannot be carried past its expiry, priced or not
            ctx.fire("layer_expired", f"{p.name} {p.expiry} expired while the ladder is "
                     "unknown: dropped", expiry=p.expiry.isoformat(), contracts=p.contracts)
    return Ladder(layers=[], target_pct=target_pct, target_dollars=0.0, reached_dollars=0.0,
                  reached_pct=None, within_band=None, debit=0.0, peel_back_allowed=peel,
                  sizing=ctx.policy.ladder.sizing, status="unknown",
                  target_coverage=target_pct if ref else None,
                  stress_loss=ref.stress_loss if ref else None,
                  stress=ref.scenario if ref else None,
                  positions=[p for p in held if p.contracts > 0 and p.expiry > ctx.date])
