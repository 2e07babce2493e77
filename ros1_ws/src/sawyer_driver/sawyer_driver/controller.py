"""End-effector velocity → joint velocity for the Sawyer: damped least squares with a posture term in the
Jacobian's null space, the orientation held, and every limit in :mod:`sawyer_driver.limits` applied.

``ArmController.step(q, dq, ee_velocity_cmd, dt)`` is the whole interface; it has no ROS and no clock, so
the driver node, the sim's arm mode and the tests run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sawyer_driver import limits
from sawyer_driver.kinematics import Kinematics, rotate, rotation_error

# Elbow-up posture, gripper pointing down, the sim's hand at (0, 0.5, 0.06) m (its pusher start), every joint
# at least 0.06 rad inside its limits (solved from sawyer_sim.ik.HOME_QPOS): the default reset pose and posture.
START_JOINTS = (1.9597, -0.56, -0.7738, 2.0731, 1.2853, 0.6651, 2.0125)


@dataclass
class ControllerConfig:
    """Every gain and limit of the controller, with the driver's defaults (SI units, robot base frame)."""

    velocity_scale: float = 0.5  # joint velocity limits are the URDF's (Sawyer: 1.74 … 4.55 rad/s) times this
    joint_acceleration: float = 8.0  # rad/s², each joint
    position_inset: float = 0.02  # rad: joints brake (at half joint_acceleration) to stop this far short of a limit
    max_speed: float = 0.3  # m/s, tip linear speed
    max_angular_speed: float = 0.6  # rad/s, tip angular speed (commanded plus orientation hold)
    max_acceleration: float = 3.0  # m/s², tip linear acceleration of the commanded twist
    workspace: limits.Workspace = field(
        default_factory=lambda: limits.Workspace(low=(-0.3, 0.4, 0.04), high=(0.3, 0.8, 0.3))
    )
    workspace_inset: float = 0.005  # m: the tip aims to stop this far inside the box (tracking error stays inside)
    orientation_gain: float = 2.0  # 1/s: angular velocity per radian of orientation error
    orientation_weight: float = 0.3  # m/rad: angular rows weigh this much against linear ones, so that damping
    # near a singularity gives up orientation before position
    damping: float = 0.05  # largest damping λ of the least-squares inverse, reached at a singularity …
    singular_threshold: float = 0.05  # … damping starts when the weighted Jacobian's smallest singular value drops below this
    posture: tuple[float, ...] = START_JOINTS
    posture_gain: float = 0.5  # 1/s, null-space pull toward ``posture``
    posture_speed: float = 0.3  # rad/s, cap on the null-space motion


@dataclass
class StepReport:
    """What limited the last step (for the driver's status and the tests)."""

    bad_input: bool = False
    speed_capped: bool = False
    at_wall: bool = False
    joints_at_limit: tuple[int, ...] = ()
    velocity_scaled: bool = False
    tip_scaled: bool = False  # the final speed / box check scaled the joint command down
    min_singular_value: float = 0.0


