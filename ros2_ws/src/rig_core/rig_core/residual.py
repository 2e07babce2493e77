"""Residual control (Nair thesis ch. 9, residual RL on top of a hand-designed P-controller): the arm's
velocity is the learned residual plus −kp (x − x*) toward an optional Cartesian target, then made safe:
clipped to a speed limit and to a workspace box, zero on anything non-finite."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SafetyLimits:
    """Workspace box for the end effector (m; xy, or xyz for 3-D motion) and the speed limit (m/s) per axis."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    max_speed: float
    period: float  # control period (s), to keep the next position inside the box


def residual_velocity(residual: np.ndarray, max_speed: float, position: np.ndarray | None = None,
                      target: np.ndarray | None = None, kp: float = 0.0) -> np.ndarray:
    """v = max_speed · residual − kp (x − x*) (thesis ch. 9); the P term is off without a target."""
    v = np.asarray(residual, np.float64) * max_speed
    if target is not None and position is not None and kp > 0:
        v = v - kp * (np.asarray(position, np.float64) - np.asarray(target, np.float64))
    return v


def safe_velocity(v: np.ndarray, position: np.ndarray | None, limits: SafetyLimits) -> np.ndarray:
    """Zero on any non-finite or wrong-size input; otherwise clip speed and keep the next position in the box
    (as many axes as the box has)."""
    dims = len(limits.low)
    v = np.asarray(v, np.float64)
    if v.shape != (dims,) or not np.all(np.isfinite(v)):
        return np.zeros(dims)
    v = np.clip(v, -limits.max_speed, limits.max_speed)
    if position is not None:
        x = np.asarray(position, np.float64)[:dims]
        if x.shape != (dims,) or not np.all(np.isfinite(x)):
            return np.zeros(dims)
        low, high = np.asarray(limits.low), np.asarray(limits.high)
        v = np.clip(v, (low - x) / limits.period, (high - x) / limits.period)
        v = np.clip(v, -limits.max_speed, limits.max_speed)  # outside the box: head back at most max_speed
    return v
