"""Apps (the registry) and deploys (releases, rollback, status, destroy)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional, Sequence

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context


def app_dict(a: Any) -> dict[str, Any]:
    """An app handle as a dict (what ``towlion app show --json`` prints)."""
    return {
        "name": _t.tl_app_name(a),
        "domains": list(items(a, _t.tl_app_domain_count, _t.tl_app_domain_at)),
        "web_service": _t.tl_app_web_service(a),
        "port": _t.tl_app_port(a),
        "health_path": _t.tl_app_health_path(a),
        "release_command": _t.tl_app_release_command(a),
        "drain_ms": _t.tl_app_drain_ms(a),
        "keep_images": _t.tl_app_keep_images(a),
        "created": _t.tl_app_created(a),
        "state_dir": _t.tl_app_state_dir(a),
    }


def app_status_dict(app: str, st: Any) -> dict[str, Any]:
    """An app status handle as a dict (``towlion status APP --json``'s
    fields of what is: release, health, route, containers...)."""
    return {
        "app": app,
        "release": _t.tl_app_status_release(st),
        "since": _t.tl_app_status_since(st),
        "url": _t.tl_app_status_url(st),
        "healthy": bool(_t.tl_app_status_healthy(st)),
        "health": _t.tl_app_health_name(_t.tl_app_status_health(st)),
        "reason": _t.tl_app_status_reason(st),
        "route": {
            "state": _t.tl_app_route_state_name(_t.tl_app_status_route(st)),
            "upstreams": list(items(st, _t.tl_app_status_route_upstream_count,
                                    _t.tl_app_status_route_upstream_at)),
        },
        "containers": list(items(st, _t.tl_app_status_container_count,
                                 _t.tl_app_status_container_at)),
        "leftovers": list(items(st, _t.tl_app_status_leftover_count,
                                _t.tl_app_status_leftover_at)),
        "operation": _t.tl_app_status_operation(st) or None,
    }


def release_dict(r: Any) -> dict[str, Any]:
    """A release handle as a dict."""
    services = {}
    for i in range(_t.tl_release_service_count(r)):
        name, image = _t.tl_release_service_at(r, i)
        services[name] = image
    status = _t.tl_release_status(r)
    return {
        "id": _t.tl_release_id(r),
        "status": _t.tl_release_status_name(status),
        "created": _t.tl_release_created(r),
        "source": _t.tl_release_source(r),
        "commit": _t.tl_release_commit(r),
        "requested_by": _t.tl_release_requested_by(r),
        "error": _t.tl_release_error(r),
        "services": services,
        "duration_ms": _t.tl_release_duration_ms(r),
    }


class Apps:
    """The app registry (``towlion app ...``)."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def create(self, name: str, domains: Optional[Sequence[str]] = None, *,
               web_service: Optional[str] = None, port: Optional[int] = None,
               health_path: Optional[str] = None, release_command: Optional[str] = None,
               drain_ms: Optional[int] = None, keep_images: Optional[int] = None
               ) -> dict[str, Any]:
        """Register an app and return it. Without domains it answers on
        ``<name>.<TOWLION_DOMAIN>``. InvalidArgument for a bad name or domain,
        Conflict when it exists or a domain belongs to another app."""
        o = opts(domains=list(domains) if domains else None, web_service=web_service,
                 port=port, health_path=health_path, release_command=release_command,
                 drain_ms=drain_ms, keep_images=keep_images)
        with self._ctx._use() as c:
            with owned(_t.tl_app_create(c, name, o), _t.tl_app_free) as a:
                return app_dict(a)

    def show(self, name: str) -> dict[str, Any]:
        """One app's settings; NotFound when it is not registered."""
        with self._ctx._use() as c:
            with owned(_t.tl_app_open(c, name), _t.tl_app_free) as a:
                return app_dict(a)

    def list(self) -> list[dict[str, Any]]:
        """Every registered app, sorted by name."""
        with self._ctx._use() as c:
            with owned(_t.tl_app_list_load(c), _t.tl_app_list_free) as lst:
                return [app_dict(a) for a in items(lst, _t.tl_app_list_count,
                                                   _t.tl_app_list_at)]

    def destroy(self, name: str, *, confirm: bool = False, purge: bool = False,
                lock_timeout_ms: Optional[int] = None) -> None:
        """Remove an app: route, containers, images, registry entry; with
        ``purge`` also its database, Redis user and bucket. Not undoable:
        InvalidArgument unless ``confirm=True``."""
        o = opts(confirm=confirm, purge=purge, lock_timeout_ms=lock_timeout_ms)
        with self._ctx._use() as c:
            _t.tl_app_destroy(c, name, o)

    def env_path(self, name: str) -> str:
        """The app's env file in the state directory (holds its secrets)."""
        with self._ctx._use() as c:
            return _t.tl_app_env_path(c, name)


