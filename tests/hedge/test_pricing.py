import math

import numpy as np
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from hedge.pricing import black76, black76_one, black_scholes, black_scholes_one

spot = st.floats(50.0, 8000.0)
moneyness = st.floats(0.6, 1.6)
years = st.floats(1 / 365, 2.0)
rate = st.floats(-0.01, 0.08)
div = st.floats(0.0, 0.04)
vol = st.floats(0.05, 2.5)
right = st.booleans()


def ql_calc(is_call: bool, k: float, fwd: float, sd: float, disc: float) -> ql.BlackCalculator:
    kind = ql.Option.Call if is_call else ql.Option.Put
    return ql.BlackCalculator(ql.PlainVanillaPayoff(kind, k), fwd, sd, disc)


def close(a: float, b: float, tol: float = 1e-8) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


@settings(max_examples=150, deadline=None)
@given(spot, moneyness, years, rate, div, vol, right)
def test_black_scholes_matches_quantlib(s, m, t, r, q, sigma, is_call):
    k = s * m
    g = black_scholes(s, k, t, r, q, sigma, is_call)
    calc = ql_calc(is_call, k, s * math.exp((r - q) * t), sigma * math.sqrt(t), math.exp(-r * t))
    assert close(float(g.price), calc.value())
    assert close(float(g.delta), calc.delta(s))
    assert close(float(g.gamma), calc.gamma(s))
    assert close(float(g.vega), calc.vega(t))
    assert close(float(g.theta), calc.theta(s, t), 1e-7)


@settings(max_examples=150, deadline=None)
@given(st.floats(9.0, 90.0), moneyness, years, rate, vol, right)
def test_black76_matches_quantlib(f, m, t, r, sigma, is_call):
    k = f * m
    g = black76(f, k, t, r, sigma, is_call)
    calc = ql_calc(is_call, k, f, sigma * math.sqrt(t), math.exp(-r * t))
    assert close(float(g.price), calc.value())
    assert close(float(g.delta), calc.deltaForward())
    assert close(float(g.gamma), calc.gammaForward())
    assert close(float(g.vega), calc.vega(t))
    # Black-76 theta holds the forward fixed: compare with a central difference in t.
    h = 1e-5 * t
    up = float(black76(f, k, t + h, r, sigma, is_call).price)
    dn = float(black76(f, k, t - h, r, sigma, is_call).price)
    assert abs(float(g.theta) + (up - dn) / (2 * h)) <= 1e-4 * max(1.0, abs(float(g.theta)))


@settings(max_examples=100, deadline=None)
@given(spot, moneyness, years, rate, div, vol)
def test_put_call_parity(s, m, t, r, q, sigma):
    k = s * m
    c = black_scholes(s, k, t, r, q, sigma, True)
    p = black_scholes(s, k, t, r, q, sigma, False)
    parity = s * math.exp(-q * t) - k * math.exp(-r * t)
    assert abs(float(c.price - p.price) - parity) <= 1e-8 * max(1.0, s)
    assert abs(float(c.delta - p.delta) - math.exp(-q * t)) <= 1e-12


@settings(max_examples=100, deadline=None)
@given(st.floats(9.0, 90.0), moneyness, years, rate, vol)
def test_black76_put_call_parity(f, m, t, r, sigma):
    k = f * m
    c = black76(f, k, t, r, sigma, True)
    p = black76(f, k, t, r, sigma, False)
    assert abs(float(c.price - p.price) - math.exp(-r * t) * (f - k)) <= 1e-9 * max(1.0, f)


def test_vectorised_shapes():
    k = np.array([4000.0, 4500.0, 5000.0])
    g = black_scholes(4500.0, k, 1 / 252, 0.05, 0.015, 0.2, np.array([False, True, True]))
    assert g.price.shape == (3,) and np.all(g.price > 0)
    assert g.delta[0] < 0 < g.delta[1]


def test_black76_one_is_black76_bit_for_bit():
    rng = np.random.default_rng(14)
    n = 20_000
    f = rng.uniform(5.0, 80.0, n)
    k = f * rng.uniform(0.5, 2.5, n)
    t = rng.uniform(1 / 365, 1.0, n)
    r = rng.uniform(-0.01, 0.06, n)
    vol = rng.uniform(0.2, 3.0, n)
    call = rng.random(n) < 0.7
    want = black76(f, k, t, r, vol, call)
    for i in range(n):
        got = black76_one(f[i], k[i], t[i], r[i], vol[i], bool(call[i]))
        assert tuple(got) == tuple(float(g[i]) for g in want), i


def test_black76_one_outside_the_domain_answers_as_black76():
    for args in [(20.0, 23.0, 0.0, 0.02, 1.0), (20.0, 0.0, 0.1, 0.02, 1.0)]:
        with np.errstate(all="ignore"):
            got = black76_one(*args, True)
            want = [float(x) for x in black76(*args, True)]
        assert np.array_equal(np.array(tuple(got)), np.array(want), equal_nan=True)


def test_black_scholes_one_is_black_scholes_bit_for_bit():
    rng = np.random.default_rng(15)
    n = 20_000
    s = rng.uniform(500.0, 8000.0, n)
    k = s * rng.uniform(0.8, 1.2, n)
    t = rng.uniform(1 / 252, 0.5, n)
    r = rng.uniform(-0.01, 0.06, n)
    q = rng.uniform(0.0, 0.03, n)
    vol = rng.uniform(0.05, 1.5, n)
    call = rng.random(n) < 0.5
    want = black_scholes(s, k, t, r, q, vol, call)
    for i in range(n):
        got = black_scholes_one(s[i], k[i], t[i], r[i], q[i], vol[i], bool(call[i]))
        assert tuple(got) == tuple(float(g[i]) for g in want), i
