"""ALVH hedge engine: policy, pricing, rules and the daily recommendation."""

from hedge import tables as tables  # registers recommendations and recommendation_legs
