"""The walk: sessions in order, each decided on what was known after its close.

For each session D, for each strategy: settle the condor opened on the session before at D's
SPX close; settle the calls expiring on D at their final settlement and mark the others by
Black-76 on their listed contract's settlement; then ask for the next session's trade (the
engine for the ALVH strategies, the rule for the benchmarks), trade the ladder to its target
at D's marks with the haircut, and open the condor. A day whose inputs are missing is flagged
untestable with the reason; its P&L is left null, never filled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from backtest.accounting import (
    CondorTicket,
    call_mark,
    call_trade_cash,
    condor_pnl_per_contract,
    condor_settlement_points,
    vix_haircut,
)
from backtest.engine import (
    HeldCall,
    held_positions,
    last_curve,
    outcome,
    recommend_sizings,
    with_sizing,
)
from backtest.market import Known, Market
from backtest.strategies import static_targets, vxth_targets
from hedge.calibration import Pricing
from hedge.document import Recommendation
from hedge.ladder import Curve
from hedge.policy import Policy
from hedge.recommend import Ask

ENGINE_SIZING = {"alvh_stress": "stress", "alvh_vega": "vega"}
# Benchmarks trade the condor of the ALVH stress strategy: only the hedge differs.
CONDOR_FROM = {"no_hedge": "alvh_stress", "static": "alvh_stress", "vxth": "alvh_stress"}


@dataclass
class Book:
    """One strategy's positions and running totals."""

    name: str
    equity: float
    peak: float
    calls: dict[tuple[str, dt.date, float], float] = field(default_factory=dict)
    marks: dict[tuple[str, dt.date, float], float] = field(default_factory=dict)
    condor: CondorTicket | None = None
    rec: Recommendation | None = None
    blind: str | None = None  # why the strategy could not decide its ladder, while it lasts
    trades: list[dict[str, Any]] = field(default_factory=list)

    def held(self) -> list[HeldCall]:
        """The calls held, as the engine and the rules see them."""
        return [HeldCall(layer, expiry, strike, n)
                for (layer, expiry, strike), n in self.calls.items() if n != 0]


@dataclass
class Day:
    """The P&L pieces of one strategy on one session."""

    reasons: list[str] = field(default_factory=list)
    condor_pnl: float | None = 0.0
    ref_condor_pnl: float | None = 0.0
    ladder_pnl: float | None = 0.0
    premium: float = 0.0
    contracts_opened: int = 0
    priced_trades: int = 0  # opens, buys and sells of the day ...
    quoted_trades: int = 0  # ... of which priced from the day's quotes


def _trade(book: Book, day: dt.date, pricing_source: str | None = None, **row: Any) -> None:
    """One backtest_trades row (``pricing_source``: quote or model for a trade at a price)."""
    book.trades.append({"strategy": book.name, "date": day, "seq": len(book.trades),
                        "pricing_source": pricing_source, **row})


def settle_condor(book: Book, known: Known, policy: Policy, out: Day) -> None:
    """The condor opened on the session before, settled at this close."""
    t, book.condor = book.condor, None
    if t is None:
        return
    if known.spx_close is None:
        out.reasons.append("no SPX close to settle the condor")
        out.condor_pnl = out.ref_condor_pnl = None
        return
    per = condor_pnl_per_contract(t, known.spx_close, policy.backtest, policy.condor.multiplier)
    out.condor_pnl, out.ref_condor_pnl = per * t.contracts, per * t.reference_contracts
    # The settlement pays what the condor owes; the credit was received at the open.
    owed = condor_settlement_points(t, known.spx_close) * policy.condor.multiplier
    _trade(book, known.date, instrument="iron_condor", action="settle", layer=None,
           expiry=known.date, strikes=t.strikes, contracts=float(t.contracts),
           price=known.spx_close, haircut=0.0, commission=0.0, cash=-owed * t.contracts)


