import datetime as dt

from backtest.listing import listed_sessions
from core.calendar import trading_days

D = dt.date


def listed(day):
    days = trading_days(day - dt.timedelta(days=10), day + dt.timedelta(days=10)).to_list()
    return listed_sessions(days)[day]


def test_fridays_always_wednesdays_from_2016_every_day_from_2022():
    assert listed(D(2010, 6, 4))  # Friday
    assert not listed(D(2010, 6, 2))  # Wednesday before SPXW Wednesdays
    assert listed(D(2016, 3, 2)) and not listed(D(2016, 2, 24))
    assert listed(D(2016, 8, 22)) and not listed(D(2016, 8, 15))  # Mondays
    assert not listed(D(2018, 2, 6)) and not listed(D(2018, 2, 8))  # Tue, Thu in 2018
    assert listed(D(2022, 4, 26)) and listed(D(2022, 5, 19)) and listed(D(2024, 8, 6))


def test_a_holiday_friday_moves_the_weekly_to_thursday():
    assert listed(D(2018, 3, 29))  # Good Friday 2018-03-30: the weekly expired Thursday