class ArmController:
    """Stateful per-tick controller: holds the orientation reference and the previous command."""

    def __init__(self, kinematics: Kinematics, config: ControllerConfig | None = None) -> None:
        self.kin = kinematics
        self.cfg = config or ControllerConfig()
        n = kinematics.n
        if len(self.cfg.posture) != n:
            raise ValueError(f"posture has {len(self.cfg.posture)} joints, the arm {n}")
        if not 0.0 < self.cfg.velocity_scale <= 1.0:
            raise ValueError(f"velocity_scale must be in (0, 1], got {self.cfg.velocity_scale}")
        self.vmax = kinematics.velocity_limit * self.cfg.velocity_scale
        self.posture = np.asarray(self.cfg.posture, dtype=float)
        self.report = StepReport()
        self._prev_v = np.zeros(3)
        self._prev_dq = np.zeros(n)
        self._orientation: np.ndarray | None = None

    def reset(self, q: np.ndarray, orientation: np.ndarray | None = None) -> None:
        """Start from rest at ``q``: hold ``orientation`` (3×3; default: the tip's orientation at ``q``)."""
        self._prev_v[:] = 0.0
        self._prev_dq[:] = 0.0
        self._orientation = self.kin.fk(q)[1] if orientation is None else np.asarray(orientation, dtype=float)

    def stop(self) -> None:
        """The arm was stopped outside the controller (deadman, disable): the next step starts from rest."""
        self._prev_v[:] = 0.0
        self._prev_dq[:] = 0.0

    @property
    def orientation(self) -> np.ndarray | None:
        return self._orientation

    def step(self, q: np.ndarray, dq: np.ndarray, ee_velocity_cmd: np.ndarray, dt: float) -> np.ndarray:
        """Joint velocities (n,) for one control period ``dt`` given joint state ``q, dq`` and the commanded tip
        twist ``(vx, vy, vz, wx, wy, wz)``. Non-finite state gives zeros; a non-finite command counts as zero."""
        cfg, rep = self.cfg, StepReport()
        self.report = rep
        q = np.asarray(q, dtype=float)
        if q.shape != (self.kin.n,) or not np.all(np.isfinite(q)) or not np.isfinite(dt) or dt <= 0.0:
            rep.bad_input = True
            self.stop()
            return np.zeros(self.kin.n)
        cmd = np.asarray(ee_velocity_cmd, dtype=float).reshape(-1)
        if cmd.shape != (6,) or not np.all(np.isfinite(cmd)):
            rep.bad_input = True
            cmd = np.zeros(6)
        p, rot, jac = self.kin.fk_jacobian(q)
        if self._orientation is None:
            self._orientation = rot

        # Cartesian limits: speed, acceleration (against the last command), then the box (the box wins).
        v = limits.cap_norm(cmd[:3], cfg.max_speed)
        rep.speed_capped = bool(np.linalg.norm(cmd[:3]) > cfg.max_speed)
        v = self._prev_v + limits.cap_norm(v - self._prev_v, cfg.max_acceleration * dt)
        boxed = limits.box_velocity(v, p, cfg.workspace, cfg.workspace_inset)
        rep.at_wall = bool(np.any(np.abs(boxed - v) > 1e-12))
        omega_cmd = limits.cap_norm(cmd[3:], cfg.max_angular_speed)
        self._orientation = rotate(self._orientation, omega_cmd, dt)
        omega = limits.cap_norm(omega_cmd + cfg.orientation_gain * rotation_error(self._orientation, rot), cfg.max_angular_speed)
        twist = np.concatenate([boxed, omega])
        self._prev_v = boxed

        dq_cmd = self._resolve(jac, twist, q, np.arange(self.kin.n))
        # Joint limits: acceleration and velocity (direction kept), then position (a joint at its bound is held
        # and the task re-solved with the others), then a final clip that guarantees all three.
        dq_cmd = limits.cap_change(dq_cmd, self._prev_dq, cfg.joint_acceleration * dt)
        dq_cmd = limits.scale_to_limits(dq_cmd, self.vmax)
        rep.velocity_scaled = bool(np.any(np.abs(dq_cmd) >= self.vmax - 1e-12))
        lo, hi = limits.joint_velocity_bounds(q, self.kin.lower, self.kin.upper, self.vmax, cfg.joint_acceleration,
                                              cfg.position_inset, dt)
        blocked = (dq_cmd > hi) | (dq_cmd < lo)
        if blocked.any():
            rep.joints_at_limit = tuple(int(i) for i in np.flatnonzero(blocked))
            held = np.clip(dq_cmd, lo, hi)
            free = np.flatnonzero(~blocked)
            dq_free = self._resolve(jac[:, free], twist - jac[:, blocked] @ held[blocked], q, free)
            dq_cmd = held
            dq_cmd[free] = dq_free
            dq_cmd = limits.scale_to_limits(dq_cmd, self.vmax)
        # Final clip: acceleration around the last command, inside the velocity and position bounds (which win).
        step = cfg.joint_acceleration * dt
        lo_a, hi_a = np.maximum(lo, self._prev_dq - step), np.minimum(hi, self._prev_dq + step)
        dq_cmd = np.clip(dq_cmd, np.minimum(lo_a, hi), np.maximum(hi_a, lo))
        # Joint clipping changes the tip motion: scale the whole command (every bound above contains zero) so
        # that the tip still keeps the speed limit and the box.
        tip = limits.tip_scale(jac[:3] @ dq_cmd, p, cfg.workspace, cfg.max_speed)
        rep.tip_scaled = tip < 1.0
        dq_cmd = dq_cmd * tip
        dq_cmd = limits.finite_or_zero(dq_cmd)
        self._prev_dq = dq_cmd
        return dq_cmd

    def _resolve(self, jac: np.ndarray, twist: np.ndarray, q: np.ndarray, joints: np.ndarray) -> np.ndarray:
        """Damped least squares with a singular-value-dependent damping (Nakamura & Hanafusa 1986; Chiaverini
        1997 §III), plus the posture pull projected into the Jacobian's exact null space."""
        cfg = self.cfg
        if jac.shape[1] == 0:
            return np.zeros(0)
        weight = np.array([1.0, 1.0, 1.0, *([cfg.orientation_weight] * 3)])
        jac, twist = jac * weight[:, None], twist * weight
        u, s, vt = np.linalg.svd(jac, full_matrices=True)
        self.report.min_singular_value = float(s[-1]) if len(s) == 6 else 0.0
        sigma_min = s[-1] if len(s) >= 6 else 0.0
        ratio = min(sigma_min / cfg.singular_threshold, 1.0)
        lam2 = (1.0 - ratio * ratio) * cfg.damping**2
        gains = s / (s * s + lam2 + 1e-12)
        k = len(s)
        dq = vt[:k].T @ (gains * (u[:, :k].T @ twist))
        null = vt[k:]  # rows spanning the null space of jac (one row for 7 joints and a rank-6 Jacobian)
        if null.shape[0]:
            pull = limits.cap_norm(cfg.posture_gain * (self.posture[joints] - q[joints]), cfg.posture_speed)
            dq = dq + null.T @ (null @ pull)
        return dq
