"""P&L of the two instruments: the 1DTE iron condor and a long VIX call, with their costs.

Pure functions of prices and the policy's ``[backtest]`` costs; the walk supplies the prices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

from hedge.calibration import Pricing
from hedge.policy import BacktestPolicy
from hedge.pricing import black76_one
from hedge.vix_model import call_vol

CALENDAR_DAYS = 365.0


@dataclass(frozen=True)
class CondorTicket:
    """One iron condor opened at a close: strikes, credit (points) and size."""

    long_put: float
    short_put: float
    short_call: float
    long_call: float
    credit: float
    contracts: int
    reference_contracts: float
    fill_credit: float  # what the open received: shorts at their bid, longs at their ask

    @cached_property
    def strikes(self) -> str:
        """The four strikes as text, long put first."""
        return "/".join(f"{k:g}" for k in (self.long_put, self.short_put, self.short_call,
                                            self.long_call))


def condor_settlement_points(t: CondorTicket, spx: float) -> float:
    """What one condor owes at expiry, in index points (>= 0): the two spreads' intrinsic."""
    put = min(max(t.short_put - spx, 0.0), t.short_put - t.long_put)
    call = min(max(spx - t.short_call, 0.0), t.long_call - t.short_call)
    return put + call


def condor_pnl_per_contract(t: CondorTicket, spx: float, costs: BacktestPolicy,
                            multiplier: float) -> float:
    """Dollar P&L of one condor from its open to its cash settlement at ``spx``.

    Sold at the fill credit (bid/ask, quoted or the fitted spread) less the policy's slippage
    on each of the four legs, four commissions on the way in; cash-settled at expiry (no
    spread, no commission on the way out).
    """
    received = t.fill_credit - 4.0 * costs.condor_slippage
    owed = condor_settlement_points(t, spx)
    return (received - owed) * multiplier - 4.0 * costs.condor_commission


def call_mark(settle: float, strike: float, day: dt.date, expiry: dt.date, rate: float,
              vvix: float, pricing: Pricing) -> float:
    """A VIX call's value in points: Black-76 at the calibrated vol on its contract's settle.

    On the expiry day the settlement is the final settlement: the call is worth its intrinsic.
    """
    dte = (expiry - day).days
    if dte <= 0:
        return max(settle - strike, 0.0)
    vol = call_vol(pricing.vix, vvix, dte, strike, settle)
    return pricing.vix_scale * black76_one(settle, strike, dte / CALENDAR_DAYS, rate, vol,
                                           True).price


def vix_haircut(price: float, costs: BacktestPolicy) -> float:
    """Half the bid/ask paid per VIX option traded, in points."""
    return max(costs.vix_half_spread_min, costs.vix_half_spread_pct * price)


def call_trade_cash(price: float, contracts: float, costs: BacktestPolicy,
                    multiplier: float, half: float | None = None) -> float:
    """Dollars for trading ``contracts`` calls at the mark ``price`` (> 0 buys, < 0 sells).

    A buy pays mark + haircut, a sale receives mark - haircut; each pays the commission.
    ``half``: the quoted half-spread (quotes first), else the policy's haircut.
    """
    h = vix_haircut(price, costs) if half is None else half
    per = price + h if contracts > 0 else max(price - h, 0.0)  # a bid is never below zero
    return -contracts * per * multiplier - abs(contracts) * costs.vix_commission
