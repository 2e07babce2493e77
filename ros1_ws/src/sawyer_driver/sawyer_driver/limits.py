"""Limits applied to every command before it reaches the arm (pure numpy, no state).

Cartesian: speed caps, an acceleration cap and a workspace box with an exponential approach to its walls.
Joint: velocity caps scaled as one vector (direction kept), per-joint velocity bounds that brake a joint
before its position limit and stop it there, and an acceleration cap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workspace:
    """Axis-aligned box (m, robot base frame) the tip must stay in; ``approach_rate`` (1/s) sets how fast
    the allowed speed toward a wall falls with the distance to it (v ≤ rate · distance)."""

    low: tuple[float, float, float]
    high: tuple[float, float, float]
    approach_rate: float = 5.0

    def __post_init__(self) -> None:
        if not np.all(np.isfinite(self.low + self.high)) or np.any(np.asarray(self.low) >= np.asarray(self.high)):
            raise ValueError(f"workspace box needs finite low < high on every axis, got low={self.low} high={self.high}")

    def contains(self, p: np.ndarray, tol: float = 0.0) -> bool:
        return bool(np.all(p >= np.asarray(self.low) - tol) and np.all(p <= np.asarray(self.high) + tol))


def finite_or_zero(x: np.ndarray) -> np.ndarray:
    """``x`` if every entry is finite, else zeros of its shape (one bad entry voids the whole command)."""
    x = np.asarray(x, dtype=float)
    return x if np.all(np.isfinite(x)) else np.zeros_like(x)


def cap_norm(v: np.ndarray, max_norm: float) -> np.ndarray:
    """``v`` scaled down so that its Euclidean norm is at most ``max_norm``."""
    n = float(np.linalg.norm(v))
    return v * (max_norm / n) if n > max_norm else v


def cap_change(v: np.ndarray, previous: np.ndarray, max_change: float | np.ndarray) -> np.ndarray:
    """``v`` moved toward ``previous`` so each entry changes by at most ``max_change`` (change scaled as one vector)."""
    delta = v - previous
    ratio = np.max(np.abs(delta) / np.asarray(max_change, dtype=float)) if delta.size else 0.0
    return previous + delta / ratio if ratio > 1.0 else v


def box_velocity(v: np.ndarray, p: np.ndarray, box: Workspace, inset: float = 0.0) -> np.ndarray:
    """Linear velocity ``v`` with each axis bounded by ``approach_rate × distance`` to the wall it moves toward;
    outside the box (beyond ``inset`` from a wall) the bound turns negative and leads the tip back in."""
    low, high = np.asarray(box.low) + inset, np.asarray(box.high) - inset
    upper = box.approach_rate * (high - p)
    lower = box.approach_rate * (low - p)
    return np.minimum(np.maximum(v, lower), upper)


def scale_to_limits(dq: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """``dq`` scaled as one vector so that ``|dq_i| ≤ limits_i`` for every joint."""
    ratio = float(np.max(np.abs(dq) / limits))
    return dq / ratio if ratio > 1.0 else dq


def joint_velocity_bounds(
    q: np.ndarray, lower: np.ndarray, upper: np.ndarray, vmax: np.ndarray, acceleration: float, inset: float, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint velocity bounds (lo, hi) near the position limits: a joint moving toward ``limit ∓ inset`` slows
    down on the braking curve v = √(2·(a/2)·distance) (a slow-down margin that grows with speed, braking at half
    the acceleration limit ``a`` so that discrete steps stay within it), never steps past that point within
    ``dt``, and may only move away once there. Away from the limits the bound is ``vmax``."""
    room_up = np.maximum(upper - inset - q, 0.0)
    room_down = np.maximum(q - (lower + inset), 0.0)
    hi = np.minimum.reduce([vmax, np.sqrt(acceleration * room_up), room_up / dt])
    lo = -np.minimum.reduce([vmax, np.sqrt(acceleration * room_down), room_down / dt])
    return lo, hi


def tip_scale(v: np.ndarray, p: np.ndarray, box: Workspace, max_speed: float) -> float:
    """Factor in [0, 1] for a joint command whose tip velocity is ``v``: brings the speed to ``max_speed`` and
    each axis within the box bound of :func:`box_velocity` (without inset), the last word after joint clipping."""
    scale = min(1.0, max_speed / max(float(np.linalg.norm(v)), 1e-12))
    upper = box.approach_rate * (np.asarray(box.high) - p)
    lower = box.approach_rate * (np.asarray(box.low) - p)
    for vi, lo, hi in zip(v * scale, lower, upper, strict=True):
        if vi > max(hi, 0.0) + 1e-12:
            scale *= max(hi, 0.0) / vi
        elif vi < min(lo, 0.0) - 1e-12:
            scale *= min(lo, 0.0) / vi
    return float(max(scale, 0.0))
