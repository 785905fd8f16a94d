"""The ALVH backtest: the nightly recommendation walked through history, side by side."""

from backtest import tables as tables  # registers backtest_runs, backtest_daily, backtest_trades
