"""Arm-side fixtures: the twin's MuJoCo model, the URDF written from it and the driver's kinematics on it."""

from __future__ import annotations

import mujoco
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
