"""Human renderings of a Recommendation: rich tables for the terminal, and markdown."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from hedge.document import Recommendation


def _fmt(x: object) -> str:
    """A value for a cell: floats to 4 significant decimals, None as '?'."""
    if x is None:
        return "?"
    if isinstance(x, float):
        return f"{x:,.4g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def headline(rec: Recommendation) -> str:
    """One line: day, regime, VIX, lit signals, versions."""
    lit = ", ".join(rec.lit_signals) or "none"
    return (f"ALVH {rec.date} -> {rec.trade_date} | regime {rec.regime} | VIX {_fmt(rec.vix)} "
            f"| SPX {_fmt(rec.spx)} | lit: {lit} | policy {rec.policy_version} "
            f"| features {rec.feature_set_version or '?'}")


def condor_rows(rec: Recommendation) -> list[tuple[str, str]]:
    """The condor as (field, value) pairs."""
    c = rec.condor
    if c is None:
        return [("iron condor", "not computed (inputs unknown)")]
    state = f"OPEN {c.contracts} contracts" if c.open else "NO NEW CONDOR"
    return [
        ("iron condor", state),
        ("strikes (LP/SP/SC/LC)", f"{c.long_put:g} / {c.short_put:g} / {c.short_call:g} / "
                                  f"{c.long_call:g}"),
        ("k x expected move", f"{c.k:g} x {c.expected_move:.2f}"),
        ("wing width", f"{c.wing_width:g}"),
        ("credit (points)", f"{c.credit_points:.2f} ({c.pricing_source})"),
        ("max loss / contract", f"${c.max_loss_per_contract:,.0f}"),
        ("break-evens", f"{c.break_even_low:.2f} - {c.break_even_high:.2f}"),
        ("risk % equity (asked / applied)", f"{c.requested_risk_pct:.3%} / {c.risk_pct:.3%}"),
        ("$ vega / contract", f"{c.vega_per_contract:,.2f}"),
    ]


def ladder_header() -> list[str]:
    """Column names of the ladder table."""
    return ["layer", "action", "expiry", "dte", "fwd", "strike", "vol", "price", "delta",
            "beta", "held", "buy", "sell", "contracts", "$/VIX pt", "cost", "stress gain"]


def ladder_rows(rec: Recommendation) -> list[list[str]]:
    """One row per layer bought, held or sold."""
    return [[la.name, la.action, str(la.expiry), str(la.dte), f"{la.forward:.2f}",
             f"{la.strike:g}", f"{la.vol:.2f}", f"{la.price:.2f}", f"{la.delta:.3f}",
             f"{la.beta:.2f}", str(la.held_contracts), str(la.buy_contracts),
             str(la.sell_contracts), str(la.contracts), f"{la.dollar_per_vix_point:,.0f}",
             f"{la.cost:,.0f}", _fmt(la.stress_gain)]
            for la in rec.ladder.layers]


def coverage_line(rec: Recommendation) -> str:
    """Coverage reached vs target, in the sizing's terms."""
    lad = rec.ladder
    if lad.status == "unknown":
        held = ", ".join(f"{p.name} {p.contracts}x {p.strike:g} {p.expiry}"
                         for p in lad.positions) or "nothing"
        return f"ladder UNKNOWN (not sized; see rules); held: {held}"
    if lad.sizing == "stress":
        cov = "?" if lad.stress_coverage is None else f"{lad.stress_coverage:.0%}"
        head = (f"stress coverage {cov} vs target {lad.target_pct:.0%}: ladder gains "
                f"${_fmt(lad.stress_gain)} where the reference condor loses "
                f"${_fmt(lad.stress_loss)}")
    else:
        head = (f"coverage: ${lad.reached_dollars:,.0f} per VIX point vs target "
                f"${lad.target_dollars:,.0f} ({lad.target_pct:.0%} of reference $ vega)")
    return (f"{head}; within band: {_fmt(lad.within_band)}; purchases ${lad.debit:,.0f}, "
            f"sales ${lad.proceeds:,.0f}")


def prior_line(rec: Recommendation) -> list[str]:
    """The previous session's condor as settled, when known."""
    p = rec.prior
    if p is None:
        return []
    return [f"previous condor settled {p.settled_on} at SPX {_fmt(p.spx_close)}: "
            f"P&L ${_fmt(p.pnl)} ({'loss' if p.lost else 'no loss'}; risk {p.risk_pct:.3%})"]


def reason_lines(rec: Recommendation) -> list[str]:
    """Caps that bound, then every rule that fired, with inputs."""
    caps = [f"CAP {c.cap}: asked {_fmt(c.requested)}, applied {_fmt(c.applied)} (limit "
            f"{_fmt(c.limit)}): {c.detail}" for c in rec.caps_bound]
    rules = [f"{r.rule}: {r.detail} [" + ", ".join(f"{k}={_fmt(v)}" for k, v in r.inputs.items())
             + "]" for r in rec.rules]
    unknown = [f"unknown features: {', '.join(rec.unknown_features)}"] if rec.unknown_features \
        else []
    return prior_line(rec) + caps + rules + unknown


def render_table(rec: Recommendation) -> Group:
    """A rich renderable: headline, condor, ladder, reasons."""
    condor = Table(title="Iron condor", show_header=False)
    for k, v in condor_rows(rec):
        condor.add_row(k, v)
    ladder = Table(title="VIX call ladder")
    for col in ladder_header():
        ladder.add_column(col)
    for row in ladder_rows(rec):
        ladder.add_row(*row)
    reasons = Text("\n".join(reason_lines(rec)))
    return Group(Text(headline(rec), style="bold"), condor, ladder, Text(coverage_line(rec)),
                 reasons)


def render_markdown(rec: Recommendation) -> str:
    """The recommendation as a markdown document."""
    lines = [f"# {headline(rec)}", "", "## Iron condor", "", "| field | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in condor_rows(rec)]
    lines += ["", "## VIX call ladder", "", "| " + " | ".join(ladder_header()) + " |",
              "|" + "---|" * len(ladder_header())]
    lines += ["| " + " | ".join(r) + " |" for r in ladder_rows(rec)]
    lines += ["", coverage_line(rec), "", "## Reasons", ""]
    lines += [f"- {x}" for x in reason_lines(rec)]
    return "\n".join(lines) + "\n"
