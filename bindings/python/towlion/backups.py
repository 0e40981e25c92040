"""Backups of the app databases (``towlion backup ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context

FORMATS = {"custom": _t.TL_BACKUP_FORMAT_CUSTOM, "sql": _t.TL_BACKUP_FORMAT_SQL}


def _info(b: dict[str, Any]) -> dict[str, Any]:
    b["format"] = _t.tl_backup_format_name(b["format"])
    b["state"] = _t.tl_backup_state_name(b["state"])
    return b


def _outcome(o: dict[str, Any]) -> dict[str, Any]:
    o["ok"] = o["result"] == 0
    return o


def _options(databases: Optional[Sequence[str]], flags: int = 0, **kw: Any) -> dict[str, Any]:
    if isinstance(databases, str):
        databases = [databases]
    fmt = kw.pop("format", None)
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {sorted(FORMATS)}")
        kw["format"] = FORMATS[fmt]
    return opts(databases=list(databases) if databases else None, flags=flags, **kw)


class Backups:
    """pg_dump per database, compressed (and encrypted with a key), with
    manifests, verification, retention and a restore that cannot lose data."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def run(self, databases: Optional[Sequence[str]] = None, *, format: str = "custom",
            dry_run: bool = False, no_remote: bool = False, level: Optional[int] = None,
            timeout_ms: Optional[int] = None, lock_timeout_ms: Optional[int] = None,
            pg_bin_dir: Optional[str] = None, threads: Optional[int] = None
            ) -> list[dict[str, Any]]:
        """Back up every app database (or ``databases``); returns one outcome
        per database (database, ok, result, message, file, size, dump_bytes,
        duration_ms, remote). When some failed, the error of the first is
        raised with every outcome in its ``outcomes`` attribute."""
        flags = (_t.TL_BACKUP_DRY_RUN if dry_run else 0) | \
            (_t.TL_BACKUP_NO_REMOTE if no_remote else 0)
        o = _options(databases, flags, format=format, level=level, timeout_ms=timeout_ms,
                     lock_timeout_ms=lock_timeout_ms, pg_bin_dir=pg_bin_dir, threads=threads)
        with self._ctx._use() as c:
            err, rep = _t.tl_backup_run(c, o)
            outcomes: list[dict[str, Any]] = []
            if rep is not None:
                with owned(rep, _t.tl_backup_report_free):
                    outcomes = [_outcome(x) for x in items(rep, _t.tl_backup_report_count,
                                                           _t.tl_backup_report_at)]
        if err is not None:
            err.outcomes = outcomes
            raise err
        return outcomes

    def list(self, databases: Optional[Sequence[str]] = None) -> list[dict[str, Any]]:
        """The backups on disk, newest first: file, path, database, format,
        encrypted, state, size, created, duration_ms, tables, sha256,
        pg_version, remote, verified_at."""
        with self._ctx._use() as c:
            with owned(_t.tl_backup_list_get(c, _options(databases)),
                       _t.tl_backup_list_free) as lst:
                return [_info(b) for b in items(lst, _t.tl_backup_list_count,
                                                _t.tl_backup_list_at)]

    def verify(self, backup: str, *, deep: bool = False,
               pg_bin_dir: Optional[str] = None) -> dict[str, Any]:
        """Check a backup (file name or path): checksum and stream; with
        ``deep`` also restore it into a scratch database and count rows.
        Returns bytes, tables, rows. IOFailure for a corrupt backup, AuthError
        for the wrong key."""
        o = _options(None, _t.TL_BACKUP_DEEP if deep else 0, pg_bin_dir=pg_bin_dir)
        with self._ctx._use() as c:
            return _t.tl_backup_verify(c, backup, o)

    def prune(self, databases: Optional[Sequence[str]] = None, *, dry_run: bool = False
              ) -> list[dict[str, Any]]:
        """Apply retention; returns each decision: file, database, deleted, reason."""
        o = _options(databases, _t.TL_BACKUP_DRY_RUN if dry_run else 0)
        with self._ctx._use() as c:
            with owned(_t.tl_backup_prune(c, o), _t.tl_backup_prune_report_free) as r:
                return list(items(r, _t.tl_backup_prune_report_count,
                                  _t.tl_backup_prune_report_at))

    def restore(self, database: str, backup: str, *, confirm: bool = False,
                into: Optional[str] = None, pg_bin_dir: Optional[str] = None,
                timeout_ms: Optional[int] = None) -> str:
        """Restore ``backup`` into ``database`` through a verified scratch copy
        swapped in by rename; returns the name the previous database is kept
        under ("" with ``into``). InvalidArgument unless ``confirm=True``."""
        o = _options(None, _t.TL_BACKUP_CONFIRM if confirm else 0, into=into,
                     pg_bin_dir=pg_bin_dir, timeout_ms=timeout_ms)
        with self._ctx._use() as c:
            return _t.tl_backup_restore(c, database, backup, o)

    def repair(self, *, dry_run: bool = False) -> str:
        """Clean up after killed restores and deep verifies (allow connections
        again, drop their scratch databases and throwaway roles); returns one
        line per repaired operation, "" when there was nothing to do."""
        o = _options(None, _t.TL_BACKUP_DRY_RUN if dry_run else 0)
        with self._ctx._use() as c:
            return _t.tl_backup_repair(c, o)

    @staticmethod
    def generate_key(path: str) -> None:
        """Write a new random backup key to ``path`` (0600); Conflict when it exists."""
        _t.tl_backup_key_generate(path)
