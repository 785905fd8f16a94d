import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import UnsafePathError
from sources import config
from sources.config import SourcesConfigError, render
from sources.http import HttpClient


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text)
    return path


def test_defaults_are_the_live_endpoints():
    cfg = config.load()
    assert cfg.cboe.url == ("https://cdn.cboe.com/api/global/us_indices/daily_prices/"
                            "{symbol}_History.csv")
    assert cfg.cboe.symbols == ["SPX", "VIX", "VIX9D", "VIX1D", "VIX3M", "VIX6M", "VVIX",
                                "SKEW"]
    assert cfg.cfe.url.endswith("/historical_data/VX/VX_{expiry}.csv")
    assert cfg.chains.snapshot_url == (
        "https://cdn.cboe.com/api/global/delayed_quotes/options/_SPX.json")
    assert cfg.fred.url == "https://fred.stlouisfed.org/graph/fredgraph.csv?id={series_id}"
    assert "realtime_start={realtime_start}" in cfg.fred.api_url
    assert cfg.breadth.url is None and cfg.chains.history_url is None
    assert cfg.calendar.fomc is None


def test_fred_series_are_the_method_inputs_with_rules_and_bounds():
    cfg = config.load()
    assert set(cfg.fred.series) == {
        "DFF", "SOFR", "IORB", "DTB3", "DGS2", "T10Y2Y", "NFCI", "NFCILEVERAGE",
        "BAMLH0A0HYM2", "CPIAUCSL", "PPIFIS", "PPIACO", "DTWEXBGS"}
    rules = cfg.fred.rules
    assert (rules["CPIAUCSL"].publication, rules["CPIAUCSL"].release_kind) == (
        "release_day", "cpi")
    assert (rules["PPIFIS"].publication, rules["PPIFIS"].release_kind) == ("release_day", "ppi")
    assert (rules["NFCI"].publication, rules["NFCI"].lag_days) == ("calendar_days", 7)
    assert (rules["NFCILEVERAGE"].publication, rules["NFCILEVERAGE"].lag_days) == (
        "calendar_days", 7)
    assert (rules["DFF"].publication, rules["DFF"].lag_days) == ("business_days", 1)
    assert rules["BAMLH0A0HYM2"].bounds.max == 30.0
    assert set(cfg.cboe.bounds) == set(cfg.cboe.symbols)
    with pytest.raises(SourcesConfigError, match="no publication rule for FRED series 'XYZ'"):
        cfg.fred.rule("XYZ")


def test_user_file_merges_over_defaults_and_resolves_relative_paths(tmp_path):
    path = write(tmp_path, """
[cboe]
url = "data/{symbol}_History.csv"

[breadth]
url = "file:///srv/breadth/breadth.csv"

[fred.rules.DFF]
lag_days = 2

[http]
retries = 1
[http.min_interval]
"127.0.0.1" = 0.1
""")
    cfg = config.load(path)
    assert cfg.cboe.url == str(tmp_path / "data" / "{symbol}_History.csv")
    assert cfg.cboe.symbols == config.load().cboe.symbols  # untouched keys keep defaults
    assert cfg.breadth.url == "file:///srv/breadth/breadth.csv"
    assert (cfg.fred.rules["DFF"].publication, cfg.fred.rules["DFF"].lag_days) == (
        "business_days", 2)
    assert cfg.http.min_interval == {"fred.stlouisfed.org": 0.5, "api.stlouisfed.org": 0.5,
                                     "127.0.0.1": 0.1}
    client = HttpClient(**cfg.http.client_kwargs())
    assert client.retries == 1 and client.limiter.intervals["127.0.0.1"] == 0.1


@pytest.mark.parametrize(("text", "problem"), [
    ("[cboe]\nsymbolz = ['VIX']\n", "cboe.symbolz: unknown key"),
    ("[cboee]\nurl = 'x'\n", "cboee: unknown key"),
    ("[fred.rules.DFF]\nlagdays = 1\n", "fred.rules.DFF.lagdays: unknown key"),
    ("[cboe]\nsymbols = ['../VIX']\n", "cboe.symbols.0: Value error, unsafe name '../VIX'"),
    ("[cfe]\nurl = 'https://x.test/{symbol}.csv'\n",
     "cfe.url: Value error, unknown placeholder(s) ['symbol']"),
    ("[cboe]\nurl = 'ftp://x.test/{symbol}.csv'\n", "unsupported scheme 'ftp'"),
    ("[cboe]\nurl = 'https://x.test/{symbol'\n", "malformed template"),
    ("[fred]\nseries = ['DFF', 'NEWSERIES']\n", "series without a [fred.rules] entry"),
    ("[fred.rules.X]\npublication = 'release_day'\nlag_days = 5\nmin = 0\nmax = 1\n",
     "needs release_kind"),
    ("[http]\nretries = 'many'\n", "http.retries"),
    ("[cboe\n", "not valid TOML"),
])
def test_bad_user_files_name_the_key(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(SourcesConfigError) as err:
        config.load(path)
    assert str(err.value).startswith(f"sources config {path}: ")
    assert problem in str(err.value), str(err.value)


def test_missing_user_file(tmp_path):
    with pytest.raises(SourcesConfigError, match="cannot read"):
        config.load(tmp_path / "nope.toml")


def test_render_fills_checks_and_encodes():
    assert render("https://x.test/{symbol}_History.csv", symbol="VIX") == (
        "https://x.test/VIX_History.csv")
    assert render("https://x.test/{symbol}.csv", symbol="BRK+B") == "https://x.test/BRK%2BB.csv"
    assert render("/data/{symbol}.csv", symbol="BRK+B") == "/data/BRK+B.csv"
    assert render("/vx/VX_{expiry}.csv", expiry=dt.date(2018, 2, 14), unused="x") == (
        "/vx/VX_2018-02-14.csv")
    with pytest.raises(SourcesConfigError, match=r"needs \['series_id'\]"):
        render("https://x.test/?id={series_id}", symbol="VIX")


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", "..", ".hidden", "a\\b", "x=1", ""])
def test_render_refuses_path_characters(bad):
    with pytest.raises(UnsafePathError):
        render("/data/{symbol}_History.csv", symbol=bad)


@given(st.text(max_size=20))
def test_rendered_values_never_leave_their_segment(value):
    try:
        out = render("/data/{symbol}_History.csv", symbol=value)
    except UnsafePathError:
        return
    inner = out.removeprefix("/data/").removesuffix("_History.csv")
    assert "/" not in inner and "\\" not in inner and not inner.startswith(".")


def test_quarantine_share_defaults_to_one_percent_and_is_a_share(tmp_path):
    assert config.load().quarantine.max_row_share == 0.01
    user = tmp_path / "sources.toml"
    user.write_text("[quarantine]\nmax_row_share = 0.05\n")
    assert config.load(user).quarantine.max_row_share == 0.05
    user.write_text("[quarantine]\nmax_row_share = 1.5\n")
    with pytest.raises(SourcesConfigError, match="quarantine.max_row_share"):
        config.load(user)
