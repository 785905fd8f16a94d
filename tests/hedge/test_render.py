from rich.console import Console

from hedge.recommend import recommend
from hedge.render import render_markdown, render_table
from tests.hedge.rows import calm_row


def test_renderings_name_the_essentials():
    r = recommend(calm_row(vix_close=14.0, vix_rsi_14=65.0), rate=0.02, equity=10_000_000.0)
    md = render_markdown(r)
    assert "## VIX call ladder" in md and "| L1 |" in md and "CAP max_total_risk_pct" in md
    assert f"{r.condor.short_put:g}" in md and r.policy_version in md
    console = Console(width=160, record=True)
    console.print(render_table(r))
    text = console.export_text()
    assert "Iron condor" in text and "vix_rsi_high" in text and "L1" in text


def test_render_without_condor():
    r = recommend({"date": calm_row()["date"]}, equity=1e6)
    assert "not computed" in render_markdown(r)


def test_schema_doc_names_every_field():
    from pathlib import Path

    from hedge.document import (
        Condor,
        Ladder,
        Layer,
        Leg,
        Position,
        PriorDay,
        Recommendation,
        StressScenario,
        json_schema,
    )

    doc = (Path(__file__).parents[2] / "hedge" / "SCHEMA.md").read_text()
    for model in (Recommendation, Condor, Ladder, Layer, Leg, Position, StressScenario, PriorDay):
        for name in model.model_fields:
            assert f"`{name}`" in doc or f"| {name} " in doc or f"{name}," in doc, name
    assert json_schema()["title"] == "Recommendation"


def test_renderings_show_held_buy_sell_and_stress_coverage():
    first = recommend(calm_row(vix_rsi_14=65.0), rate=0.02, equity=10_000_000.0)
    held = recommend(calm_row(vix_rsi_14=65.0), rate=0.02, equity=10_000_000.0,
                     held=first.ladder.positions)
    md = render_markdown(held)
    row = next(line for line in md.splitlines() if line.startswith("| L1 |"))
    n = first.ladder.positions[0].contracts
    assert "| L1 | held |" in row and f"| {n} | 0 | 0 | {n} |" in row
    assert "stress coverage" in md and "purchases $0" in md
    unknown = recommend(calm_row(vix_rsi_14=65.0, vx_cm30=None, vx_cm110=None, vx_cm220=None),
                        rate=0.02, equity=10_000_000.0, held=first.ladder.positions)
    assert "ladder UNKNOWN" in render_markdown(unknown) and f"L1 {n}x" in render_markdown(unknown)
