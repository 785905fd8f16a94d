import datetime as dt
import importlib
import importlib.util
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.calendar import trading_days
from demo_market import simulator as sim
from tests.conftest import shared

START, END, SEED = dt.date(2023, 11, 20), dt.date(2026, 11, 20), 7


@pytest.fixture(scope="module")
def truth() -> dict[str, pl.DataFrame]:
    return sim.simulate(START, END, SEED, chain_days=5)


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim")
    return out, sim.write_raw(out, START, END, seed=SEED, chain_days=5)


def _series(truth: dict[str, pl.DataFrame], symbol: str) -> np.ndarray:
    return truth["index_daily"].filter(pl.col("symbol") == symbol).sort("date")["close"].to_numpy()


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# ------------------------------------------------------------------ determinism and shape
def test_same_seed_gives_byte_identical_files(raw: tuple[Path, dict], tmp_path: Path) -> None:
    out, manifest = raw
    again = sim.write_raw(tmp_path, START, END, seed=SEED, chain_days=5)
    assert again == manifest
    assert _tree(tmp_path) == _tree(out)


def test_another_seed_gives_another_market() -> None:
    a = sim.simulate(START, dt.date(2024, 6, 1), 1, chain_days=0)["index_daily"]
    b = sim.simulate(START, dt.date(2024, 6, 1), 2, chain_days=0)["index_daily"]
    assert not a.equals(b)


PREFIX_TABLES = {"index_daily": ("date", ["symbol", "date"]), "breadth_daily": ("date", ["date"]),
                 "vx_futures": ("trade_date", ["trade_date", "expiry"]),
                 "macro_observations": ("date", ["series_id", "date"]),
                 "events": ("date", ["date", "kind"])}


def test_a_longer_range_extends_a_shorter_one_without_rewriting_history() -> None:
    cut = dt.date(2025, 3, 1)
    short = sim.simulate(START, cut, SEED, chain_days=0)
    long = sim.simulate(START, END, SEED, chain_days=0)
    for table, (date_col, keys) in PREFIX_TABLES.items():
        # Monthly CPI/PPI rows are published later than their date: compare released ones.
        head = short[table].filter(pl.col(date_col) <= cut - dt.timedelta(days=62))
        same = long[table].filter(pl.col(date_col) <= cut - dt.timedelta(days=62))
        assert_frame_equal(head.sort(keys), same.sort(keys))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_stylised_facts_hold_for_other_seeds(seed: int) -> None:
    t = sim.simulate(START, END, seed, chain_days=0)
    test_vix_mean_reverts_and_spikes_somewhat(t)
    test_spx_volatility_tracks_vix_and_moves_against_it(t)
    test_term_structure_contango_in_calm_and_backwardation_in_stress(t)
    test_breadth_follows_returns(t)


def test_vix_mean_reverts_and_spikes_somewhat(truth: dict[str, pl.DataFrame]) -> None:
    x = np.log(_series(truth, "VIX"))
    assert np.polyfit(x[:-1] - x.mean(), np.diff(x), 1)[0] < -0.01
    assert np.diff(x).max() > np.log(1.4) and np.exp(x).max() > 40


def test_sessions_are_nyse_trading_days(truth: dict[str, pl.DataFrame]) -> None:
    days = truth["breadth_daily"]["date"].to_list()
    assert dt.date(2024, 12, 25) not in days and dt.date(2025, 1, 9) not in days  # Carter day
    assert dt.date(2024, 12, 24) in days and all(d.weekday() < 5 for d in days)
    assert days[0] == START and days[-1] == END


def test_truth_frames_have_the_lake_schemas(truth: dict[str, pl.DataFrame]) -> None:
    from storage import schemas

    for name in ("index_daily", "vx_futures", "option_chain", "breadth_daily",
                 "macro_observations", "events"):
        table = schemas.get(name)
        expected = {c: t for c, t in table.columns.items() if c != "ingested_at"}
        got = truth[name]
        assert got.columns == list(expected), name
        for col, dtype in expected.items():
            assert got.schema[col] in (dtype, pl.Null), (name, col)
        assert got.select(table.keys).is_duplicated().sum() == 0, name


