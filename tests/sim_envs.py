"""Helper for module fixtures in the sawyer_sim tests (a module of its own: tests/ros has a conftest too)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def open_sim_envs(names: Iterable[str]) -> Iterator[dict]:
    """Generator for module fixtures: one seeded env per name, all closed afterwards."""
    import sawyer_sim

    made = {name: sawyer_sim.make(name, seed=0) for name in names}
    yield made
    for env in made.values():
        env.close()
