"""docs/claims.md is what `make claims` computes from ../shared/data today: the published
claims cannot drift from the code (a change that moves them must regenerate the file)."""

from __future__ import annotations

import pytest

from bench.make_claims import CLAIMS, claims_document
from tests.conftest import shared

pytestmark = pytest.mark.realdata


def test_the_committed_claims_are_a_fresh_run(tmp_path):
    shared("cboe", "SPX_History.csv")
    fresh = claims_document(tmp_path / "lake")
    assert fresh == CLAIMS.read_text(encoding="utf-8"), (
        "docs/claims.md differs from a fresh run: `make claims` regenerates it")
