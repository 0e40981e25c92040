"""Reading compose files, env files, and validating names."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

from . import _towlion as _t
from ._handle import Handle, opts, owned

if TYPE_CHECKING:
    from .context import Context


class Compose:
    """An app's compose file as the deploy engine reads it."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    @staticmethod
    def find(app_dir: str) -> str:
        """The compose file of an app directory; NotFound naming where it looked."""
        return _t.tl_compose_find(app_dir)

    @staticmethod
    def check(path: str, *, strict: bool = False, app_dir: Optional[str] = None,
              env_file: Optional[str] = None) -> dict[str, Any]:
        """Read and check a compose file (``strict``: the preview policy);
        returns the plan (``towlion compose check --json``) with its
        ``warnings``. InvalidArgument naming file:line."""
        o = opts(policy=_t.TL_COMPOSE_STRICT if strict else _t.TL_COMPOSE_TRUSTED,
                 app_dir=app_dir, env_file=env_file)
        with owned(_t.tl_compose_load(path, o), _t.tl_compose_free) as c:
            plan = json.loads(_t.tl_compose_to_json(c))
            if isinstance(plan, dict):
                plan.setdefault("warnings", [_t.tl_compose_warning_at(c, i) for i in
                                             range(_t.tl_compose_warning_count(c))])
            return plan


class EnvFile:
    """A KEY=VALUE file (the syntax of towlion.conf and apps' .env files),
    edited in place keeping comments and order, saved atomically."""

    def __init__(self, path: Optional[str] = None, *, create: bool = False,
                 text: Optional[str] = None, interpolate: bool = False):
        """Open ``path`` (``create``: a missing file opens empty) or parse
        ``text``; ``interpolate``: expand ``${VAR}`` in values from the keys
        above them, as Docker Compose reads a ``.env`` (docs/compose.md)."""
        self._path = path
        o = {"flags": (_t.TL_ENVFILE_CREATE if create else 0)
             | (_t.TL_ENVFILE_INTERPOLATE if interpolate else 0)}
        if text is not None:
            ptr = _t.tl_envfile_parse_with(text, path, o)
        else:
            if path is None:
                raise TypeError("give a path or a text")
            ptr = _t.tl_envfile_read(path, o)
        self._handle = Handle(ptr, _t.tl_envfile_free)

    def __getitem__(self, key: str) -> str:
        v = _t.tl_envfile_get(self._handle.ptr, key)
        if v is None:
            raise KeyError(key)
        return v

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        """The value of ``key``, or ``default``."""
        v = _t.tl_envfile_get(self._handle.ptr, key)
        return default if v is None else v

    def __setitem__(self, key: str, value: str) -> None:
        _t.tl_envfile_set(self._handle.ptr, key, value)

    def __delitem__(self, key: str) -> None:
        from .errors import NotFound
        try:
            _t.tl_envfile_unset(self._handle.ptr, key)
        except NotFound:
            raise KeyError(key) from None

    def to_dict(self) -> dict[str, str]:
        """Every key and value in file order."""
        p = self._handle.ptr
        return dict(_t.tl_envfile_at(p, i) for i in range(_t.tl_envfile_count(p)))

    @property
    def warnings(self) -> list[str]:
        """Warnings recorded while parsing (a key given twice...)."""
        p = self._handle.ptr
        return [_t.tl_envfile_warning(p, i) for i in range(_t.tl_envfile_warning_count(p))]

    def render(self) -> str:
        """The file as text."""
        return _t.tl_envfile_render(self._handle.ptr)

    def save(self, path: Optional[str] = None, mode: int = 0o600) -> None:
        """Write atomically (None: where it was opened from) with ``mode``."""
        _t.tl_envfile_save(self._handle.ptr, path, mode)

    def close(self) -> None:
        """Free the file. Idempotent."""
        self._handle.close()

    def __enter__(self) -> "EnvFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def validate_app_name(name: str) -> None:
    """InvalidArgument (saying which rule) unless ``name`` is a valid app name."""
    _t.tl_validate_app_name(name)


def validate_domain(domain: str) -> None:
    """InvalidArgument unless ``domain`` is an RFC 1123 domain name."""
    _t.tl_validate_domain(domain)


def validate_pr(pr: int) -> None:
    """InvalidArgument unless 1 <= pr <= 2**31."""
    _t.tl_validate_pr(pr)


def validate_hostport(hostport: str) -> None:
    """InvalidArgument unless ``hostport`` is host:port."""
    _t.tl_validate_hostport(hostport)
