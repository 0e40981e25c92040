"""Ownership of C handles: each one is freed exactly once, after its users."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")


class Handle:
    """Owns one pointer returned by libtowlion and frees it with its C free
    function exactly once: on :meth:`close`, at the end of a ``with`` block,
    or when garbage collected.

    A handle may depend on a parent (a session on its context): the parent
    is then freed only after every child was, whatever order the garbage
    collector finalises them in.
    """

    __slots__ = ("_ptr", "_free", "_parent", "_users", "_close_requested", "_lock",
                 "__weakref__")

    def __init__(self, ptr: Any, free: Callable[[Any], None], parent: "Handle | None" = None):
        if ptr is None:
            raise ValueError("no handle to own")
        self._lock = threading.Lock()
        self._ptr = ptr
        self._free = free
        self._users = 0
        self._close_requested = False
        self._parent = parent
        if parent is not None:
            parent._acquire()

    @property
    def ptr(self) -> Any:
        """The raw pointer for the low-level module; ValueError once closed."""
        p = self._ptr
        if p is None or self._close_requested:
            raise ValueError("operation on a closed towlion handle")
        return p

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._ptr is None or self._close_requested

    def _acquire(self) -> None:
        with self._lock:
            if self._ptr is None:
                raise ValueError("operation on a closed towlion handle")
            self._users += 1

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            free_now = self._users == 0 and self._close_requested
        if free_now:
            self._do_free()

    def _do_free(self) -> None:
        with self._lock:
            p, self._ptr = self._ptr, None
        if p is not None:
            self._free(p)
            parent, self._parent = self._parent, None
            if parent is not None:
                parent._release()

    def close(self) -> None:
        """Free the handle (deferred while children still use it). Idempotent."""
        with self._lock:
            if self._ptr is None or self._close_requested:
                return
            self._close_requested = True
            busy = self._users > 0
        if not busy:
            self._do_free()

    def __enter__(self) -> "Handle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # never raise from a finaliser
            pass


class owned:
    """``with owned(ptr, free) as p:`` frees a temporary handle on exit."""

    __slots__ = ("_ptr", "_free")

    def __init__(self, ptr: Any, free: Callable[[Any], None]):
        self._ptr = ptr
        self._free = free

    def __enter__(self) -> Any:
        return self._ptr

    def __exit__(self, *exc: object) -> None:
        p, self._ptr = self._ptr, None
        if p is not None:
            self._free(p)


def items(lst: Any, count: Callable[[Any], int], at: Callable[[Any, int], T]) -> Iterator[T]:
    """The elements of a C list: at(lst, 0) .. at(lst, count(lst) - 1)."""
    for i in range(count(lst)):
        yield at(lst, i)


def opts(**kw: Any) -> dict[str, Any]:
    """An options dict without the entries left at None (the C defaults)."""
    return {k: v for k, v in kw.items() if v is not None}
