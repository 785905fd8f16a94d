"""Every feature the hedge engine reads is a registered feature: renaming one in the registry
cannot silently leave a rule reading an always-missing (unknown) input."""

import ast
from pathlib import Path

from features.registry import FEATURE_NAMES
from hedge import rules
from hedge.policy import load_policy

HEDGE = Path(rules.__file__).parent
READERS = {"number", "flag"}  # hedge.rules' accessors of a features row


def names_read(path: Path) -> set[str]:
    """Feature names passed as literals to number(row, ...) and flag(row, ...)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in READERS and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)):
            out.add(node.args[1].value)
    return out


def test_the_engines_inputs_are_registered_features():
    assert set(rules.FEATURES) <= set(FEATURE_NAMES), set(rules.FEATURES) - set(FEATURE_NAMES)


def test_every_literal_read_in_hedge_is_a_registered_feature():
    read = set().union(*(names_read(p) for p in HEDGE.glob("*.py")))
    assert len(read) > 10  # the scan does find the rules' reads
    assert read <= set(FEATURE_NAMES), read - set(FEATURE_NAMES)


def test_the_default_ladder_reads_registered_curve_points():
    layers = load_policy().ladder.layers
    points = {f"vx_cm{la.target_dte}" for la in layers}
    assert points | {f"{p}_beta" for p in points} <= set(FEATURE_NAMES)
