"""Alembic environment: the URL comes from ``config.attributes['url']`` (set by
``landplan db migrate`` and the tests) or from landplan's settings."""

from alembic import context
from sqlalchemy import create_engine, pool

from api.settings import DatabaseSettings
from layers.models import metadata

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS's own tables (spatial_ref_sys, topology...) are not ours to manage.
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_online() -> None:
    url = config.attributes.get("url") or DatabaseSettings().sqlalchemy_url()
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=include_object,
            include_schemas=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
