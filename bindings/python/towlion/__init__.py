"""towlion: the Python API of libtowlion, the engine of the Towlion platform.

    import towlion
    with towlion.Context() as ctx:            # same config as the CLI
        ctx.db.create("uku")
        print(ctx.apps.show("uku")["domains"])
        for b in ctx.backups.list(databases=["uku_db"]):
            print(b["file"], b["size"])

Every failure raises a :class:`TowlionError` subclass; results are plain
dicts and lists; long calls release the GIL and report through the
context's ``on_event`` callback, which can cancel them.
"""

from __future__ import annotations

from . import _towlion
from .compose import (EnvFile, validate_app_name, validate_domain, validate_hostport,
                      validate_pr)
from .context import Context, Event
from .errors import (AuthError, Cancelled, Conflict, InvalidArgument, IOFailure, Locked,
                     NotFound, OutOfMemory, Timeout, TowlionError, Unavailable, Unhealthy,
                     Unsupported, error_for_code)
from .ssh import Session as SSHSession, quote_argv

__version__: str = _towlion.tl_version()

__all__ = [
    "Context", "Event", "EnvFile", "SSHSession", "quote_argv", "strerror",
    "validate_app_name", "validate_domain", "validate_pr", "validate_hostport",
    "TowlionError", "InvalidArgument", "NotFound", "Conflict", "AuthError", "Timeout",
    "Unavailable", "IOFailure", "Locked", "Cancelled", "OutOfMemory", "Unhealthy",
    "Unsupported", "error_for_code", "__version__",
]


def strerror(code: int) -> str:
    """The name of a result code ("not found")."""
    return _towlion.tl_strerror(code)
