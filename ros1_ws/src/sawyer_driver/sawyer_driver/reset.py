"""The reset motion: a minimum-jerk joint trajectory (Flash & Hogan 1985) from the current angles to the
start pose, slow enough for the joint velocity and acceleration limits; the driver streams it in position mode."""

from __future__ import annotations

import numpy as np

PEAK_VELOCITY = 1.875  # max of d/dτ (10τ³ − 15τ⁴ + 6τ⁵) on [0, 1]
PEAK_ACCELERATION = 10.0 / np.sqrt(3.0)  # max of its second derivative


class ResetTrajectory:
    """``q(t)`` from ``start`` (t = 0) to ``goal`` (t = ``duration``), then constant; every joint arrives together."""

    def __init__(self, start: np.ndarray, goal: np.ndarray, max_velocity: np.ndarray, max_acceleration: np.ndarray,
                 min_duration: float = 0.5) -> None:
        self.start = np.asarray(start, dtype=float).copy()
        self.goal = np.asarray(goal, dtype=float).copy()
        if self.start.shape != self.goal.shape or not np.all(np.isfinite(self.start)) or not np.all(np.isfinite(self.goal)):
            raise ValueError("reset start and goal must be finite joint vectors of one length")
        dist = np.abs(self.goal - self.start)
        t_vel = PEAK_VELOCITY * dist / np.asarray(max_velocity, dtype=float)
        t_acc = np.sqrt(PEAK_ACCELERATION * dist / np.asarray(max_acceleration, dtype=float))
        self.duration = float(max(min_duration, t_vel.max(initial=0.0), t_acc.max(initial=0.0)))

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Joint angles and velocities at time ``t`` (s) since the start."""
        tau = float(np.clip(t / self.duration, 0.0, 1.0))
        s = tau**3 * (10.0 - 15.0 * tau + 6.0 * tau * tau)
        ds = 30.0 * tau * tau * (1.0 - tau) ** 2 / self.duration
        delta = self.goal - self.start
        return self.start + s * delta, ds * delta


def reset_goal(goal: np.ndarray, lower: np.ndarray, upper: np.ndarray, inset: float) -> np.ndarray:
    """The start pose moved inside the joint limits by ``inset`` where it is not already."""
    return np.clip(np.asarray(goal, dtype=float), lower + inset, upper - inset)
