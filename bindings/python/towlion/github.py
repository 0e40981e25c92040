"""GitHub: PR comments, PR state, deployments, alert issues (``towlion github ...``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from . import _towlion as _t
from ._handle import opts, owned

if TYPE_CHECKING:
    from .context import Context

ACTIONS = {0: "found", 1: "created", 2: "updated", 3: "unchanged", 4: "closed"}


def comment_dict(c: Any) -> dict[str, Any]:
    """A comment as a dict."""
    return {"id": _t.tl_github_comment_id(c), "url": _t.tl_github_comment_url(c),
            "body": _t.tl_github_comment_body(c),
            "created": bool(_t.tl_github_comment_created(c))}


def pr_dict(p: Any) -> dict[str, Any]:
    """A pull request as a dict (state: open, closed, merged)."""
    return {"number": _t.tl_github_pr_number(p), "state": _t.tl_github_pr_state_name(p),
            "head_sha": _t.tl_github_pr_head_sha(p), "head_ref": _t.tl_github_pr_head_ref(p),
            "base_ref": _t.tl_github_pr_base_ref(p), "title": _t.tl_github_pr_title(p),
            "url": _t.tl_github_pr_url(p)}


def issue_dict(i: Any) -> dict[str, Any]:
    """An issue as a dict, with what the last call did to it (action)."""
    return {"number": _t.tl_github_issue_number(i), "state": _t.tl_github_issue_state(i),
            "title": _t.tl_github_issue_title(i), "body": _t.tl_github_issue_body(i),
            "url": _t.tl_github_issue_url(i),
            "action": ACTIONS.get(_t.tl_github_issue_action(i), "unknown")}


class GitHub:
    """The GitHub REST API (TOWLION_GITHUB_TOKEN, TOWLION_GITHUB_API); the
    token never appears in messages or events."""

    def __init__(self, ctx: "Context", options: Optional[dict[str, Any]] = None):
        self._ctx = ctx
        self._options = options or {}

    def with_options(self, *, api: Optional[str] = None, token: Optional[str] = None,
                     timeout_ms: Optional[int] = None, per_page: Optional[int] = None
                     ) -> "GitHub":
        """The same module with another API base, token or timeout."""
        return GitHub(self._ctx, opts(api=api, token=token, timeout_ms=timeout_ms,
                                      per_page=per_page))

    def _with(self, fn: Callable[[Any], Any]) -> Any:
        with self._ctx._use() as c:
            with owned(_t.tl_github_new(c, self._options), _t.tl_github_free) as gh:
                return fn(gh)

    def _one(self, call: Callable[..., Any], free: Callable[[Any], None],
             conv: Callable[[Any], dict[str, Any]], *args: Any) -> dict[str, Any]:
        def run(gh: Any) -> dict[str, Any]:
            with owned(call(gh, *args), free) as obj:
                return conv(obj)
        return self._with(run)

    def comment(self, repo: str, pr: int, key: str, body: str) -> dict[str, Any]:
        """Create or edit THE comment of ``key`` on PR ``pr`` (one per key,
        found by a hidden marker, edited in place)."""
        return self._one(_t.tl_github_comment_upsert, _t.tl_github_comment_free,
                         comment_dict, repo, pr, key, body)

    def find_comment(self, repo: str, pr: int, key: str) -> dict[str, Any]:
        """The comment of ``key`` on ``pr``; NotFound when there is none."""
        return self._one(_t.tl_github_comment_find, _t.tl_github_comment_free,
                         comment_dict, repo, pr, key)

    def delete_comment(self, repo: str, comment_id: int) -> None:
        """Delete a comment; NotFound when it does not exist."""
        self._with(lambda gh: _t.tl_github_comment_delete(gh, repo, comment_id))

    def pr(self, repo: str, number: int) -> dict[str, Any]:
        """A pull request's state, head and base."""
        return self._one(_t.tl_github_pr_get, _t.tl_github_pr_free, pr_dict, repo, number)

    def deployment(self, repo: str, ref: str, *, environment: Optional[str] = None,
                   description: Optional[str] = None, transient: bool = False) -> int:
        """Create a deployment of ``ref``; returns its id."""
        o = opts(ref=ref, environment=environment, description=description,
                 transient=transient)
        return self._with(lambda gh: _t.tl_github_deployment_create(gh, repo, o))

    def deployment_status(self, repo: str, deployment_id: int, state: str, *,
                          environment_url: Optional[str] = None,
                          log_url: Optional[str] = None,
                          description: Optional[str] = None) -> int:
        """Add a status (success, failure, in_progress...); returns its id."""
        o = opts(state=state, environment_url=environment_url, log_url=log_url,
                 description=description)
        return self._with(lambda gh: _t.tl_github_deployment_status_create(
            gh, repo, deployment_id, o))

    def issue_upsert(self, repo: str, key: str, title: str, body: str, *,
                     label: Optional[str] = None) -> dict[str, Any]:
        """One open issue per ``key``: created, updated or left unchanged."""
        return self._one(_t.tl_github_issue_upsert, _t.tl_github_issue_free, issue_dict,
                         repo, label, key, title, body)

    def issue_resolve(self, repo: str, key: str, *, label: Optional[str] = None,
                      comment: Optional[str] = None) -> dict[str, Any]:
        """Close the open issue of ``key``; NotFound when none is open."""
        return self._one(_t.tl_github_issue_resolve, _t.tl_github_issue_free, issue_dict,
                         repo, label, key, comment)

    @staticmethod
    def validate_repo(repo: str) -> None:
        """InvalidArgument unless ``repo`` is a valid "owner/name"."""
        _t.tl_github_validate_repo(repo)
