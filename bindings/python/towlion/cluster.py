"""The Docker Swarm under the platform (``towlion cluster ...``, docs/cluster.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import _towlion as _t
from ._handle import items, opts, owned

if TYPE_CHECKING:
    from .context import Context


def _node(n: Any) -> dict[str, Any]:
    labels = {_t.tl_cluster_node_label_key(n, i): _t.tl_cluster_node_label_value(n, i)
              for i in range(_t.tl_cluster_node_label_count(n))}
    return {
        "id": _t.tl_cluster_node_id(n),
        "hostname": _t.tl_cluster_node_hostname(n),
        "role": _t.tl_cluster_node_role(n),
        "state": _t.tl_cluster_node_state(n),
        "availability": _t.tl_cluster_node_availability(n),
        "manager_status": _t.tl_cluster_node_manager_status(n),
        "address": _t.tl_cluster_node_address(n),
        "labels": labels,
    }


class Cluster:
    """The swarm whose manager is TOWLION_DOCKER_HOST."""

    def __init__(self, ctx: "Context"):
        self._ctx = ctx

    def init(self, advertise_addr: Optional[str] = None,
             no_registry: bool = False) -> dict[str, Any]:
        """Make the engine a swarm manager (idempotent), ensure the
        platform's overlay and (unless ``no_registry``) the registry the
        nodes pull from; says whether it was one already, whether the
        overlay is encrypted (``warning``: why not) and where the registry
        is (``registry``: None without one; never its password)."""
        with self._ctx._use() as c:
            with owned(_t.tl_cluster_init(c, opts(advertise_addr=advertise_addr,
                                                  no_registry=no_registry)),
                       _t.tl_cluster_init_result_free) as r:
                reg = _t.tl_cluster_init_result_registry(r)
                return {
                    "already_initialised": bool(_t.tl_cluster_init_result_already(r)),
                    "node_id": _t.tl_cluster_init_result_node_id(r),
                    "network": _t.tl_cluster_init_result_network(r),
                    "encrypted": bool(_t.tl_cluster_init_result_encrypted(r)),
                    "warning": _t.tl_cluster_init_result_warning(r),
                    "registry": {
                        "address": reg,
                        "service": "towlion-registry",
                        "data_dir": _t.tl_cluster_init_result_registry_dir(r),
                        "created": bool(_t.tl_cluster_init_result_registry_created(r)),
                    } if reg else None,
                }

    def join_token(self, role: str = "worker") -> str:
        """The token a node joins with as ``role`` (worker, manager): a secret."""
        with self._ctx._use() as c:
            return _t.tl_cluster_join_token(c, role)

    def nodes(self) -> list[dict[str, Any]]:
        """The swarm's nodes, sorted by hostname."""
        with self._ctx._use() as c:
            with owned(_t.tl_cluster_nodes(c), _t.tl_cluster_node_list_free) as lst:
                return [_node(n) for n in items(lst, _t.tl_cluster_node_list_count,
                                                 _t.tl_cluster_node_list_at)]

    def drain(self, node: str) -> None:
        """Move every task off ``node`` (hostname, id or unique id prefix)."""
        with self._ctx._use() as c:
            _t.tl_cluster_node_set_availability(c, node, "drain")

    def activate(self, node: str) -> None:
        """Let ``node`` take tasks again."""
        with self._ctx._use() as c:
            _t.tl_cluster_node_set_availability(c, node, "active")

    def reroute(self, app: Optional[str] = None) -> list[dict[str, str]]:
        """Make the route of ``app`` (default: every app) name the tasks
        Swarm runs now; one dict per app: app, state (rerouted, unchanged,
        skipped, failed), upstreams, previous, detail."""
        with self._ctx._use() as c:
            with owned(_t.tl_cluster_reroute(c, app or ""),
                       _t.tl_cluster_reroute_result_free) as r:
                return [{"app": _t.tl_cluster_reroute_result_app(r, i),
                         "state": _t.tl_cluster_reroute_result_state(r, i),
                         "upstreams": _t.tl_cluster_reroute_result_upstreams(r, i),
                         "previous": _t.tl_cluster_reroute_result_previous(r, i),
                         "detail": _t.tl_cluster_reroute_result_detail(r, i)}
                        for i in range(_t.tl_cluster_reroute_result_count(r))]
