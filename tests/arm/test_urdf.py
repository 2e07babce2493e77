"""urdf_from_mujoco: the URDF's kinematics equal MuJoCo's, joint anchors off the body origin and slide joints too."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pinocchio as pin
import pytest

from sawyer_driver import SAWYER_JOINT_NAMES
from sawyer_sim.urdf import urdf_from_mujoco

MJCF = """
<mujoco>
  <worldbody>
    <body name="root" pos="0.1 0 0">
      <body name="a" pos="0 0.2 0.3" quat="0.9 0.1 0.3 0.2">
        <joint name="hinge_off" type="hinge" axis="0.3 0.4 0.8" pos="0.05 -0.02 0.1" range="-2 2"/>
        <geom type="sphere" size="0.05" mass="1"/>
        <body name="b" pos="0.2 0 0.1" quat="0.7 0 0.7 0">
          <joint name="slide" type="slide" axis="1 0 0" range="-0.1 0.2"/>
          <geom type="box" size="0.02 0.03 0.04" mass="0.5"/>
          <body name="tip" pos="0 0 0.15"><geom type="sphere" size="0.01" mass="0.01"/></body>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def test_generated_urdf_matches_mujoco_with_offset_anchor_and_slide_joint():
    model = mujoco.MjModel.from_xml_string(MJCF)
    data = mujoco.MjData(model)
    urdf = urdf_from_mujoco(model, "root", velocity_limits={"hinge_off": 2.0}, effort_limits={})
    pm = pin.buildModelFromXML(urdf)
    pd = pm.createData()
    tip = pm.getFrameId("tip", pin.FrameType.BODY)
    root = np.array(model.body("root").pos)
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = np.array([rng.uniform(-2, 2), rng.uniform(-0.1, 0.2)])
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        pin.framesForwardKinematics(pm, pd, q)  # joint order: hinge_off, slide (tree order)
        np.testing.assert_allclose(pd.oMf[tip].translation + root, data.xpos[model.body("tip").id], atol=1e-9)
        np.testing.assert_allclose(pd.oMf[tip].rotation, data.xmat[model.body("tip").id].reshape(3, 3), atol=1e-9)
    assert pm.velocityLimit[0] == pytest.approx(2.0)
    assert pm.lowerPositionLimit[1] == pytest.approx(-0.1) and pm.upperPositionLimit[1] == pytest.approx(0.2)


def test_sawyer_urdf_has_the_arm_joints_limits_and_tip(urdf, twin_model):
    robot = ET.fromstring(urdf)
    joints = {j.get("name"): j for j in robot.findall("joint")}
    for name in SAWYER_JOINT_NAMES:
        j = joints[name]
        assert j.get("type") == "revolute"
        lo, hi = twin_model.jnt_range[twin_model.joint(name).id]
        assert float(j.find("limit").get("lower")) == pytest.approx(lo)
        assert float(j.find("limit").get("upper")) == pytest.approx(hi)
        assert float(j.find("limit").get("effort")) > 0
    links = {link.get("name") for link in robot.findall("link")}
    assert {"base", "right_hand", "right_gripper_tip"} <= links and "hand" not in links
    assert robot.get("name") == "sawyer"


def test_unknown_root_body_is_refused(twin_model):
    with pytest.raises(ValueError, match="no_such_body"):
        urdf_from_mujoco(twin_model, "no_such_body", velocity_limits={}, effort_limits={})
