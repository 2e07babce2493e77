"""MuJoCo Sawyer Visual Reacher / Pusher / Multi-Object Pusher / Door / Pickup (RIG, Nair et al. 2018; Skew-Fit)
and Multi-colour Pusher (CC-RIG, thesis §3.5.1) / Varying-count Pusher (RIG §5), gymnasium API, headless.

>>> env = sawyer_sim.make("pusher", image_size=48, seed=0)

Also registered as gymnasium ids ``sawyer_sim/VisualReacher-v0``, ``sawyer_sim/VisualPusher-v0``,
``sawyer_sim/VisualMultiObjectPusher-v0``, ``sawyer_sim/VisualDoor-v0``, ``sawyer_sim/VisualPickup-v0``,
``sawyer_sim/VisualColorPusher-v0``, ``sawyer_sim/VisualVaryingPusher-v0`` and ``sawyer_sim/VisualInsertion-v0``.
Rendering is offscreen; ``MUJOCO_GL`` defaults to ``egl``.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

from typing import Any

import gymnasium as gym

from sawyer_sim.color_pusher import SawyerColorPusherEnv
from sawyer_sim.door import SawyerDoorEnv
from sawyer_sim.env import SawyerVisualEnv
from sawyer_sim.insertion import SawyerInsertionEnv
from sawyer_sim.pickup import SawyerPickupEnv
from sawyer_sim.tasks import TASKS
from sawyer_sim.varying_pusher import SawyerVaryingPusherEnv

ENV_CLASSES: dict[str, type[SawyerVisualEnv]] = {
    **dict.fromkeys(TASKS, SawyerVisualEnv), "door": SawyerDoorEnv, "pickup": SawyerPickupEnv,
    "color_pusher": SawyerColorPusherEnv, "varying_pusher": SawyerVaryingPusherEnv, "insertion": SawyerInsertionEnv}
ENV_NAMES: tuple[str, ...] = tuple(ENV_CLASSES)
GYM_IDS = {
    "reacher": "sawyer_sim/VisualReacher-v0",
    "pusher": "sawyer_sim/VisualPusher-v0",
    "multi_pusher": "sawyer_sim/VisualMultiObjectPusher-v0",
    "door": "sawyer_sim/VisualDoor-v0",
    "pickup": "sawyer_sim/VisualPickup-v0",
    "color_pusher": "sawyer_sim/VisualColorPusher-v0",
    "varying_pusher": "sawyer_sim/VisualVaryingPusher-v0",
    "insertion": "sawyer_sim/VisualInsertion-v0",
}

for _name, _id in GYM_IDS.items():
    if _id not in gym.registry:
        _cls = ENV_CLASSES[_name]
        gym.register(id=_id, entry_point=f"{_cls.__module__}:{_cls.__name__}", kwargs={"task": _name})


def make(name: str, image_size: int = 48, seed: int | None = None, **kwargs: Any) -> SawyerVisualEnv:
    """Build env ``name`` (one of ``ENV_NAMES``); extra kwargs go to :class:`SawyerVisualEnv`."""
    if name not in ENV_NAMES:
        raise ValueError(f"unknown env {name!r}; valid names: {', '.join(ENV_NAMES)}")
    return ENV_CLASSES[name](task=name, image_size=image_size, seed=seed, **kwargs)


__all__ = ["ENV_CLASSES", "ENV_NAMES", "GYM_IDS", "SawyerColorPusherEnv", "SawyerDoorEnv", "SawyerInsertionEnv",
           "SawyerPickupEnv", "SawyerVaryingPusherEnv", "SawyerVisualEnv", "make"]
