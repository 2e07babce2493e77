"""The driver's bad input: each gives one clear error line and a non-zero exit, never a motion (issue 9).
(A robot that is not enabled gives a logged wait instead: tests/arm/test_arm_graph.py.)"""

from __future__ import annotations

import subprocess
import xmlrpc.client

import pytest
from arm_graph import Ros1Graph
from ros1_env import ROS1_PYTHON, free_port, missing, ros1_env

DRIVER = "sawyer_driver.ros1.driver_node"


@pytest.fixture
def master(tmp_path):
    if missing():
        pytest.fail(missing())
    g = Ros1Graph(tmp_path / "graph")  # returns once the master listens
    try:
        yield g
    finally:
        g.close()


def one_error_line(result, *expected: str) -> str:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "sawyer_driver: error:" in line]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def test_master_unreachable(tmp_path):
    if missing():
        pytest.fail(missing())
    env = {**ros1_env(free_port(), tmp_path), "SAWYER_DRIVER_MASTER_TIMEOUT": "1"}
    res = subprocess.run([str(ROS1_PYTHON), "-m", DRIVER], capture_output=True, text=True, timeout=30, env=env)
    print(one_error_line(res, "ROS master unreachable"))
    assert res.returncode == 2


def test_no_robot_description(master):
    res = master.run(DRIVER, "_robot_description_timeout:=1")
    print(one_error_line(res, "no /robot_description"))
    assert res.returncode == 3


def test_wrong_joint_names(master, urdf):
    # The master's own XML-RPC API (stdlib client) sets the robot description, as the robot's controller would.
    xmlrpc.client.ServerProxy(master.env["ROS_MASTER_URI"]).setParam("/test", "/robot_description", urdf)
    res = master.run(DRIVER, "_joint_names:=[left_j0, left_j1, left_j2, left_j3, left_j4, left_j5, left_j6]")
    print(one_error_line(res, "not in the robot description", "left_j0"))
    assert res.returncode == 3
    res = master.run(DRIVER, "__name:=driver_tip", "_tip_link:=no_gripper_here")  # own name: ~params stay on the master
    print(one_error_line(res, "no_gripper_here"))
