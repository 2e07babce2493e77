"""Visual Pusher with a varying number of objects (RIG §5, "Varying # of Objects"): the Multi-Object Pusher whose
scene holds zero, one or two of its pucks, drawn on each reset.

An absent puck is parked on a far corner of the table, out of the hand's reach, and not rendered; its state and goal
entries are the parking spot, so the observation keeps one layout whatever the count. Distances count present pucks
only (`puck_distance`: their mean, 0 with none); `info["n_pucks"]` is the count. ``puck_counts`` (constructor) are the
counts drawn from, uniformly, with the seeded ``np_random``; ``reset(options={"n_pucks": k})`` sets one (RIG §5 trains
with both pucks and tests with 0–2: ``puck_counts=(2,)`` for training).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sawyer_sim.env import HIDDEN_GROUP, SawyerVisualEnv
from sawyer_sim.tasks import MOVED_DISTANCE, TASKS

VARYING_TASKS = {"varying_pusher": TASKS["multi_pusher"]}
PARKED = ((-0.62, 1.0), (0.62, 1.0))  # m: where absent pucks wait (on the table, far outside the hand rectangle)


class SawyerVaryingPusherEnv(SawyerVisualEnv):
    """Multi-Object Pusher with 0, 1 or 2 pucks per episode; see the module docstring."""

    tasks = VARYING_TASKS
    randomises_appearance = True  # goal images belong to one episode's scene: evaluate with reset's goal_image

    def __init__(self, task: str = "varying_pusher", puck_counts: tuple[int, ...] = (0, 1, 2), **kwargs: Any) -> None:
        if not puck_counts or any(k not in (0, 1, 2) for k in puck_counts):
            raise ValueError(f"puck_counts must be a non-empty choice of 0, 1 and 2, got {puck_counts!r}")
        self.puck_counts = tuple(int(k) for k in puck_counts)
        self.present = np.ones(2, bool)
        super().__init__(task=task, **kwargs)

    @property
    def n_present(self) -> int:
        return int(self.present.sum())

    def _bind_objects(self) -> None:
        self._puck_geoms = [int(self.model.geom(f"puck{i}_geom").id) for i in range(2)]
        self._shown_group = int(self.model.geom_group[self._puck_geoms[0]])

    def _randomise_scene(self, options: dict[str, Any]) -> None:
        k = options.get("n_pucks")
        if k is None:
            k = self.puck_counts[int(self.np_random.integers(len(self.puck_counts)))]
        if k not in (0, 1, 2):
            raise ValueError(f"n_pucks must be 0, 1 or 2, got {k!r}")
        self.present[:] = (True, True) if k == 2 else (False, False)
        if k == 1:
            self.present[int(self.np_random.integers(2))] = True
        for geom, shown in zip(self._puck_geoms, self.present, strict=True):
            self.model.geom_group[geom] = self._shown_group if shown else HIDDEN_GROUP

    def _park(self, state: np.ndarray) -> np.ndarray:
        state = np.array(state, dtype=np.float64)
        for i, spot in enumerate(PARKED):
            if not self.present[i]:
                state[2 + 2 * i : 4 + 2 * i] = spot
        return state

    def sample_goal_state(self, rng: np.random.Generator) -> np.ndarray:
        return self._park(super().sample_goal_state(rng)).astype(np.float32)

    def _pose(self, state: np.ndarray) -> None:
        super()._pose(self._park(state))

    def _check_state(self, state: Any, what: str) -> np.ndarray:
        return self._park(super()._check_state(state, what))  # a given goal parks the absent pucks too

    def objects_moved(self, states: np.ndarray) -> np.ndarray:
        """As the Multi-Object Pusher's, with parked (absent) pucks never counted as moved."""
        states = np.asarray(states, np.float64).reshape(len(states), -1)
        pucks = states[:, 2:].reshape(len(states), 2, 2)
        starts = np.asarray(self.task_spec.puck_starts, np.float64)[None]
        parked = np.linalg.norm(pucks - np.asarray(PARKED)[None], axis=-1) < 0.01
        return ((np.linalg.norm(pucks - starts, axis=-1) > MOVED_DISTANCE) & ~parked).any(axis=1)

    def _info(self, state: np.ndarray) -> dict[str, float]:
        ee = float(np.linalg.norm(state[:2] - self._goal[:2]))
        pucks = [float(np.linalg.norm(state[2 + 2 * i : 4 + 2 * i] - self._goal[2 + 2 * i : 4 + 2 * i])) if self.present[i]
                 else 0.0 for i in range(2)]
        shown = [d for d, p in zip(pucks, self.present, strict=True) if p]
        return {"ee_distance": ee, "puck1_distance": pucks[0], "puck2_distance": pucks[1],
                "puck_distance": float(np.mean(shown)) if shown else 0.0, "total_distance": ee + sum(pucks),
                "n_pucks": float(self.n_present)}
