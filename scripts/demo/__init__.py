"""Deterministic demo data for Cao Bằng city, built from the 2024 Programme 09 report.

The report has no coordinates: every geometry here is illustrative (placed at the city's
real location, with its real total area) and every row says so in its ``source`` column.
Names, statuses, decisions and figures are the report's own.
"""

DEMO_SOURCE = "demo: illustrative geometry, not surveyed (landplan demo generator)"
DEFAULT_SEED = 2024
