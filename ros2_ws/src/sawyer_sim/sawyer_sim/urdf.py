"""Write a URDF for a kinematic subtree of a compiled MuJoCo model: the twin serves it as /robot_description and
the driver arm mode (:mod:`sawyer_sim.driver_arm`) builds the driver's kinematics from it.

Each body becomes a link with its inertia; a hinge joint becomes ``revolute``, a slide joint ``prismatic``,
a body without joints a ``fixed`` joint. A link frame sits at its joint's anchor, so the URDF's forward
kinematics equals MuJoCo's body poses. Velocity and effort limits, which MJCF does not carry, are given by
the caller. Meshes are not written: the URDF is for kinematics and dynamics, not for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from xml.sax.saxutils import quoteattr

import mujoco
import numpy as np

from sawyer_driver.kinematics import SAWYER_JOINT_NAMES, SAWYER_VELOCITY_LIMITS

# Sawyer effort limits (N·m), right_j0 .. right_j6, as on the robot.
SAWYER_EFFORT_LIMITS = (80.0, 80.0, 40.0, 40.0, 9.0, 9.0, 9.0)
ROOT_BODY = "base"
HAND_BODY = "hand"  # the sim's end effector (its env places and moves this body)
TIP_LINK = "right_gripper_tip"  # the name the URDF gives the sim's hand body


def sawyer_urdf(model: mujoco.MjModel) -> str:
    """URDF of the sim's arm (root link ``base``, tip link ``right_gripper_tip`` = the sim's ``hand`` body)."""
    return urdf_from_mujoco(
        model,
        ROOT_BODY,
        robot_name="sawyer",
        velocity_limits=dict(zip(SAWYER_JOINT_NAMES, SAWYER_VELOCITY_LIMITS, strict=True)),
        effort_limits=dict(zip(SAWYER_JOINT_NAMES, SAWYER_EFFORT_LIMITS, strict=True)),
        link_names={HAND_BODY: TIP_LINK},
    )


def _transform(pos: np.ndarray, quat_wxyz: np.ndarray | None = None) -> np.ndarray:
    t = np.eye(4)
    t[:3, 3] = pos
    if quat_wxyz is not None:
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, np.asarray(quat_wxyz, dtype=float))
        t[:3, :3] = rot.reshape(3, 3)
    return t


def _rpy(rot: np.ndarray) -> tuple[float, float, float]:
    """URDF roll-pitch-yaw (R = Rz(yaw) Ry(pitch) Rx(roll)) of a rotation matrix."""
    pitch = float(np.arctan2(-rot[2, 0], np.hypot(rot[0, 0], rot[1, 0])))
    if abs(abs(pitch) - np.pi / 2) < 1e-9:  # gimbal lock: put the whole turn in yaw
        return 0.0, pitch, float(np.arctan2(-rot[0, 1], rot[1, 1]))
    return float(np.arctan2(rot[2, 1], rot[2, 2])), pitch, float(np.arctan2(rot[1, 0], rot[0, 0]))


def _origin(t: np.ndarray) -> str:
    xyz = " ".join(f"{v:.9g}" for v in t[:3, 3])
    rpy = " ".join(f"{v:.12g}" for v in _rpy(t[:3, :3]))
    return f'<origin xyz="{xyz}" rpy="{rpy}"/>'


def _subtree(model: mujoco.MjModel, root: int, stop: set[int]) -> list[int]:
    """Bodies under ``root`` (root first, parents before children), not descending into ``stop``."""
    out, frontier = [root], [root]
    while frontier:
        parent = frontier.pop(0)
        children = [b for b in range(model.nbody) if model.body_parentid[b] == parent and b != parent and b not in stop]
        out += children
        frontier += children
    return out


def urdf_from_mujoco(
    model: mujoco.MjModel,
    root_body: str,
    *,
    robot_name: str = "sawyer",
    velocity_limits: Mapping[str, float],
    effort_limits: Mapping[str, float],
    link_names: Mapping[str, str] | None = None,
    exclude_bodies: tuple[str, ...] = (),
) -> str:
    """URDF text for the subtree of ``root_body``; ``link_names`` renames bodies (e.g. the sim's ``hand``)."""
    body_id = lambda name: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)  # noqa: E731
    root = body_id(root_body)
    if root < 0:
        raise ValueError(f"body {root_body!r} is not in the MuJoCo model")
    stop = {body_id(n) for n in exclude_bodies} - {-1}
    rename = dict(link_names or {})
    name = lambda b: rename.get(model.body(b).name, model.body(b).name)  # noqa: E731
    link_frame: dict[int, np.ndarray] = {}  # link frame relative to its body frame (at the joint anchor)
    parts = [f'<?xml version="1.0"?>\n<robot name="{robot_name}">']
    for b in _subtree(model, root, stop):
        njnt = int(model.body_jntnum[b])
        if njnt > 1:
            raise ValueError(f"body {model.body(b).name!r} has {njnt} joints; URDF allows one")
        jnt = int(model.body_jntadr[b]) if njnt else -1
        link_frame[b] = _transform(model.jnt_pos[jnt]) if jnt >= 0 else np.eye(4)
        inertial = np.linalg.inv(link_frame[b]) @ _transform(model.body_ipos[b], model.body_iquat[b])
        ixx, iyy, izz = (float(v) for v in model.body_inertia[b])
        parts.append(
            f'  <link name={quoteattr(name(b))}>\n    <inertial>\n      {_origin(inertial)}\n'
            f'      <mass value="{float(model.body_mass[b]):.9g}"/>\n'
            f'      <inertia ixx="{ixx:.9g}" ixy="0" ixz="0" iyy="{iyy:.9g}" iyz="0" izz="{izz:.9g}"/>\n'
            f"    </inertial>\n  </link>"
        )
        if b == root:
            continue
        parent = int(model.body_parentid[b])
        origin = np.linalg.inv(link_frame[parent]) @ _transform(model.body_pos[b], model.body_quat[b]) @ link_frame[b]
        parts.append(_joint_xml(model, jnt, name(parent), name(b), origin, velocity_limits, effort_limits))
    parts.append("</robot>\n")
    return "\n".join(parts)


