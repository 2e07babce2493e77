"""The twin's arm: MuJoCo physics of the sim's Sawyer driven the way intera's joint controller drives the
robot (no ROS here). Commands set a joint reference (velocity mode: a joint velocity); a computed-torque
servo (inertia-weighted PD plus gravity and Coriolis compensation) makes the physics follow it.

Modes, as on the robot: velocity (the reference moves at the commanded joint velocities) and position (the
reference moves toward the commanded angles at ``speed_ratio`` × the joint velocity limits). A command older
than ``command_timeout`` ends the mode and the arm holds where it is; so does a disabled or stopped robot.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sawyer_driver.kinematics import SAWYER_JOINT_NAMES, SAWYER_VELOCITY_LIMITS
from sawyer_sim.joint_servo import JointServo
from sawyer_twin.model import HAND_BODY, build_model, finger_qpos

POSITION_MODE, VELOCITY_MODE = 1, 2


@dataclass
class ArmState:
    """Joint angles and velocities (right_j0 .. right_j6) and the hand's pose and velocity (base frame)."""

    q: np.ndarray
    dq: np.ndarray
    hand_pos: np.ndarray
    hand_quat_wxyz: np.ndarray
    hand_linvel: np.ndarray
    hand_angvel: np.ndarray


class TwinArm:
    """MuJoCo Sawyer with intera-like joint command modes; ``advance(seconds)`` runs the physics."""

    def __init__(self, start_q: np.ndarray, timestep: float = 0.002, servo_frequency: float = 60.0) -> None:
        self.model = build_model(timestep=timestep)
        self.data = mujoco.MjData(self.model)
        self.n = len(SAWYER_JOINT_NAMES)
        self.joint_names = SAWYER_JOINT_NAMES
        self.vmax = np.array(SAWYER_VELOCITY_LIMITS)
        self._servo = JointServo(self.model, self.data, SAWYER_JOINT_NAMES, servo_frequency)
        self._qadr, self._dadr = self._servo.qadr, self._servo.dadr
        self._fingers = [self.model.jnt_qposadr[self.model.joint(n).id] for n in ("r_close", "l_close")]
        self._hand = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, HAND_BODY)
        # intera's joint controller compensates joint friction; the MJCF's damping would also be integrated
        # implicitly (beyond what the servo can cancel), so the twin's arm joints have none.
        self.model.dof_damping[self._dadr] = 0.0
        # Holding and position mode: the servo's critically damped position loop. Velocity mode: its velocity
        # loop alone (the reference follows the arm), so a stop does not overshoot; holding starts where the arm is.
        self.speed_ratio = 0.3
        self.command_timeout = 0.2
        self.mode: int | None = None
        self.time = 0.0
        self._ref = np.zeros(self.n)
        self._ref_vel = np.zeros(self.n)
        self._target = np.zeros(self.n)
        self._last_command = -np.inf
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))
        self.set_joints(np.asarray(start_q, dtype=float))

    def set_joints(self, q: np.ndarray) -> None:
        """Place the arm at rest at ``q`` and hold it there."""
        self.data.qpos[self._qadr] = q
        self.data.qpos[self._fingers] = finger_qpos()
        self.data.qvel[:] = 0.0
        self._ref[:] = q
        self._ref_vel[:] = 0.0
        self.mode = None
        mujoco.mj_forward(self.model, self.data)

    def command(self, mode: int, positions: np.ndarray | None, velocities: np.ndarray | None) -> None:
        """A joint command (joint order of ``joint_names``), as ``/robot/limb/right/joint_command`` carries it."""
        if mode == VELOCITY_MODE and velocities is not None:
            self._ref_vel[:] = velocities
        elif mode == POSITION_MODE and positions is not None:
            self._target[:] = positions
        else:
            return
        if mode != self.mode:
            self._ref[:] = self.data.qpos[self._qadr]
        self.mode = mode
        self._last_command = self.time

    def hold(self) -> None:
        """Leave control mode: hold where the arm is (timeout, disable, e-stop)."""
        if self.mode == VELOCITY_MODE:
            self._ref[:] = self.data.qpos[self._qadr]
        self.mode = None
        self._ref_vel[:] = 0.0

    def advance(self, seconds: float) -> None:
        """Run the physics for ``seconds`` (whole steps), the servo tracking the moving reference."""
        m, d = self.model, self.data
        for _ in range(max(1, round(seconds / m.opt.timestep))):
            dt = m.opt.timestep
            if self.mode is not None and self.time - self._last_command > self.command_timeout:
                self.hold()
            vel = np.zeros(self.n)
            if self.mode == VELOCITY_MODE:
                vel = self._ref_vel
            elif self.mode == POSITION_MODE:
                step = np.clip(self._target - self._ref, -self.vmax * self.speed_ratio * dt, self.vmax * self.speed_ratio * dt)
                vel = step / dt
            self._ref = self._ref + vel * dt
            if self.mode == VELOCITY_MODE:
                self._ref[:] = d.qpos[self._qadr]
            self._servo.apply(self._ref, vel)
            mujoco.mj_step(m, d)
            self.time += dt

    def state(self) -> ArmState:
        """The measured state, as the robot publishes it."""
        mujoco.mj_jacBody(self.model, self.data, self._jacp, self._jacr, self._hand)  # at the body origin
        return ArmState(
            q=self.data.qpos[self._qadr].copy(),
            dq=self.data.qvel[self._dadr].copy(),
            hand_pos=self.data.xpos[self._hand].copy(),
            hand_quat_wxyz=self.data.xquat[self._hand].copy(),
            hand_linvel=self._jacp @ self.data.qvel,
            hand_angvel=self._jacr @ self.data.qvel,
        )
