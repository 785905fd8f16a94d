"""The alvh Python SDK: read the feature store from your own code.

>>> import alvh
>>> store = alvh.open("lake")
>>> store.features(as_of="2026-06-12")          # the row in force on that day (polars)

Light on purpose: importing it loads duckdb and polars only, never the orchestrator.
"""

from alvh.store import CatalogMissing, NotFound, Store, UnknownName, open

__all__ = ["CatalogMissing", "NotFound", "Store", "UnknownName", "open"]
