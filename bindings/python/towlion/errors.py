"""Exceptions raised by towlion: one class per libtowlion result code.

Every failing call raises a :class:`TowlionError` subclass carrying what
``tl_error_last()`` said: the message, the error class (``"postgres"``,
``"docker"``...), the upstream code as text (an HTTP status, a SQLSTATE...)
and as a number.
"""

from __future__ import annotations

__all__ = [
    "TowlionError", "InvalidArgument", "NotFound", "Conflict", "AuthError",
    "Timeout", "Unavailable", "IOFailure", "Locked", "Cancelled", "OutOfMemory",
    "Unhealthy", "Unsupported", "error_for_code",
]


class TowlionError(Exception):
    """A libtowlion call failed.

    Attributes:
        code: the negative ``tl_result`` (``-3`` for not found...).
        klass: the ``tl_error_class`` number.
        class_name: its name (``"postgres"``, ``"docker"``, ``"input"``...).
        message: what failed, on what, and what to do.
        upstream: the upstream code as text (``"404"``, ``"28P01"``) or ``""``.
        upstream_code: the upstream code as a number, or 0.
    """

    code = -1

    def __init__(self, message: str, *, code: int | None = None, klass: int = 0,
                 class_name: str = "", upstream: str = "", upstream_code: int = 0):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.klass = klass
        self.class_name = class_name
        self.upstream = upstream
        self.upstream_code = upstream_code

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.message!r}, class_name={self.class_name!r}, "
                f"upstream={self.upstream!r})")


class InvalidArgument(TowlionError, ValueError):
    """A bad argument, name, option, configuration or input (TL_EINVALID)."""
    code = -2


class NotFound(TowlionError, LookupError):
    """The object does not exist (TL_ENOTFOUND)."""
    code = -3


class Conflict(TowlionError):
    """It already exists (TL_EEXISTS) or clashes with something (TL_ECONFLICT)."""
    code = -5


class AuthError(TowlionError, PermissionError):
    """Authentication or permission refused (TL_EAUTH)."""
    code = -6


class Timeout(TowlionError, TimeoutError):
    """The operation ran past its timeout (TL_ETIMEOUT)."""
    code = -7


class Unavailable(TowlionError, ConnectionError):
    """A service could not be reached (TL_EUNAVAILABLE)."""
    code = -8


class IOFailure(TowlionError, OSError):
    """Reading or writing a file or stream failed (TL_EIO)."""
    code = -9


class Locked(TowlionError):
    """Another operation holds the lock (TL_ELOCKED); the message names it."""
    code = -10


class Cancelled(TowlionError):
    """The event callback cancelled the operation (TL_EUSER).

    When the callback raised an exception (rather than returning True), that
    exception is this one's ``__cause__``.
    """
    code = -11


class OutOfMemory(TowlionError, MemoryError):
    """Out of memory (TL_ENOMEM)."""
    code = -12


class Unhealthy(TowlionError):
    """A new release did not become healthy (TL_EUNHEALTHY); the old one serves."""
    code = -13


class Unsupported(TowlionError):
    """The server or build cannot do this (TL_EUNSUPPORTED)."""
    code = -14


_BY_CODE: dict[int, type[TowlionError]] = {
    -1: TowlionError, -2: InvalidArgument, -3: NotFound, -4: Conflict, -5: Conflict,
    -6: AuthError, -7: Timeout, -8: Unavailable, -9: IOFailure, -10: Locked,
    -11: Cancelled, -12: OutOfMemory, -13: Unhealthy, -14: Unsupported,
}


def error_for_code(code: int) -> type[TowlionError]:
    """The exception class of a negative result code (TowlionError if unknown)."""
    return _BY_CODE.get(code, TowlionError)


def _from_c(code: int, klass: int, class_name: str, message: str, upstream: str,
            upstream_code: int) -> TowlionError:
    """Called by the low-level module to build the exception of a failed call."""
    return error_for_code(code)(message, code=code, klass=klass, class_name=class_name,
                                upstream=upstream, upstream_code=upstream_code)
