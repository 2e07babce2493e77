"""Damped-least-squares inverse kinematics for placing the Sawyer hand exactly (used for resets and goal images)."""

from __future__ import annotations

import mujoco
import numpy as np

# Elbow-up arm configuration with the gripper pointing down near (0, 0.5, 0.06); the IK seed for every solve.
HOME_QPOS = np.array([2.0019, -0.4991, -0.8125, 2.0769, 1.3944, 0.7067, 1.9489])
HAND_QUAT = np.array([1.0, 0.0, 1.0, 0.0]) / np.sqrt(2.0)  # gripper pointing down, fingers spread along y


class HandIK:
    """Solve the 7 arm joints so that body ``hand`` reaches a position with orientation ``HAND_QUAT``."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, hand_body: int, n_arm: int = 7) -> None:
        self.m, self.d, self.body, self.n = model, data, hand_body, n_arm
        self.lo, self.hi = model.jnt_range[:n_arm, 0].copy(), model.jnt_range[:n_arm, 1].copy()
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        self._err = np.zeros(6)
        self._rot = np.zeros(3)

    def solve(self, target: np.ndarray, iters: int = 100, tol: float = 1e-6) -> np.ndarray:
        """Write the solution into ``data.qpos[:7]`` (kinematics updated) and return it. Deterministic."""
        m, d, n = self.m, self.d, self.n
        q = HOME_QPOS.copy()
        for _ in range(iters):
            d.qpos[:n] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            self._err[:3] = target - d.xpos[self.body]
            mujoco.mju_subQuat(self._rot, HAND_QUAT, d.xquat[self.body])
            self._err[3:] = d.xmat[self.body].reshape(3, 3) @ self._rot
            if float(self._err @ self._err) < tol * tol:
                break
            mujoco.mj_jacBody(m, d, self._jacp, self._jacr, self.body)
            jac = np.vstack((self._jacp[:, :n], self._jacr[:, :n]))
            dq = jac.T @ np.linalg.solve(jac @ jac.T + 1e-6 * np.eye(6), self._err)
            blocked = ((q <= self.lo) & (dq < 0)) | ((q >= self.hi) & (dq > 0))
            if blocked.any():  # joints pinned at a limit: solve with the others only
                jac[:, blocked] = 0.0
                dq = jac.T @ np.linalg.solve(jac @ jac.T + 1e-6 * np.eye(6), self._err)
            q = np.clip(q + dq, self.lo, self.hi)
        d.qpos[:n] = q
        return q
