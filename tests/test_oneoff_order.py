"""`posture scan` runs checks in dependency order, adds what a check needs, and names a cycle."""

from __future__ import annotations

from typing import Any, cast

import pytest

from checks import REGISTRY, Registry
from monitor.errors import InvalidInput
from monitor.oneoff import in_dependency_order


def test_dependencies_run_first_and_are_added_when_not_asked_for() -> None:
    order = in_dependency_order(["patch"], REGISTRY)
    assert order == ["ports", "patch"]


def test_every_check_after_its_dependencies() -> None:
    order = in_dependency_order(list(REGISTRY), REGISTRY)
    assert sorted(order) == sorted(REGISTRY)
    for name in order:
        assert all(order.index(peer) < order.index(name) for peer in REGISTRY[name].depends_on)


def _node(*depends_on: str) -> Any:
    return type("Node", (), {"depends_on": depends_on})


def test_a_cycle_is_an_error_naming_it() -> None:
    registry = cast(Registry, {"a": _node("b"), "b": _node("c"), "c": _node("a")})
    with pytest.raises(InvalidInput, match="dependency cycle: a -> b -> c -> a"):
        in_dependency_order(["a"], registry)
