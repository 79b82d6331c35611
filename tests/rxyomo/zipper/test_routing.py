from __future__ import annotations

from pathlib import Path

from rxyomo.protocol.frames import ClientType, HandshakeFrame
from rxyomo.zipper.routing import RoutingTable
from rxyomo.zipper.workflow import parse_workflow

SEED = parse_workflow(
    "name: s\nflows:\n  - name: f1\n  - name: f2\nsinks:\n  - name: k1\n  - name: k2\n"
)
MODERN = parse_workflow("name: m\nfunctions:\n  - name: a\n  - name: b\n  - name: c\n")


def hs(
    name: str, kind: int = ClientType.STREAM_FUNCTION, tags: tuple[int, ...] = (), target: str = ""
) -> HandshakeFrame:
    return HandshakeFrame(name=name, client_type=kind, observed_data_tags=tags, want_target=target)


def test_unknown_function_is_rejected_with_the_workflow_listing() -> None:
    table = RoutingTable(MODERN)
    admission = table.admit(1, hs("zzz"))
    assert not admission.accepted
    assert "'zzz' is not in workflow 'm'" in admission.reason
    assert "a, b, c" in admission.reason
    assert len(table) == 0


def test_sources_and_zippers_may_have_any_name() -> None:
    table = RoutingTable(MODERN)
    assert table.admit(1, hs("cam", ClientType.SOURCE)).accepted
    assert table.admit(2, hs("eu", ClientType.UPSTREAM_ZIPPER)).accepted
    assert not table.admit(3, hs("odd", 0x01)).accepted


def test_fan_out_reaches_every_function_observing_the_tag() -> None:
    table = RoutingTable(MODERN)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(2, hs("a", tags=(0x10,)))
    table.admit(3, hs("b", tags=(0x10, 0x11)))
    table.admit(4, hs("c", tags=(0x11,)))
    assert sorted(table.route(1, 0x10).connections) == [2, 3]
    assert sorted(table.route(1, 0x11).connections) == [3, 4]
    assert table.route(1, 0x12).connections == ()


def test_a_function_never_receives_its_own_output() -> None:
    table = RoutingTable(MODERN)
    table.admit(2, hs("a", tags=(0x10,)))
    table.admit(3, hs("b", tags=(0x10,)))
    assert table.route(2, 0x10).connections == (3,)


def test_instances_share_the_load_round_robin() -> None:
    table = RoutingTable(MODERN)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(2, hs("a", tags=(0x10,)))
    table.admit(3, hs("a", tags=(0x10,)))
    picks = [table.route(1, 0x10).connections for _ in range(4)]
    assert picks == [(2,), (3,), (2,), (3,)]


def test_congested_instance_is_passed_over() -> None:
    table = RoutingTable(MODERN)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(2, hs("a", tags=(0x10,)))
    table.admit(3, hs("a", tags=(0x10,)))
    picks = {table.route(1, 0x10, congested=lambda c: c == 2).connections for _ in range(4)}
    assert picks == {(3,)}


def test_broadcast_reaches_every_instance() -> None:
    table = RoutingTable(MODERN)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(2, hs("a", tags=(0x10,)))
    table.admit(3, hs("a", tags=(0x10,)))
    assert sorted(table.route(1, 0x10, broadcast=True).connections) == [2, 3]


def test_target_selects_functions_that_want_it() -> None:
    table = RoutingTable(MODERN)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(2, hs("a", tags=(0x10,), target="user-1"))
    table.admit(3, hs("b", tags=(0x10,), target="user-2"))
    assert table.route(1, 0x10, target="user-2").connections == (3,)


def test_replace_policy_evicts_the_older_instance() -> None:
    table = RoutingTable(parse_workflow("name: m\ninstances: replace\nfunctions:\n  - name: a\n"))
    table.admit(2, hs("a", tags=(1,)))
    admission = table.admit(3, hs("a", tags=(1,)))
    assert admission.accepted
    assert admission.replaced == (2,)
    assert table.endpoint(2) is None
    assert table.endpoint(3) is not None


def test_seed_flows_run_in_sequence_and_sinks_in_parallel() -> None:
    table = RoutingTable(SEED)
    table.admit(1, hs("src", ClientType.SOURCE))
    for conn, name in ((2, "f1"), (3, "f2"), (4, "k1"), (5, "k2")):
        table.admit(conn, hs(name))
    assert table.route(1, 0x10).connections == (2,)
    assert table.route(2, 0x11).connections == (3,)
    assert sorted(table.route(3, 0x12).connections) == [4, 5]
    assert table.route(4, 0x13).connections == ()


def test_seed_flow_that_observes_tags_filters_them() -> None:
    table = RoutingTable(SEED)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(2, hs("f1", tags=(0x10,)))
    assert table.route(1, 0x10).connections == (2,)
    assert table.route(1, 0x33).connections == ()


def test_frames_from_another_zipper_are_not_forwarded_again() -> None:
    table = RoutingTable(MODERN)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(9, hs("eu", ClientType.UPSTREAM_ZIPPER))
    table.admit(2, hs("a", tags=(0x10,)))
    assert table.route(1, 0x10).to_mesh
    mesh_route = table.route(9, 0x10)
    assert mesh_route.connections == (2,)
    assert not mesh_route.to_mesh


def test_removed_connection_gets_nothing() -> None:
    table = RoutingTable(MODERN)
    table.admit(1, hs("src", ClientType.SOURCE))
    table.admit(2, hs("a", tags=(0x10,)))
    table.remove(2)
    assert table.route(1, 0x10).connections == ()
    assert table.remove(2) is None


def test_a_function_the_zipper_serves_is_routed_like_a_connection_and_keeps_its_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "echo.wat").write_text("(module)")
    workflow = parse_workflow(
        "name: m\nfunctions:\n  - name: a\n    wasm: echo.wat\n    export: echo\n"
        "    observe: [0x10]\n  - name: b\n",
        base_dir=tmp_path,
    )
    table = RoutingTable(workflow)
    refused = table.admit(1, hs("a", tags=(0x10,)))
    assert not refused.accepted
    assert refused.reason == "function 'a' is served by the zipper itself"
    assert not table.admit(2, hs("b", tags=(0x11,)), local=True).accepted  # b connects
    assert table.admit(3, hs("a", tags=(0x10,)), local=True).accepted
    assert table.admit(4, hs("b", tags=(0x10, 0x11)))
    table.admit(5, hs("src", ClientType.SOURCE))
    assert sorted(table.route(5, 0x10).connections) == [3, 4]
    assert table.route(3, 0x11).connections == (4,)  # its answers go on, never back to it
    assert table.route(3, 0x10).connections == (4,)
