"""The server as a whole (``towlion doctor``, ``platform ...``, ``metrics``, ``alerts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context

CHECKS = {"services": _t.TL_DOCTOR_SERVICES, "server": _t.TL_DOCTOR_SERVER,
          "apps": _t.TL_DOCTOR_APPS, "all": _t.TL_DOCTOR_ALL}


def _platform_opts(dry_run: bool = False, no_docker: bool = False, metrics: bool = False,
                   no_ports: bool = False, logs: bool = False, **kw: Any) -> dict[str, Any]:
    flags = ((_t.TL_PLATFORM_DRY_RUN if dry_run else 0) |
             (_t.TL_PLATFORM_NO_DOCKER if no_docker else 0) |
             (_t.TL_PLATFORM_METRICS if metrics else 0) |
             (_t.TL_PLATFORM_LOGS if logs else 0) |
             (_t.TL_PLATFORM_NO_PORTS if no_ports else 0))
    images = kw.pop("images", None)
    if isinstance(images, dict):
        images = [f"{k}={v}" for k, v in images.items()]
    return opts(flags=flags, images=images, **kw)


class Platform:
    """Doctor, server layout, the platform's services, metrics and alerts."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def doctor(self, checks: str = "services", *, disk_warn_pct: Optional[float] = None,
               backup_max_age_s: Optional[int] = None,
               cert_warn_days: Optional[int] = None) -> dict[str, Any]:
        """Check the services (and with ``checks="all"`` or ``"server"`` the
        OS, disk, ports, backups, certificates; with ``"all"`` or ``"apps"``
        every app's health as status() sees it). Returns ``{"worst": "ok" |
        "warn" | "fail", "checks": [{name, status, detail, hint, elapsed_ms}]}``."""
        o = opts(checks=CHECKS[checks], disk_warn_pct=disk_warn_pct,
                 backup_max_age_s=backup_max_age_s, cert_warn_days=cert_warn_days)
        with self._ctx._use() as c:
            with owned(_t.tl_doctor_run_with(c, o), _t.tl_doctor_report_free) as r:
                out = []
                for chk in items(r, _t.tl_doctor_report_count, _t.tl_doctor_report_at):
                    chk["status"] = _t.tl_check_status_name(chk["status"])
                    out.append(chk)
                return {"worst": _t.tl_check_status_name(_t.tl_doctor_report_worst(r)),
                        "checks": out}

    def status(self, app: Optional[str] = None) -> dict[str, Any]:
        """The platform at a glance (``towlion status --json``): per app (or
        only ``app``) what is (``deploys.status()``'s fields) with its
        ``database`` (None without one, ``{"reachable": False, "error"}``
        when PostgreSQL did not answer), ``last_backup`` and ``previews``;
        ``sources``: what was read beside the apps (``{name, answered,
        error}``); ``health``: the verdict (``none``, ``healthy``,
        ``unhealthy``, ``unknown``) and ``reason``."""
        from .apps import app_status_dict
        with self._ctx._use() as c:
            with owned(_t.tl_status(c, opts(app=app)), _t.tl_status_free) as r:
                sources = list(items(r, _t.tl_status_source_count, _t.tl_status_source_at))
                pg = next((s for s in sources if s["name"] == "postgres"), None)
                apps = []
                for i in range(_t.tl_status_app_count(r)):
                    row = _t.tl_status_app_at(r, i)
                    doc = app_status_dict(row["app"], _t.tl_status_app_state(r, i))
                    if pg is not None and not pg["answered"]:
                        doc["database"] = {"reachable": False, "error": pg["error"]}
                    elif row["database"]:
                        doc["database"] = {"name": row["database"],
                                           "size_bytes": row["database_bytes"],
                                           "connections": row["database_connections"]}
                    else:
                        doc["database"] = None
                    doc["last_backup"] = ({"file": row["backup_file"],
                                           "created": row["backup_created"],
                                           "size": row["backup_bytes"]}
                                          if row["backup_file"] else None)
                    doc["previews"] = row["previews"]
                    apps.append(doc)
                return {"apps": apps, "sources": sources,
                        "health": _t.tl_app_health_name(_t.tl_status_health(r)),
                        "reason": _t.tl_status_reason(r)}

    def _report(self, call: Any, o: dict[str, Any]) -> list[dict[str, Any]]:
        with self._ctx._use() as c:
            with owned(call(c, o), _t.tl_platform_report_free) as r:
                return list(items(r, _t.tl_platform_report_count, _t.tl_platform_report_at))

    def init(self, *, root: Optional[str] = None, no_docker: bool = False,
             dry_run: bool = False) -> list[dict[str, Any]]:
        """Lay out the server idempotently (directories, platform.env secrets,
        Caddyfile, the Docker network); returns the steps (action, subject,
        detail, changed)."""
        return self._report(_t.tl_platform_init,
                            _platform_opts(dry_run=dry_run, no_docker=no_docker, root=root))

    def compose(self, *, standalone_app: Optional[str] = None,
                images: Optional[dict[str, str]] = None, root: Optional[str] = None,
                no_ports: bool = False) -> str:
        """The platform compose file (or the single-app file of ``standalone_app``)."""
        o = _platform_opts(no_ports=no_ports, standalone_app=standalone_app, images=images,
                           root=root)
        with self._ctx._use() as c:
            return _t.tl_platform_compose_render(c, o)

    def compose_write(self, path: Optional[str] = None, **kw: Any) -> str:
        """Write the compose file atomically; returns its path."""
        with self._ctx._use() as c:
            return _t.tl_platform_compose_write(c, path, _platform_opts(**kw))

    def up(self, *, metrics: bool = False, logs: bool = False,
           images: Optional[dict[str, str]] = None,
           timeout_ms: Optional[int] = None, root: Optional[str] = None,
           no_ports: bool = False, dry_run: bool = False) -> list[dict[str, Any]]:
        """Start the core services, and the ``logs`` / ``metrics`` profiles
        (besides those TOWLION_PLATFORM_PROFILES names), and wait until they
        are healthy."""
        return self._report(_t.tl_platform_up, _platform_opts(
            dry_run=dry_run, metrics=metrics, logs=logs, no_ports=no_ports, images=images,
            timeout_ms=timeout_ms, root=root))

    def down(self, *, metrics: bool = False, root: Optional[str] = None,
             dry_run: bool = False) -> list[dict[str, Any]]:
        """Stop and remove the platform's containers (data stays)."""
        return self._report(_t.tl_platform_down,
                            _platform_opts(dry_run=dry_run, metrics=metrics, root=root))

    @staticmethod
    def services() -> list[dict[str, str]]:
        """The platform's services in start order, with their default images."""
        out = []
        i = 0
        while True:
            res = _t.tl_platform_service_at(i)
            if res is None or res[0] is None:  # past the end: NULL
                return out
            name, image = res
            out.append({"service": name, "image": image})
            i += 1

    def metrics(self) -> str:
        """The platform's metrics in the Prometheus text format."""
        with self._ctx._use() as c:
            return _t.tl_metrics_render(c, None)

    def metrics_textfile(self, directory: str) -> str:
        """Write the metrics to ``directory/towlion.prom`` (atomically) for
        node-exporter's textfile collector; returns the file's path."""
        with self._ctx._use() as c:
            return _t.tl_metrics_write_textfile(c, directory, None)

    def alerts(self, *, dry_run: bool = False, github_repo: Optional[str] = None,
               **thresholds: Any) -> dict[str, Any]:
        """Evaluate the alert thresholds (disk_pct, memory_pct,
        backup_max_age_s, max_restarts, cert_days; mail_* for e-mail);
        returns ``{"firing": n, "alerts": [...]}``."""
        o = opts(flags=_t.TL_ALERT_DRY_RUN if dry_run else 0, github_repo=github_repo,
                 **thresholds)
        with self._ctx._use() as c:
            with owned(_t.tl_alerts_check(c, o), _t.tl_alert_report_free) as r:
                return {"firing": _t.tl_alert_report_firing(r),
                        "alerts": list(items(r, _t.tl_alert_report_count,
                                             _t.tl_alert_report_at))}

    def scan_image(self, image: str, argv: Sequence[str], *, block: bool = False,
                   timeout_ms: Optional[int] = None) -> dict[str, Any]:
        """Run an image scanner ("{image}" in argv is replaced); returns the
        findings by severity. Conflict when ``block`` and HIGH/CRITICAL found."""
        o = opts(argv=list(argv), policy=_t.TL_SCAN_BLOCK if block else _t.TL_SCAN_WARN,
                 timeout_ms=timeout_ms)
        with self._ctx._use() as c:
            return _t.tl_platform_scan_image(c, image, o)
