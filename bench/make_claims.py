"""Write docs/claims.md: the default policy's 2006-01-03..2025-03-31 backtest on ../shared/data
(VX settlements from 2006; no chain in the lake: priced by the shipped calibration).

Run: make claims (or .venv/bin/python bench/make_claims.py [PATH]).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backtest.claims_doc import claims_markdown  # noqa: E402
from backtest.run import backtest  # noqa: E402
from flows.pipeline import build  # noqa: E402
from hedge.policy import load_policy  # noqa: E402
from storage.lake import Lake  # noqa: E402
from tests.backtest.real_lake import history_inputs  # noqa: E402

NOW = dt.datetime(2026, 8, 22, tzinfo=dt.UTC)
START, END = dt.date(2006, 1, 3), dt.date(2025, 3, 31)
CLAIMS = ROOT / "docs" / "claims.md"


def claims_document(home: Path) -> str:
    """The claims document computed on a fresh lake of the shared data under ``home``."""
    lake = Lake(home)
    for name, frame in history_inputs().items():
        lake.replace(name, frame)
    build(lake, dt.date(2026, 8, 21), now=NOW, full=True)
    policy = load_policy()
    return claims_markdown(backtest(lake, START, END, policy, NOW), policy)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else CLAIMS
    with tempfile.TemporaryDirectory() as tmp:
        text = claims_document(Path(tmp) / "lake")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
