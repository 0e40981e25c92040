"""App databases in the shared PostgreSQL (``towlion db ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context


def report_dict(r: Any) -> dict[str, Any]:
    """A pg report as a dict: names, env file, dry_run and the actions."""
    return {
        "app": _t.tl_pg_report_app(r),
        "database": _t.tl_pg_report_database(r),
        "role": _t.tl_pg_report_role(r),
        "schema": _t.tl_pg_report_schema(r),
        "env_path": _t.tl_pg_report_env_path(r),
        "dry_run": bool(_t.tl_pg_report_dry_run(r)),
        "actions": list(items(r, _t.tl_pg_report_action_count, _t.tl_pg_report_action)),
    }


class Databases:
    """One database and role per app, one schema and role per preview.
    Each call opens its own admin connection (TOWLION_PG_URL)."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def _with_pg(self, fn: Callable[[Any], Any]) -> Any:
        with self._ctx._use() as c:
            with owned(_t.tl_pg_connect(c), _t.tl_pg_free) as pg:
                return fn(pg)

    def _report(self, call: Callable[..., Any], *args: Any, dry_run: bool = False,
                confirm: bool = False, connection_limit: Optional[int] = None,
                lock_timeout_ms: Optional[int] = None) -> dict[str, Any]:
        flags = (_t.TL_PG_DRY_RUN if dry_run else 0) | (_t.TL_PG_CONFIRM if confirm else 0)
        o = opts(flags=flags, connection_limit=connection_limit,
                 lock_timeout_ms=lock_timeout_ms)

        def run(pg: Any) -> dict[str, Any]:
            with owned(call(pg, *args, o), _t.tl_pg_report_free) as r:
                return report_dict(r)
        return self._with_pg(run)

    def create(self, app: str, *, connection_limit: Optional[int] = None,
               dry_run: bool = False, lock_timeout_ms: Optional[int] = None) -> dict[str, Any]:
        """Provision the app's role and database and write its DATABASE_URL;
        idempotent. Returns the report (actions empty when all was in place).
        AuthError / Unavailable when PostgreSQL refuses or cannot be reached."""
        return self._report(_t.tl_pg_app_create, app, dry_run=dry_run,
                            connection_limit=connection_limit,
                            lock_timeout_ms=lock_timeout_ms)

    def rotate(self, app: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Give the app's role a new password and write the new DATABASE_URL."""
        return self._report(_t.tl_pg_app_rotate, app, dry_run=dry_run)

    def drop(self, app: str, *, confirm: bool = False, dry_run: bool = False
             ) -> dict[str, Any]:
        """Drop the app's database, its previews' roles and its role.
        InvalidArgument unless ``confirm=True``."""
        return self._report(_t.tl_pg_app_drop, app, dry_run=dry_run, confirm=confirm)

    def schema_create(self, app: str, pr: int, *, dry_run: bool = False) -> dict[str, Any]:
        """Provision preview ``pr``'s schema and role in the app's database."""
        return self._report(_t.tl_pg_preview_create, app, pr, dry_run=dry_run)

    def schema_drop(self, app: str, pr: int, *, dry_run: bool = False) -> dict[str, Any]:
        """Drop preview ``pr``'s schema and role; idempotent."""
        return self._report(_t.tl_pg_preview_drop, app, pr, dry_run=dry_run)

    def list(self) -> list[dict[str, Any]]:
        """The app databases: app, database, owner, size_bytes, connections,
        connection_limit, previews."""
        def run(pg: Any) -> list[dict[str, Any]]:
            with owned(_t.tl_pg_list(pg), _t.tl_pg_db_list_free) as lst:
                return list(items(lst, _t.tl_pg_db_list_count, _t.tl_pg_db_list_at))
        return self._with_pg(run)

    def url(self, app: str, pr: int = 0) -> str:
        """The DATABASE_URL of the app (or of its preview ``pr``): a secret.
        NotFound when it was never written."""
        with self._ctx._use() as c:
            return _t.tl_pg_database_url(c, app, pr)

    def server_version(self) -> int:
        """The server's version as a number (150004 for 15.4)."""
        return self._with_pg(_t.tl_pg_server_version)

    @staticmethod
    def names(app: str, pr: int = 0) -> dict[str, str]:
        """The database and role of an app, or the schema and role of a preview."""
        if pr:
            schema, role = _t.tl_pg_preview_names(app, pr)
            return {"schema": schema, "role": role}
        database, role = _t.tl_pg_app_names(app)
        return {"database": database, "role": role}
