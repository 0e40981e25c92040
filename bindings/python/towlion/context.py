"""The context: configuration, events, and the modules as attributes."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import weakref
from typing import Any, Callable, Iterator, Optional

from . import _towlion as _t
from ._handle import Handle


@dataclasses.dataclass(frozen=True)
class Event:
    """What a long operation reports through the context's callback.

    Attributes:
        type: ``"log"``, ``"step"``, ``"progress"`` or ``"output"``.
        level: ``"debug"``, ``"info"``, ``"warn"`` or ``"error"`` (log and
            output lines; output: info is stdout, warn is stderr).
        message: the log line, output line or step description.
        step: a machine-readable step name (``"deploy.build"``) or None.
        done: progress: units done (bytes unless said).
        total: progress: units in all, 0 when unknown.
        subject: what it is about (an app, a database, a container) or None.
    """

    type: str
    level: str
    message: Optional[str]
    step: Optional[str]
    done: int
    total: int
    subject: Optional[str]


EventCallback = Callable[[Event], Any]


class Context:
    """A libtowlion context: the configuration (the same as the CLI's:
    defaults, then the config file, then ``TOWLION_*`` environment
    variables, then :meth:`config_set`) and the event callback.

    Use it as a context manager (``with towlion.Context() as ctx:``) or call
    :meth:`close`. Every module is an attribute: ``ctx.apps``,
    ``ctx.deploys``, ``ctx.routes``, ``ctx.db``, ``ctx.backups``,
    ``ctx.previews``, ``ctx.docker``, ``ctx.redis``, ``ctx.s3``, ``ctx.ssh``,
    ``ctx.github``, ``ctx.platform`` (and ``ctx.compose``).

    Calls on one context are serialised by a lock, so a context may be
    shared between threads; for calls that run in parallel, give each
    thread its own context. Every call releases the GIL while it runs.

    Args:
        config_path: the config file (None: /etc/towlion/towlion.conf when
            it exists; a path given here must exist).
        use_env: read ``TOWLION_*`` environment variables.
        use_config_file: read a config file at all.
        on_event: a callable receiving an :class:`Event` for each log line,
            step, progress report and output line. Returning True cancels
            the running operation (it raises :class:`~towlion.Cancelled`);
            raising an exception cancels it too, and that exception becomes
            the ``__cause__`` of the Cancelled (KeyboardInterrupt and
            SystemExit propagate as they are). Without a callback, Ctrl-C
            still cancels a running operation at its next event.
        config: keys to set at once (``{"TOWLION_STATE_DIR": "/tmp/x"}``).
    """

    def __init__(self, config_path: Optional[str] = None, *, use_env: bool = True,
                 use_config_file: bool = True, on_event: Optional[EventCallback] = None,
                 config: Optional[dict[str, str]] = None):
        flags = 0
        if not use_env:
            flags |= _t.TL_CTX_NO_ENV
        if not use_config_file:
            flags |= _t.TL_CTX_NO_CONFIG_FILE
        self._lock = threading.RLock()
        self._children: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._callback: Optional[Callable[[dict[str, Any]], Any]] = None
        self._on_event: Optional[EventCallback] = None
        self._handle = Handle(_t.tl_py_ctx_new(config_path, flags), _t.tl_ctx_free)
        if on_event is not None:
            self.on_event = on_event
        for key, value in (config or {}).items():
            self.config_set(key, value)

    # ---- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Close what was opened on this context (SSH sessions...), then free
        it. Idempotent."""
        with self._lock:
            for child in list(self._children):
                child.close()
            self._handle.close()

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._handle.closed

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _use(self) -> Iterator[Any]:
        """Hold the context's lock and give the raw pointer for one call."""
        with self._lock:
            yield self._handle.ptr

    def _adopt(self, child: Any) -> Handle:
        """Register an object with a close() that must go before the context;
        returns the context's handle for the child to depend on."""
        self._children.add(child)
        return self._handle

    # ---- events ------------------------------------------------------------------

    @property
    def on_event(self) -> Optional[EventCallback]:
        """The event callback (see the class), or None."""
        return self._on_event

    @on_event.setter
    def on_event(self, callback: Optional[EventCallback]) -> None:
        if callback is not None and not callable(callback):
            raise TypeError("on_event must be callable or None")

        def deliver(d: dict[str, Any], _cb: EventCallback = callback) -> Any:  # type: ignore
            return _cb(Event(**d))

        wrapper = deliver if callback is not None else None
        with self._use() as c:
            _t.tl_py_ctx_set_callback(c, wrapper)
            # The C side borrows the wrapper: keep it alive while it is set.
            self._callback = wrapper
            self._on_event = callback

    # ---- configuration --------------------------------------------------------

    def config_get(self, key: str) -> str:
        """The value of a configuration key ("" when unset without default).
        KeyError for an unknown key."""
        with self._use() as c:
            v = _t.tl_ctx_config_get(c, key)
        if v is None:
            raise KeyError(f"unknown configuration key {key!r}")
        return v

    def config_set(self, key: str, value: str) -> None:
        """Set a configuration key for this context (wins over file and env).
        InvalidArgument for an unknown key or a value with a newline."""
        with self._use() as c:
            _t.tl_ctx_config_set(c, key, value)

    def config(self, reveal: bool = False) -> dict[str, dict[str, str]]:
        """Every known key: ``{key: {"value", "description", "source"}}``
        (source: default, file, env, api). Secrets read "(set)" unless
        ``reveal``."""
        sources = {0: "default", 1: "file", 2: "env", 3: "api", 4: "generated"}
        out: dict[str, dict[str, str]] = {}
        with self._use() as c:
            for i in range(_t.tl_config_key_count()):
                key, value, desc, src = _t.tl_ctx_config_at(c, i, int(reveal))
                out[key] = {"value": value, "description": desc,
                            "source": sources.get(src, str(src))}
        return out

    @property
    def config_path(self) -> Optional[str]:
        """The config file that was read, or None."""
        with self._use() as c:
            return _t.tl_ctx_config_path(c)

    # ---- modules ------------------------------------------------------------------
    # A new, stateless accessor per attribute access: modules hold the
    # context, the context holds no module (no reference cycle).

    @property
    def apps(self) -> "Apps":
        """The app registry: create, list, show, destroy."""
        return Apps(self)

    @property
    def deploys(self) -> "Deploys":
        """Releases: deploy, describe, rollback, releases, status."""
        return Deploys(self)

    @property
    def routes(self) -> "Routes":
        """Caddy routes: list, add, rm, reload, check, upstreams."""
        return Routes(self)

    @property
    def db(self) -> "Databases":
        """App databases in the shared PostgreSQL."""
        return Databases(self)

    @property
    def backups(self) -> "Backups":
        """Database backups: run, list, verify, prune, restore."""
        return Backups(self)

    @property
    def previews(self) -> "Previews":
        """Pull request previews: up, down, list, gc."""
        return Previews(self)

    @property
    def docker(self) -> "Docker":
        """Docker Engine: ps, logs, exec, images, containers."""
        return Docker(self)

    @property
    def redis(self) -> "Redis":
        """App users in the shared Redis: create, drop, stats."""
        return Redis(self)

    @property
    def s3(self) -> "S3":
        """Object storage: buckets and objects."""
        return S3(self)

    @property
    def ssh(self) -> "SSH":
        """SSH to a server: connect, run, upload."""
        return SSH(self)

    @property
    def github(self) -> "GitHub":
        """GitHub: PR comments, PRs, deployments, alert issues."""
        return GitHub(self)

    @property
    def platform(self) -> "Platform":
        """The server: doctor, init, compose, up, down, metrics, alerts."""
        return Platform(self)

    @property
    def compose(self) -> "Compose":
        """Reading apps' compose files."""
        return Compose(self)

    @property
    def env(self) -> "Settings":
        """An app's own settings and secrets: set, unset, list (values only
        when asked)."""
        return Settings(self)

    @property
    def cluster(self) -> "Cluster":
        """The Docker Swarm under the platform: init, join tokens, nodes,
        drain and activate."""
        return Cluster(self)


from .apps import Apps, Deploys  # noqa: E402  (modules import Context lazily)
from .routes import Routes  # noqa: E402
from .db import Databases  # noqa: E402
from .backups import Backups  # noqa: E402
from .previews import Previews  # noqa: E402
from .docker import Docker  # noqa: E402
from .redis import Redis  # noqa: E402
from .s3 import S3  # noqa: E402
from .ssh import SSH  # noqa: E402
from .appenv import Settings  # noqa: E402
from .github import GitHub  # noqa: E402
from .platform import Platform  # noqa: E402
from .compose import Compose  # noqa: E402
from .cluster import Cluster  # noqa: E402
