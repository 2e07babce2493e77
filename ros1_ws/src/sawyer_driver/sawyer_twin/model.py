"""The twin's MuJoCo model (the sim's Sawyer scene, no pucks, mocap weld off) and the URDF written from it."""

from __future__ import annotations

import mujoco

from sawyer_driver.kinematics import SAWYER_JOINT_NAMES, SAWYER_VELOCITY_LIMITS
from sawyer_sim import model as scene
from sawyer_sim.env import CAMERA, FINGER_QPOS
from sawyer_twin.urdf import SAWYER_EFFORT_LIMITS, urdf_from_mujoco

ROOT_BODY = "base"
HAND_BODY = "hand"  # the sim's end effector (its env places and moves this body)
TIP_LINK = "right_gripper_tip"  # the name the URDF gives the sim's hand body
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


def sawyer_urdf(model: mujoco.MjModel) -> str:
    """URDF of the arm (root link ``base``, tip link ``right_gripper_tip`` = the sim's ``hand`` body)."""
    return urdf_from_mujoco(
        model,
        ROOT_BODY,
        robot_name="sawyer",
        velocity_limits=dict(zip(SAWYER_JOINT_NAMES, SAWYER_VELOCITY_LIMITS, strict=True)),
        effort_limits=dict(zip(SAWYER_JOINT_NAMES, SAWYER_EFFORT_LIMITS, strict=True)),
        link_names={HAND_BODY: TIP_LINK},
    )
