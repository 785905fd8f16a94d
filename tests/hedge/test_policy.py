import tomllib
from pathlib import Path

import pytest

from hedge.policy import (
    DEFAULT_POLICY_PATH,
    PolicyError,
    load_policy,
    policy_from_mapping,
    policy_items,
    render_policy,
)


def defaults() -> dict:
    return tomllib.loads(DEFAULT_POLICY_PATH.read_text())


def test_defaults_hold_alvh_numbers():
    p = load_policy()
    assert (p.condor.k_calm, p.condor.k_normal, p.condor.k_elevated) == (1.5, 1.5, 2.0)
    assert p.condor.wing_width == 25 and p.condor.strike_step == 5
    assert p.condor.risk_pct_at_ref_vix == 0.02 and p.condor.ref_vix == 12
    assert (p.condor.second_engine_cut_one, p.condor.second_engine_cut_two) == (0.25, 0.40)
    assert p.caps.max_total_risk_pct == 0.015 and p.caps.hedge_debit_pct_spx == 0.015
    assert [(la.target_dte, la.weight) for la in p.ladder.layers] == [(30, 4), (110, 4), (220, 2)]
    assert (p.ladder.otm_pct, p.ladder.coverage_quiet, p.ladder.coverage_lit) == (0.15, 0.4, 0.6)
    assert p.ladder.sizing == "stress" and p.ladder.steep_multiplier == 1.5
    assert (p.ladder.max_coverage, p.ladder.roll_dte, p.ladder.max_curve_age) == (1.0, 7, 2)
    assert (p.stress.spx_gap_pct, p.stress.vix_jump_pct, p.stress.vix_jump_min) == (0.05, 0.6, 8)
    s = p.signals
    assert (s.rsi_oversold, s.vix_rsi_high, s.rsi_overbought) == (30, 60, 70)
    assert (p.signals.rsi_normal_low, p.signals.rsi_normal_high) == (40, 60)
    assert p.condor.allow_extreme is False


@pytest.mark.parametrize(("section", "key", "value", "named"), [
    ("condor", "wing_widht", 25.0, "condor.wing_widht"),
    ("condor", "wing_width", -5.0, "condor.wing_width"),
    ("ladder", "coverage_quiet", 1.2, "ladder.coverage_quiet"),
    ("ladder", "coverage_lit", -0.1, "ladder.coverage_lit"),
    ("caps", "max_total_risk_pct", 2.0, "caps.max_total_risk_pct"),
    ("ladder", "sizing", "delta", "ladder.sizing"),
    ("stress", "spx_gap_pct", -0.05, "stress.spx_gap_pct"),
])
def test_invalid_values_are_rejected_naming_the_key(section, key, value, named):
    data = defaults()
    data[section][key] = value
    with pytest.raises(PolicyError, match=named.replace(".", r"\.")):
        policy_from_mapping(data)


def test_regime_bounds_and_steep_slope_live_only_in_the_feature_config():
    """One source of truth: the policy file has no regime bounds or steep slope of its own."""
    from features.config import RegimeConfig, TermStructureConfig
    from hedge.rules import REGIME, TERM_STRUCTURE

    data = defaults()
    assert "regime" not in data and "steep_slope" not in data["signals"]
    assert REGIME == RegimeConfig() and TERM_STRUCTURE == TermStructureConfig()
    data["regime"] = {"extreme_from": 30.0}
    with pytest.raises(PolicyError, match="regime"):
        policy_from_mapping(data)


def test_unknown_top_level_key_and_non_positive_weight(tmp_path: Path):
    text = DEFAULT_POLICY_PATH.read_text().replace("weight = 2.0", "weight = 0.0")
    bad = tmp_path / "p.toml"
    bad.write_text(text + "\n[extra]\nx = 1\n")
    with pytest.raises(PolicyError) as e:
        load_policy(bad)
    assert "ladder.layers.2.weight" in str(e.value) and "extra" in str(e.value)


def test_unreadable_and_malformed_files(tmp_path: Path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("[condor\n")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(tmp_path / "bad.toml")


def test_version_hashes_content_not_formatting(tmp_path: Path):
    p = load_policy()
    reformatted = tmp_path / "p.toml"
    reformatted.write_text("# a comment\n" + DEFAULT_POLICY_PATH.read_text())
    assert load_policy(reformatted).version == p.version
    assert len(p.version) == 12
    data = defaults()
    data["condor"]["wing_width"] = 20.0
    assert policy_from_mapping(data).version != p.version


def test_render_lists_every_number():
    p = load_policy()
    text = render_policy(p)
    assert text.splitlines()[0] == f"policy_version = {p.version}"
    assert "ladder.layers.L2.target_dte = 110" in text
    assert len(text.splitlines()) == len(policy_items(p)) + 1
