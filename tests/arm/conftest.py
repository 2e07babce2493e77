"""Arm-side fixtures: the twin's MuJoCo model, the URDF written from it and the driver's kinematics on it."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from sawyer_driver import ArmController, ControllerConfig, Kinematics
from sawyer_twin.model import TIP_LINK, build_model, sawyer_urdf


@pytest.fixture(scope="session")
def twin_model() -> mujoco.MjModel:
    return build_model()


@pytest.fixture(scope="session")
def urdf(twin_model: mujoco.MjModel) -> str:
    return sawyer_urdf(twin_model)


@pytest.fixture(scope="session")
def kin(urdf: str) -> Kinematics:
    return Kinematics(urdf, tip_link=TIP_LINK)


@pytest.fixture
def controller(kin: Kinematics):
    """A fresh controller factory: ``controller(**config_overrides)``."""

    def make(**overrides) -> ArmController:
        return ArmController(kin, ControllerConfig(**overrides))

    return make


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