def mark_calls(book: Book, known: Known, policy: Policy, out: Day) -> None:
    """Mark every held call (final settlement on its expiry day); unknown marks stay unknown."""
    mult, vvix = policy.ladder.multiplier, _vvix(known)
    for key, n in list(book.calls.items()):
        layer, expiry, strike = key
        settle = known.settle(expiry)
        if settle is None or (vvix is None and expiry > known.date):
            out.reasons.append(f"no VX settlement or VVIX to mark {layer} {expiry} {strike:g}")
            out.ladder_pnl = None
            if expiry <= known.date:  # gone without a final settlement: its P&L stays unknown
                out.reasons.append(f"{layer} {expiry} {strike:g} expired unsettled: dropped")
                del book.calls[key], book.marks[key]
            continue
        quote = _quote(known, expiry, strike)
        mark = _mid(quote) if quote else call_mark(
            settle, strike, known.date, expiry, _rate(known, policy), vvix or 0.0,
            _pricing(known))
        if out.ladder_pnl is not None:
            out.ladder_pnl += n * (mark - book.marks[key]) * mult
        book.marks[key] = mark
        if expiry <= known.date:
            _trade(book, known.date, instrument="vix_call", action="expire", layer=layer,
                   expiry=expiry, strikes=f"{strike:g}", contracts=-n, price=mark, haircut=0.0,
                   commission=0.0, cash=n * mark * mult)
            del book.calls[key], book.marks[key]


def _rate(known: Known, policy: Policy) -> float:
    """D's rate (a fresh DTB3, else SOFR, else DFF), else the policy default, as the engine."""
    return known.rate.value if known.rate is not None else policy.pricing.default_rate


def _quote(known: Known, expiry: dt.date, strike: float) -> tuple[float, float] | None:
    """The call's (bid, ask) where D's chain quotes it (before its expiry day), else None."""
    return known.vix_quotes.get((expiry, strike)) if expiry > known.date else None


def _mid(quote: tuple[float, float]) -> float:
    return (quote[0] + quote[1]) / 2


def _pricing(known: Known) -> Pricing:
    """The day's pricing (the walk prices every day it hands on: ``Known.priced``)."""
    if known.pricing is None:
        raise ValueError(f"{known.date}: the walk hands on only priced days")
    return known.pricing


def _vvix(known: Known) -> float | None:
    v = known.row.get("vvix_close") if known.row else None
    return float(v) if v is not None and v > 0 else None


def trade_to(book: Book, targets: list[HeldCall], known: Known, policy: Policy,
             out: Day, exits: Mapping[tuple[str, dt.date, float], str] | None = None) -> None:
    """Buy and sell calls at this close's marks (with the haircut) to hold ``targets``.

    A sale is named after the rule that made it (``exits``: roll, take_profit, trim ...).
    """
    want = {(t.layer, t.expiry, t.strike): t.contracts for t in targets}
    mult, vvix = policy.ladder.multiplier, _vvix(known)
    for key in sorted(set(want) | set(book.calls), key=str):
        delta = want.get(key, 0.0) - book.calls.get(key, 0.0)
        if abs(delta) < 1e-12:
            continue
        layer, expiry, strike = key
        settle = known.settle(expiry)
        if settle is None or vvix is None:
            out.reasons.append(f"no VX settlement or VVIX to trade {layer} {expiry} "
                               f"{strike:g}: not traded")
            continue
        quote = _quote(known, expiry, strike)
        mark = _mid(quote) if quote else call_mark(
            settle, strike, known.date, expiry, _rate(known, policy), vvix, _pricing(known))
        half = (quote[1] - quote[0]) / 2 if quote else vix_haircut(mark, policy.backtest)
        cash = call_trade_cash(mark, delta, policy.backtest, mult, half)
        if out.ladder_pnl is not None:
            out.ladder_pnl += cash + delta * mark * mult  # the haircut and commission
        if delta > 0:
            out.premium -= cash
        held = book.calls.get(key, 0.0) + delta
        if abs(held) < 1e-12:
            book.calls.pop(key, None)
            book.marks.pop(key, None)
        else:
            book.calls[key], book.marks[key] = held, mark
        out.priced_trades += 1
        out.quoted_trades += quote is not None
        _trade(book, known.date, "quote" if quote else "model", instrument="vix_call",
               action="buy" if delta > 0 else (exits or {}).get(key, "sell"),
               layer=layer, expiry=expiry, strikes=f"{strike:g}", contracts=delta, price=mark,
               haircut=half,
               commission=abs(delta) * policy.backtest.vix_commission, cash=cash)


