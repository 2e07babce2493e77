"""The twin's MuJoCo model (the sim's Sawyer scene, no pucks, mocap weld off); its URDF is the sim's."""

from __future__ import annotations

import mujoco

from sawyer_sim import model as scene
from sawyer_sim.env import CAMERA, FINGER_QPOS
from sawyer_sim.urdf import HAND_BODY, ROOT_BODY, TIP_LINK, sawyer_urdf

__all__ = ["HAND_BODY", "ROOT_BODY", "TIP_LINK", "WELD", "build_model", "finger_qpos", "sawyer_urdf"]

WELD = "hand_to_mocap"


def build_model(timestep: float = 0.002, mesh_keep: float | None = 0.1) -> mujoco.MjModel:
    """The sim's Sawyer scene without pucks, physics at ``timestep``; the hand is free of the mocap weld."""
    xml = scene.build_xml([], timestep=timestep, keep=mesh_keep, offsize=64, fovy=45.0, **CAMERA)
    model = scene.load_model(xml)
    weld = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_EQUALITY, WELD)
    model.eq_active0[weld] = 0
    return model


def finger_qpos() -> tuple[float, float]:
    """Closed-gripper finger positions, as the sim sets them."""
    return FINGER_QPOS
