"""App users in the shared Redis (``towlion redis ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import _towlion as _t
from ._handle import items, owned

if TYPE_CHECKING:
    from .context import Context


def report_dict(r: Any) -> dict[str, Any]:
    """A redis report as a dict (never holds a secret)."""
    return {
        "user": _t.tl_redis_report_user(r),
        "prefix": _t.tl_redis_report_prefix(r),
        "env_path": _t.tl_redis_report_env_path(r),
        "dry_run": bool(_t.tl_redis_report_dry_run(r)),
        "keys_deleted": _t.tl_redis_report_keys_deleted(r),
        "actions": list(items(r, _t.tl_redis_report_action_count,
                              _t.tl_redis_report_action)),
    }


class Redis:
    """One ACL user and key prefix per app (and per preview); each call
    opens its own admin connection (TOWLION_REDIS_URL)."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def _with(self, fn: Callable[[Any], Any]) -> Any:
        with self._ctx._use() as c:
            with owned(_t.tl_redis_connect(c), _t.tl_redis_free) as r:
                return fn(r)

    def create(self, app: str, pr: int = 0, *, rotate: bool = False,
               dry_run: bool = False) -> dict[str, Any]:
        """Provision the user of ``app`` (or of its preview ``pr``) and write
        REDIS_URL and REDIS_KEY_PREFIX into its env file; idempotent
        (``rotate``: a new password)."""
        flags = (_t.TL_REDIS_ROTATE if rotate else 0) | (_t.TL_REDIS_DRY_RUN if dry_run else 0)

        def run(r: Any) -> dict[str, Any]:
            with owned(_t.tl_redis_create(r, app, pr, {"flags": flags}),
                       _t.tl_redis_report_free) as rep:
                return report_dict(rep)
        return self._with(run)

    def drop(self, app: str, pr: int = 0, *, purge: bool = False,
             dry_run: bool = False) -> dict[str, Any]:
        """Delete the user (``purge``: and every key under its prefix)."""
        flags = (_t.TL_REDIS_PURGE if purge else 0) | (_t.TL_REDIS_DRY_RUN if dry_run else 0)

        def run(r: Any) -> dict[str, Any]:
            with owned(_t.tl_redis_drop(r, app, pr, {"flags": flags}),
                       _t.tl_redis_report_free) as rep:
                return report_dict(rep)
        return self._with(run)

    def stats(self, app: str, pr: int = 0) -> dict[str, Any]:
        """Server memory and clients, and the app's clients, keys and Celery
        queue lengths (``queues``: name -> length)."""
        def run(r: Any) -> dict[str, Any]:
            with owned(_t.tl_redis_stats_get(r, app, pr), _t.tl_redis_stats_free) as s:
                return {
                    "used_memory": _t.tl_redis_stats_used_memory(s),
                    "connected_clients": _t.tl_redis_stats_connected_clients(s),
                    "app_clients": _t.tl_redis_stats_app_clients(s),
                    "app_keys": _t.tl_redis_stats_app_keys(s),
                    "user_exists": bool(_t.tl_redis_stats_user_exists(s)),
                    "queues": {_t.tl_redis_stats_queue_name(s, i):
                               _t.tl_redis_stats_queue_length(s, i)
                               for i in range(_t.tl_redis_stats_queue_count(s))},
                }
        return self._with(run)

    def server_version(self) -> str:
        """The server's version ("7.0.15")."""
        return self._with(_t.tl_redis_server_version)

    @staticmethod
    def names(app: str, pr: int = 0) -> dict[str, str]:
        """The ACL user and key prefix of an app or preview."""
        user, prefix = _t.tl_redis_names(app, pr)
        return {"user": user, "prefix": prefix}