def engine_targets(rec: Recommendation) -> list[HeldCall]:
    """The ladder the engine holds after this close."""
    return [HeldCall(p.name, p.expiry, p.strike, float(p.contracts))
            for p in rec.ladder.positions if p.contracts > 0]


def engine_exits(rec: Recommendation | None) -> dict[tuple[str, dt.date, float], str]:
    """The rule of each sale the engine recommends after this close, by call."""
    if rec is None:
        return {}
    return {(la.name, la.expiry, la.strike): la.exit for la in rec.ladder.layers if la.exit}


def open_condor(book: Book, rec: Recommendation, known: Known, policy: Policy,
                out: Day) -> None:
    """Sell the engine's condor at this close (its strikes and credit)."""
    c = rec.condor
    if c is None:
        return
    book.condor = CondorTicket(c.long_put, c.short_put, c.short_call, c.long_call,
                               c.credit_points, c.contracts if c.open else 0,
                               c.reference_contracts, c.fill_credit_points)
    out.contracts_opened = book.condor.contracts
    if c.open and c.contracts > 0:
        costs = policy.backtest
        received = c.fill_credit_points - 4 * costs.condor_slippage
        out.priced_trades += 1
        out.quoted_trades += c.pricing_source == "quote"
        _trade(book, known.date, instrument="iron_condor", action="open", layer=None,
               expiry=c.expiry, strikes=book.condor.strikes, contracts=float(c.contracts),
               price=c.credit_points, haircut=c.credit_points - received,
               commission=4 * c.contracts * costs.condor_commission,
               cash=c.contracts * (received * policy.condor.multiplier
                                   - 4 * costs.condor_commission),
               pricing_source=c.pricing_source)


def decidable(known: Known) -> str | None:
    """Why no decision can be made after this close (None: it can)."""
    if known.row is None:
        return "no features_daily row"
    if not known.row.get("spx_close") or not known.row.get("vix_close"):
        return "spx_close or vix_close unknown"
    return None


