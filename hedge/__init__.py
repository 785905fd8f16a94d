"""ALVH hedge engine: policy, pricing, rules and the daily recommendation."""
