"""The peer of `alvh build --full`: the core ALVH signals from the raw CSVs, pandas + TA-Lib.

What a trader would write without alvh: read the CBOE, CFE and breadth files, compute SPX
trend and momentum, realized vs implied volatility, the VIX term structure (cash and VX
futures), VIX percentiles and the NYSE A/D line, and write one row per day to Parquet.
Run: .venv/bin/python bench/peer_talib.py <shared/data> <out.parquet>
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import talib

MONTHS = {m: i for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}


def cboe(data: Path, symbol: str) -> pd.Series:
    frame = pd.read_csv(data / "cboe" / f"{symbol}_History.csv")
    frame.index = pd.to_datetime(frame.pop("DATE"), format="%m/%d/%Y")
    return frame.iloc[:, -1].astype(float).rename(symbol.lower()).sort_index()


def vx_front_two(data: Path) -> pd.DataFrame:
    raw = pd.read_csv(data / "vx_futures" / "cfe_vx_all_monthly_contracts_2013_2025.csv")
    month = raw["Futures"].str.extract(r"\((\w{3}) (\d{4})\)")
    raw["contract"] = month[1].astype(int) * 12 + month[0].map(MONTHS)
    raw["date"] = pd.to_datetime(raw["Trade Date"])
    raw = raw[raw["Settle"] > 0].sort_values(["date", "contract"])
    raw["rank"] = raw.groupby("date").cumcount()
    front = raw[raw["rank"] < 2].pivot(index="date", columns="rank", values="Settle")
    return front.rename(columns={0: "vx1", 1: "vx2"})


def breadth(data: Path) -> pd.Series:
    def read(name: str) -> pd.Series:
        frame = pd.read_csv(data / "breadth" / name, usecols=["time", "close"])
        return frame.set_index(pd.to_datetime(frame["time"]))["close"].astype(float)
    net = read("NYSE_ADV_advancing_issues.csv") - read("NYSE_DECL_declining_issues.csv")
    return net.dropna().sort_index()


def signals(data: Path) -> pd.DataFrame:
    spx, vix = cboe(data, "SPX"), cboe(data, "VIX")
    out = pd.concat([spx, vix, cboe(data, "VIX3M"), cboe(data, "VIX9D"), cboe(data, "VVIX")],
                    axis=1, sort=True).loc[spx.index.intersection(vix.index)]
    c = out["spx"].to_numpy()
    out["spx_rsi_14"] = talib.RSI(c, 14)
    out["spx_macd"], out["spx_macd_signal"], out["spx_macd_hist"] = talib.MACD(c, 12, 26, 9)
    out["spx_sma_50"], out["spx_sma_200"] = talib.SMA(c, 50), talib.SMA(c, 200)
    out["spx_above_200"] = out["spx"] > out["spx_sma_200"]
    returns = np.log(out["spx"]).diff()
    out["spx_rv_20"] = returns.rolling(20).std() * np.sqrt(252) * 100
    out["vrp_20"] = out["vix"] - out["spx_rv_20"]
    v = out["vix"].to_numpy()
    out["vix_rsi_14"], out["vix_sma_20"] = talib.RSI(v, 14), talib.SMA(v, 20)
    out["vix_bb_upper"], _, out["vix_bb_lower"] = talib.BBANDS(v, 20, 2.0, 2.0)
    out["vix_pct_252"] = out["vix"].rolling(252).rank(pct=True)
    out["vix_vix3m"] = out["vix"] / out["vix3m"]
    out["vix9d_vix"] = out["vix9d"] / out["vix"]
    out = out.join(vx_front_two(data), how="left")
    out["vx_ratio"] = out["vx1"] / out["vx2"]
    out["contango"] = out["vx2"] > out["vx1"]
    ad = breadth(data).reindex(out.index)
    out["ad_line"] = ad.fillna(0).cumsum().where(ad.notna())
    a = ad.fillna(0).to_numpy()
    out["mcclellan"] = talib.EMA(a, 19) - talib.EMA(a, 39)
    out["regime"] = pd.cut(out["vix"], [0, 15, 20, 30, np.inf],
                           labels=["calm", "normal", "elevated", "extreme"]).astype(str)
    return out.reset_index(names="date")


if __name__ == "__main__":
    frame = signals(Path(sys.argv[1]))
    frame.to_parquet(sys.argv[2], index=False)
    print(f"{len(frame)} rows x {frame.shape[1]} columns", file=sys.stderr)
