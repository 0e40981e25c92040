"""An app's own settings and secrets (``towlion env ...``).

Values are secrets: :meth:`Settings.list` returns them only with
``show=True``. Changes take effect on the next deploy, or at once with
``ctx.deploys.restart(app)``. Platform keys (DATABASE_URL, APP_DOMAIN,
REDIS_*, S3_*, TOWLION_*) raise InvalidArgument, and one bad pair changes
nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from . import _towlion as _t
from ._handle import opts, owned

if TYPE_CHECKING:
    from .context import Context


def _flags(production_only: bool = False, dry_run: bool = False) -> int:
    return ((_t.TL_APPENV_PRODUCTION_ONLY if production_only else 0) |
            (_t.TL_APPENV_DRY_RUN if dry_run else 0))


class Settings:
    """The settings of registered apps, stored per app (0600, atomic,
    under the app's lock)."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    @staticmethod
    def check_key(key: str) -> None:
        """InvalidArgument naming the rule ``key`` breaks, or None."""
        _t.tl_appenv_check_key(key)

    def set(self, app: str, values: Mapping[str, str], *, production_only: bool = False,
            dry_run: bool = False, lock_timeout_ms: Optional[int] = None) -> None:
        """Set every pair of ``values`` (production-only: previews do not
        get them). NotFound: no such app; Locked: a deploy holds it."""
        keys = list(values.keys())
        vals = [values[k] for k in keys]
        o = opts(flags=_flags(production_only, dry_run), lock_timeout_ms=lock_timeout_ms)
        with self._ctx._use() as c:
            _t.tl_appenv_set(c, app, keys, vals, len(keys), o)

    def unset(self, app: str, keys: Sequence[str], *, dry_run: bool = False,
              lock_timeout_ms: Optional[int] = None) -> None:
        """Remove ``keys`` (a key that is not set is fine)."""
        keys = list(keys)
        o = opts(flags=_flags(dry_run=dry_run), lock_timeout_ms=lock_timeout_ms)
        with self._ctx._use() as c:
            _t.tl_appenv_unset(c, app, keys, len(keys), o)

    def list(self, app: str, *, show: bool = False) -> list[dict[str, Any]]:
        """``[{"key", "production_only"[, "value"]}]`` in the order set
        (what ``towlion env list --json [--show]`` prints)."""
        with self._ctx._use() as c:
            with owned(_t.tl_appenv_load(c, app), _t.tl_appenv_free) as e:
                out = []
                for i in range(_t.tl_appenv_count(e)):
                    d: dict[str, Any] = {
                        "key": _t.tl_appenv_key_at(e, i),
                        "production_only": bool(_t.tl_appenv_production_only_at(e, i)),
                    }
                    if show:
                        d["value"] = _t.tl_appenv_value_at(e, i)
                    out.append(d)
                return out

    def render(self, app: str) -> str:
        """The settings as .env text (values included) that ``set`` from a
        file or ``towlion env set --from-stdin`` reads back."""
        with self._ctx._use() as c:
            with owned(_t.tl_appenv_load(c, app), _t.tl_appenv_free) as e:
                return _t.tl_appenv_render(e)
