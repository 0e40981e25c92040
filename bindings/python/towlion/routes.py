"""Routes through Caddy (``towlion route ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context

TLS = {"config": _t.TL_CADDY_TLS_CONFIG, "auto": _t.TL_CADDY_TLS_AUTO,
       "internal": _t.TL_CADDY_TLS_INTERNAL, "off": _t.TL_CADDY_TLS_OFF}


def _route(site: str, hosts: Sequence[str], upstreams: Optional[Sequence[str]],
           kw: dict[str, Any]) -> dict[str, Any]:
    tls = kw.pop("tls", None)
    if tls is not None:
        if tls not in TLS:
            raise ValueError(f"tls must be one of {sorted(TLS)}")
        kw["tls"] = TLS[tls]
    return opts(site=site, hosts=list(hosts), upstreams=list(upstreams or []), **kw)


class Routes:
    """Sites in Caddy: one per app or preview, applied as transactions."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def list(self) -> list[dict[str, Any]]:
        """The sites from the files, sorted: site, path, hosts, upstreams,
        redirect_to."""
        with self._ctx._use() as c:
            with owned(_t.tl_caddy_list(c), _t.tl_caddy_sites_free) as s:
                return list(items(s, _t.tl_caddy_sites_count, _t.tl_caddy_sites_at))

    def add(self, site: str, hosts: Sequence[str], upstreams: Optional[Sequence[str]] = None,
            *, health_uri: Optional[str] = None, health_interval_s: Optional[int] = None,
            paths: Optional[Sequence[dict[str, Any]]] = None, tls: Optional[str] = None,
            max_body_bytes: Optional[int] = None, security_headers: Optional[bool] = None,
            redirect_to: Optional[str] = None) -> None:
        """Add the site or replace it whole (a blue/green switch is one call).
        ``paths``: ``[{"path": "/api/*", "upstreams": [...], "health_uri": ...}]``;
        ``tls``: config, auto, internal or off. InvalidArgument when a name is
        bad or Caddy refuses (nothing changed), Conflict when a host belongs to
        another site, Unavailable when Caddy cannot be reached."""
        r = _route(site, hosts, upstreams, dict(
            health_uri=health_uri, health_interval_s=health_interval_s,
            paths=list(paths) if paths else None, tls=tls, max_body_bytes=max_body_bytes,
            security_headers=security_headers, redirect_to=redirect_to))
        with self._ctx._use() as c:
            _t.tl_caddy_route_set(c, r)

    def render(self, site: str, hosts: Sequence[str],
               upstreams: Optional[Sequence[str]] = None, **kw: Any) -> str:
        """The site file add() would write, talking to nobody (a dry run)."""
        r = _route(site, hosts, upstreams, kw)
        with self._ctx._use() as c:
            return _t.tl_caddy_render_site(c, r)

    def rm(self, name: str) -> str:
        """Remove the site ``name`` or the site routing hostname ``name``;
        returns the site removed. NotFound when there is none."""
        with self._ctx._use() as c:
            return _t.tl_caddy_route_remove(c, name)

    def reload(self) -> None:
        """Re-apply the routes on disk (e.g. after Caddy restarted)."""
        with self._ctx._use() as c:
            _t.tl_caddy_reload(c)

    def check(self) -> None:
        """Validate the routes on disk with Caddy without applying them;
        InvalidArgument naming every broken site file."""
        with self._ctx._use() as c:
            _t.tl_caddy_check(c)

    def init(self, default_bind: Optional[str] = None) -> None:
        """Write the main Caddyfile from the configuration."""
        with self._ctx._use() as c:
            _t.tl_caddy_write_main(c, opts(default_bind=default_bind))

    def render_main(self, default_bind: Optional[str] = None) -> str:
        """The main Caddyfile init() would write."""
        with self._ctx._use() as c:
            return _t.tl_caddy_render_main(c, opts(default_bind=default_bind))

    def upstreams(self) -> list[dict[str, Any]]:
        """Upstreams as Caddy sees them: address, healthy, num_requests, fails."""
        with self._ctx._use() as c:
            with owned(_t.tl_caddy_upstreams_get(c), _t.tl_caddy_upstreams_free) as u:
                return list(items(u, _t.tl_caddy_upstreams_count, _t.tl_caddy_upstreams_at))
