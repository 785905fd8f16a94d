"""What every layer shares: the NYSE/CFE calendar, the run's clock, errors and lake paths.

Imports nothing from the rest of alvh, so any package may import it.
"""
