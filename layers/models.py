"""Imports every table module so ``Base.metadata`` is complete (for Alembic and tests)."""

from layers import (  # noqa: F401
    accounts,
    admin_units,
    auction_lots,
    development_areas,
    dossiers,
    extracts,
    land_use,
    parcels,
    plan_zones,
    planning_projects,
    service_area,
)
from layers.base import Base

metadata = Base.metadata
