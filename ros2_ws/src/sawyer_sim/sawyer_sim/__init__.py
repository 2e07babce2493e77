"""MuJoCo Sawyer Visual Reacher / Pusher / Multi-Object Pusher (RIG, Nair et al. 2018), gymnasium API, headless.

>>> env = sawyer_sim.make("pusher", image_size=48, seed=0)

Also registered as gymnasium ids ``sawyer_sim/VisualReacher-v0``, ``sawyer_sim/VisualPusher-v0`` and
``sawyer_sim/VisualMultiObjectPusher-v0``. Rendering is offscreen; ``MUJOCO_GL`` defaults to ``egl``.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from typing import Any

import gymnasium as gym

from sawyer_sim.env import SawyerVisualEnv
from sawyer_sim.tasks import TASKS

ENV_NAMES: tuple[str, ...] = tuple(TASKS)
GYM_IDS = {
    "reacher": "sawyer_sim/VisualReacher-v0",
    "pusher": "sawyer_sim/VisualPusher-v0",
    "multi_pusher": "sawyer_sim/VisualMultiObjectPusher-v0",
}

for _name, _id in GYM_IDS.items():
    if _id not in gym.registry:
        gym.register(id=_id, entry_point="sawyer_sim.env:SawyerVisualEnv", kwargs={"task": _name})


def make(name: str, image_size: int = 48, seed: int | None = None, **kwargs: Any) -> SawyerVisualEnv:
    """Build env ``name`` (one of ``ENV_NAMES``); extra kwargs go to :class:`SawyerVisualEnv`."""
    if name not in ENV_NAMES:
        raise ValueError(f"unknown env {name!r}; valid names: {', '.join(ENV_NAMES)}")
    return SawyerVisualEnv(task=name, image_size=image_size, seed=seed, **kwargs)


__all__ = ["ENV_NAMES", "GYM_IDS", "SawyerVisualEnv", "make"]
