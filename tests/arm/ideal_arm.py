"""An ideal arm for controller tests: joint velocities integrate exactly (q += dq·dt)."""

from __future__ import annotations

import numpy as np

from sawyer_driver import ArmController


def integrate(ctl: ArmController, q: np.ndarray, twist, steps: int, dt: float = 0.01):
    """Run the controller on an ideal arm (q += dq·dt); returns the joint and tip trajectories."""
    qs, ps, dqs = [], [], []
    for _ in range(steps):
        cmd = twist() if callable(twist) else twist
        dq = ctl.step(q, np.zeros_like(q), np.asarray(cmd, dtype=float), dt)
        q = q + dq * dt
        qs.append(q.copy())
        dqs.append(dq.copy())
        ps.append(ctl.kin.fk(q)[0])
    return np.array(qs), np.array(dqs), np.array(ps)
