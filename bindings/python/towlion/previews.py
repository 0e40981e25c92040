"""Pull request previews (``towlion preview ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context


def preview_dict(p: Any) -> dict[str, Any]:
    """A preview handle as a dict (healthy: True, False, or None when not checked)."""
    h = _t.tl_preview_healthy(p)
    return {
        "app": _t.tl_preview_app(p),
        "pr": _t.tl_preview_pr(p),
        "source": _t.tl_preview_source(p),
        "commit": _t.tl_preview_commit(p),
        "release": _t.tl_preview_release(p),
        "url": _t.tl_preview_url(p),
        "repo": _t.tl_preview_repo(p),
        "created": _t.tl_preview_created(p),
        "updated": _t.tl_preview_updated(p),
        "healthy": None if h < 0 else bool(h),
        "comment_url": _t.tl_preview_comment_url(p),
    }


class Previews:
    """One isolated running copy per pull request, under the strict compose policy."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def up(self, app: str, pr: int, path: Optional[str] = None, *,
           git_url: Optional[str] = None, git_ref: Optional[str] = None,
           repo: Optional[str] = None, health_timeout_ms: Optional[int] = None,
           lock_timeout_ms: Optional[int] = None) -> dict[str, Any]:
        """Create or update the preview of PR ``pr``; returns it. Conflict past
        TOWLION_PREVIEW_MAX; InvalidArgument when the strict policy refuses
        the compose file."""
        o = opts(path=path, git_url=git_url, git_ref=git_ref, repo=repo,
                 health_timeout_ms=health_timeout_ms, lock_timeout_ms=lock_timeout_ms)
        with self._ctx._use() as c:
            with owned(_t.tl_preview_up(c, app, pr, o), _t.tl_preview_free) as p:
                return preview_dict(p)

    def down(self, app: str, pr: int, *, repo: Optional[str] = None,
             lock_timeout_ms: Optional[int] = None) -> bool:
        """Remove the preview and everything it had; True when it existed."""
        o = opts(repo=repo, lock_timeout_ms=lock_timeout_ms)
        with self._ctx._use() as c:
            return bool(_t.tl_preview_down(c, app, pr, o))

    def list(self, app: Optional[str] = None) -> list[dict[str, Any]]:
        """The previews of ``app`` (None: of every app), by app then PR."""
        with self._ctx._use() as c:
            with owned(_t.tl_preview_list_load(c, app), _t.tl_preview_list_free) as lst:
                return [preview_dict(p) for p in items(lst, _t.tl_preview_list_count,
                                                       _t.tl_preview_list_at)]

    def gc(self, *, older_than_days: int = 0, check_github: bool = True,
           dry_run: bool = False) -> list[str]:
        """Remove stale previews (closed PRs, or not updated for
        ``older_than_days``); returns their names ("shop-pr-7")."""
        o = opts(older_than_days=older_than_days, check_github=check_github,
                 dry_run=dry_run)
        with self._ctx._use() as c:
            return [n for n in _t.tl_preview_gc(c, o).splitlines() if n]
