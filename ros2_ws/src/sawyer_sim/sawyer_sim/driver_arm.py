"""The env's driver arm mode: end-effector velocity actions go through the real arm driver's controller
(:class:`sawyer_driver.ArmController`, in process, no ROS) to joint velocities at the driver's 100 Hz, and a
joint servo makes the physics follow them, so RIG practises on the code that moves the real Sawyer.

The mocap weld is off. Per env step (``frame_skip`` × ``timestep`` = 0.1 s) the xy velocity of the action
(``action × MAX_STEP`` per control period, as in mocap mode) is commanded for every 10 ms tick; z is held
at ``HAND_Z`` by a proportional term and the orientation at ``HAND_QUAT`` by the controller. The controller
keeps all the driver's limits (joint velocity / position / acceleration, Cartesian speed and acceleration,
workspace box). The box is the task's hand rectangle widened by the controller's wall inset, so the hand
reaches the same rectangle the mocap target is clipped to, with a few cm of z.
"""

from __future__ import annotations

from dataclasses import replace

import mujoco
import numpy as np

from sawyer_driver import SAWYER_JOINT_NAMES, ArmController, ControllerConfig, Kinematics, Workspace
from sawyer_driver.kinematics import rotation_error
from sawyer_sim.ik import HAND_QUAT
from sawyer_sim.joint_servo import JointServo
from sawyer_sim.urdf import TIP_LINK, sawyer_urdf

DRIVER_PERIOD = 0.01  # s: the driver's 100 Hz joint command loop
WELD = "hand_to_mocap"
Z_GAIN = 5.0  # 1/s: vertical velocity per metre of height error
Z_RANGE = 0.03  # m: the box's half-height around HAND_Z
RESET_INSET = 0.03  # rad: reset poses keep every joint this far inside its range (beyond the braking margin)


def reset_joints(kin: Kinematics, position: np.ndarray, rotation: np.ndarray, posture: np.ndarray,
                 inset: float = RESET_INSET, iters: int = 100) -> tuple[np.ndarray, bool]:
    """Joint angles with the tip at ``position`` / ``rotation``, every joint ``inset`` inside its range, and the
    redundancy spent on staying near ``posture``. Newton steps on the Jacobian's pseudo-inverse plus a null-space
    pull; a joint that would leave its range is held at the bound and the step re-solved with the others.
    Returns ``(q, converged)``. (The env's own IK may leave a joint on its limit, where the driver would brake.)"""
    lo, hi = kin.lower + inset, kin.upper - inset
    q = np.clip(np.asarray(posture, dtype=float), lo, hi)
    for _ in range(iters):
        tip, rot, jac = kin.fk_jacobian(q)
        err = np.concatenate([position - tip, rotation_error(rotation, rot)])
        if np.linalg.norm(err[:3]) < 1e-6 and np.linalg.norm(err[3:]) < 1e-5:
            return q, True
        free = np.ones(kin.n, bool)
        while free.any():
            j_free = jac[:, free]
            pinv = np.linalg.pinv(j_free)
            dq = np.zeros(kin.n)
            dq[free] = pinv @ err + (np.eye(int(free.sum())) - pinv @ j_free) @ (0.3 * (posture - q)[free])
            leaving = free & ((q + dq < lo) | (q + dq > hi))
            if not leaving.any():
                break
            free &= ~leaving
        q = np.clip(q + dq, lo, hi)
    return q, False


class DriverArm:
    """Drives the env's arm through the driver's controller; ``move(velocity_xy)`` runs one env step."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, hand_body: int, hand_low: np.ndarray,
                 hand_high: np.ndarray, hand_z: float, frame_skip: int) -> None:
        substeps = round(DRIVER_PERIOD / model.opt.timestep)
        if substeps < 1 or abs(substeps * model.opt.timestep - DRIVER_PERIOD) > 1e-9 or frame_skip % substeps:
            raise ValueError(f"driver arm mode needs a physics timestep that divides {DRIVER_PERIOD} s and a frame_skip that "
                             f"is a multiple of their ratio; got timestep {model.opt.timestep}, frame_skip {frame_skip}")
        base = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "base")
        if np.any(model.body_pos[base] != 0) or np.any(model.body_quat[base] != (1, 0, 0, 0)):
            raise ValueError("driver arm mode expects the robot base at the world origin")
        self.model, self.data, self.hand, self.hand_z = model, data, hand_body, float(hand_z)
        self.substeps, self.ticks = substeps, frame_skip // substeps
        model.eq_active0[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_EQUALITY, WELD)] = 0
        data.eq_active[:] = model.eq_active0
        self.servo = JointServo(model, data, SAWYER_JOINT_NAMES)
        model.dof_damping[self.servo.dadr] = 0.0  # the robot's joint controller compensates friction (as the twin)
        kin = Kinematics(sawyer_urdf(model), SAWYER_JOINT_NAMES, tip_link=TIP_LINK)
        defaults = ControllerConfig()
        inset = defaults.workspace_inset
        box = Workspace(low=(hand_low[0] - inset, hand_low[1] - inset, hand_z - Z_RANGE),
                        high=(hand_high[0] + inset, hand_high[1] + inset, hand_z + Z_RANGE))
        self.controller = ArmController(kin, replace(defaults, workspace=box))
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, HAND_QUAT)
        self.orientation = rot.reshape(3, 3)

    def reset(self) -> None:
        """The env placed the arm at rest: re-pose the joints inside their ranges (same hand pose), and start the
        controller from rest, gripper down."""
        q, converged = reset_joints(self.controller.kin, self.data.xpos[self.hand].copy(), self.orientation,
                                     self.controller.posture)
        if converged:
            self.data.qpos[self.servo.qadr] = q
            self.data.qvel[self.servo.dadr] = 0.0
            mujoco.mj_forward(self.model, self.data)
        self.controller.reset(self.servo.joints()[0], self.orientation)

    def move(self, velocity_xy: np.ndarray) -> None:
        """Command the hand's xy velocity (m/s) for one env step: ``ticks`` driver ticks of ``substeps`` physics steps."""
        m, d = self.model, self.data
        for _ in range(self.ticks):
            q, dq = self.servo.joints()
            vz = Z_GAIN * (self.hand_z - d.xpos[self.hand, 2])
            dq_cmd = self.controller.step(q, dq, np.array([velocity_xy[0], velocity_xy[1], vz, 0.0, 0.0, 0.0]),
                                          DRIVER_PERIOD)
            for _ in range(self.substeps):
                self.servo.apply(d.qpos[self.servo.qadr], dq_cmd)
                mujoco.mj_step(m, d)
