"""The demo market: a seeded simulation that writes provider-shaped files for `alvh demo`.

Not a source: it produces what the sources read (sources/ parses it like any provider's).
"""
