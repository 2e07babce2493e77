"""Sawyer arm driver core (no ROS): kinematics from the robot's URDF, limits, the velocity controller, the
deadman / enable supervisor and the reset trajectory. ``sawyer_driver.ros1`` adapts it to intera's topics."""

from sawyer_driver.controller import START_JOINTS, ArmController, ControllerConfig
from sawyer_driver.kinematics import SAWYER_JOINT_NAMES, SAWYER_VELOCITY_LIMITS, Kinematics, KinematicsError
from sawyer_driver.limits import Workspace

__all__ = [
    "SAWYER_JOINT_NAMES",
    "SAWYER_VELOCITY_LIMITS",
    "START_JOINTS",
    "ArmController",
    "ControllerConfig",
    "Kinematics",
    "KinematicsError",
    "Workspace",
]
