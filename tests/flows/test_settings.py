"""Settings come from the environment; options the user gives override them."""

import os

from flows.settings import Settings


def test_environment_then_options(monkeypatch):
    for var in ("ALVH_HOME", "ALVH_SOURCES", "ALVH_POLICY", "FRED_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert Settings() == Settings(home="./lake", sources=None, policy=None, fred_api_key=None)
    monkeypatch.setenv("ALVH_HOME", "/data/lake")
    monkeypatch.setenv("alvh_sources", "mine.toml")  # spelled as the shell user likes
    monkeypatch.setenv("FRED_API_KEY", "k")
    got = Settings()
    assert (got.home, got.sources, got.fred_api_key) == ("/data/lake", "mine.toml", "k")
    assert got.with_options(home="/other", sources=None).home == "/other"
    assert got.with_options(home="/other", sources=None).sources == "mine.toml"


def test_reading_settings_loads_neither_the_lake_nor_the_sources(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from flows.settings import Settings; Settings(); "
            "print(sorted(m for m in ('storage.lake', 'sources.config', 'pydantic_settings') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_local_home_is_a_folder_a_url_is_not():
    assert Settings(home="./lake").local_home() == "./lake"
    assert Settings(home="file:///data/lake").local_home() == "/data/lake"
    assert Settings(home="s3://bucket/lake").local_home() is None
    assert Settings(home="file:/data/lake").local_home() == "/data/lake"
    assert Settings(home="~/lake").local_home() == os.path.expanduser("~/lake")
    assert Settings(home="/data/lake").with_options(home="").home == "/data/lake"
