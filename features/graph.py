"""The feature rows as a graph: the order they are computed in and their derived lookbacks.

A row depends on the rows it reads (``Feature.reads``); a name no row defines, or the row's
own name, is a column of the frame it is computed on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

import polars as pl

from features.feature import Feature, Step

if TYPE_CHECKING:
    from features.config import FeatureConfig

Node = Feature | Step
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def _deps(node: Node, nodes: dict[str, Node]) -> list[Node]:
    return [nodes[r] for r in node.reads if r != node.name and r in nodes]


def _by_name(nodes: Iterable[Node]) -> dict[str, Node]:
    return {n.name: n for n in nodes}


def levels(nodes: Sequence[Node]) -> dict[str, int]:
    """Each row's stage: 0 if it reads only frame columns, else one after its latest input."""
    named, out = _by_name(nodes), {}

    def level(n: Node) -> int:
        if n.name not in out:
            out[n.name] = 1 + max((level(d) for d in _deps(n, named)), default=-1)
        return out[n.name]

    for n in nodes:
        level(n)
    return out


def stages(nodes: Sequence[Node], cfg: FeatureConfig) -> list[list[pl.Expr]]:
    """The rows' expressions in stages: each stage reads only columns made before it."""
    at = levels(nodes)
    return [[n.expr(cfg) for n in nodes if at[n.name] == i]
            for i in range(max(at.values(), default=-1) + 1)]


def compute(frame: Frame, nodes: Sequence[Node], cfg: FeatureConfig) -> Frame:
    """``frame`` with every row's column added, stage by stage."""
    for stage in stages(nodes, cfg):
        frame = frame.with_columns(stage)
    return frame


def lookbacks(nodes: Sequence[Node], cfg: FeatureConfig) -> dict[str, int]:
    """Bars of history each row needs: its own bars plus the most any of its inputs needs."""
    named, out = _by_name(nodes), {}

    def bars(n: Node) -> int:
        if n.name not in out:
            out[n.name] = n.bars(cfg) + max((bars(d) for d in _deps(n, named)), default=0)
        return out[n.name]

    for n in nodes:
        bars(n)
    return out


def memories(nodes: Sequence[Node]) -> dict[str, str]:
    """Each row's memory: its own, or recursive/cumulative when it reads such a row."""
    named, out = _by_name(nodes), {}

    def memory(n: Node) -> str:
        if n.name not in out:
            inherited = [m for d in _deps(n, named) if (m := memory(d)) != "window"]
            out[n.name] = n.memory if n.memory != "window" else (inherited or ["window"])[0]
        return out[n.name]

    for n in nodes:
        memory(n)
    return out