@dataclass
class Walk:
    """Every strategy's book through one run, and the rows they produced."""

    policy: Policy
    equity: float
    books: dict[str, Book] = field(default_factory=dict)
    band: str = "central"  # "lo" / "hi": every model price at an end of its error band
    rows: list[dict[str, Any]] = field(default_factory=list)
    curve: Curve | None = None  # the last VX curve seen, for a day whose row has none
    settled: Mapping[dt.date, float] = field(default_factory=dict)  # the last session's VX
    sized: dict[str, Policy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sized = {n: with_sizing(self.policy, s) for n, s in ENGINE_SIZING.items()}

    def ask(self, name: str, known: Known) -> Ask:
        """What one ALVH strategy asks the engine after this close.

        Its sizing, the ladder it really holds and its condor's outcome.
        """
        book = self.books[name]
        holding = dict(book.calls)  # by (layer, expiry, strike)
        return Ask(self.sized[name], outcome(book.rec, known.date, known.spx_close, self.policy),
                   held_positions(book.rec, holding))

    def recommend(self, known: Known) -> dict[str, Recommendation]:
        """The engine's recommendation for every ALVH strategy after this close.

        One call: the sizings share the day's signals, condor and reference condor.
        """
        names = list(ENGINE_SIZING)
        recs = recommend_sizings(
            known.row or {}, [self.ask(n, known) for n in names], rate=known.rate,
            equity=self.equity, chain=known.chain, curve=self.curve, expiries=known.expiries,
            pricing=_pricing(known))
        for name, rec in zip(names, recs, strict=True):
            self.books[name].rec = rec
        return dict(zip(names, recs, strict=True))

    def see_curve(self, known: Known) -> None:
        """Keep D's curve (or age the last one) for the next session's recommendation."""
        today = last_curve(known.row or {}, self.policy)
        if today is not None:
            self.curve = today
        elif self.curve is not None:
            self.curve = replace(self.curve, age_sessions=self.curve.age_sessions + 1)

    def targets(self, name: str, known: Known, recs: dict[str, Recommendation]
                ) -> tuple[list[HeldCall] | None, str | None]:
        """The ladder a strategy wants after this close, or None and why it cannot say.

        VXTH between its rolls keeps what it holds; a roll that could not be priced leaves
        it blind (and its days untestable) until the next roll.
        """
        book = self.books[name]
        held = book.held()
        if name in ENGINE_SIZING:
            rec = recs[name]
            if rec.ladder.status == "unknown":
                return None, "the engine could not size the ladder (status unknown)"
            return engine_targets(rec), None
        if name == "static":
            got = static_targets(known, held, self.policy)
        elif name == "vxth":
            got = vxth_targets(known, held, self.policy, self.equity,
                               _rate(known, self.policy), _vvix(known), self.settled)
            if got is held:
                return held, book.blind
        else:
            return [], None
        return got, None if got is not None else "no VX settlement for the benchmark's contract"

    def step(self, known: Known) -> None:
        """One session for every strategy, priced with the calibration in force on it."""
        known = known.priced(self.policy, self.band)
        days = {name: Day() for name in self.books}
        for name, book in self.books.items():
            settle_condor(book, known, self.policy, days[name])
            mark_calls(book, known, self.policy, days[name])
        why = decidable(known)
        self.see_curve(known)
        recs = {} if why else self.recommend(known)
        for name, book in self.books.items():
            out = days[name]
            if why:
                out.reasons.append(f"{why}: no decision")
            else:
                targets, book.blind = self.targets(name, known, recs)
                if book.blind:
                    out.reasons.append(book.blind)
                if targets is not None:
                    trade_to(book, targets, known, self.policy, out, engine_exits(recs.get(name)))
                open_condor(book, recs[CONDOR_FROM.get(name, name)], known, self.policy, out)
            self.rows.append(self.row(book, known, out))
        self.settled = known.settles

    def row(self, book: Book, known: Known, out: Day) -> dict[str, Any]:
        """The strategy's backtest_daily row for this session."""
        mult = self.policy.ladder.multiplier
        pnl = (None if out.condor_pnl is None or out.ladder_pnl is None
               else out.condor_pnl + out.ladder_pnl)
        if pnl is not None:
            book.equity += pnl
            book.peak = max(book.peak, book.equity)
        value = sum(n * book.marks.get(k, 0.0) * mult for k, n in book.calls.items())
        row = known.row or {}
        return {"strategy": book.name, "date": known.date, "spx_close": known.spx_close,
                "vix_close": row.get("vix_close"), "testable": not out.reasons,
                "untestable_reason": "; ".join(out.reasons) or None,
                "condor_contracts": out.contracts_opened, "condor_pnl": out.condor_pnl,
                "priced_trades": out.priced_trades, "quoted_trades": out.quoted_trades,
                "priced_from_later_quotes": ",".join(_pricing(known).later_quotes) or None,
                "ref_condor_pnl": out.ref_condor_pnl, "ladder_pnl": out.ladder_pnl,
                "ladder_premium": out.premium, "ladder_value": value,
                "ladder_contracts": sum(book.calls.values()),
                "layers_held": ",".join(sorted({k[0] for k in book.calls})) or None,
                "pnl": pnl, "equity": book.equity if pnl is not None else None,
                "drawdown": book.equity / book.peak - 1.0 if pnl is not None else None}


def walk(market: Market, policy: Policy, strategies: tuple[str, ...],
         band: str = "central") -> Walk:
    """Every session of ``market`` in order, for every strategy.

    The walk never holds the market: each step is handed only what was known after that
    session's close, so no decision can read a later day. ``band`` prices every model price
    at the central calibration or at the low or high end of its error band.
    """
    equity = policy.backtest.initial_equity
    w = Walk(policy=policy, equity=equity,
             books={s: Book(s, equity, equity) for s in strategies}, band=band)
    for day in market.sessions:
        w.step(market.known(day))
    return w
