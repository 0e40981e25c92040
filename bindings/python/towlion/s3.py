"""Object storage (``towlion s3 ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from . import _towlion as _t
from ._handle import opts, owned

if TYPE_CHECKING:
    from .context import Context


def object_dict(o: Any) -> dict[str, Any]:
    """An object's metadata as a dict."""
    return {
        "key": _t.tl_s3_object_key(o),
        "size": _t.tl_s3_object_size(o),
        "etag": _t.tl_s3_object_etag(o),
        "last_modified": _t.tl_s3_object_last_modified(o),
        "content_type": _t.tl_s3_object_content_type(o),
    }


class S3:
    """Buckets and objects over SigV4 (TOWLION_S3_*); keyword arguments
    given to the constructor-like :meth:`with_options` win over the config."""

    def __init__(self, ctx: "Context", options: Optional[dict[str, Any]] = None):
        self._ctx = ctx
        self._options = options or {}

    def with_options(self, *, endpoint: Optional[str] = None, region: Optional[str] = None,
                     access_key: Optional[str] = None, secret_key: Optional[str] = None,
                     virtual_host: bool = False, timeout_ms: Optional[int] = None) -> "S3":
        """The same module with other endpoint, keys or timeouts."""
        return S3(self._ctx, opts(endpoint=endpoint, region=region, access_key=access_key,
                                  secret_key=secret_key, timeout_ms=timeout_ms,
                                  addressing=_t.TL_S3_VIRTUAL_HOST if virtual_host else None))

    def _with(self, fn: Callable[[Any], Any]) -> Any:
        with self._ctx._use() as c:
            with owned(_t.tl_s3_new(c, self._options), _t.tl_s3_free) as s3:
                return fn(s3)

    def bucket_create(self, bucket: str) -> None:
        """Create a bucket; one you already own is fine. Conflict when someone
        else owns the name."""
        self._with(lambda s: _t.tl_s3_bucket_create(s, bucket))

    def bucket_exists(self, bucket: str) -> bool:
        """True when the bucket exists and these keys reach it."""
        from .errors import NotFound
        try:
            self._with(lambda s: _t.tl_s3_bucket_exists(s, bucket))
            return True
        except NotFound:
            return False

    def bucket_delete(self, bucket: str, *, purge: bool = False) -> None:
        """Delete an empty bucket (``purge``: its objects first)."""
        fn = _t.tl_s3_bucket_purge if purge else _t.tl_s3_bucket_delete
        self._with(lambda s: fn(s, bucket))

    def buckets(self) -> list[dict[str, str]]:
        """The account's buckets: name, created."""
        def run(s: Any) -> list[dict[str, str]]:
            with owned(_t.tl_s3_bucket_list_get(s), _t.tl_s3_bucket_list_free) as lst:
                return [{"name": _t.tl_s3_bucket_list_at(lst, i),
                         "created": _t.tl_s3_bucket_list_created_at(lst, i)}
                        for i in range(_t.tl_s3_bucket_list_count(lst))]
        return self._with(run)

    def ls(self, bucket: str, prefix: Optional[str] = None, *,
           delimiter: Optional[str] = None, page_size: Optional[int] = None
           ) -> dict[str, Any]:
        """Objects of a bucket in key order: ``{"objects": [...], "prefixes": [...]}``."""
        o = opts(prefix=prefix, delimiter=delimiter, page_size=page_size)

        def run(s: Any) -> dict[str, Any]:
            with owned(_t.tl_s3_object_list_get(s, bucket, o),
                       _t.tl_s3_object_list_free) as lst:
                return {
                    "objects": [object_dict(_t.tl_s3_object_list_at(lst, i))
                                for i in range(_t.tl_s3_object_list_count(lst))],
                    "prefixes": [_t.tl_s3_object_list_prefix_at(lst, i)
                                 for i in range(_t.tl_s3_object_list_prefix_count(lst))],
                }
        return self._with(run)

    def put(self, bucket: str, key: str, *, path: Optional[str] = None,
            data: Union[bytes, str, None] = None, content_type: Optional[str] = None) -> str:
        """Upload a file (streamed, multipart when large) or bytes; returns
        the new object's ETag."""
        if (path is None) == (data is None):
            raise TypeError("give exactly one of path and data")
        if path is not None:
            o = opts(content_type=content_type)
            return self._with(lambda s: _t.tl_s3_object_put_file(s, bucket, key, path, o))
        return self._with(lambda s: _t.tl_s3_object_put_data(s, bucket, key, data,
                                                             content_type))

    def get(self, bucket: str, key: str, *, path: Optional[str] = None,
            max_bytes: int = 0) -> Optional[bytes]:
        """Download to ``path`` (atomically, checked; returns None) or into
        memory (returns the bytes, at most ``max_bytes``, 0: 16 MiB)."""
        if path is not None:
            self._with(lambda s: _t.tl_s3_object_get_file(s, bucket, key, path, None))
            return None
        text = self._with(lambda s: _t.tl_s3_object_get_data(s, bucket, key, max_bytes))
        # The low-level module decodes with surrogateescape: this is lossless.
        return text.encode("utf-8", "surrogateescape")

    def head(self, bucket: str, key: str) -> dict[str, Any]:
        """An object's metadata; NotFound when it does not exist."""
        def run(s: Any) -> dict[str, Any]:
            with owned(_t.tl_s3_object_head(s, bucket, key), _t.tl_s3_object_free) as o:
                return object_dict(o)
        return self._with(run)

    def rm(self, bucket: str, key: str) -> None:
        """Delete an object (a missing key is fine)."""
        self._with(lambda s: _t.tl_s3_object_delete(s, bucket, key))

    def app_create(self, app: str, *, dry_run: bool = False) -> dict[str, str]:
        """Create the app's bucket and its own user, and write that user's
        keys (never the platform's) with S3_ENDPOINT/S3_BUCKET to its env file."""
        flags = _t.TL_S3_DRY_RUN if dry_run else 0
        bucket, env_path = self._with(lambda s: _t.tl_s3_app_create(s, app, flags))
        return {"bucket": bucket, "env_path": env_path}

    def app_rotate(self, app: str, *, dry_run: bool = False) -> str:
        """New keys for the app's own user (the old key stops working);
        returns the new access key id (the secret is only in the env file)."""
        flags = _t.TL_S3_DRY_RUN if dry_run else 0
        return self._with(lambda s: _t.tl_s3_app_rotate(s, app, flags))

    def app_drop(self, app: str, *, dry_run: bool = False) -> None:
        """Delete the app's user and keys (NotFound when it has none)."""
        flags = _t.TL_S3_DRY_RUN if dry_run else 0
        self._with(lambda s: _t.tl_s3_app_drop(s, app, flags))

    def backup_keys(self, *, dry_run: bool = False) -> str:
        """Make the offsite backups' own user and keys; returns the file."""
        flags = _t.TL_S3_DRY_RUN if dry_run else 0
        return self._with(lambda s: _t.tl_s3_backup_keys_create(s, flags))
