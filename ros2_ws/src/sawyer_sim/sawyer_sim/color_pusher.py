"""Multi-colour Visual Pusher (thesis §3.5.1, CC-RIG): the Visual Pusher whose puck takes a random RGB colour on
each reset, so a goal is only feasible with the colour of the puck in the current scene.

The colour is drawn from the env's seeded ``np_random`` before the goal image is rendered, so the goal image of
an episode shows that episode's puck; ``reset(options={"puck_rgb": (r, g, b)})`` sets it instead (values in
[0, 1]). The colour of the current episode is ``env.puck_rgb``. Everything else is the Visual Pusher's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sawyer_sim.env import SawyerVisualEnv
from sawyer_sim.tasks import TASKS

COLOR_TASKS = {"color_pusher": TASKS["pusher"]}


class SawyerColorPusherEnv(SawyerVisualEnv):
    """Visual Pusher with a random puck colour per episode; see the module docstring."""

    tasks = COLOR_TASKS
    randomises_appearance = True  # goal images belong to one episode's scene: evaluate with reset's goal_image

    def __init__(self, task: str = "color_pusher", **kwargs: Any) -> None:
        super().__init__(task=task, **kwargs)

    @property
    def puck_rgb(self) -> np.ndarray:
        """The puck's RGB colour in this episode, in [0, 1]."""
        return self.model.geom_rgba[self._puck_geom, :3].copy()

    def _bind_objects(self) -> None:
        self._puck_geom = int(self.model.geom("puck0_geom").id)

    def _randomise_scene(self, options: dict[str, Any]) -> None:
        """A uniform random RGB colour per reset (§3.5.1), or ``options["puck_rgb"]``."""
        rgb = options.get("puck_rgb")
        if rgb is None:
            rgb = self.np_random.uniform(0.0, 1.0, 3)
        rgb = np.asarray(rgb, np.float64).reshape(-1)
        if rgb.shape != (3,) or not np.isfinite(rgb).all() or rgb.min() < 0.0 or rgb.max() > 1.0:
            raise ValueError(f"puck_rgb must be 3 numbers in [0, 1], got {options.get('puck_rgb')!r}")
        self.model.geom_rgba[self._puck_geom] = (*rgb, 1.0)