def test_vix1d_starts_when_configured() -> None:
    t = sim.simulate(dt.date(2022, 1, 3), dt.date(2023, 12, 29), SEED, chain_days=0,
                     vix1d_start=dt.date(2023, 4, 24))
    vix1d = t["index_daily"].filter(pl.col("symbol") == "VIX1D")
    assert vix1d["date"].min() == dt.date(2023, 4, 24)


# ------------------------------------------------------------------ stylised facts
def test_vix_mean_reverts_and_spikes(truth: dict[str, pl.DataFrame]) -> None:
    vix = _series(truth, "VIX")
    x = np.log(vix)
    slope = np.polyfit(x[:-1] - x.mean(), np.diff(x), 1)[0]
    assert slope < -0.01  # daily log changes pull back towards the mean
    assert 12 < np.median(vix) < 21 and vix.min() >= 9
    assert np.diff(x).max() > np.log(1.7)  # a Feb-2018-like one-day jump
    assert vix.max() > 60 and (vix > 50).sum() >= 5  # a Mar-2020-like crisis for weeks


def test_spx_volatility_tracks_vix_and_moves_against_it(truth: dict[str, pl.DataFrame]) -> None:
    spx, vix = _series(truth, "SPX"), _series(truth, "VIX")
    r, dv = np.diff(np.log(spx)), np.diff(np.log(vix))
    assert np.corrcoef(r, dv)[0, 1] < -0.4
    rv = pl.Series(r).rolling_std(20).to_numpy()[20:] * np.sqrt(252) * 100
    assert np.corrcoef(rv, vix[21:])[0, 1] > 0.5
    assert 0.5 < np.median(rv / vix[21:]) < 1.2  # realised vol below implied on average


def test_term_structure_contango_in_calm_and_backwardation_in_stress(
        truth: dict[str, pl.DataFrame]) -> None:
    vx = truth["vx_futures"].with_columns(
        n=pl.col("expiry").rank("ordinal").over("trade_date"))
    curve = vx.filter(pl.col("n") <= 2).pivot("n", index="trade_date", values="settle")
    vix = truth["index_daily"].filter(pl.col("symbol") == "VIX").select(
        pl.col("date").alias("trade_date"), pl.col("close").alias("vix"))
    curve = curve.join(vix, on="trade_date")
    calm, stress = curve.filter(pl.col("vix") < 18), curve.filter(pl.col("vix") > 35)
    assert calm.height > 100 and stress.height > 5
    assert (calm["2"] > calm["1"]).mean() > 0.7
    assert (stress["1"] > stress["2"]).mean() > 0.9
    assert vx.group_by("trade_date").len()["len"].min() == 9


def test_vx_contracts_use_the_real_expiry_rule(truth: dict[str, pl.DataFrame]) -> None:
    from core.expiry import listed_expiries

    vx = truth["vx_futures"]
    for day in (dt.date(2024, 2, 14), dt.date(2025, 4, 16), END):
        got = vx.filter(pl.col("trade_date") == day).sort("expiry")["expiry"].to_list()
        assert got == listed_expiries(day, 9)


def test_vol_indexes_order_with_the_regime(truth: dict[str, pl.DataFrame]) -> None:
    vix, vix3m, vix9d = _series(truth, "VIX"), _series(truth, "VIX3M"), _series(truth, "VIX9D")
    calm, stress = vix < 15, vix > 35
    assert (vix3m[calm] > vix[calm]).mean() > 0.9 and (vix3m[stress] < vix[stress]).mean() > 0.9
    assert (vix9d[stress] > vix[stress]).mean() > 0.8
    vvix, skew = _series(truth, "VVIX"), _series(truth, "SKEW")
    assert 60 < np.median(vvix) < 120 and vvix.max() > 140 and 110 < skew.min() < skew.max() < 170


