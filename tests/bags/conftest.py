"""Bag tests reuse the graph tests' ROS environment and fixtures (tests/ros/conftest.py) and run this
checkout's rig_trainer sources, so new modules work before the next colcon build."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SRC = ROOT / "ros2_ws" / "src" / "rig_trainer"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(HERE))

_spec = importlib.util.spec_from_file_location("ros_conftest", ROOT / "tests" / "ros" / "conftest.py")
ros_conftest = importlib.util.module_from_spec(_spec)
sys.modules["ros_conftest"] = ros_conftest
_spec.loader.exec_module(ros_conftest)
sys.path.remove(str(SRC))  # ros_conftest put the installed packages first: the checkout's rig_trainer goes before them
sys.path.insert(0, str(SRC))

import pytest  # noqa: E402
from ros_conftest import ROS_ENV, domain_id  # noqa: E402, F401 - fixtures re-exported for pytest


@pytest.fixture
def ros_env(domain_id: int, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """Node-process environment with this checkout's rig_trainer first on PYTHONPATH."""
    path = os.pathsep.join(p for p in (str(SRC), ROS_ENV.get("PYTHONPATH", "")) if p)
    return {**ROS_ENV, "ROS_DOMAIN_ID": str(domain_id), "ROS_LOG_DIR": str(tmp_path / "roslog"),
            "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