def _joint_xml(
    model: mujoco.MjModel,
    jnt: int,
    parent: str,
    child: str,
    origin: np.ndarray,
    velocity_limits: Mapping[str, float],
    effort_limits: Mapping[str, float],
) -> str:
    head = f"  <joint name={{name}} type={{kind}}>\n    {_origin(origin)}\n"
    links = f"    <parent link={quoteattr(parent)}/>\n    <child link={quoteattr(child)}/>\n"
    if jnt < 0:
        return head.format(name=quoteattr(f"{parent}__{child}"), kind='"fixed"') + links + "  </joint>"
    jtype = int(model.jnt_type[jnt])
    kinds = {int(mujoco.mjtJoint.mjJNT_HINGE): "revolute", int(mujoco.mjtJoint.mjJNT_SLIDE): "prismatic"}
    if jtype not in kinds:
        raise ValueError(f"joint {model.joint(jnt).name!r}: only hinge and slide joints map to URDF")
    jname = model.joint(jnt).name
    kind = kinds[jtype] if model.jnt_limited[jnt] or jtype != mujoco.mjtJoint.mjJNT_HINGE else "continuous"
    axis = " ".join(f"{v:.9g}" for v in model.jnt_axis[jnt])
    lo, hi = (float(v) for v in model.jnt_range[jnt])
    vel, eff = float(velocity_limits.get(jname, 1.0)), float(effort_limits.get(jname, 10.0))
    limit = f'lower="{lo:.9g}" upper="{hi:.9g}" ' if kind != "continuous" else ""
    return (
        head.format(name=quoteattr(jname), kind=f'"{kind}"') + links + f'    <axis xyz="{axis}"/>\n'
        f'    <limit {limit}velocity="{vel:.9g}" effort="{eff:.9g}"/>\n  </joint>'
    )