def test_breadth_follows_returns(truth: dict[str, pl.DataFrame]) -> None:
    b = truth["breadth_daily"]
    total = (b["advancers"] + b["decliners"] + b["unchanged"]).to_numpy()
    assert np.all(np.abs(total - 3000) < 200)
    r = np.diff(np.log(_series(truth, "SPX")))
    net = (b["advancers"] - b["decliners"]).to_numpy()[1:]
    assert np.corrcoef(r, net)[0, 1] > 0.6
    assert b.select((pl.all().exclude("date") >= 0).all()).row(0) == (True,) * 5


def test_credit_and_funding_widen_in_stress(truth: dict[str, pl.DataFrame]) -> None:
    macro = truth["macro_observations"]
    oas = macro.filter(pl.col("series_id") == "BAMLH0A0HYM2").drop_nulls("value")
    vix = truth["index_daily"].filter(pl.col("symbol") == "VIX").select("date", "close")
    both = oas.join(vix, on="date")
    assert np.corrcoef(both["value"], both["close"])[0, 1] > 0.5
    assert set(macro["series_id"]) == set(sim.FRED_DECIMALS)
    dff = macro.filter(pl.col("series_id") == "DFF")
    assert dff["value"].null_count() == 0 and dff.height == (END - START).days + 1
    july4 = (pl.col("series_id") == "DGS2") & (pl.col("date") == dt.date(2025, 7, 4))
    holiday = macro.filter(july4)
    assert holiday["value"].to_list() == [None]  # written as '.' like FRED


def test_calendar_has_eight_fomc_days_a_year_and_monthly_releases(
        truth: dict[str, pl.DataFrame]) -> None:
    ev = truth["events"].filter(pl.col("date").dt.year() == 2025)
    counts = dict(ev.group_by("kind").len().iter_rows())
    assert counts == {"fomc": 8, "cpi": 12, "ppi": 12}
    days = set(trading_days(dt.date(2025, 1, 1), dt.date(2025, 12, 31)).to_list())
    assert set(ev["date"]) <= days


def test_chains_are_priced_from_a_skewed_smile(truth: dict[str, pl.DataFrame]) -> None:
    ch = truth["option_chain"]
    assert ch["quote_date"].n_unique() == 5 and set(ch["root"]) == {"SPXW"}
    day = ch.filter(pl.col("quote_date") == END)
    spot = day["underlying"][0]
    assert day["strike"].min() >= spot * 0.92 - 5 and day["strike"].max() <= spot * 1.08 + 5
    assert (day["strike"] % 5 == 0).all()
    assert day.select((pl.col("expiration") - END).dt.total_days().is_between(0, 7).all()).item()
    assert (day["ask"] > day["bid"]).all() and (day["bid"] >= 0).all()
    week = day.filter(pl.col("expiration") == day["expiration"].max())
    puts = week.filter(pl.col("right") == "P").sort("strike")
    assert puts["iv"][0] > puts["iv"][-1]  # downside skew
    calls = week.filter(pl.col("right") == "C").sort("strike")
    assert calls["delta"].is_sorted(descending=True) and puts["delta"].is_sorted(descending=True)


# ------------------------------------------------------------------ layouts vs real files
REAL_HEADERS = [
    ("cboe/VIX_History.csv", ("cboe", "VIX_History.csv")),
    ("cboe/VIX9D_History.csv", ("cboe", "VIX9D_History.csv")),
    ("cboe/VIX3M_History.csv", ("cboe", "VIX3M_History.csv")),
    ("cboe/VVIX_History.csv", ("cboe", "VVIX_History.csv")),
    ("cboe/SKEW_History.csv", ("cboe", "SKEW_History.csv")),
    ("fred/DTB3.csv", ("fred", "DTB3.csv")),
    ("fred/SOFR.csv", ("fred", "SOFR.csv")),
    ("fred/NFCI.csv", ("fred", "derived_from_heliar", "NFCI.csv")),
    ("fred/CPIAUCSL.csv", ("fred", "derived_from_heliar", "CPIAUCSL.csv")),
    ("calendar/fomc.csv", ("calendar", "fomc_dates_2024_2026.csv")),
    ("calendar/cpi.csv", ("calendar", "macro_events_fomc_cpi_nfp_2024_2026.csv")),
]


