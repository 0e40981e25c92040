"""Migrations against DATABASE_URL, in the schema the connection works in.

In production that is `public` of the app's own database. A preview's role
has `search_path = pr_N` (set by the platform), so its tables, and
alembic_version with them, go to pr_N without the migrations knowing: the
schema is asked of the connection (current_schema()) and given to Alembic
explicitly, so its version table is never looked for anywhere else.
DB_SCHEMA, when set, overrides it (SET search_path for this run).
"""
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.config import settings
from app.db import Base
from app import models  # noqa: F401  (registers the tables on Base.metadata)

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    if not settings.database_url:
        raise SystemExit("alembic: DATABASE_URL is not set (the platform sets it: "
                         "`towlion db create APP`; locally see .env.example)")
    return settings.database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      version_table_schema=os.environ.get("DB_SCHEMA") or None)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        schema = os.environ.get("DB_SCHEMA", "").strip()
        if schema:
            connection.execute(text("SELECT set_config('search_path', :s, false)"), {"s": schema})
        else:
            schema = connection.execute(text("SELECT current_schema()")).scalar()
        if not schema:
            raise SystemExit("alembic: the connection has no schema to work in (search_path "
                             "names none that exists); set DB_SCHEMA")
        connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata,
                          version_table_schema=schema, include_schemas=False,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
