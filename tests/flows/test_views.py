"""The dashboard views of the catalog: contents on the simulated lake and their comments."""

import datetime as dt

import polars as pl
import pytest

from features.registry import FEATURES
from flows.pipeline import publish
from flows.views import VIEWS, flag_features, view_sql
from storage.catalog import connect_readonly
from tests.flows.demo_lake import DAY, demo_lake


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    with connect_readonly(demo_lake(tmp_path_factory)) as c:
        yield c


def rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_every_view_and_column_has_a_comment(con):
    for view in VIEWS:
        [(about,)] = rows(con, "SELECT comment FROM duckdb_views() WHERE view_name = ?", view)
        assert about, view
        cols = rows(con, "SELECT column_name, comment FROM duckdb_columns() "
                         "WHERE table_name = ?", view)
        assert cols and all(c for _, c in cols), [n for n, c in cols if not c]


def test_feature_comments_come_from_the_registry(con):
    [(text,)] = rows(con, "SELECT comment FROM duckdb_columns() WHERE table_name = 'v_features' "
                          "AND column_name = 'vrp'")
    assert text == next(f.description for f in FEATURES if f.name == "vrp")


def test_v_features_is_features_daily(con):
    assert rows(con, "SELECT count(*) FROM v_features") == rows(
        con, "SELECT count(*) FROM features_daily")
    assert rows(con, "SELECT max(date) FROM v_features") == [(DAY,)]


def test_v_signals_history_has_every_flag_every_day(con):
    [(days,)] = rows(con, "SELECT count(*) FROM features_daily")
    [(n, signals, unknown_lit)] = rows(
        con, "SELECT count(*), count(DISTINCT signal), count(*) FILTER (value IS NULL AND lit) "
             "FROM v_signals_history")
    assert signals == len(flag_features()) and n == days * signals and unknown_lit == 0
    # Long and wide agree on a day.
    [(wide,)] = rows(con, "SELECT contango FROM v_features WHERE date = ?", DAY)
    [(value, lit, family)] = rows(con, "SELECT value, lit, family FROM v_signals_history "
                                       "WHERE date = ? AND signal = 'contango'", DAY)
    assert value == wide and lit == bool(wide) and family == "term_structure"


def test_v_term_structure_has_three_tenors_a_day(con):
    got = rows(con, "SELECT tenor_days, price, extrapolated FROM v_term_structure "
                    "WHERE date = ? ORDER BY tenor_days", DAY)
    want = rows(con, "SELECT vx_cm30, vx_cm110, vx_cm220 FROM v_features WHERE date = ?", DAY)
    assert [t for t, _, _ in got] == [30, 110, 220]
    assert tuple(p for _, p, _ in got) == want[0]
    assert rows(con, "SELECT count(*) FROM v_term_structure WHERE price IS NULL") == [(0,)]


def test_v_recommendation_latest_and_legs(con):
    [(day, trade_date, regime, n)] = rows(
        con, "SELECT date, trade_date, regime, count(*) OVER () FROM v_recommendation_latest")
    assert day == DAY and n == 1 and regime in {"calm", "normal", "elevated", "extreme"}
    legs = rows(con, "SELECT leg, trade_date, regime FROM v_recommendation_legs ORDER BY leg")
    assert {leg for leg, _, _ in legs} >= {"IC_LC", "IC_LP", "IC_SC", "IC_SP"}
    assert {(t, r) for _, t, r in legs} == {(trade_date, regime)}


def test_views_exist_on_an_empty_lake(lake):
    with _published(lake) as c:
        for view in VIEWS:
            assert c.execute(f"SELECT count(*) FROM {view}").fetchall() == [(0,)]


def test_view_sql_quotes_comments():
    # Descriptions with apostrophes must not break the statements.
    assert all(stmt.count("'") % 2 == 0 for stmt in view_sql())


def test_latest_is_the_last_computed_of_the_latest_day(tmp_path_factory, lake):
    stored = demo_lake(tmp_path_factory).scan("recommendations").collect()
    later = stored.with_columns(pl.lit("other-policy").alias("policy_version"),
                                pl.col("computed_at") + dt.timedelta(minutes=5))
    earlier_day = stored.with_columns(pl.col("date") - dt.timedelta(days=1),
                                      pl.col("computed_at") + dt.timedelta(hours=1))
    lake.upsert("recommendations", pl.concat([stored, later, earlier_day]))
    with _published(lake) as c:
        got = c.execute("SELECT date, policy_version FROM v_recommendation_latest").fetchall()
    assert got == [(DAY, "other-policy")]


def _published(lake):
    """Publish the full catalog and open it read-only, its paths rebased on the lake."""
    publish(lake)
    return connect_readonly(lake)
