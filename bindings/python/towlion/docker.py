"""Docker Engine (``towlion docker ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context

LABELS = ("towlion.app", "towlion.release", "towlion.pr", "towlion.service",
          "towlion.platform")


def container_dict(k: Any) -> dict[str, Any]:
    """A container (inspect or list entry) as a dict."""
    code = _t.tl_docker_container_exit_code(k)
    labels = {}
    for name in LABELS:
        v = _t.tl_docker_container_label(k, name)
        if v is not None:
            labels[name] = v
    return {
        "id": _t.tl_docker_container_id(k),
        "name": _t.tl_docker_container_name(k),
        "image": _t.tl_docker_container_image(k),
        "state": _t.tl_docker_container_state(k),
        "running": bool(_t.tl_docker_container_running(k)),
        "exit_code": None if code < 0 else code,
        "health": _t.tl_docker_container_health(k),
        "status": _t.tl_docker_container_status(k),
        "created": _t.tl_docker_container_created(k),
        "ip": _t.tl_docker_container_ip(k, None),
        "labels": labels,
    }


def image_dict(i: Any) -> dict[str, Any]:
    """An image as a dict."""
    return {
        "id": _t.tl_docker_image_id(i),
        "size": _t.tl_docker_image_size(i),
        "tags": list(items(i, _t.tl_docker_image_tag_count, _t.tl_docker_image_tag_at)),
        "app": _t.tl_docker_image_label(i, "towlion.app"),
        "release": _t.tl_docker_image_label(i, "towlion.release"),
    }


class Docker:
    """The Docker Engine API over TOWLION_DOCKER_HOST; each call opens its
    own connection."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def _with(self, fn: Callable[[Any], Any]) -> Any:
        with self._ctx._use() as c:
            with owned(_t.tl_docker_open(c), _t.tl_docker_free) as d:
                return fn(d)

    def version(self) -> dict[str, str]:
        """The daemon's version, OS/arch and API versions."""
        def run(d: Any) -> dict[str, str]:
            version, os_arch = _t.tl_docker_version(d)
            return {"version": version, "os_arch": os_arch,
                    "api": _t.tl_docker_server_api_version(d)}
        return self._with(run)

    def ps(self, app: Optional[str] = None, *, all: bool = False,
           labels: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
        """Containers of the platform (label towlion.app), of one app, or
        matching ``labels`` ("key=value" or "key"); running ones unless ``all``."""
        filters = list(labels) if labels else [f"towlion.app={app}" if app else "towlion.app"]

        def run(d: Any) -> list[dict[str, Any]]:
            with owned(_t.tl_docker_container_list_by_label(d, filters, int(all)),
                       _t.tl_docker_container_list_free) as lst:
                return [container_dict(k) for k in items(
                    lst, _t.tl_docker_container_list_count, _t.tl_docker_container_list_at)]
        return self._with(run)

    def inspect(self, container: str) -> dict[str, Any]:
        """One container; NotFound when it does not exist."""
        def run(d: Any) -> dict[str, Any]:
            with owned(_t.tl_docker_container_inspect(d, container),
                       _t.tl_docker_container_free) as k:
                return container_dict(k)
        return self._with(run)

    def logs(self, container: str, *, tail: Optional[int] = None,
             since: Optional[int] = None, timestamps: bool = False) -> dict[str, str]:
        """A container's logs: ``{"stdout": ..., "stderr": ...}``."""
        o = opts(tail=tail, since=since, timestamps=timestamps)

        def run(d: Any) -> dict[str, str]:
            out, err = _t.tl_docker_container_logs(d, container, o)
            return {"stdout": out, "stderr": err}
        return self._with(run)

    def service_logs(self, service: str, *, tail: Optional[int] = None,
                     since: Optional[int] = None,
                     timestamps: bool = False) -> dict[str, str]:
        """A Swarm service's logs, every task's: ``{"stdout": ..., "stderr": ...}``."""
        o = opts(tail=tail, since=since, timestamps=timestamps)

        def run(d: Any) -> dict[str, str]:
            out, err = _t.tl_docker_service_logs(d, service, o)
            return {"stdout": out, "stderr": err}
        return self._with(run)

    def app_logs(self, app: str, service: str = "app", *, tail: Optional[int] = None,
                 since: Optional[int] = None, timestamps: bool = False) -> dict[str, Any]:
        """An app's service logs on either engine (``towlion logs``): its
        container on one server, its Swarm service on a cluster.
        ``{"unit": id, "stdout": [...], "stderr": [...]}`` (lines)."""
        from .context import Event
        o = opts(tail=tail, since=since, timestamps=timestamps)
        got: dict[str, list[str]] = {"stdout": [], "stderr": []}
        before = self._ctx.on_event

        def collect(ev: Event) -> None:
            if ev.type == "output":
                got["stderr" if ev.level in ("warn", "error") else "stdout"].append(
                    ev.message or "")
            elif before is not None:
                before(ev)
        self._ctx.on_event = collect
        try:
            with self._ctx._use() as c:
                unit = _t.tl_app_logs(c, app, service, o)
        finally:
            self._ctx.on_event = before
        return {"unit": unit, **got}

    def exec(self, container: str, argv: Sequence[str], *,
             stdin: Union[bytes, str, None] = None, env: Optional[Sequence[str]] = None,
             user: Optional[str] = None, workdir: Optional[str] = None,
             timeout_ms: Optional[int] = None) -> dict[str, Any]:
        """Run ``argv`` in a running container; returns exit_code, stdout,
        stderr. Conflict when the container is not running."""
        o = opts(stdin_data=stdin, env=list(env) if env else None, user=user,
                 workdir=workdir, timeout_ms=timeout_ms)

        def run(d: Any) -> dict[str, Any]:
            code, out, err = _t.tl_docker_exec(d, container, list(argv), o)
            return {"exit_code": code, "stdout": out, "stderr": err}
        return self._with(run)

    def images(self, labels: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
        """Images matching the label filters (default: the apps' images)."""
        filters = list(labels) if labels else ["towlion.app"]

        def run(d: Any) -> list[dict[str, Any]]:
            with owned(_t.tl_docker_image_list_by_label(d, filters),
                       _t.tl_docker_image_list_free) as lst:
                return [image_dict(i) for i in items(lst, _t.tl_docker_image_list_count,
                                                     _t.tl_docker_image_list_at)]
        return self._with(run)

    def image(self, name: str) -> dict[str, Any]:
        """Inspect an image; NotFound when it does not exist."""
        def run(d: Any) -> dict[str, Any]:
            with owned(_t.tl_docker_image_inspect(d, name), _t.tl_docker_image_free) as i:
                return image_dict(i)
        return self._with(run)

    def run(self, image: str, argv: Optional[Sequence[str]] = None, *,
            name: Optional[str] = None, labels: Optional[dict[str, str]] = None,
            env: Optional[dict[str, str]] = None, init: bool = True) -> str:
        """Create and start a container (with an init by default); returns its id."""
        def build(d: Any) -> str:
            with owned(_t.tl_docker_container_spec_new(image),
                       _t.tl_docker_container_spec_free) as s:
                if name:
                    _t.tl_docker_container_spec_set_name(s, name)
                if argv:
                    _t.tl_docker_container_spec_set_cmd(s, list(argv))
                for k, v in (labels or {}).items():
                    _t.tl_docker_container_spec_add_label(s, k, v)
                for k, v in (env or {}).items():
                    _t.tl_docker_container_spec_add_env(s, k, v)
                _t.tl_docker_container_spec_set_init(s, int(init))
                cid = _t.tl_docker_container_create(d, s)
            _t.tl_docker_container_start(d, cid)
            return cid
        return self._with(build)

    def wait(self, container: str, timeout_ms: int = 0) -> int:
        """Wait until the container stops; its exit code. Timeout after
        ``timeout_ms`` (0: no limit)."""
        return self._with(lambda d: _t.tl_docker_container_wait(d, container, timeout_ms))

    def stop(self, container: str, timeout_s: int = -1) -> None:
        """Stop a container (its stop signal, then SIGKILL)."""
        self._with(lambda d: _t.tl_docker_container_stop(d, container, timeout_s))

    def remove(self, container: str, *, force: bool = False) -> None:
        """Remove a container (``force``: kill it first)."""
        flags = _t.TL_DOCKER_REMOVE_FORCE if force else 0
        self._with(lambda d: _t.tl_docker_container_remove(d, container, flags))