def _first_line(path: Path) -> str:
    with path.open(encoding="utf-8") as f:
        return f.readline().rstrip("\r\n")


@pytest.mark.realdata
@pytest.mark.parametrize(("ours", "real"), REAL_HEADERS)
def test_headers_match_the_real_files(raw: tuple[Path, dict], ours: str, real: tuple) -> None:
    assert _first_line(raw[0] / ours) == _first_line(shared(*real))


@pytest.mark.realdata
def test_cfe_and_datashop_headers_match_the_real_files(raw: tuple[Path, dict]) -> None:
    out, manifest = raw
    cfe = shared("vx_futures", "cfe_vx_all_monthly_contracts_2013_2025.csv")
    assert _first_line(out / manifest["files"]["cfe"][0]) == _first_line(cfe)
    datashop = shared("options", "vix_options_datashop_UnderlyingOptionsEODCalcs_2016-06-01.csv")
    ours = next(p for p in manifest["files"]["chains"] if p.endswith(".csv"))
    assert _first_line(out / ours) == _first_line(datashop)


@pytest.mark.realdata
def test_history_rows_look_like_cboe_rows(raw: tuple[Path, dict]) -> None:
    real = shared("cboe", "VIX_History.csv").read_text().splitlines()[-1]
    ours = (raw[0] / "cboe" / "VIX_History.csv").read_text().splitlines()[-1]
    pattern = r"^\d\d/\d\d/\d{4}(,\d+\.\d{6}){4}$"
    assert pl.Series([real, ours]).str.contains(pattern).all()


def test_manifest_lists_every_written_file(raw: tuple[Path, dict]) -> None:
    out, manifest = raw
    listed = {p for paths in manifest["files"].values() for p in paths}
    assert listed == set(_tree(out))
    assert "chains/_SPX.json" in listed and len(manifest["files"]["chains"]) == 6
    assert manifest["last_session"] == END and manifest["seed"] == SEED


# ------------------------------------------------------------------ round trip via parsers
def _parser(module: str):  # type: ignore[no-untyped-def]
    if importlib.util.find_spec(f"sources.{module}") is None:
        pytest.skip(f"sources.{module} not written yet")
    return importlib.import_module(f"sources.{module}")


def _parse_all(out: Path, manifest: dict, source: str, module: str) -> pl.DataFrame:
    parser = _parser(module)
    return pl.concat([parser.parse((out / p).read_bytes(), Path(p).name)
                      for p in manifest["files"][source]], how="vertical_relaxed")


def _compare(parsed: pl.DataFrame, truth: pl.DataFrame, keys: list[str], cols: list[str]
             ) -> None:
    left = parsed.select(keys + cols).sort(keys)
    right = truth.select(keys + cols).sort(keys)
    assert_frame_equal(left, right, check_dtypes=False, abs_tol=1e-6)


def test_cboe_files_parse_back_to_the_truth(raw: tuple[Path, dict],
                                            truth: dict[str, pl.DataFrame]) -> None:
    parsed = _parse_all(*raw, "cboe", "cboe")
    ohlc = [s for s in sim.INDEX_SYMBOLS if s not in sim.VALUE_ONLY]
    key = ["symbol", "date"]
    _compare(parsed.filter(pl.col("symbol").is_in(ohlc)),
             truth["index_daily"].filter(pl.col("symbol").is_in(ohlc)),
             key, ["open", "high", "low", "close"])
    _compare(parsed, truth["index_daily"], key, ["close"])


def test_cfe_files_parse_back_to_the_truth(raw: tuple[Path, dict],
                                           truth: dict[str, pl.DataFrame]) -> None:
    parsed = _parse_all(*raw, "cfe", "cfe")
    # Contracts listed before the range starts keep only their in-range rows in the truth.
    parsed = parsed.filter(pl.col("trade_date") >= START)
    _compare(parsed, truth["vx_futures"], ["trade_date", "expiry"],
             ["settle", "change", "volume", "open_interest", "no_trade"])
    traded = truth["vx_futures"].filter(~pl.col("no_trade"))
    _compare(parsed.filter(~pl.col("no_trade")), traded, ["trade_date", "expiry"],
             ["open", "high", "low", "close"])


