"""The python snippets of the README's dashboard section run as written on a published lake."""

import re
from pathlib import Path

import pytest

from tests.flows.demo_lake import demo_lake

DOC = Path(__file__).resolve().parents[2] / "README.md"
SECTION = re.search(r"## Use it from your dashboard or model\n(.*?)\n## ",
                    DOC.read_text(encoding="utf-8"), re.S).group(1)
SNIPPETS = re.findall(r"```python\n(.*?)```", SECTION, re.S)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A folder whose ./lake is the demo lake, as the snippets expect."""
    folder = tmp_path_factory.mktemp("dashboard")
    (folder / "lake").symlink_to(demo_lake(tmp_path_factory).root)
    return folder


def test_the_doc_has_duckdb_polars_and_pandas_snippets():
    assert len(SNIPPETS) >= 3
    text = "\n".join(SNIPPETS)
    assert "import duckdb" in text and "import polars" in text and ".df()" in text


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs_as_written(code, home, monkeypatch, capsys):
    monkeypatch.chdir(home)
    exec(compile(code, str(DOC), "exec"), {"__name__": "__snippet__"})
    assert capsys.readouterr().out.strip()  # every snippet shows something
