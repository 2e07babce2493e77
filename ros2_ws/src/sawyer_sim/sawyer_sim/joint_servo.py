"""A computed-torque joint servo for the sim's Sawyer: the physics follows a joint reference the way the
robot's own joint controller follows intera's commands (the twin and the driver arm mode both use it).

Torque = M(q) · (kp (q_ref − q) + kd (dq_ref − dq)) + bias (gravity, Coriolis), on the named joints only,
written to ``qfrc_applied`` before each physics step. Gains are per unit inertia: a critically damped
second-order loop at ``frequency`` rad/s. Pass ``q_ref = q`` for a pure velocity loop (a stop then does
not overshoot).
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np


class JointServo:
    """Inertia-weighted PD plus bias compensation on ``joint_names`` of ``model``."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, joint_names: Sequence[str], frequency: float = 60.0) -> None:
        self.model, self.data = model, data
        self.qadr = np.array([model.jnt_qposadr[model.joint(n).id] for n in joint_names])
        self.dadr = np.array([model.jnt_dofadr[model.joint(n).id] for n in joint_names])
        self.kp, self.kd = frequency**2, 2.0 * frequency
        self._acc = np.zeros(model.nv)
        self._torque = np.zeros(model.nv)

    def joints(self) -> tuple[np.ndarray, np.ndarray]:
        """Joint angles and velocities (copies), in ``joint_names`` order."""
        return self.data.qpos[self.qadr].copy(), self.data.qvel[self.dadr].copy()

    def apply(self, q_ref: np.ndarray, dq_ref: np.ndarray) -> None:
        """Set the joint torques for the next physics step (other dofs get no applied force)."""
        d = self.data
        self._acc[:] = 0.0
        self._acc[self.dadr] = self.kp * (q_ref - d.qpos[self.qadr]) + self.kd * (dq_ref - d.qvel[self.dadr])
        mujoco.mj_mulM(self.model, d, self._torque, self._acc)
        d.qfrc_applied[:] = 0.0
        d.qfrc_applied[self.dadr] = self._torque[self.dadr] + d.qfrc_bias[self.dadr]
