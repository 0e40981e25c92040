"""SSH to the server (``towlion ssh ...``, ``--host``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from . import _towlion as _t
from ._handle import Handle, items, opts, owned

if TYPE_CHECKING:
    from .context import Context

OUTPUT = {"events": _t.TL_SSH_OUT_EVENTS, "buffer": _t.TL_SSH_OUT_BUFFER,
          "discard": _t.TL_SSH_OUT_DISCARD}


def quote_argv(argv: Sequence[str]) -> str:
    """The command line a POSIX shell splits back into exactly ``argv``."""
    return _t.tl_ssh_quote_argv(list(argv))


class Session:
    """An SSH session (strict host keys). Use it as a context manager; it
    is closed before its context is."""

    def __init__(self, ctx: "Context", options: dict[str, Any]):
        self._ctx = ctx
        with ctx._use() as c:
            ptr = _t.tl_ssh_connect(c, options)
        self._handle = Handle(ptr, _t.tl_ssh_free, parent=ctx._adopt(self))

    @property
    def fingerprint(self) -> str:
        """The server's host key, "SHA256:..." as OpenSSH prints it."""
        return _t.tl_ssh_fingerprint(self._handle.ptr)

    def run(self, argv: Sequence[str], *, stdin: Union[bytes, str, None] = None,
            timeout_ms: Optional[int] = None, stdout: str = "buffer",
            stderr: str = "buffer") -> dict[str, Any]:
        """Run ``argv`` on the server and wait; returns exit_status (-1 when
        killed by a signal), exit_signal, stdout, stderr. A non-zero exit is
        not an error. ``stdout``/``stderr``: buffer, events (OUTPUT events to
        the callback) or discard. Timeout past ``timeout_ms``."""
        o = opts(stdout_mode=OUTPUT[stdout], stderr_mode=OUTPUT[stderr], stdin_data=stdin,
                 timeout_ms=timeout_ms)
        with self._ctx._use():
            r = _t.tl_ssh_exec(self._handle.ptr, list(argv), o)
        return {"exit_status": r["exit_status"], "exit_signal": r["exit_signal"],
                "stdout": r["out"], "stderr": r["err"]}

    def upload(self, local_path: str, remote_path: str, *, mode: Optional[int] = None,
               timeout_ms: Optional[int] = None) -> None:
        """Upload a file by SFTP, atomically (temporary name, then rename)."""
        with self._ctx._use():
            _t.tl_ssh_upload(self._handle.ptr, local_path, remote_path,
                             opts(mode=mode, timeout_ms=timeout_ms))

    def close(self) -> None:
        """Disconnect. Idempotent."""
        self._handle.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SSH:
    """Commands and uploads on a server over SSH."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def connect(self, host: str, *, port: Optional[int] = None, user: Optional[str] = None,
                key_path: Optional[str] = None, key_passphrase: Optional[str] = None,
                known_hosts: Optional[str] = None, connect_timeout_ms: Optional[int] = None,
                timeout_ms: Optional[int] = None) -> Session:
        """Connect, check the host key against known_hosts, authenticate.
        AuthError for an unknown or changed host key or a refused key,
        Unavailable when the server cannot be reached."""
        return Session(self._ctx, opts(
            host=host, port=port, user=user, key_path=key_path,
            key_passphrase=key_passphrase, known_hosts=known_hosts,
            connect_timeout_ms=connect_timeout_ms, timeout_ms=timeout_ms))

    def run(self, host: str, argv: Sequence[str], *, stdin: Union[bytes, str, None] = None,
            timeout_ms: Optional[int] = None, **connect: Any) -> dict[str, Any]:
        """connect(), run() one command, disconnect."""
        with self.connect(host, **connect) as s:
            return s.run(argv, stdin=stdin, timeout_ms=timeout_ms)

    def upload(self, host: str, local_path: str, remote_path: str, *,
               mode: Optional[int] = None, **connect: Any) -> None:
        """connect(), upload() one file, disconnect."""
        with self.connect(host, **connect) as s:
            s.upload(local_path, remote_path, mode=mode)

    def bootstrap(self, host: str, *, port: Optional[int] = None, user: str = "root",
                  key_path: Optional[str] = None, known_hosts: Optional[str] = None,
                  packages: Optional[Sequence[str]] = None,
                  package_sources: Optional[Sequence[str]] = None,
                  images: Optional[Sequence[str]] = None,
                  config: Optional[dict[str, str]] = None,
                  platform_images: Optional[dict[str, str]] = None,
                  deploy_user: Optional[str] = None, deploy_key: Optional[str] = None,
                  ssh_port: Optional[int] = None, dry_run: bool = False,
                  timeout_ms: Optional[int] = None) -> dict[str, Any]:
        """``towlion server bootstrap``: make a fresh Debian 12 server a
        running platform, idempotently. ``packages``: local .deb paths
        (uploaded); ``package_sources``: absolute paths on the server (a
        .deb or a directory) or http(s) URLs of .debs the server fetches;
        ``images``: docker-save tars; ``config``: towlion.conf keys;
        ``platform_images``: {service: image} for platform up;
        ``deploy_key``: the deploy user's public key line. Returns the
        steps (name, status: unchanged/changed/would change/skipped,
        detail, elapsed_ms) and the GitHub secrets {name: value}."""
        status = {_t.TL_SERVER_UNCHANGED: "unchanged", _t.TL_SERVER_CHANGED: "changed",
                  _t.TL_SERVER_WOULD_CHANGE: "would change", _t.TL_SERVER_SKIPPED: "skipped"}
        so = opts(host=host, port=port, user=user, key_path=key_path, known_hosts=known_hosts)
        bo = opts(flags=_t.TL_SERVER_DRY_RUN if dry_run else 0,
                  packages=list(packages) if packages else None,
                  package_sources=list(package_sources) if package_sources else None,
                  images=list(images) if images else None,
                  config=[f"{k}={v}" for k, v in config.items()] if config else None,
                  platform_images=([f"{k}={v}" for k, v in platform_images.items()]
                                   if platform_images else None),
                  deploy_user=deploy_user, deploy_key=deploy_key, ssh_port=ssh_port,
                  timeout_ms=timeout_ms)
        with self._ctx._use() as c:
            with owned(_t.tl_server_bootstrap(c, so, bo), _t.tl_server_report_free) as r:
                steps = [dict(s, status=status[s["status"]]) for s in
                         items(r, _t.tl_server_report_count, _t.tl_server_report_at)]
                secrets = {x["name"]: x["value"] for x in
                           items(r, _t.tl_server_report_secret_count,
                                 _t.tl_server_report_secret_at)}
        return {"steps": steps, "secrets": secrets}

    quote_argv = staticmethod(quote_argv)
