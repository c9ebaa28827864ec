"""Dependency order: the one topological sort of the driver (resources, recorded state, stacks)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence


def topological_order(
    nodes: Sequence[str],
    dependencies: Mapping[str, Iterable[str]],
    *,
    on_cycle: Callable[[list[str]], Exception] | None = None,
) -> list[str]:
    """``nodes`` with each one after its dependencies, otherwise in the given order.

    Each node's dependencies are visited in the order ``dependencies`` gives them; one that is not
    in ``nodes`` is skipped. A cycle raises ``on_cycle(chain)`` (the chain ends where it started);
    without ``on_cycle`` it is broken where it was entered.
    """
    known = set(nodes)
    ordered: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, chain: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            if on_cycle is None:
                return
            raise on_cycle(chain[chain.index(node) :] + [node])
        state[node] = 1
        for dep in dependencies.get(node, ()):
            if dep in known:
                visit(dep, chain + [node])
        state[node] = 2
        ordered.append(node)

    for node in nodes:
        visit(node, [])
    return ordered


def transitive_dependencies(graph: Mapping[str, Iterable[str]], start: str) -> set[str]:
    """Everything ``start`` depends on, directly or through others."""
    seen: set[str] = set()
    stack = list(graph.get(start, ()))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(graph.get(node, ()))
    return seen
