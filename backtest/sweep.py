"""Policy variants of a sweep: a grid file of dotted policy keys and the values to try.

GRID.toml::

    [grid]
    "ladder.coverage_quiet" = [0.2, 0.4, 0.6, 0.8]
    "backtest.vix_half_spread_pct" = [0.02, 0.05]

gives 4 x 2 = 8 variants of the base policy (every combination, in file order).
"""

from __future__ import annotations

import copy
import itertools
import tomllib
from pathlib import Path
from typing import Any

from hedge.policy import Policy, PolicyError, policy_from_mapping


def read_grid(path: Path | str) -> dict[str, list[Any]]:
    """The ``[grid]`` table of a sweep file: dotted key -> values."""
    p = Path(path)
    try:
        grid = tomllib.loads(p.read_text(encoding="utf-8")).get("grid")
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise PolicyError(f"sweep {p}: {e}") from e
    if not isinstance(grid, dict) or not grid or not all(
            isinstance(v, list) and v for v in grid.values()):
        raise PolicyError(f"sweep {p}: needs a [grid] table of non-empty lists")
    return grid


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested policy dump; layers are addressed by name (ladder.layers.L1.x)."""
    *path, last = dotted.split(".")
    node: Any = data
    for key in path:
        if isinstance(node, list):
            node = next((x for x in node if x.get("name") == key), None)
        else:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            raise PolicyError(f"sweep: unknown policy key {dotted!r}")
    if not isinstance(node, dict) or last not in node:
        raise PolicyError(f"sweep: unknown policy key {dotted!r}")
    node[last] = value


def variants(base: Policy, grid: dict[str, list[Any]]) -> list[Policy]:
    """Every combination of the grid's values applied to ``base``, validated."""
    keys = list(grid)
    out = []
    for combo in itertools.product(*(grid[k] for k in keys)):
        data = copy.deepcopy(base.model_dump(mode="json"))
        for key, value in zip(keys, combo, strict=True):
            _set(data, key, value)
        out.append(policy_from_mapping(data, f"sweep {dict(zip(keys, combo, strict=True))}"))
    return out
