"""Migrations run by the release command, in the schema the connection
works in (a preview's pr_N; here the test schema)."""
from alembic import command
from sqlalchemy import text


def _tables(schema):
    from app.db import engine
    with engine.connect() as c:
        return {r[0] for r in c.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema})}


def test_tables_and_version_table_live_in_the_connections_schema(database, schema):
    assert {"items", "uploads", "upload_results", "alembic_version"} <= _tables(schema)
    from app.db import engine
    with engine.connect() as c:
        where = c.execute(text("SELECT table_schema FROM information_schema.tables "
                               "WHERE table_name = 'alembic_version'")).scalars().all()
    # Only ours (another run's schema may hold one of its own, never public
    # because of us).
    assert schema in where


def test_upgrade_is_idempotent_and_downgrade_reverses(database, schema):
    command.upgrade(database, "head")  # a release run twice changes nothing
    command.downgrade(database, "base")
    assert _tables(schema) == {"alembic_version"}
    command.upgrade(database, "head")
    assert {"items", "uploads", "upload_results"} <= _tables(schema)
