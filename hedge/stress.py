"""The stress scenario of the ladder's sizing: a one-session gap-and-crash (ALVH.md "Hedge ladder").

SPX gaps down by the larger of ``spx_gap_pct`` and ``spx_gap_moves`` x the day's expected move by
the next close; spot VIX rises by max(``vix_jump_min``, ``vix_jump_pct`` x VIX); each VX forward
rises by its beta x that rise; VIX option vols stay as priced. The reference condor is settled
at its expiry on the gapped SPX; each VIX call is valued by Black-76 one session later at its
shocked forward.
"""

from __future__ import annotations

from hedge.document import StressScenario
from hedge.policy import StressPolicy
from hedge.pricing import black76_one

CALENDAR_DAYS = 365.0


def stress_scenario(spx: float, vix: float, expected_move: float, policy: StressPolicy,
                    horizon_days: int) -> StressScenario:
    """The crash for the session ``horizon_days`` calendar days after D's close."""
    gap = max(policy.spx_gap_pct, policy.spx_gap_moves * expected_move / spx)
    rise = max(policy.vix_jump_min, policy.vix_jump_pct * vix)
    return StressScenario(spx_gap_pct=gap, spx_after=spx * (1.0 - gap), vix_rise=rise,
                          vix_after=vix + rise, horizon_days=horizon_days)


def condor_payoff(strikes: tuple[float, float, float, float], spx: float) -> float:
    """What the short condor owes at expiry (points): its put and call spreads' intrinsic."""
    lp, sp, sc, lc = strikes
    put = max(0.0, sp - spx) - max(0.0, lp - spx)
    call = max(0.0, spx - sc) - max(0.0, spx - lc)
    return put + call


def condor_loss(strikes: tuple[float, float, float, float], credit: float, spx_after: float,
                multiplier: float) -> float:
    """Dollar loss of one condor settled at ``spx_after`` (0 when it keeps a profit)."""
    return max(0.0, condor_payoff(strikes, spx_after) - credit) * multiplier


def shocked_forward(forward: float, beta: float, scenario: StressScenario) -> float:
    """The VX forward after the crash: up by its beta x the VIX rise."""
    return forward + beta * scenario.vix_rise


def stressed_call(forward: float, strike: float, dte: int, rate: float, vol: float,
                  beta: float, scenario: StressScenario) -> tuple[float, float]:
    """(shocked forward, Black-76 call value one session later there, vol held)."""
    fwd = shocked_forward(forward, beta, scenario)
    left = max(dte - scenario.horizon_days, 0)
    if left == 0:  # expires by then: worth its intrinsic
        return fwd, max(0.0, fwd - strike)
    return fwd, black76_one(fwd, strike, left / CALENDAR_DAYS, rate, vol, True).price