def test_fred_files_parse_back_to_the_truth(raw: tuple[Path, dict],
                                            truth: dict[str, pl.DataFrame]) -> None:
    parsed = _parse_all(*raw, "fred", "fred").drop_nulls("value")
    expected = truth["macro_observations"].drop_nulls("value")
    _compare(parsed, expected, ["series_id", "date"], ["value"])


def test_breadth_file_parses_back_to_the_truth(raw: tuple[Path, dict],
                                               truth: dict[str, pl.DataFrame]) -> None:
    parsed = _parse_all(*raw, "breadth", "breadth")
    _compare(parsed, truth["breadth_daily"], ["date"],
             ["advancers", "decliners", "unchanged", "new_highs", "new_lows"])


def test_calendar_files_parse_back_to_the_truth(raw: tuple[Path, dict],
                                                truth: dict[str, pl.DataFrame]) -> None:
    parsed = _parse_all(*raw, "calendar", "calendar")
    _compare(parsed, truth["events"], ["date", "kind"], [])


CHAIN_KEYS = ["quote_date", "root", "expiration", "strike", "right"]
CHAIN_VALUES = ["bid", "ask", "volume", "open_interest", "iv", "delta", "gamma", "vega",
                "underlying"]


def test_chain_history_files_parse_back_to_the_truth(raw: tuple[Path, dict],
                                                     truth: dict[str, pl.DataFrame]) -> None:
    out, manifest = raw
    history = {**manifest, "files": {"chains": [p for p in manifest["files"]["chains"]
                                                if p.endswith(".csv")]}}
    parsed = _parse_all(out, history, "chains", "chains")
    _compare(parsed, truth["option_chain"], CHAIN_KEYS, CHAIN_VALUES)
    earlier = truth["option_chain"].filter(pl.col("quote_date") < END)
    _compare(parsed.filter(pl.col("quote_date") < END), earlier, CHAIN_KEYS, ["snapshot_at"])
    traded = truth["option_chain"].filter(pl.col("volume") > 0)
    _compare(parsed.filter(pl.col("volume") > 0), traded, CHAIN_KEYS, ["last"])


def test_chain_snapshot_json_parses_back_to_the_last_day(raw: tuple[Path, dict],
                                                         truth: dict[str, pl.DataFrame]) -> None:
    out, _ = raw
    parsed = _parser("chains").parse((out / "chains" / "_SPX.json").read_bytes(), "_SPX.json")
    last = truth["option_chain"].filter(pl.col("quote_date") == END)
    _compare(parsed, last, CHAIN_KEYS, [*CHAIN_VALUES, "snapshot_at"])
    assert parsed["snapshot_at"][0] == dt.datetime(2026, 11, 20, 21, 15, tzinfo=dt.UTC)


def test_sources_overrides_point_the_config_at_the_tree(raw: tuple[Path, dict]) -> None:
    config = _parser("config")
    cfg = config.load(overrides=sim.sources_overrides(str(raw[0])))
    url = cfg.cboe.url.format(symbol="VIX")
    assert Path(url).read_bytes() == (raw[0] / "cboe" / "VIX_History.csv").read_bytes()
    assert Path(cfg.fred.url.format(series_id="DFF")).exists()
    assert Path(cfg.cfe.url.format(expiry=listed_expiry_on_end())).exists()
    assert Path(cfg.chains.history_url.format(date=END.isoformat())).exists()


def listed_expiry_on_end() -> str:
    from core.expiry import listed_expiries

    return listed_expiries(END, 9)[-1].isoformat()


# ------------------------------------------------------------------ speed
def test_three_years_with_twenty_chain_days_write_in_a_few_seconds(tmp_path: Path) -> None:
    sim.simulate(START, END, SEED, chain_days=1)  # warm the calendars
    began = time.perf_counter()
    manifest = sim.write_raw(tmp_path, START, END, seed=SEED, chain_days=20)
    assert time.perf_counter() - began < 5.0
    assert manifest["rows"]["option_chain"] > 20 * 1000