class Deploys:
    """Releases of apps (``towlion deploy``, ``rollback``, ``releases``, ``status``)."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def deploy(self, app: str, path: Optional[str] = None, *, git_url: Optional[str] = None,
               git_ref: Optional[str] = None, release_id: Optional[str] = None,
               health_timeout_ms: Optional[int] = None,
               lock_timeout_ms: Optional[int] = None,
               requested_by: Optional[str] = "python") -> dict[str, Any]:
        """Build and release ``app`` from a directory (or a git URL and ref)
        through the health-gated switch; returns the new release. Steps are
        reported as events ("deploy.build"...). Unhealthy: the new release
        never became healthy (the old one still serves); Locked: another
        operation holds the app."""
        o = opts(path=path, git_url=git_url, git_ref=git_ref, release_id=release_id,
                 health_timeout_ms=health_timeout_ms, lock_timeout_ms=lock_timeout_ms,
                 requested_by=requested_by)
        with self._ctx._use() as c:
            with owned(_t.tl_deploy(c, app, o), _t.tl_release_free) as r:
                return release_dict(r)

    def describe(self, app: str, path: Optional[str] = None, *,
                 git_url: Optional[str] = None, git_ref: Optional[str] = None) -> Any:
        """What deploy() would do, changing nothing (the --dry-run plan)."""
        o = opts(path=path, git_url=git_url, git_ref=git_ref)
        with self._ctx._use() as c:
            return json.loads(_t.tl_deploy_describe(c, app, o))

    def rollback(self, app: str, release_id: Optional[str] = None, *,
                 health_timeout_ms: Optional[int] = None,
                 lock_timeout_ms: Optional[int] = None,
                 requested_by: Optional[str] = "python",
                 dry_run: bool = False) -> dict[str, Any]:
        """Put an earlier release (default: the one before the active one)
        back from its kept images; returns the release now active. With
        ``dry_run``, changes nothing and returns the release that would come
        back, or raises what the real call would raise now."""
        o = opts(release_id=release_id, health_timeout_ms=health_timeout_ms,
                 lock_timeout_ms=lock_timeout_ms, requested_by=requested_by,
                 dry_run=dry_run)
        with self._ctx._use() as c:
            with owned(_t.tl_rollback(c, app, o), _t.tl_release_free) as r:
                return release_dict(r)

    def restart(self, app: str, *, health_timeout_ms: Optional[int] = None,
                lock_timeout_ms: Optional[int] = None,
                requested_by: Optional[str] = "python") -> dict[str, Any]:
        """Run the active release again as a new release, through the same
        health-gated switch, so its containers get the settings of now
        (``ctx.env``); returns the new release. NotFound: nothing deployed."""
        o = opts(health_timeout_ms=health_timeout_ms, lock_timeout_ms=lock_timeout_ms,
                 requested_by=requested_by)
        with self._ctx._use() as c:
            with owned(_t.tl_restart(c, app, o), _t.tl_release_free) as r:
                return release_dict(r)

    def releases(self, app: str) -> list[dict[str, Any]]:
        """The app's release history, newest first."""
        with self._ctx._use() as c:
            with owned(_t.tl_release_list_load(c, app), _t.tl_release_list_free) as lst:
                return [release_dict(r) for r in items(lst, _t.tl_release_list_count,
                                                       _t.tl_release_list_at)]

    def status(self, app: str) -> dict[str, Any]:
        """The app at a glance, from what is: active release, since, URL, health
        and why not, the route as Caddy has it, the active release's containers,
        leftovers of releases that do not serve, and an operation in progress."""
        with self._ctx._use() as c:
            with owned(_t.tl_app_status_get(c, app), _t.tl_app_status_free) as st:
                return app_status_dict(app, st)

    def remove_leftovers(self, app: str, *, lock_timeout_ms: int = 0) -> list[str]:
        """Remove the app's containers of releases that do not serve (what
        `towlion status --fix` does); the names of those removed."""
        with self._ctx._use() as c:
            return _t.tl_app_leftovers_remove(c, app, lock_timeout_ms).splitlines()
